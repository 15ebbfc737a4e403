package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"carewallet/app/storage/storagetest"
	"carewallet/push"
)

// serve starts the app on a loopback socket (websockets need a real
// connection) and returns host:port.
func (ta *testApp) serve() string {
	ta.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ta.t.Fatal(err)
	}
	go ta.f.Listener(ln)
	ta.t.Cleanup(func() { _ = ta.f.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// dialWS opens /v1/ws with a bearer token (when set) and a query.
func dialWS(t testing.TB, addr, token, query string) (*fws.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	u := "ws://" + addr + "/v1/ws"
	if query != "" {
		u += "?" + query
	}
	d := fws.Dialer{HandshakeTimeout: 10 * time.Second}
	c, res, err := d.Dial(u, h)
	if res != nil && res.Body != nil {
		res.Body.Close()
	}
	return c, res, err
}

func mustDialWS(t testing.TB, addr, token, query string) *fws.Conn {
	t.Helper()
	c, res, err := dialWS(t, addr, token, query)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial /v1/ws?%s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wsClient mirrors what the app keeps: the events it applied, by seq.
type wsClient struct {
	t    *testing.T
	c    *fws.Conn
	last int64
	got  []push.Event
}

// readUntil reads frames until the client has applied seq want; frames at
// or below last (repeats around a resume) are skipped, a gap fails.
func (w *wsClient) readUntil(want int64) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(time.Minute)) // a hang bound, not an assertion
	for w.last < want {
		_, msg, err := w.c.ReadMessage()
		if err != nil {
			w.t.Fatalf("read at seq %d (want %d): %v", w.last, want, err)
		}
		var ev push.Event
		if err := json.Unmarshal(msg, &ev); err != nil {
			w.t.Fatal(err)
		}
		if ev.Seq <= w.last {
			continue
		}
		if ev.Seq != w.last+1 {
			w.t.Fatalf("gap: seq %d after %d", ev.Seq, w.last)
		}
		w.last = ev.Seq
		w.got = append(w.got, ev)
	}
}

func (w *wsClient) resume() {
	w.t.Helper()
	if err := w.c.WriteMessage(fws.TextMessage, []byte(fmt.Sprintf(`{"type":"resume","after":%d}`, w.last))); err != nil {
		w.t.Fatal(err)
	}
}

func publish(t testing.TB, ta *testApp, user string, n int) {
	t.Helper()
	for i := range n {
		if _, err := ta.deps.Push.Publish(context.Background(), user, push.Draft{Type: "test.event",
			Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// closeCode reads until the server closes and returns the close code.
func closeCode(t *testing.T, c *fws.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *fws.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

func TestDevices(t *testing.T) {
	ta := newTestApp(t)
	id, tok := ta.patient("+79001110001")
	dev := map[string]string{"token": "fcm:abc/1", "platform": "android", "app_version": "2.1.0", "locale": "ru-RU"}
	ta.must(204, "PUT", "/v1/me/devices", tok, dev)
	ta.must(204, "PUT", "/v1/me/devices", tok, dev) // idempotent
	devs, err := ta.deps.Push.Devices(context.Background(), id)
	if err != nil || len(devs) != 1 || devs[0].Token != "fcm:abc/1" || devs[0].AppVersion != "2.1.0" {
		t.Fatalf("devices = %+v %v", devs, err)
	}
	for _, tc := range []struct {
		body any
		code string
	}{
		{map[string]string{"token": "x", "platform": "symbian"}, "invalid_device"},
		{map[string]string{"platform": "ios"}, "invalid_device"},
		{map[string]any{"token": "x", "platform": "ios", "extra": 1}, "invalid_input"},
		{`{"token":"x","platform":"ios"} {}`, "invalid_input"},
	} {
		if r := ta.mustRaw(400, "PUT", "/v1/me/devices", tok, tc.body); r.errorCode(t) != tc.code {
			t.Errorf("%v: code %s, want %s", tc.body, r.errorCode(t), tc.code)
		}
	}
	ta.must(401, "PUT", "/v1/me/devices", "", dev)

	// The token moves to the account that registers it last; the first
	// account can no longer delete it.
	id2, tok2 := ta.patient("+79001110002")
	ta.must(204, "PUT", "/v1/me/devices", tok2, dev)
	esc := "/v1/me/devices/" + url.PathEscape("fcm:abc/1")
	if r := ta.must(404, "DELETE", esc, tok, nil); r.errorCode(t) != "not_found" {
		t.Fatal(string(r.Body))
	}
	ta.must(204, "DELETE", esc, tok2, nil)
	if devs, _ := ta.deps.Push.Devices(context.Background(), id2); len(devs) != 0 {
		t.Fatalf("after delete: %+v", devs)
	}

	// Logout unlinks the session's devices only.
	ta.must(204, "PUT", "/v1/me/devices", tok, dev)
	other := ta.signInPatient("+79001110001").AccessToken
	ta.must(204, "PUT", "/v1/me/devices", other, map[string]string{"token": "fcm:other", "platform": "ios"})
	ta.must(204, "POST", "/v1/auth/logout", tok, nil)
	devs, _ = ta.deps.Push.Devices(context.Background(), id)
	if len(devs) != 1 || devs[0].Token != "fcm:other" {
		t.Fatalf("after logout: %+v", devs)
	}
}

func TestEventsPage(t *testing.T) {
	ta := newTestApp(t)
	id, tok := ta.patient("+79001110003")
	var page eventsResponse
	ta.must(200, "GET", "/v1/me/events", tok, nil).decode(t, &page)
	base := page.NextAfter // sign-in may already have produced events
	publish(t, ta, id, 5)
	ta.must(200, "GET", fmt.Sprintf("/v1/me/events?after=%d&limit=2", base), tok, nil).decode(t, &page)
	if len(page.Events) != 2 || page.Events[0].Seq != base+1 || page.NextAfter != base+2 || page.Events[0].Type != "test.event" {
		t.Fatalf("page = %+v", page)
	}
	ta.must(200, "GET", fmt.Sprintf("/v1/me/events?after=%d", page.NextAfter), tok, nil).decode(t, &page)
	if len(page.Events) != 3 || page.NextAfter != base+5 {
		t.Fatalf("rest = %+v", page)
	}
	r := ta.must(200, "GET", fmt.Sprintf("/v1/me/events?after=%d", page.NextAfter), tok, nil)
	if !strings.Contains(string(r.Body), `"events":[]`) {
		t.Fatalf("an empty page is not an empty list: %s", r.Body)
	}
	r.decode(t, &page)
	if len(page.Events) != 0 || page.NextAfter != base+5 {
		t.Fatalf("end = %+v", page)
	}
	if r := ta.do("GET", "/v1/me/events", tok, nil); !strings.Contains(string(r.Body), `"events":[`) {
		t.Fatalf("events must be an array: %s", r.Body)
	}
	for _, q := range []string{"limit=0", "limit=501", "after=-1", "after=x"} {
		ta.mustRaw(400, "GET", "/v1/me/events?"+q, tok, nil)
	}
	ta.must(401, "GET", "/v1/me/events", "", nil)
}

func TestWebsocketAuth(t *testing.T) {
	ta := newTestApp(t)
	addr := ta.serve()
	id, tok := ta.patient("+79001110004")

	// No credentials, a bad token, an access token passed as a ticket.
	for _, q := range []string{"", "ticket=wst_nope", "ticket=" + tok} {
		if _, res, err := dialWS(t, addr, "", q); err == nil || res == nil || res.StatusCode != 401 {
			t.Errorf("?%.20s: want 401, got %v", q, res)
		}
	}
	if _, res, err := dialWS(t, addr, "garbage", ""); err == nil || res.StatusCode != 401 {
		t.Errorf("bad bearer: %v", res)
	}
	// A plain GET is not an upgrade.
	if r := ta.do("GET", "/v1/ws", tok, nil); r.Status != 426 {
		t.Errorf("plain GET: %d", r.Status)
	}

	// A ticket opens one socket, once.
	var tk ticketResponse
	ta.must(200, "POST", "/v1/ws/ticket", tok, nil).decode(t, &tk)
	if tk.ExpiresIn != 30 || !strings.HasPrefix(tk.Ticket, "wst_") {
		t.Fatalf("ticket = %+v", tk)
	}
	c := mustDialWS(t, addr, "", "ticket="+url.QueryEscape(tk.Ticket)+"&after=0")
	if _, res, err := dialWS(t, addr, "", "ticket="+url.QueryEscape(tk.Ticket)); err == nil || res.StatusCode != 401 {
		t.Fatalf("ticket reuse: %v", res)
	}
	// An expired ticket fails.
	ta.must(200, "POST", "/v1/ws/ticket", tok, nil).decode(t, &tk)
	ta.clock.add(31 * time.Second)
	if _, res, err := dialWS(t, addr, "", "ticket="+url.QueryEscape(tk.Ticket)); err == nil || res.StatusCode != 401 {
		t.Fatalf("expired ticket: %v", res)
	}

	publish(t, ta, id, 3)
	w := &wsClient{t: t, c: c}
	last, _ := ta.deps.Push.Events(context.Background(), id, 0, 500)
	w.readUntil(last[len(last)-1].Seq)

	// Bearer on the upgrade works too; a logged-out session cannot connect.
	mustDialWS(t, addr, tok, "")
	ta.must(204, "POST", "/v1/auth/logout", tok, nil)
	if _, res, err := dialWS(t, addr, tok, ""); err == nil || res.StatusCode != 401 {
		t.Fatalf("after logout: %v", res)
	}
}

// TestWebsocketResume: 200 events published while offline arrive exactly
// and in order after a resume; over random disconnects (with events
// published while connected and while away) the client ends equal to the
// inbox.
func TestWebsocketResume(t *testing.T) {
	ta := newTestApp(t)
	addr := ta.serve()
	id, tok := ta.patient("+79001110005")
	w := &wsClient{t: t, c: mustDialWS(t, addr, tok, "after=0")}
	publish(t, ta, id, 3)
	base, _ := ta.deps.Push.Events(context.Background(), id, 0, 500)
	w.readUntil(base[len(base)-1].Seq)
	w.c.Close()

	publish(t, ta, id, 200)
	w.c = mustDialWS(t, addr, tok, "")
	w.resume()
	before := len(w.got)
	w.readUntil(w.last + 200)
	if len(w.got)-before != 200 {
		t.Fatalf("got %d after resume", len(w.got)-before)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for range 10 {
		n := 1 + rng.IntN(15)
		done := make(chan struct{})
		go func() { defer close(done); publish(t, ta, id, n) }()
		w.readUntil(w.last + int64(rng.IntN(n+1)))
		<-done
		w.c.Close()
		publish(t, ta, id, rng.IntN(20))
		w.c = mustDialWS(t, addr, tok, "")
		w.resume()
		all, _ := ta.deps.Push.LastSeq(context.Background(), id)
		w.readUntil(all)
	}
	inbox, err := ta.deps.Push.Events(context.Background(), id, 0, push.MaxEventsPage)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != len(w.got) {
		t.Fatalf("client %d events, inbox %d", len(w.got), len(inbox))
	}
	for i := range inbox {
		if inbox[i].ID != w.got[i].ID || inbox[i].Seq != w.got[i].Seq {
			t.Fatalf("event %d differs: %+v vs %+v", i, w.got[i], inbox[i])
		}
	}
}

func TestWebsocketLimits(t *testing.T) {
	ta := newTestApp(t)
	addr := ta.serve()
	_, tok := ta.patient("+79001110006")

	c := mustDialWS(t, addr, tok, "")
	if err := c.WriteMessage(fws.TextMessage, []byte(`{"type":"resume","after":0,"pad":"`+strings.Repeat("x", 65<<10)+`"}`)); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, c); code != fws.CloseMessageTooBig {
		t.Fatalf("oversized frame: close %d", code)
	}

	c = mustDialWS(t, addr, tok, "")
	_ = c.WriteMessage(fws.TextMessage, []byte(`{"type":"subscribe"}`))
	if code := closeCode(t, c); code != fws.ClosePolicyViolation {
		t.Fatalf("unknown message: close %d", code)
	}
	c = mustDialWS(t, addr, tok, "")
	_ = c.WriteMessage(fws.BinaryMessage, []byte{1, 2})
	if code := closeCode(t, c); code != fws.CloseUnsupportedData {
		t.Fatalf("binary: close %d", code)
	}
}

// TestWebsocketHeartbeat: with a short schedule, a client that answers
// pings stays connected past several idle periods, and a logout ends the
// socket at the next heartbeat.
func TestWebsocketHeartbeat(t *testing.T) {
	ta := newTestApp(t)
	store, err := push.NewSQLiteStore(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	ta.deps.Push = push.NewService(store, push.Options{Now: ta.clock.now,
		PingInterval: 50 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { ta.deps.Push.Close() })
	ta.f = New(ta.deps)
	addr := ta.serve()
	id, tok := ta.patient("+79001110007")
	c := mustDialWS(t, addr, tok, "")
	pings := make(chan struct{}, 100)
	c.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return c.WriteControl(fws.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for range 6 { // outlive the idle timeout several times over
			<-pings
		}
		publish(t, ta, id, 1)
	}()
	w := &wsClient{t: t, c: c}
	last, _ := ta.deps.Push.LastSeq(context.Background(), id)
	w.readUntil(last + 1)

	ta.must(204, "POST", "/v1/auth/logout", tok, nil)
	if code := closeCode(t, c); code != fws.ClosePolicyViolation {
		t.Fatalf("after logout: close %d", code)
	}

	// A peer that never reads never answers a ping: it is dropped after
	// the idle timeout.
	_, tok = ta.patient("+79001110007")
	mustDialWS(t, addr, tok, "")
	settle(t, func() bool { return ta.deps.Push.Hub().Count() == 1 })
	settle(t, func() bool { return ta.deps.Push.Hub().Count() == 0 })
}

// TestWebsocketCyclesLeakNothing: 1,000 connect/disconnect cycles leave
// no subscription and no goroutine behind.
func TestWebsocketCyclesLeakNothing(t *testing.T) {
	ta := newTestApp(t)
	addr := ta.serve()
	id, tok := ta.patient("+79001110008")
	// Warm up once so lazily started goroutines (pools, timers) exist before counting.
	mustDialWS(t, addr, tok, "").Close()
	settle(t, func() bool { return ta.deps.Push.Hub().Count() == 0 })
	before := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	for i := range 1000 {
		c, _, err := dialWS(t, addr, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 { // some cycles carry traffic
			publish(t, ta, id, 1)
			_ = c.WriteMessage(fws.TextMessage, []byte(`{"type":"resume","after":0}`))
			_, _, _ = c.ReadMessage()
		}
		c.Close()
	}
	settle(t, func() bool { return ta.deps.Push.Hub().Count() == 0 && runtime.NumGoroutine() <= before })
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grown := int64(ms.HeapAlloc) - int64(heapBefore); grown > 4<<20 {
		t.Fatalf("heap grew by %d bytes over 1,000 cycles", grown)
	}
}

// settle polls cond (not a timing assertion: the bound only stops a hang).
func settle(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("did not settle; goroutines %d\n%s", runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
}
