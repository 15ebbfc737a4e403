package app

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"carewallet/app/console"
	"carewallet/wallet"
)

// consoleGet fetches a console file (not an API route: no contract check).
func (ta *testApp) consoleGet(path string) (*http.Response, []byte) {
	ta.t.Helper()
	res, err := ta.f.Test(httptest.NewRequest("GET", path, nil), -1)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ta.t.Fatal(err)
	}
	return res, b
}

// TestConsoleServed: /console/ serves the embedded files with a strict
// CSP (no inline script, no eval, own origin only, never framed), nosniff
// and no referrer; unknown and traversing paths are not served.
func TestConsoleServed(t *testing.T) {
	ta := newTestApp(t)
	res, body := ta.consoleGet("/console/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), `src="main.js"`) {
		t.Fatalf("index: %d %s %.200s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "connect-src 'self';", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, banned := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, banned) {
			t.Errorf("CSP %q allows %q", csp, banned)
		}
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", res.Header)
	}
	res, _ = ta.consoleGet("/console/main.js")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("main.js: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := ta.consoleGet("/console"); res.StatusCode != 301 || res.Header.Get("Location") != "/console/" {
		t.Fatalf("/console: %d %v", res.StatusCode, res.Header)
	}
	for _, p := range []string{"/console/nope.js", "/console/console.go", "/console/%2e%2e/app.go", "/console/screens/"} {
		if res, _ := ta.consoleGet(p); res.StatusCode != 404 && res.StatusCode != 400 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
}

// staticImports are the modules a file loads before it runs (import …
// from './x.js'); import() is loaded later, on demand.
var staticImport = regexp.MustCompile(`(?m)^\s*import\s+(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]`)

// TestConsoleFirstLoadWeight: what the first page loads — index.html's
// stylesheet and module, and every module those import statically — is at
// most 300 KiB of JavaScript and CSS together, uncompressed.
func TestConsoleFirstLoadWeight(t *testing.T) {
	ta := newTestApp(t)
	_, index := ta.consoleGet("/console/")
	seen := map[string]bool{}
	var queue []string
	for _, m := range regexp.MustCompile(`(?:href|src)="([^"]+\.(?:js|css))"`).FindAllStringSubmatch(string(index), -1) {
		queue = append(queue, m[1])
	}
	total := 0
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		res, b := ta.consoleGet("/console/" + name)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", name, res.StatusCode)
		}
		total += len(b)
		if strings.HasSuffix(name, ".js") {
			dir := name[:strings.LastIndex(name, "/")+1]
			for _, m := range staticImport.FindAllStringSubmatch(string(b), -1) {
				queue = append(queue, cleanJoin(dir, m[1]))
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	t.Logf("first load: %d bytes (%.1f KiB) in %d files: %s", total, float64(total)/1024, len(seen), strings.Join(names, " "))
	if !seen["main.js"] || !seen["console.css"] || !seen["i18n/ru.js"] {
		t.Fatalf("the walk missed files: %v", names)
	}
	if total > 300*1024 {
		t.Fatalf("first load is %d bytes, over 300 KiB", total)
	}
}

func cleanJoin(dir, rel string) string {
	p := dir + rel
	for strings.Contains(p, "/./") || strings.HasPrefix(p, "./") {
		p = strings.Replace(strings.TrimPrefix(p, "./"), "/./", "/", 1)
	}
	for {
		i := strings.Index(p, "/../")
		if i < 0 {
			break
		}
		j := strings.LastIndex(p[:i], "/")
		p = p[:j+1] + p[i+4:]
	}
	return strings.TrimPrefix(p, "../")
}

// TestConsoleCatalogues: both languages have the same keys, and every key
// the code asks for literally (t('…')) exists.
func TestConsoleCatalogues(t *testing.T) {
	key := regexp.MustCompile(`(?m)(?:^|[{,]\s*)'?([a-z_][a-z_0-9.]*)'?:\s*'`)
	keys := func(name string) map[string]bool {
		b, err := fs.ReadFile(console.Files, name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
		return out
	}
	ru, en := keys("i18n/ru.js"), keys("i18n/en.js")
	if len(en) < 100 {
		t.Fatalf("read only %d keys from en.js", len(en))
	}
	for k := range en {
		if !ru[k] {
			t.Errorf("ru.js lacks %q", k)
		}
	}
	for k := range ru {
		if !en[k] {
			t.Errorf("en.js lacks %q", k)
		}
	}
	use := regexp.MustCompile(`\bt\('([a-z_][a-z_0-9.]*)'[,)]`)
	err := fs.WalkDir(console.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") || strings.HasPrefix(p, "i18n/") {
			return err
		}
		b, _ := fs.ReadFile(console.Files, p)
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			if !en[m[1]] {
				t.Errorf("%s asks for %q, which the catalogues lack", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConsoleNoHTMLSinks: the console never writes markup from strings
// (innerHTML, outerHTML, insertAdjacentHTML, document.write) and never
// evaluates code; data only ever becomes text nodes.
func TestConsoleNoHTMLSinks(t *testing.T) {
	sink := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['"]`)
	err := fs.WalkDir(console.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, _ := fs.ReadFile(console.Files, p)
		if m := sink.Find(b); m != nil {
			t.Errorf("%s uses %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func refreshCookieOf(t *testing.T, r resp) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == refreshCookieName {
			return c
		}
	}
	return nil
}

// TestRefreshCookie: with refresh_cookie the refresh token goes into an
// HttpOnly, SameSite=Strict cookie for the refresh path only (Secure
// behind a proxy that says https) and never into the body; refresh reads
// and rotates it; a rotated cookie replayed revokes the session; logout
// expires it. Without refresh_cookie everything is as before.
func TestRefreshCookie(t *testing.T) {
	ta := newTestApp(t)
	ta.newClinic("Smile", "boss@smile.test")
	login := map[string]any{"email": "boss@smile.test", "password": "manager-password", "refresh_cookie": true}

	r := ta.must(200, "POST", "/v1/staff/login", "", login)
	var tok tokenResponse
	r.decode(t, &tok)
	c := refreshCookieOf(t, r)
	if c == nil || tok.AccessToken == "" || tok.RefreshToken != "" || strings.Contains(string(r.Body), "refresh_token") {
		t.Fatalf("login with cookie: %s %v", r.Body, r.Header)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != refreshCookiePath || c.Secure || c.MaxAge <= 0 || c.Value == "" {
		t.Fatalf("cookie %+v", c)
	}
	// Behind a TLS-terminating proxy the cookie is Secure.
	if c := refreshCookieOf(t, ta.must(200, "POST", "/v1/staff/login", "", login, "X-Forwarded-Proto", "https")); c == nil || !c.Secure {
		t.Fatalf("over https: %+v", c)
	}

	// Refresh with the cookie: a new access token and a rotated cookie.
	r2 := ta.must(200, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_cookie": true}, "Cookie", refreshCookieName+"="+c.Value)
	c2 := refreshCookieOf(t, r2)
	var tok2 tokenResponse
	r2.decode(t, &tok2)
	if c2 == nil || c2.Value == c.Value || tok2.RefreshToken != "" || tok2.AccessToken == "" {
		t.Fatalf("refresh: %s %+v", r2.Body, c2)
	}
	ta.must(200, "GET", "/v1/clinic", tok2.AccessToken, nil)

	// No cookie, or both ways at once: refused, naming the field.
	if r := ta.must(401, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_cookie": true}); refreshCookieOf(t, r) == nil {
		t.Fatal("a refused cookie refresh does not expire the cookie")
	}
	for _, body := range []map[string]any{{}, {"refresh_cookie": true, "refresh_token": "x"}} {
		var e errorBody
		ta.must(400, "POST", "/v1/auth/refresh", "", body).decode(t, &e)
		if e.Error.Field != "refresh_token" {
			t.Fatalf("%v: %+v", body, e)
		}
	}

	// Replaying the rotated cookie revokes the session: the new one dies too.
	ta.must(401, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_cookie": true}, "Cookie", refreshCookieName+"="+c.Value)
	ta.must(401, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_cookie": true}, "Cookie", refreshCookieName+"="+c2.Value)

	// Logout expires the cookie.
	r = ta.must(200, "POST", "/v1/staff/login", "", login)
	r.decode(t, &tok)
	out := ta.must(204, "POST", "/v1/auth/logout", tok.AccessToken, nil)
	if oc := refreshCookieOf(t, out); oc == nil || oc.Value != "" || oc.MaxAge >= 0 && oc.Expires.After(time.Unix(1, 0)) || oc.Path != refreshCookiePath {
		t.Fatalf("logout cookie %+v (%v)", oc, out.Header)
	}
	ta.must(401, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_cookie": true}, "Cookie", refreshCookieName+"="+refreshCookieOf(t, r).Value)

	// Without refresh_cookie: the token in the body, no cookie, as before.
	plain := ta.must(200, "POST", "/v1/staff/login", "", map[string]any{"email": "boss@smile.test", "password": "manager-password"})
	plain.decode(t, &tok)
	if tok.RefreshToken == "" || refreshCookieOf(t, plain) != nil {
		t.Fatalf("plain login %s %v", plain.Body, plain.Header)
	}
	rb := ta.must(200, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": tok.RefreshToken})
	rb.decode(t, &tok)
	if tok.RefreshToken == "" || refreshCookieOf(t, rb) != nil {
		t.Fatalf("plain refresh %s", rb.Body)
	}
}

// TestNewsWeek: a manager sees whether this week's post is free and, once
// it is used, from when the next post is possible — the same instant a
// refused post's next_allowed_at names.
func TestNewsWeek(t *testing.T) {
	ta, _ := newsApp(t)
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	ta.must(403, "GET", "/v1/clinic/news/week", cl.admin, nil)
	var w newsWeekResponse
	ta.must(200, "GET", "/v1/clinic/news/week", cl.manager, nil).decode(t, &w)
	if !w.FreeNow || !w.NextAllowedAt.Equal(ta.clock.now()) {
		t.Fatalf("fresh clinic: %+v (now %v)", w, ta.clock.now())
	}
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "t", "body": "b"})
	ta.must(200, "GET", "/v1/clinic/news/week", cl.manager, nil).decode(t, &w)
	var e struct {
		Error struct {
			NextAllowedAt time.Time `json:"next_allowed_at"`
		} `json:"error"`
	}
	ta.must(409, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "t2", "body": "b"}).decode(t, &e)
	if w.FreeNow || !w.NextAllowedAt.Equal(e.Error.NextAllowedAt) || !w.NextAllowedAt.After(ta.clock.now()) {
		t.Fatalf("used week: %+v, refused post says %v", w, e.Error.NextAllowedAt)
	}
}

// TestSpendQuote: before starting a bonus payment reception sees its
// maximum — the smaller of the program's share of the payable lines and
// the card's available points — the same limit the payment then has; bad
// lines are a 400 naming the line; another clinic's card is not found.
func TestSpendQuote(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	other := ta.clinicWithProgram("Other", "other.test")
	_, _, v := ta.joinCard(cl, "+79991000201") // 500 welcome points
	quote := func(lines ...map[string]any) wallet.SpendQuote {
		var q wallet.SpendQuote
		ta.must(200, "POST", "/v1/clinic/spends/quote", cl.admin, map[string]any{"card_id": v.ID, "lines": lines}).decode(t, &q)
		return q
	}
	// 50% of 600 ₽ at 1 ₽ a point: 300 by share, under the balance.
	if q := quote(map[string]any{"service": "CONS-01", "amount": 60000}); q.ByShare != 300 || q.Available != 500 || q.MaxPoints != 300 {
		t.Fatalf("quote %+v", q)
	}
	// Excluded services cannot be paid with points; the balance caps the rest.
	q := quote(map[string]any{"service": "LAB-01", "amount": 900000}, map[string]any{"service": "CONS-01", "amount": 200000})
	if q.ByShare != 1000 || q.MaxPoints != 500 {
		t.Fatalf("quote %+v", q)
	}
	var sp wallet.SpendResult
	ta.must(201, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": "Q-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 60000}}, "points": 300}).decode(t, &sp)
	if sp.MaxPoints != 300 {
		t.Fatalf("the payment's maximum %d differs from the quote's 300", sp.MaxPoints)
	}
	ta.must(422, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": "Q-2",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 60000}}, "points": 301})
	var e errorBody
	ta.must(400, "POST", "/v1/clinic/spends/quote", cl.admin, map[string]any{"card_id": v.ID,
		"lines": []map[string]any{{"service": "CONS-01", "amount": 0}}}).decode(t, &e)
	if e.Error.Field != "lines[0].amount" {
		t.Fatalf("bad line: %+v", e)
	}
	ta.must(404, "POST", "/v1/clinic/spends/quote", other.admin, map[string]any{"card_id": v.ID,
		"lines": []map[string]any{{"service": "CONS-01", "amount": 60000}}})
}
