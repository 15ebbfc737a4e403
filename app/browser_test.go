package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"carewallet/news/care"
)

// The console's journeys, in a real Chromium driven through the DevTools
// protocol, against the app on a real SQLite store and a real listener.
// One browser serves the whole package (started on first use, stopped in
// TestMain); each journey gets its own browser context (cookies and
// storage of its own) and tab. Every wait is for a condition with a
// deadline, never a sleep.
//
// Without Chromium the journeys skip, saying how to install it; with
// CAREWALLET_REQUIRE_BROWSER=1 (as .ci/run sets) a missing browser fails.

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("CAREWALLET_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func browserContext(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		msg := "no Chromium found: install it (apt-get update && apt-get install -y chromium) or set CAREWALLET_CHROMIUM"
		if os.Getenv("CAREWALLET_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (CAREWALLET_REQUIRE_BROWSER=1)")
		}
		t.Skip(msg)
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "en-US"), chromedp.Flag("disable-dev-shm-usage", true))
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel() }
		browser.err = chromedp.Do(bctx)
	})
	if browser.err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, browser.err)
	}
	return browser.ctx
}

// journey is one browser tab in its own browser context, on the app.
type journey struct {
	t       *testing.T
	ta      *testApp
	ctx     context.Context
	base    string
	dialogs atomic.Int32
	mu      sync.Mutex
	logs    []string
}

// browserApp starts the app (with news, chat and care) on a real listener.
func browserApp(t *testing.T) (*testApp, string) {
	t.Helper()
	ta, _ := newsApp(t)
	ta.deps.Care = ta.careService()
	ta.f = New(ta.deps)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ta.f.Listener(ln) }()
	t.Cleanup(func() { _ = ta.f.ShutdownWithTimeout(5 * time.Second) })
	return ta, "http://" + ln.Addr().String()
}

func newJourney(t *testing.T, width, height int64) *journey {
	t.Helper()
	bctx := browserContext(t)
	ta, base := browserApp(t)
	j := &journey{t: t, ta: ta, base: base}
	var ctx context.Context
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			// A dialog would mean script ran that should not have: count
			// it (a confirm() the console asks is expected and accepted)
			// and close it. The listener must not block: answer aside.
			confirm := e.Type == page.DialogTypeConfirm
			if !confirm {
				j.dialogs.Add(1)
			}
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: confirm})
			}()
		case *runtime.EventExceptionThrown:
			j.log("exception: " + e.ExceptionDetails.Text + describe(e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			j.log("console." + string(e.Type) + ": " + strings.Join(parts, " "))
		}
	}))
	t.Cleanup(cancel)
	j.ctx = ctx
	// The first Run makes the tab, which lives as long as that Run's
	// context: no timeout on this one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	j.do(chromedp.EmulateViewport(width, height))
	return j
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return " " + o.Description
}

func (j *journey) log(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.logs = append(j.logs, s)
}

// fail saves a screenshot and the page's console, then fails the test.
func (j *journey) fail(format string, args ...any) {
	j.t.Helper()
	j.screenshot("failed")
	j.mu.Lock()
	logs := strings.Join(j.logs, "\n")
	j.mu.Unlock()
	ctx, cancel := context.WithTimeout(j.ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
	j.t.Fatalf(format+"\npage text:\n%s\nbrowser console:\n%s", append(args, html, logs)...)
}

func (j *journey) do(steps ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		j.fail("browser: %v", err)
	}
}

// wait waits until the JavaScript expression is truthy, within d.
func (j *journey) wait(expr string, d time.Duration) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		j.fail("waiting %v for %s: %v", d, expr, err)
	}
}

func (j *journey) eval(expr string) string {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		j.fail("evaluating %s: %v", expr, err)
	}
	return v
}

// fill types text into the (emptied) input, as a keyboard would.
func (j *journey) fill(sel, text string) {
	j.t.Helper()
	j.wait(fmt.Sprintf(`document.querySelector(%q) !== null`, sel), 5*time.Second)
	j.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; e.focus(); })()`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (j *journey) click(sel string) {
	j.t.Helper()
	j.wait(fmt.Sprintf(`document.querySelector(%q) !== null`, sel), 5*time.Second)
	j.do(chromedp.Click(chromedp.CSS(sel)))
}

func (j *journey) text(sel string) string {
	j.t.Helper()
	return j.eval(fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent || ''`, sel))
}

// screenshot saves the page under $CAREWALLET_ARTIFACTS (or the test's
// temporary directory) and logs the path.
func (j *journey) screenshot(name string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		j.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv("CAREWALLET_ARTIFACTS")
	if dir == "" {
		dir = j.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		j.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, strings.ReplaceAll(j.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		j.t.Logf("screenshot %s: %v", name, err)
		return
	}
	j.t.Logf("screenshot: %s", p)
}

// signIn opens the console and signs in with the form.
func (j *journey) signIn(email, password string) {
	j.t.Helper()
	j.do(chromedp.Navigate(j.base + "/console/"))
	j.wait(`document.querySelector('form.login input[name=email]') !== null`, 10*time.Second)
	j.fill(`form.login input[name=email]`, email)
	j.fill(`form.login input[name=password]`, password)
	j.click(`form.login button[type=submit]`)
	j.wait(`document.querySelector('header.top nav a') !== null`, 10*time.Second)
}

// inboxData returns the data of the newest inbox event of type typ that a
// patient reads through the API (GET /v1/me/events).
func (j *journey) inboxData(token, typ string) map[string]any {
	j.t.Helper()
	var page eventsResponse
	j.ta.must(200, "GET", "/v1/me/events?after=0&limit=500", token, nil).decode(j.t, &page)
	for i := len(page.Events) - 1; i >= 0; i-- {
		if page.Events[i].Type == typ {
			var d map[string]any
			if err := json.Unmarshal(page.Events[i].Data, &d); err != nil {
				j.t.Fatal(err)
			}
			return d
		}
	}
	j.t.Fatalf("no %s event in the patient's inbox", typ)
	return nil
}

func (j *journey) noDialogs() {
	j.t.Helper()
	if n := j.dialogs.Load(); n != 0 {
		j.fail("%d dialog(s) opened", n)
	}
}

// TestBrowserSignInProgramLanguage: a manager signs in; the language comes
// from the browser, switches and is remembered across a reload, which
// also keeps the session through the HttpOnly refresh cookie (no token in
// storage, none visible to script); the program editor shows the API's
// validation next to the field and then saves.
func TestBrowserSignInProgramLanguage(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	j.signIn("boss@smile.test", "manager-password")
	if got := j.text("#nav-reception"); got != "Reception" { // navigator.languages is en-US
		j.fail("the language is not the browser's: nav says %q", got)
	}
	if j.eval(`document.querySelector('#nav-reports') ? 'yes' : 'no'`) != "yes" {
		j.fail("a manager sees no reports")
	}

	// Switch to Russian; it sticks across a reload, and so does the session.
	j.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('select.lang'); s.value = 'ru'; s.dispatchEvent(new Event('change')); })()`))
	j.wait(`document.querySelector('#nav-reception').textContent === 'Ресепшн'`, 5*time.Second)
	j.do(chromedp.Reload())
	j.wait(`(document.querySelector('#nav-reception') || {textContent: ''}).textContent === 'Ресепшн'`, 10*time.Second)
	if s := j.eval(`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`); strings.Contains(s, "eyJ") || strings.Contains(s, refreshCookieName) {
		j.fail("a token is visible to script: %s", s)
	}

	// The program: an invalid max share is refused next to its field.
	j.do(chromedp.Navigate(j.base + "/console/#/program"))
	j.wait(`document.querySelector('form.program [name=max_share_bp]') !== null`, 10*time.Second)
	j.fill(`[name=max_share_bp]`, "150")
	j.click(`form.program button[type=submit]`)
	j.wait(`(document.querySelector('.err[data-err-for="max_share_bp"]') || {textContent: ''}).textContent > ''`, 5*time.Second)
	j.screenshot("program-error")
	j.fill(`[name=max_share_bp]`, "30")
	j.fill(`[name="levels[1].cashback_bp"]`, "12,5")
	j.click(`form.program button[type=submit]`)
	j.wait(`(document.querySelector('.ok') || {textContent: ''}).textContent.includes('2')`, 5*time.Second)
	var p struct {
		MaxShareBP int64 `json:"max_share_bp"`
		Levels     []struct {
			CashbackBP int64 `json:"cashback_bp"`
		} `json:"levels"`
	}
	j.ta.must(200, "GET", "/v1/clinic/program", cl.manager, nil).decode(t, &p)
	if p.MaxShareBP != 3000 || len(p.Levels) != 2 || p.Levels[1].CashbackBP != 1250 {
		j.fail("saved program %+v", p)
	}
	j.screenshot("program")

	// Back to English for the next reader; an admin sees reception and the
	// clinic's join code (the API lets staff read it), not its profile form.
	j.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('select.lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); })()`))
	j.wait(`document.querySelector('#nav-reception').textContent === 'Reception'`, 5*time.Second)
	j.click(`header.top .who button`)
	j.wait(`document.querySelector('form.login') !== null`, 5*time.Second)
	j.signIn("desk@smile.test", "reception-pass")
	if ids := j.eval(`[...document.querySelectorAll('header.top nav a')].map(a => a.id).join(' ')`); ids != "nav-reception nav-profile" {
		j.fail("an admin sees %s", ids)
	}
	j.click(`#nav-profile`)
	j.wait(`document.querySelector('#join-code') && document.querySelector('#join-code').textContent > '' && document.querySelector('#join-qr').naturalWidth > 0`, 10*time.Second)
	if j.eval(`String(document.querySelector('form#profile') === null)`) != "true" {
		j.fail("an admin is offered the profile form, which the API refuses them")
	}
	j.noDialogs()
}

// TestBrowserReception (on a 768 px tablet): issue a card and confirm it
// with the code from the patient's inbox; record a receipt and see the
// balance change; start a bonus payment, see its maximum and confirm it.
func TestBrowserReception(t *testing.T) {
	j := newJourney(t, 768, 1024)
	j.ta.clinicWithProgram("Smile Dental", "smile.test")
	_, ptok := j.ta.patient("+79990000101")
	j.signIn("desk@smile.test", "reception-pass")
	j.wait(`document.activeElement && document.activeElement.name === 'q'`, 5*time.Second)

	j.click(`#issue-open`)
	j.fill(`[name=phone]`, "+7 999 000-01-01")
	j.click(`form.panel button[type=submit]`)
	j.wait(`document.querySelector('form.confirm [name=code]') !== null`, 5*time.Second)
	code := j.inboxData(ptok, "wallet.card_code")["code"].(string)
	j.fill(`form.confirm [name=code]`, code)
	j.click(`form.confirm button[type=submit]`)
	j.wait(`document.querySelector('#card-balance') !== null && document.querySelector('#do-receipt') !== null`, 5*time.Second)
	before := j.text("#card-balance")

	j.click(`#do-receipt`)
	j.fill(`[name="lines[0].service"]`, "CONS-01")
	j.fill(`[name="lines[0].amount"]`, "1500")
	j.click(`#work form button[type=submit]`)
	j.wait(`document.querySelector('#receipt-result') !== null`, 5*time.Second)
	after := j.text("#card-balance")
	if digits(after) != digits(before)+75 {
		j.fail("balance %q → %q after a 1,500 ₽ receipt at 5%%", before, after)
	}
	j.screenshot("receipt")

	j.click(`#do-spend`)
	j.fill(`[name="lines[0].service"]`, "CONS-01")
	j.fill(`[name="lines[0].amount"]`, "1000")
	j.wait(`(document.querySelector('#spend-quote') || {textContent: ''}).textContent.startsWith('At most 500 points')`, 5*time.Second)
	j.fill(`#work [name=points]`, "10")
	j.click(`#work form button[type=submit]`)
	j.wait(`document.querySelector('#spend-max') !== null`, 5*time.Second)
	if !strings.Contains(j.text("#spend-max"), "500") { // 50% of 1,000 ₽ at 1 ₽ a point, under the balance
		j.fail("the bonus payment shows no maximum: %q", j.text("#spend-max"))
	}
	code = j.inboxData(ptok, "wallet.spend_code")["code"].(string)
	j.fill(`#work form.confirm [name=code]`, code)
	j.click(`#work form.confirm button[type=submit]`)
	j.wait(`document.querySelector('#spend-result') !== null`, 5*time.Second)
	if got := j.text("#card-balance"); digits(got) != digits(after)-10 {
		j.fail("balance %q after paying 10 points from %q", got, after)
	}
	j.screenshot("spend")
	j.noDialogs()
}

func digits(s string) int {
	n, _ := strconv.Atoi(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s))
	return n
}

// TestBrowserNews: the week's slot is shown; a post is published; a
// second one hits the weekly limit and says from when the next is possible.
func TestBrowserNews(t *testing.T) {
	j := newJourney(t, 1280, 800)
	j.ta.clinicWithProgram("Smile Dental", "smile.test")
	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/news"))
	j.wait(`(document.querySelector('#news-week') || {textContent: ''}).textContent === 'This week’s post is still free.'`, 10*time.Second)
	j.fill(`#compose [name=title]`, "Open on Saturdays")
	j.fill(`#compose [name=body]`, "From December we also work on Saturdays.")
	j.click(`#compose [name=with_poll]`)
	j.fill(`#compose [name="poll.options"]`, "Great\nNo need")
	j.click(`#compose button[type=submit]`)
	j.wait(`document.querySelectorAll('#posts article').length === 1 && document.querySelector('#news-week').textContent.includes('next post is possible from')`, 10*time.Second)

	j.fill(`#compose [name=title]`, "Second post")
	j.fill(`#compose [name=body]`, "Too soon.")
	j.click(`#compose button[type=submit]`)
	j.wait(`(document.querySelector('#compose .form-err') || {textContent: ''}).textContent.startsWith('One post a week: the next post is possible from')`, 5*time.Second)
	j.screenshot("weekly-limit")
	j.noDialogs()
}

// TestBrowserChat: a message a patient sends through the API appears in
// the open console within a second, without reloading; the manager's
// reply reaches the patient's inbox.
func TestBrowserChat(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	_, ptok, _ := j.ta.joinCard(cl, "+79990000202")
	j.ta.must(200, "PATCH", "/v1/me", ptok, map[string]string{"first_name": "Anna", "last_name": "Ivanova"})
	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/chat"))
	j.wait(`document.querySelector('.threads[data-ready]') !== null && document.body.dataset.live === 'on'`, 10*time.Second)

	var start chatStartResponse
	j.ta.must(201, "POST", "/v1/chats", ptok, map[string]string{"clinic_id": cl.id, "text": "Can I move my visit?"}).decode(t, &start)
	j.wait(`[...document.querySelectorAll('.thread-item')].some(a => a.textContent.includes('Anna Ivanova') && a.querySelector('.unread'))`, time.Second)
	j.wait(`(document.querySelector('#nav-chat .badge') || {textContent: ''}).textContent === '1'`, time.Second)

	j.click(`.thread-item`)
	j.wait(`(document.querySelector('#messages') || {textContent: ''}).textContent.includes('Can I move my visit?')`, 5*time.Second)
	// A second message lands in the open thread, live.
	j.ta.must(201, "POST", "/v1/chats/"+start.Thread.ID+"/messages", ptok, map[string]string{"text": "Thursday would suit me."})
	j.wait(`(document.querySelector('#messages') || {textContent: ''}).textContent.includes('Thursday would suit me.')`, time.Second)

	j.fill(`form.reply [name=text]`, "Thursday 10:00 is yours.")
	j.click(`form.reply button[type=submit]`)
	j.wait(`(document.querySelector('#messages') || {textContent: ''}).textContent.includes('Thursday 10:00 is yours.')`, 5*time.Second)
	d := j.inboxData(ptok, "chat.message")
	if m, _ := d["message"].(map[string]any); m == nil || m["text"] != "Thursday 10:00 is yours." || m["author"] != "manager" {
		j.fail("the patient's inbox has %v", d)
	}
	j.screenshot("chat")
	j.noDialogs()
}

// TestBrowserPatientTextIsText: a patient named <img src=x onerror=alert(1)>
// appears as those characters in the chat and at reception, and nothing
// runs: no dialog opens and no element is made from it.
func TestBrowserPatientTextIsText(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	const name = `<img src=x onerror=alert(1)>`
	_, ptok, _ := j.ta.joinCard(cl, "+79990000303")
	j.ta.must(200, "PATCH", "/v1/me", ptok, map[string]string{"first_name": name, "last_name": `<script>alert(2)</script>`})
	j.ta.must(201, "POST", "/v1/chats", ptok, map[string]string{"clinic_id": cl.id, "text": `<b>hi</b><img src=y onerror=alert(3)>`})
	j.signIn("boss@smile.test", "manager-password")

	j.do(chromedp.Navigate(j.base + "/console/#/chat"))
	j.wait(`document.querySelector('.thread-item') !== null`, 10*time.Second)
	j.click(`.thread-item`)
	j.wait(`document.querySelector('#messages') !== null`, 5*time.Second)
	if got := j.text(".thread-main .pname"); got != name+` <script>alert(2)</script>` {
		j.fail("the name renders as %q", got)
	}
	if got := j.text("#messages .msg-text"); got != `<b>hi</b><img src=y onerror=alert(3)>` {
		j.fail("the message renders as %q", got)
	}

	j.do(chromedp.Navigate(j.base + "/console/#/reception"))
	j.fill(`[name=q]`, "+79990000303")
	j.click(`form.search button[type=submit]`)
	j.wait(`document.querySelector('#holder-name') !== null`, 5*time.Second)
	if got := j.text("#holder-name"); !strings.HasPrefix(got, name) {
		j.fail("reception shows %q", got)
	}
	if n := j.eval(`String(document.querySelectorAll('img[src=x], img[src=y], #app b, #app script').length)`); n != "0" {
		j.fail("%s elements were made from patient text", n)
	}
	j.screenshot("xss")
	j.noDialogs()
}

// TestBrowserEveryScreen: each manager screen (and each report tab) opens
// with data in it, without a script error or an error from the API.
func TestBrowserEveryScreen(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	_, ptok, card := j.ta.joinCard(cl, "+79990000404")
	j.ta.must(200, "PATCH", "/v1/me", ptok, map[string]string{"first_name": "Boris", "last_name": "Petrov"})
	j.ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card.ID, "receipt_id": "R-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 250000}}})
	j.ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "Flu shots", "body": "From Monday.",
		"poll": map[string]any{"options": []string{"Yes", "No"}}})
	j.signIn("boss@smile.test", "manager-password")
	for _, s := range []struct{ hash, ready string }{
		{"program", `document.querySelector('form.program')`},
		{"referrals", `document.querySelector('[name=reward_on]')`},
		{"news", `document.querySelectorAll('#posts article .hbar').length === 2`},
		{"staff", `document.querySelectorAll('#screen tbody tr').length === 2`},
		{"reports/totals", `document.querySelector('.chart-box svg rect')`},
		{"reports/journal", `[...document.querySelectorAll('#screen td')].some(td => td.textContent === 'Cashback')`},
		{"reports/cards", `[...document.querySelectorAll('#screen td')].some(td => td.textContent === 'Boris Petrov')`},
		{"reports/staff", `document.querySelector('#screen h3')`},
		{"reports/referrals", `document.querySelector('#screen .panel')`},
		{"care/scenarios", `document.querySelectorAll('form.scenario').length === 7`},
		{"care/services", `document.querySelector('#services')`},
		{"care/sites", `document.querySelector('form#sites [name="[0].url"]')`},
		{"care/report", `document.querySelector('#screen table, #screen .panel p.muted')`},
		{"ratings", `document.querySelector('#rat-count')`},
		{"messages", `document.querySelector('form.policy [name=weekly_budget]') && document.querySelector('#held p, #held table')`},
		{"exports", `document.querySelector('#exports p, #exports table')`},
		// The join QR needs the Authorization header: fetched as a blob and
		// shown through an object URL, which the CSP's img-src allows.
		{"profile", `document.querySelector('#join-qr') && document.querySelector('#join-qr').src.startsWith('blob:') && document.querySelector('#join-qr').complete && document.querySelector('#join-qr').naturalWidth > 0`},
	} {
		j.do(chromedp.Navigate(j.base + "/console/#/" + s.hash))
		j.wait(s.ready, 10*time.Second)
		if e := j.eval(`[...document.querySelectorAll('#screen .err')].map(e => e.textContent).join(' ')`); strings.TrimSpace(e) != "" {
			j.fail("%s shows an error: %s", s.hash, e)
		}
		j.mu.Lock()
		logs := strings.Join(j.logs, "\n")
		j.mu.Unlock()
		if strings.Contains(logs, "exception") {
			j.fail("%s: script errors", s.hash)
		}
	}
	j.screenshot("reports")
	if code := j.text("#join-code"); code == "" {
		j.fail("the profile shows no join code")
	}

	// A patient's data export: downloaded, and the record lists it.
	j.do(chromedp.Navigate(j.base + "/console/#/exports"))
	j.fill(`#export-form [name=patient]`, "+79990000404")
	j.click(`#export-form button[type=submit]`)
	j.wait(`document.querySelectorAll('#exports tbody tr').length === 1 && document.querySelector('#export-form .ok').textContent > ''`, 10*time.Second)
	var ex exportsResponse
	j.ta.must(200, "GET", "/v1/clinic/exports", cl.manager, nil).decode(t, &ex)
	if len(ex.Exports) != 1 || !strings.Contains(j.text("#exports tbody"), ex.Exports[0].PatientID) {
		j.fail("exports recorded %+v", ex.Exports)
	}
	j.screenshot("exports")
	j.noDialogs()
}

// TestBrowserCare: a manager switches a care scenario on, and a text with
// an unknown placeholder is refused next to the text field, saving
// nothing; the scenario's status shows.
func TestBrowserCare(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/care"))
	j.wait(`document.querySelector('#scenario-reminder [name=enabled]') !== null`, 10*time.Second)
	if j.eval(`String(document.querySelector('#scenario-reminder [name=enabled]').checked)`) != "false" {
		j.fail("the reminder is on before anyone switched it on")
	}
	j.click(`#scenario-reminder [name=enabled]`)
	j.click(`#scenario-reminder button[type=submit]`)
	j.wait(`document.querySelector('#scenario-reminder .ok').textContent === 'Saved.' && document.querySelector('#scenario-reminder .tag').dataset.status !== 'off'`, 5*time.Second)
	reminder := func() care.ScenarioView {
		var r scenariosResponse
		j.ta.must(200, "GET", "/v1/clinic/care", cl.manager, nil).decode(t, &r)
		for _, s := range r.Scenarios {
			if s.Scenario == "reminder" {
				return s
			}
		}
		j.fail("no reminder scenario")
		return care.ScenarioView{}
	}
	if v := reminder(); !v.Enabled {
		j.fail("the reminder is not on: %+v", v)
	}

	j.fill(`#scenario-reminder [name=text]`, "Hi {name}, see you on {date}")
	j.click(`#scenario-reminder button[type=submit]`)
	j.wait(`(document.querySelector('#scenario-reminder .err[data-err-for="text"]') || {textContent: ''}).textContent.includes('{name}')`, 5*time.Second)
	if j.eval(`document.activeElement && document.activeElement.name`) != "text" || j.eval(`document.querySelector('#scenario-reminder [name=text]').getAttribute('aria-invalid')`) != "true" {
		j.fail("the text field is not marked invalid and focused")
	}
	if v := reminder(); strings.Contains(v.Text, "{name}") || !v.Enabled {
		j.fail("a refused text was saved: %+v", v)
	}
	j.screenshot("care-placeholder")
	j.noDialogs()
}

// TestBrowserRatings: a low rating a patient sends through the API shows
// in the ratings screen, and a second one arrives live; "open chat" opens
// that patient's thread with the rating in it.
func TestBrowserRatings(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	_, ptok, _ := j.ta.joinCard(cl, "+79990000606")
	var ap appointmentResponse
	j.ta.must(200, "PUT", "/v1/clinic/appointments/V-1", cl.admin, map[string]any{"phone": "+79990000606",
		"starts_at": time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339), "doctor": "Dr Petrov", "status": "done"}).decode(t, &ap)
	var rr care.RatingResult
	j.ta.must(201, "POST", "/v1/visits/"+ap.Appointment.ID+"/rating", ptok, map[string]any{"score": 2, "comment": "Waited <b>40</b> minutes"}).decode(t, &rr)
	if rr.Rating.ThreadID == "" {
		t.Fatalf("the low rating opened no thread: %+v", rr)
	}
	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/ratings"))
	j.wait(`[...document.querySelectorAll('#ratings td')].some(td => td.textContent === 'Waited <b>40</b> minutes')`, 10*time.Second)
	if got := j.text("#rat-count"); got != "1" {
		j.fail("the count says %q", got)
	}
	if j.eval(`String(document.querySelectorAll('#ratings .chart-box svg rect').length > 0)`) != "true" {
		j.fail("no chart of the weeks")
	}
	// Another low rating shows without a reload.
	j.wait(`document.body.dataset.live === 'on'`, 10*time.Second)
	j.ta.must(200, "PUT", "/v1/clinic/appointments/V-2", cl.admin, map[string]any{"phone": "+79990000606",
		"starts_at": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339), "doctor": "Dr Petrov", "status": "done"}).decode(t, &ap)
	j.ta.must(201, "POST", "/v1/visits/"+ap.Appointment.ID+"/rating", ptok, map[string]any{"score": 1})
	j.wait(`document.querySelector('#rat-count').textContent === '2'`, 5*time.Second)
	j.screenshot("ratings")
	j.click(`#ratings a.open-chat`)
	j.wait(`location.hash === '#/chat/' + `+strconv.Quote(rr.Rating.ThreadID)+` && (document.querySelector('#messages') || {textContent: ''}).textContent.includes('Waited <b>40</b> minutes')`, 10*time.Second)
	if n := j.eval(`String(document.querySelectorAll('#app b').length)`); n != "0" {
		j.fail("%s elements were made from the comment", n)
	}
	j.screenshot("ratings-chat")
	j.noDialogs()
}

// TestBrowserMessagePolicy: the manager changes the weekly budget; a value
// out of range is refused next to its field first.
func TestBrowserMessagePolicy(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/messages"))
	j.wait(`document.querySelector('form.policy [name=weekly_budget]') !== null`, 10*time.Second)
	var before messagePolicy
	j.ta.must(200, "GET", "/v1/clinic/message-policy", cl.manager, nil).decode(t, &before)

	j.fill(`form.policy [name=weekly_budget]`, "99")
	j.click(`form.policy button[type=submit]`)
	j.wait(`(document.querySelector('form.policy .err[data-err-for="weekly_budget"]') || {textContent: ''}).textContent > ''`, 5*time.Second)
	j.fill(`form.policy [name=weekly_budget]`, "5")
	j.click(`form.policy button[type=submit]`)
	j.wait(`document.querySelector('#policy-ok').textContent === 'Saved.'`, 5*time.Second)
	var after messagePolicy
	j.ta.must(200, "GET", "/v1/clinic/message-policy", cl.manager, nil).decode(t, &after)
	if after.WeeklyBudget == nil || *after.WeeklyBudget != 5 || after.QuietFrom != before.QuietFrom || after.QuietTo != before.QuietTo {
		j.fail("policy %+v → %+v", before, after)
	}
	j.screenshot("message-policy")
	j.noDialogs()
}

// TestBrowserUnconfirmedCard: reception registers an unconfirmed card by
// phone for a patient without the app, sees why spending is refused and
// records a receipt on it, which earns.
func TestBrowserUnconfirmedCard(t *testing.T) {
	j := newJourney(t, 768, 1024)
	j.ta.clinicWithProgram("Smile Dental", "smile.test")
	j.signIn("desk@smile.test", "reception-pass")
	j.click(`#issue-open`)
	j.fill(`[name=phone]`, "+7 999 000-07-07")
	j.fill(`[name=first_name]`, "Elena")
	j.click(`form.panel [name=unconfirmed]`)
	j.click(`form.panel button[type=submit]`)
	j.wait(`document.querySelector('#card-balance') !== null && document.querySelector('#unconfirmed-why') !== null`, 10*time.Second)
	if j.eval(`String(document.querySelector('#do-spend').disabled)`) != "true" || !strings.Contains(j.text("#screen .card-head"), "unconfirmed") {
		j.fail("the unconfirmed card does not say so")
	}
	before := j.text("#card-balance")
	j.click(`#do-receipt`)
	j.fill(`[name="lines[0].service"]`, "CONS-01")
	j.fill(`[name="lines[0].amount"]`, "1500")
	j.click(`#work form button[type=submit]`)
	j.wait(`document.querySelector('#receipt-result') !== null`, 5*time.Second)
	if after := j.text("#card-balance"); digits(after) != digits(before)+75 {
		j.fail("balance %q → %q after a 1,500 ₽ receipt at 5%%", before, after)
	}
	j.screenshot("unconfirmed-receipt")
	j.noDialogs()
}

// TestBrowserDocsScreenshots writes the README's screenshots (docs/) when
// CAREWALLET_DOCS_SCREENSHOTS names a directory; otherwise it skips.
func TestBrowserDocsScreenshots(t *testing.T) {
	dir := os.Getenv("CAREWALLET_DOCS_SCREENSHOTS")
	if dir == "" {
		t.Skip("set CAREWALLET_DOCS_SCREENSHOTS=docs to refresh the README's screenshots")
	}
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	_, ptok, card := j.ta.joinCard(cl, "+79990000505")
	j.ta.must(200, "PATCH", "/v1/me", ptok, map[string]string{"first_name": "Anna", "last_name": "Ivanova", "birth_date": "1990-05-17"})
	for i, amount := range []int{480000, 1250000, 320000} {
		j.ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card.ID, "receipt_id": fmt.Sprintf("R-10%d", i),
			"lines": []map[string]any{{"service": "CONS-01", "amount": amount}}})
	}
	j.ta.must(201, "POST", "/v1/chats", ptok, map[string]string{"clinic_id": cl.id, "text": "Good afternoon! Can I move Thursday's visit to Friday morning?"})
	j.signIn("desk@smile.test", "reception-pass")
	j.fill(`[name=q]`, "+79990000505")
	j.click(`form.search button[type=submit]`)
	j.wait(`document.querySelector('#holder-name') !== null`, 5*time.Second)
	save := func(name string) {
		png, err := chromedp.Run(j.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save("console-reception.png")
	j.click(`header.top .who button`)
	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/chat"))
	j.click(`.thread-item`)
	j.wait(`document.querySelector('#messages .msg') !== null`, 5*time.Second)
	j.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('select.lang'); s.value = 'ru'; s.dispatchEvent(new Event('change')); })()`))
	j.wait(`document.querySelector('#messages .msg') !== null && document.querySelector('#nav-chat').textContent.startsWith('Чат')`, 5*time.Second)
	save("console-chat-ru.png")

	// Ratings: four patients rate their visits; one low rating has its chat.
	for i, r := range []struct {
		score   int
		comment string
	}{{5, "Thank you, painless!"}, {4, ""}, {2, "Waited 40 minutes past my time"}, {5, "Dr Petrova is the best"}} {
		phone := fmt.Sprintf("+7999000061%d", i)
		_, tok, _ := j.ta.joinCard(cl, phone)
		var ap appointmentResponse
		j.ta.must(200, "PUT", fmt.Sprintf("/v1/clinic/appointments/D-%d", i), cl.admin, map[string]any{"phone": phone,
			"starts_at": time.Now().Add(-time.Duration(3+i) * time.Hour).UTC().Format(time.RFC3339), "doctor": []string{"Dr Petrova", "Dr Smirnov"}[i%2], "status": "done"}).decode(t, &ap)
		j.ta.must(201, "POST", "/v1/visits/"+ap.Appointment.ID+"/rating", tok, map[string]any{"score": r.score, "comment": r.comment})
	}
	j.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('select.lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); })()`))
	j.do(chromedp.Navigate(j.base + "/console/#/ratings"))
	j.wait(`document.querySelectorAll('#ratings tbody tr').length === 4 && document.querySelector('#ratings .chart-box')`, 10*time.Second)
	save("console-ratings.png")
}

// TestBrowserDependantCard: reception opens a child's card that has two
// guardians, sees both and their consents, chooses the second guardian and
// ends their access; the first stays and can no longer be removed.
func TestBrowserDependantCard(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	momID, _ := j.ta.patient("+79990000808")
	child := map[string]string{"guardian_phone": "+79990000808", "first_name": "Masha", "last_name": "Petrova", "birth_date": "2018-06-01"}
	card := j.ta.issueConfirmed(cl, child, momID)
	j.ta.must(204, "POST", "/v1/clinic/cards/"+card+"/guardians", cl.admin, map[string]string{"phone": "+79990000809"})
	dadID, _ := j.ta.patient("+79990000809")

	j.signIn("desk@smile.test", "reception-pass")
	j.fill(`[name=q]`, "+79990000808")
	j.click(`form.search button[type=submit]`)
	j.wait(`document.querySelectorAll('#family table').length === 2 && document.querySelector('#guardian-remove') !== null`, 10*time.Second)
	if got := j.text("#family"); !strings.Contains(got, momID) || !strings.Contains(got, dadID) {
		j.fail("the guardians shown: %q", got)
	}
	if n := j.eval(`String(document.querySelectorAll('#family .panel:nth-child(2) tbody tr').length)`); n != "2" {
		j.fail("%s consents shown, want the two guardians'", n)
	}
	j.screenshot("dependant")
	j.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector('#guardian-remove select'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, dadID)))
	j.click(`#guardian-remove button[type=submit]`)
	j.wait(`document.querySelector('#guardian-remove') === null && document.querySelectorAll('#family .panel:first-child tbody tr').length === 1`, 10*time.Second)
	var gs guardiansResponse
	j.ta.must(200, "GET", "/v1/clinic/cards/"+card+"/guardians", cl.admin, nil).decode(t, &gs)
	if len(gs.Guardians) != 1 || gs.Guardians[0].GuardianID != momID {
		j.fail("guardians after removing the second: %+v", gs.Guardians)
	}
	j.noDialogs()
}

// TestBrowserServicesAndProfile: the price list uploads as CSV (a bad line
// is named and nothing is imported; then all lines are); the clinic's
// profile takes a new name and a logo, previewed before it is saved.
func TestBrowserServicesAndProfile(t *testing.T) {
	j := newJourney(t, 1280, 800)
	cl := j.ta.clinicWithProgram("Smile Dental", "smile.test")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.csv", []byte("code,name,before_text,after_text\nCONS-01,Consultation,Bring your X-rays,\n,No code,,\n"))
	good := write("good.csv", []byte("code,name,before_text,after_text\nCONS-01,Consultation,Bring your X-rays,\nCLEAN-01,Cleaning,,No coffee for 2 hours\n"))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	logo := write("logo.png", buf.Bytes())

	j.signIn("boss@smile.test", "manager-password")
	j.do(chromedp.Navigate(j.base + "/console/#/care/services"))
	j.wait(`document.querySelector('#screen input[type=file]') !== null && document.querySelector('#services p, #services table')`, 10*time.Second)
	j.do(chromedp.SetUploadFiles(`#screen input[type=file]`, []string{bad}))
	j.click(`#screen form button[type=submit]`)
	j.wait(`(document.querySelector('#screen form .form-err') || {textContent: ''}).textContent.startsWith('line 3')`, 5*time.Second)
	if msg := j.text(`#screen form .form-err`); strings.Count(msg, "line 3") != 1 {
		j.fail("the import's error says %q", msg)
	}
	if n := j.eval(`String(document.querySelectorAll('#services tbody tr').length)`); n != "0" {
		j.fail("%s services after a refused import", n)
	}
	j.do(chromedp.SetUploadFiles(`#screen input[type=file]`, []string{good}))
	j.click(`#screen form button[type=submit]`)
	j.wait(`document.querySelectorAll('#services tbody tr').length === 2`, 5*time.Second)
	j.screenshot("services")

	// Review sites: a bad address is refused next to its field.
	j.do(chromedp.Navigate(j.base + "/console/#/care/sites"))
	j.fill(`form#sites [name="[0].name"]`, "Yandex Maps")
	j.fill(`form#sites [name="[0].url"]`, "javascript:alert(1)")
	j.click(`form#sites button[type=submit]`)
	j.wait(`(document.querySelector('form#sites .err[data-err-for="[0].url"]') || {textContent: ''}).textContent > ''`, 5*time.Second)
	j.fill(`form#sites [name="[0].url"]`, "https://yandex.ru/maps/org/1")
	j.click(`form#sites button[type=submit]`)
	j.wait(`document.querySelector('form#sites .ok').textContent === 'Saved.'`, 5*time.Second)
	var sites reviewSitesResponse
	j.ta.must(200, "GET", "/v1/clinic/review-sites", cl.manager, nil).decode(t, &sites)
	if len(sites.Sites) != 1 || sites.Sites[0].URL != "https://yandex.ru/maps/org/1" {
		j.fail("review sites %+v", sites.Sites)
	}

	j.do(chromedp.Navigate(j.base + "/console/#/profile"))
	j.wait(`document.querySelector('form#profile [name=name]') !== null`, 10*time.Second)
	j.fill(`form#profile [name=name]`, "Smile Dental Center")
	j.fill(`form#profile [name=hours]`, "Mon-Fri 9:00-21:00")
	j.do(chromedp.SetUploadFiles(`form#profile [name=logo]`, []string{logo}))
	j.wait(`document.querySelector('#logo-preview').src.startsWith('blob:') && document.querySelector('#logo-preview').naturalWidth === 8`, 5*time.Second)
	j.click(`form#profile button[type=submit]`)
	j.wait(`document.querySelector('form#profile .ok').textContent === 'Saved.'`, 5*time.Second)
	var p clinicProfile
	j.ta.must(200, "GET", "/v1/clinic/profile", cl.manager, nil).decode(t, &p)
	if p.Name != "Smile Dental Center" || p.Hours != "Mon-Fri 9:00-21:00" || p.LogoURL == "" || j.text("header.top .brand strong") != p.Name {
		j.fail("saved profile %+v", p)
	}
	j.wait(`!document.querySelector('#logo-preview').src.startsWith('blob:') && document.querySelector('#logo-preview').complete && document.querySelector('#logo-preview').naturalWidth === 8`, 5*time.Second)
	j.screenshot("profile")
	j.noDialogs()
}
