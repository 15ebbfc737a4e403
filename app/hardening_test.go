package app

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"carewallet/push"
	"carewallet/wallet"
)

// TestIdempotencyKeyClaimedOnce: concurrent requests with one
// Idempotency-Key and different bodies — exactly one runs; the others are
// told the key is in use (409) or taken by another request (422).
func TestIdempotencyKeyClaimedOnce(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, tok := ta.patient("+79991000101")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)

	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"card_id": v.ID, "receipt_id": fmt.Sprintf("IK-%d", i),
				"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "paid_with_points": 0}
			r := ta.do("POST", "/v1/clinic/receipts", cl.admin, body, "Idempotency-Key", "same-key")
			k := fmt.Sprint(r.Status)
			if r.Status != 200 {
				k += " " + r.errorCode(t)
			}
			mu.Lock()
			got[k]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got["200"] != 1 || got["200"]+got["409 request_in_progress"]+got["422 idempotency_conflict"] != n {
		t.Fatalf("answers %v; want exactly one 200 and the rest 409 request_in_progress / 422 idempotency_conflict", got)
	}
	var after wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil).decode(t, &after)
	if after.Balance != v.Balance+50 { // one receipt: 5% of 1,000.00 roubles
		t.Fatalf("balance %d after the race, want %d (one receipt)", after.Balance, v.Balance+50)
	}
}

// TestStrictJSONShape: duplicate keys, keys in another case, a null body
// and bidirectional controls are refused with the field named, and
// nothing is written.
func TestStrictJSONShape(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, tok := ta.patient("+79991000102")
	_, tok2 := ta.patient("+79991000103")
	var a, b wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &a)
	ta.must(201, "POST", "/v1/me/cards", tok2, map[string]string{"clinic_id": cl.id}).decode(t, &b)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": a.ID, "receipt_id": "S-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "paid_with_points": 0})

	lines := `"lines":[{"service":"CONS-01","amount":100000}],"paid_with_points":0`
	for _, tc := range []struct {
		name, method, path, body, field string
	}{
		{"duplicate key", "POST", "/v1/clinic/receipts",
			`{"card_id":"` + a.ID + `","receipt_id":"S-2","card_id":"` + b.ID + `",` + lines + `}`, "card_id"},
		{"duplicate nested key", "POST", "/v1/clinic/receipts",
			`{"card_id":"` + a.ID + `","receipt_id":"S-2","lines":[{"service":"CONS-01","amount":1,"amount":100000}],"paid_with_points":0}`, "lines[0].amount"},
		{"key in another case", "POST", "/v1/clinic/receipts",
			`{"CARD_ID":"` + b.ID + `","receipt_id":"S-2",` + lines + `}`, "CARD_ID"},
		{"bidi override in an id", "POST", "/v1/clinic/receipts",
			`{"card_id":"` + a.ID + `","receipt_id":"S-\u202e2",` + lines + `}`, "receipt_id"},
		{"null body on refund", "POST", "/v1/clinic/receipts/S-1/refund", `null`, ""},
	} {
		r := ta.doRaw(tc.method, tc.path, cl.admin, tc.body)
		var e errorBody
		r.decode(t, &e)
		if r.Status != 400 || e.Error.Field != tc.field {
			t.Errorf("%s: %d %s; want 400 with field %q", tc.name, r.Status, r.Body, tc.field)
		}
	}
	for _, c := range []wallet.CardView{a, b} {
		var now wallet.CardView
		ta.must(200, "GET", "/v1/clinic/cards/"+c.ID, cl.admin, nil).decode(t, &now)
		want := c.Balance
		if c.ID == a.ID {
			want += 50 // S-1 only, not refunded
		}
		if now.Balance != want {
			t.Errorf("card %s balance %d, want %d: a refused request wrote", c.ID, now.Balance, want)
		}
	}
}

// TestSecurityHeaders: answers that carry tokens, codes or personal data
// are never cached or sniffed — errors included.
func TestSecurityHeaders(t *testing.T) {
	ta := newTestApp(t)
	tok := ta.signInPatient("+79991000104")
	for _, r := range []resp{
		ta.must(200, "GET", "/v1/me", tok.AccessToken, nil),
		ta.must(200, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}),
		ta.must(401, "GET", "/v1/me", "", nil),
		ta.doRaw("GET", "/v1/no-such-route", "", nil),
	} {
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%d %s: Cache-Control %q, X-Content-Type-Options %q", r.Status, r.Body,
				r.Header.Get("Cache-Control"), r.Header.Get("X-Content-Type-Options"))
		}
	}
}

// TestWebsocketsPerAccount: one token cannot hold more than the cap of
// open websockets; the next upgrade is a 429, and a closed socket frees
// its place.
func TestWebsocketsPerAccount(t *testing.T) {
	ta := newTestApp(t)
	addr := ta.serve()
	pid, tok := ta.patient("+79991000105")
	var conns []*fws.Conn
	for range push.DefaultMaxSocketsPerUser {
		conns = append(conns, mustDialWS(t, addr, tok, ""))
	}
	// The server registers a socket just after its 101 reaches the client;
	// an upgrade racing with the tenth registration is closed with 1008
	// by Subscribe instead of refused with a 429. Wait for all ten.
	for deadline := time.Now().Add(10 * time.Second); ta.deps.Push.Sockets(pid) < push.DefaultMaxSocketsPerUser; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d websockets registered", ta.deps.Push.Sockets(pid), push.DefaultMaxSocketsPerUser)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, res, err := dialWS(t, addr, tok, "")
	if err == nil || res == nil || res.StatusCode != 429 {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("websocket %d on one account: err %v, status %d; want 429", push.DefaultMaxSocketsPerUser+1, err, status)
	}
	_, other := ta.patient("+79991000106")
	mustDialWS(t, addr, other, "")

	conns[0].Close()
	// The server notices the close when its reader returns: retry, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _, err := dialWS(t, addr, tok, "")
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed websocket never freed its place: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPathsMatchAsSent: routes match case-sensitively, and paths that
// would be rewritten into another route are refused.
func TestPathsMatchAsSent(t *testing.T) {
	ta := newTestApp(t)
	tok := ta.signInPatient("+79991000107")
	ta.must(200, "GET", "/v1/me", tok.AccessToken, nil)
	ta.mustRaw(404, "GET", "/V1/ME", tok.AccessToken, nil)
	for _, p := range []string{"/v1/clinic/../me", "/v1/./me", "/v1/clinic%2F..%2Fme", "/v1/%2e%2e/v1/me", `/v1\me`} {
		if r := ta.doRaw("GET", p, tok.AccessToken, nil); r.Status != 400 || r.errorCode(t) != "invalid_path" {
			t.Errorf("GET %s: %d %s; want 400 invalid_path", p, r.Status, r.Body)
		}
	}
}

// TestReportRange: a report range outside what the stores can represent is
// a 400 naming the parameter, not a 200 of zeros.
func TestReportRange(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	for _, q := range []string{"from=1600-01-01", "to=2300-01-01", "from=0001-01-01T00:00:00Z", "to=9999-12-31"} {
		r := ta.do("GET", "/v1/clinic/reports/totals?"+q, cl.manager, nil)
		var e errorBody
		r.decode(t, &e)
		if r.Status != 400 || e.Error.Field != strings.SplitN(q, "=", 2)[0] {
			t.Errorf("totals?%s: %d %s; want 400 with the field", q, r.Status, r.Body)
		}
	}
	ta.must(200, "GET", "/v1/clinic/reports/totals?from=1990-01-01&to=2100-12-31", cl.manager, nil)
}
