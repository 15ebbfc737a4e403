package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/app/identity/identitytest"
	"carewallet/app/storage"
	"carewallet/app/storage/storagetest"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testApp is the whole API over a fresh SQLite database, driven through
// Fiber's HTTP stack.
type testApp struct {
	t      *testing.T
	f      *fiber.App
	deps   Deps
	sms    *identitytest.SMS
	clock  *testClock
	tokens *Tokens
	// rawRequests skips validating requests against the OpenAPI document
	// (for tests that send invalid input throughout); responses are
	// always validated. See contract_test.go.
	rawRequests bool
	db          *storage.SQLite
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// newTestApp builds the app; opts adjust identity's options (its abuse
// limits) before the service is made.
func newTestApp(t *testing.T, opts ...func(*identity.Options)) *testApp {
	t.Helper()
	ctx := context.Background()
	db := storagetest.SQLite(t)
	store, err := identity.NewSQLiteStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, sms: &identitytest.SMS{}, clock: &testClock{t: time.Now().UTC().Truncate(time.Second)}, db: db}
	ta.tokens, err = NewTokens(testKey, ta.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	idOpts := identity.Options{Now: ta.clock.now, SMS: ta.sms, CodeKey: testKey, BcryptCost: 4}
	for _, o := range opts {
		o(&idOpts)
	}
	ids := identity.NewService(store, idOpts)
	pushStore, err := push.NewSQLiteStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	pushes := push.NewService(pushStore, push.Options{Now: ta.clock.now, Zones: ClinicLocations{ids}})
	t.Cleanup(func() { pushes.Close() })
	walletStore, err := wallet.NewSQLiteStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	idem, err := idempotency.NewSQLiteStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	refStore, err := referrals.NewSQLiteStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	wallets := wallet.NewService(walletStore, ClinicLocations{ids}, WalletNotifier{pushes}, wallet.Options{Now: ta.clock.now, CodeKey: testKey, People: WalletPeople{ids},
		Managers: WalletManagers{Identity: ids, Push: pushes}})
	ta.deps = Deps{
		Identity:    ids,
		Push:        pushes,
		Wallet:      wallets,
		Referrals:   referrals.NewService(refStore, ReferralWallet{wallets}, ReferralNotifier{pushes}, ReferralPeople{ids}, referrals.Options{Now: ta.clock.now}),
		Idempotency: idem,
		Tokens:      ta.tokens,
		Now:         ta.clock.now,
		Ready:       db.Ping,
	}
	ta.f = New(ta.deps)
	return ta
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) errorCode(t *testing.T) string {
	t.Helper()
	var e errorBody
	r.decode(t, &e)
	return e.Error.Code
}

// do sends a request; body may be nil, a string/[]byte (sent as is) or a
// value encoded as JSON. The request and the response are validated
// against the served OpenAPI document (contract_test.go): a drift fails
// the test.
func (ta *testApp) do(method, path, token string, body any, headers ...string) resp {
	ta.t.Helper()
	return ta.send(ta.rawRequests, method, path, token, body, headers...)
}

// doRaw is do for a request that is invalid on purpose (strict JSON,
// fuzzing, bad paths): the request is not validated against the document,
// the response still is.
func (ta *testApp) doRaw(method, path, token string, body any, headers ...string) resp {
	ta.t.Helper()
	return ta.send(true, method, path, token, body, headers...)
}

func (ta *testApp) send(raw bool, method, path, token string, body any, headers ...string) resp {
	ta.t.Helper()
	var reqBody []byte
	switch b := body.(type) {
	case nil:
	case string:
		reqBody = []byte(b)
	case []byte:
		reqBody = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			ta.t.Fatal(err)
		}
		reqBody = enc
	}
	newReq := func() *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(reqBody)
		}
		req := httptest.NewRequest(method, path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}
	k, err := loadContract(ta)
	if err != nil {
		ta.t.Fatalf("the served OpenAPI document does not load: %v", err)
	}
	// No client-side timeout: on a loaded machine 1,000 concurrent
	// requests can queue for longer than any fixed bound; a request that
	// never answers fails the test at go test's -timeout with the stacks.
	res, err := ta.f.Test(newReq(), -1)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ta.t.Fatal(err)
	}
	if msg := k.Check(newReq(), reqBody, raw, res.StatusCode, res.Header, b); msg != "" {
		// Errorf, not Fatalf: do runs in goroutines too.
		ta.t.Errorf("OpenAPI contract: %s %s → %d %s\n%s", method, path, res.StatusCode, truncate(b, 400), msg)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// must sends a request and fails the test unless the status is want.
func (ta *testApp) must(want int, method, path, token string, body any, headers ...string) resp {
	ta.t.Helper()
	r := ta.do(method, path, token, body, headers...)
	if r.Status != want {
		ta.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// mustRaw is must for a request that is invalid on purpose (see doRaw).
func (ta *testApp) mustRaw(want int, method, path, token string, body any, headers ...string) resp {
	ta.t.Helper()
	r := ta.doRaw(method, path, token, body, headers...)
	if r.Status != want {
		ta.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// signInPatient runs the phone + code flow and returns the tokens.
func (ta *testApp) signInPatient(phone string) tokenResponse {
	ta.t.Helper()
	ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	e164, err := identity.NormalizePhone(phone)
	if err != nil {
		ta.t.Fatal(err)
	}
	code := ta.sms.LastCode(ta.t, e164)
	var tok tokenResponse
	ta.must(200, "POST", "/v1/auth/verify", "", map[string]string{"phone": phone, "code": code}).decode(ta.t, &tok)
	return tok
}

// newClinic creates a clinic with a manager and returns the manager's tokens.
func (ta *testApp) newClinic(name, email string) (identity.Clinic, tokenResponse) {
	ta.t.Helper()
	ctx := context.Background()
	c, err := ta.deps.Identity.CreateClinic(ctx, name, "Europe/Moscow")
	if err != nil {
		ta.t.Fatal(err)
	}
	if _, err := ta.deps.Identity.AddStaff(ctx, identity.NewStaff{ClinicID: c.ID, Email: email, Password: "manager-password", Role: identity.RoleManager}); err != nil {
		ta.t.Fatal(err)
	}
	return c, ta.staffLogin(email, "manager-password")
}

func (ta *testApp) staffLogin(email, password string) tokenResponse {
	ta.t.Helper()
	var tok tokenResponse
	ta.must(200, "POST", "/v1/staff/login", "", map[string]string{"email": email, "password": password}).decode(ta.t, &tok)
	return tok
}

// lastEvent returns the newest inbox event of type typ for a patient.
func (ta *testApp) lastEvent(patientID, typ string) push.Event {
	ta.t.Helper()
	var found *push.Event
	var after int64
	for {
		evs, err := ta.deps.Push.Events(context.Background(), patientID, after, 1000)
		if err != nil {
			ta.t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			if evs[i].Type == typ {
				found = &evs[i]
			}
		}
		after = evs[len(evs)-1].Seq
	}
	if found == nil {
		ta.t.Fatalf("no %s event for %s", typ, patientID)
	}
	return *found
}

// eventCode reads data.code of the newest event of type typ.
func (ta *testApp) eventCode(patientID, typ string) string {
	ta.t.Helper()
	var d struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(ta.lastEvent(patientID, typ).Data, &d); err != nil || d.Code == "" {
		ta.t.Fatalf("event %s has no code: %v", typ, err)
	}
	return d.Code
}

// patientID signs a patient in and returns their id and token.
func (ta *testApp) patient(phone string) (string, string) {
	ta.t.Helper()
	tok := ta.signInPatient(phone)
	var me meResponse
	ta.must(200, "GET", "/v1/me", tok.AccessToken, nil).decode(ta.t, &me)
	return me.ID, tok.AccessToken
}
