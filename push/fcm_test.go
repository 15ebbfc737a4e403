package push

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
	"carewallet/push/pushtest"
)

// startFakeFCM runs the emulator on loopback for the test.
func startFakeFCM(t testing.TB, cfg pushtest.Config) (*pushtest.Server, string) {
	t.Helper()
	emu := pushtest.New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

func newFCMSender(t testing.TB, endpoint string) *FCMSender {
	t.Helper()
	s, err := NewFCMSender(context.Background(), FCMConfig{Project: "demo", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFCMConfigFromEnv(t *testing.T) {
	env := map[string]string{"CAREWALLET_FCM_PROJECT": "p", "CAREWALLET_FCM_ENDPOINT": "http://127.0.0.1:1"}
	cfg := FCMConfigFromEnv(func(k string) string { return env[k] })
	if cfg.Project != "p" || cfg.Endpoint != "http://127.0.0.1:1" || cfg.CredentialsFile != "" || !cfg.Enabled() {
		t.Fatalf("cfg = %+v", cfg)
	}
	if s, err := NewSenderFromEnv(context.Background(), func(string) string { return "" }); s != nil || err != nil {
		t.Fatalf("no env: %v %v", s, err)
	}
	if _, err := NewFCMSender(context.Background(), FCMConfig{Project: "p", Endpoint: "ftp://x"}); err == nil {
		t.Fatal("bad endpoint accepted")
	}
}

// TestFCMSenderErrorClasses sends mixed batches through the real
// firebase-admin-go client to the emulator and checks each class.
func TestFCMSenderErrorClasses(t *testing.T) {
	type want struct {
		outcome    Outcome
		code       string
		retryAfter time.Duration
	}
	cases := []struct {
		name  string
		cfg   pushtest.Config
		setup func(*pushtest.Server)
		want  map[string]want // token → result
	}{
		{
			name: "mixed batch",
			cfg:  pushtest.Config{RetryAfter: 7 * time.Second},
			setup: func(e *pushtest.Server) {
				e.Unregister("gone")
				e.Script("quota", pushtest.QuotaExceeded)
				e.Script("internal", pushtest.Internal)
			},
			want: map[string]want{
				"ok-1":        {Delivered, "", 0},
				"gone":        {TokenInvalid, "UNREGISTERED", 0},
				"invalid:xyz": {TokenInvalid, "INVALID_ARGUMENT", 0},
				"quota":       {Retryable, "QUOTA_EXCEEDED", 7 * time.Second},
				"internal":    {Retryable, "INTERNAL", 0},
				"ok-2":        {Delivered, "", 0},
			},
		},
		{
			// The SDK retries a 503 itself, at once the first time.
			name:  "503 absorbed by the SDK",
			setup: func(e *pushtest.Server) { e.Script("blip", pushtest.Unavailable) },
			want:  map[string]want{"blip": {Delivered, "", 0}},
		},
		{
			// A Retry-After beyond the SDK's 2-minute cap makes it give up
			// at once and hand the 503 to our retry queue.
			name:  "503 with a long Retry-After",
			cfg:   pushtest.Config{RetryAfter: 180 * time.Second},
			setup: func(e *pushtest.Server) { e.Script("down", pushtest.Unavailable) },
			want:  map[string]want{"down": {Retryable, "UNAVAILABLE", 180 * time.Second}, "up": {Delivered, "", 0}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu, url := startFakeFCM(t, tc.cfg)
			tc.setup(emu)
			s := newFCMSender(t, url)
			var tokens []string
			var msgs []Message
			for tok := range tc.want {
				tokens = append(tokens, tok)
				msgs = append(msgs, Message{Token: tok, Platform: "android", Alert: Alert{Title: "Points", Body: "You earned points"},
					Data: map[string]string{"type": "wallet.points_earned", "data": `{"points":10}`}})
			}
			res, err := s.SendEach(context.Background(), msgs)
			if err != nil {
				t.Fatal(err)
			}
			for i, tok := range tokens {
				w := tc.want[tok]
				if res[i].Outcome != w.outcome || res[i].Code != w.code || res[i].RetryAfter != w.retryAfter {
					t.Errorf("%s: got %+v, want %+v", tok, res[i], w)
				}
				wantRecorded := 0
				if w.outcome == Delivered {
					wantRecorded = 1
				}
				if n := len(emu.Messages(tok)); n != wantRecorded {
					t.Errorf("%s: recorded %d", tok, n)
				}
			}
		})
	}
}

// TestFCMMessageShape checks what reaches FCM for one message.
func TestFCMMessageShape(t *testing.T) {
	emu, url := startFakeFCM(t, pushtest.Config{})
	s := newFCMSender(t, url)
	_, err := s.SendEach(context.Background(), []Message{{Token: "ok-1", Platform: "android",
		Alert: Alert{Title: "Points", Body: "You earned points"},
		Data:  map[string]string{"type": "wallet.points_earned", "data": `{"points":10}`}}})
	if err != nil {
		t.Fatal(err)
	}
	got := emu.Messages("ok-1")
	if len(got) != 1 {
		t.Fatalf("recorded for ok-1: %d", len(got))
	}
	var m struct {
		Token        string            `json:"token"`
		Data         map[string]string `json:"data"`
		Notification struct{ Title, Body string }
		Android      struct{ Priority string }
	}
	if err := json.Unmarshal(got[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	if m.Token != "ok-1" || m.Data["data"] != `{"points":10}` || m.Notification.Title != "Points" || m.Android.Priority != "high" {
		t.Fatalf("recorded message: %s", got[0].Message)
	}
}

// TestFCMSenderServiceAccount: a service-account JSON whose token_uri
// points at the emulator authenticates the real client without Google.
func TestFCMSenderServiceAccount(t *testing.T) {
	emu, url := startFakeFCM(t, pushtest.Config{Project: "sa-project"})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sa := map[string]string{
		"type": "service_account", "project_id": "sa-project", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "push@sa-project.iam.gserviceaccount.com",
		"client_id": "1", "token_uri": url + "/token",
	}
	b, _ := json.Marshal(sa)
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// No project given: it comes from the credentials file.
	s, err := NewFCMSender(context.Background(), FCMConfig{CredentialsFile: path, Endpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.SendEach(context.Background(), []Message{{Token: "t1", Alert: Alert{Title: "x"}}})
	if err != nil || res[0].Outcome != Delivered {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
	if len(emu.Messages("t1")) != 1 {
		t.Fatal("not recorded")
	}
}

// pushHarness is a service with the real FCM sender on the emulator and a
// sleep that records delays instead of waiting.
type pushHarness struct {
	svc    *Service
	emu    *pushtest.Server
	mu     sync.Mutex
	sleeps []time.Duration
}

func newPushHarness(t *testing.T, b storagetest.Backend, cfg pushtest.Config, opts Options) *pushHarness {
	t.Helper()
	emu, url := startFakeFCM(t, cfg)
	opts.Sender = newFCMSender(t, url)
	h := &pushHarness{emu: emu, svc: NewService(newStore(t, b), opts)}
	h.svc.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.sleeps = append(h.sleeps, d)
		h.mu.Unlock()
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; h.svc.Close() })
	return h
}

// settled waits until the pipeline has accounted for n messages.
func (h *pushHarness) settled(t *testing.T, n int64) Stats {
	t.Helper()
	for range 3000 {
		st := h.svc.Stats()
		if st.Sent+st.Failed+st.Dropped >= n {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pipeline did not settle: %+v", h.svc.Stats())
	return Stats{}
}

// TestPushPipelineErrorHandling runs every class through Publish: tokens
// FCM rejects are removed at once, 429/500 are retried after a jittered
// backoff that honours Retry-After, a push that keeps failing is recorded,
// and the inbox has every event throughout.
func TestPushPipelineErrorHandling(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := testCtx(t)
		h := newPushHarness(t, b, pushtest.Config{RetryAfter: 3 * time.Second},
			Options{MaxAttempts: 3, RetryBase: 100 * time.Millisecond, RetryMax: time.Second})
		devices := map[string]string{ // user → token
			"pt_ok": "tok-ok", "pt_gone": "tok-gone", "pt_bad": "invalid:tok", "pt_429": "tok-429",
			"pt_500": "tok-500", "pt_down": "tok-down",
		}
		for u, tok := range devices {
			if err := h.svc.RegisterDevice(ctx, u, "sess", Device{Token: tok, Platform: "android"}); err != nil {
				t.Fatal(err)
			}
		}
		// A second device of pt_ok on another session.
		if err := h.svc.RegisterDevice(ctx, "pt_ok", "sess2", Device{Token: "tok-ok2", Platform: "ios"}); err != nil {
			t.Fatal(err)
		}
		h.emu.Unregister("tok-gone")
		h.emu.Script("tok-429", pushtest.QuotaExceeded)                                   // then OK
		h.emu.Script("tok-500", pushtest.Internal, pushtest.Internal)                     // then OK on the 3rd attempt
		h.emu.Script("tok-down", pushtest.Internal, pushtest.Internal, pushtest.Internal) // fails all 3

		users := []string{"pt_ok", "pt_gone", "pt_bad", "pt_429", "pt_500", "pt_down"}
		draft := Draft{Key: "points:1", Type: "wallet.points_earned", Data: json.RawMessage(`{"points":10}`),
			Alert: &Alert{Title: "Points earned", Body: "Open the app to see your balance"}}
		if err := h.svc.PublishMany(ctx, users, draft); err != nil {
			t.Fatal(err)
		}
		// The same key again pushes nothing more.
		if err := h.svc.PublishMany(ctx, users, draft); err != nil {
			t.Fatal(err)
		}
		st := h.settled(t, 7) // 7 device messages
		if st.Sent != 4 || st.Failed != 3 || st.TokensRemoved != 2 || st.Dropped != 0 {
			t.Fatalf("stats = %+v", st)
		}
		for tok, n := range map[string]int{"tok-ok": 1, "tok-ok2": 1, "tok-429": 1, "tok-500": 1, "tok-down": 0, "tok-gone": 0} {
			if got := len(h.emu.Messages(tok)); got != n {
				t.Errorf("%s received %d, want %d", tok, got, n)
			}
		}
		for _, u := range []string{"pt_gone", "pt_bad"} {
			if devs, _ := h.svc.Devices(ctx, u); len(devs) != 0 {
				t.Errorf("%s still has %+v", u, devs)
			}
		}
		if devs, _ := h.svc.Devices(ctx, "pt_down"); len(devs) != 1 {
			t.Errorf("a failing-but-valid token was removed")
		}
		fs, err := h.svc.Failures(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]string{}
		for _, f := range fs {
			reasons[f.Token] = f.Reason
		}
		if len(fs) != 3 || reasons["tok-gone"] != "UNREGISTERED: token removed" ||
			reasons["invalid:tok"] != "INVALID_ARGUMENT: token removed" || reasons["tok-down"] != "INTERNAL after 3 attempts" {
			t.Fatalf("failures = %+v", fs)
		}
		// Delays: the first retry batch (429 and 500 together) waited at
		// least the 429's Retry-After (3 s); the next one is a plain
		// jittered backoff.
		h.mu.Lock()
		sleeps := append([]time.Duration(nil), h.sleeps...)
		h.mu.Unlock()
		var sawRetryAfter bool
		for _, d := range sleeps {
			if d >= 3*time.Second {
				sawRetryAfter = true
			}
			if d < 50*time.Millisecond || (d > time.Second && d < 3*time.Second) {
				t.Errorf("delay %v outside the backoff bands", d)
			}
		}
		if !sawRetryAfter || len(sleeps) < 2 {
			t.Fatalf("sleeps = %v", sleeps)
		}
		for _, u := range users {
			if evs, _ := h.svc.Events(ctx, u, 0, 10); len(evs) != 1 {
				t.Fatalf("%s inbox: %d events", u, len(evs))
			}
		}
	})
}

func TestBackoffBands(t *testing.T) {
	s := NewService(&SQLiteStore{}, Options{RetryBase: 100 * time.Millisecond, RetryMax: time.Second})
	for attempt, band := range map[int][2]time.Duration{
		1: {50 * time.Millisecond, 100 * time.Millisecond},
		2: {100 * time.Millisecond, 200 * time.Millisecond},
		3: {200 * time.Millisecond, 400 * time.Millisecond},
		9: {500 * time.Millisecond, time.Second},
	} {
		for range 100 {
			if d := s.backoff(attempt); d < band[0] || d > band[1] {
				t.Fatalf("backoff(%d) = %v, want within %v", attempt, d, band)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, "-1": 0, "soon": 0,
		now.Add(90 * time.Second).Format(time.RFC1123): 90 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestPushNeverCarriesData: a push names the inbox event and nothing of
// its data — a code sent for a spend appears nowhere in what goes to FCM.
func TestPushNeverCarriesData(t *testing.T) {
	m := fcmMessage(Message{Token: "t", Alert: Alert{Title: "Confirm payment", Body: "Open the app"},
		Data: fcmData(Event{Seq: 3, ID: "ev_1", Type: "wallet.spend_code", Data: json.RawMessage(`{"code":"123456","points":400}`)})})
	wire, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(wire), "123456") || strings.Contains(string(wire), "400") {
		t.Fatalf("the event's data reached FCM: %s", wire)
	}
	if m.Data["event_id"] != "ev_1" || m.Data["seq"] != "3" || m.Data["type"] != "wallet.spend_code" || len(m.Data) != 3 {
		t.Fatalf("data = %v; want event_id, seq and type only", m.Data)
	}
}
