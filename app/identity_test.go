package app

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"carewallet/app/identity"
)

func TestPatientSignInFlow(t *testing.T) {
	ta := newTestApp(t)
	ta.must(400, "POST", "/v1/auth/otp", "", map[string]string{"phone": "12"})
	tok := ta.signInPatient("+7 999 000-11-22")
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("tokens = %+v", tok)
	}
	var me meResponse
	ta.must(200, "GET", "/v1/me", tok.AccessToken, nil).decode(t, &me)
	if me.Phone != "+79990001122" || me.ID == "" {
		t.Fatalf("me = %+v", me)
	}
	ta.must(200, "PATCH", "/v1/me", tok.AccessToken, map[string]string{"first_name": "Anna", "birth_date": "1990-05-17"}).decode(t, &me)
	if me.FirstName != "Anna" || me.BirthDate != "1990-05-17" {
		t.Fatalf("after patch: %+v", me)
	}
	r := ta.must(400, "PATCH", "/v1/me", tok.AccessToken, map[string]string{"birth_date": "17.05.1990"})
	if r.errorCode(t) != "invalid_input" {
		t.Fatalf("bad date: %s", r.Body)
	}

	// Refresh rotates; reusing the rotated token revokes the whole session.
	var next tokenResponse
	ta.must(200, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}).decode(t, &next)
	ta.must(200, "GET", "/v1/me", next.AccessToken, nil)
	r = ta.must(401, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
	if r.errorCode(t) != "token_reused" {
		t.Fatalf("reuse: %s", r.Body)
	}
	ta.must(401, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken})
	ta.must(401, "GET", "/v1/me", next.AccessToken, nil)

	// Logout ends the session at once.
	tok2 := ta.signInPatient("+79990001122")
	ta.must(204, "POST", "/v1/auth/logout", tok2.AccessToken, nil)
	ta.must(401, "GET", "/v1/me", tok2.AccessToken, nil)
	ta.must(401, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok2.RefreshToken})
}

func TestCodeLimits(t *testing.T) {
	ta := newTestApp(t)
	phone := "+79990003344"
	for range 5 {
		ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	}
	r := ta.must(429, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	if r.errorCode(t) != "rate_limited" || r.Header.Get("Retry-After") != "900" {
		t.Fatalf("sixth code: %s, Retry-After %q", r.Body, r.Header.Get("Retry-After"))
	}
	code := ta.sms.LastCode(t, phone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 10 {
		ta.must(401, "POST", "/v1/auth/verify", "", map[string]string{"phone": phone, "code": wrong})
	}
	r = ta.must(429, "POST", "/v1/auth/verify", "", map[string]string{"phone": phone, "code": code})
	if r.errorCode(t) != "too_many_attempts" {
		t.Fatalf("11th attempt: %s", r.Body)
	}
	// An expired code is refused even when right.
	ta.clock.add(15 * time.Minute)
	ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	code = ta.sms.LastCode(t, phone)
	ta.clock.add(10 * time.Minute)
	ta.must(401, "POST", "/v1/auth/verify", "", map[string]string{"phone": phone, "code": code})
}

func TestStaffAndClinicIsolation(t *testing.T) {
	ta := newTestApp(t)
	c1, m1 := ta.newClinic("Smile Dental", "boss@smile.test")
	_, m2 := ta.newClinic("Other Clinic", "boss@other.test")

	var added staffView
	ta.must(201, "POST", "/v1/clinic/staff", m1.AccessToken, map[string]string{
		"email": "desk@smile.test", "password": "reception-pass", "role": "admin", "name": "Desk"}).decode(t, &added)
	if added.ClinicID != c1.ID || added.Role != identity.RoleAdmin {
		t.Fatalf("added = %+v", added)
	}
	ta.must(409, "POST", "/v1/clinic/staff", m1.AccessToken, map[string]string{
		"email": "desk@smile.test", "password": "reception-pass", "role": "admin", "name": "Desk"})
	ta.mustRaw(400, "POST", "/v1/clinic/staff", m1.AccessToken, map[string]string{
		"email": "x@smile.test", "password": "reception-pass", "role": "owner"})

	admin := ta.staffLogin("desk@smile.test", "reception-pass")
	var cr clinicResponse
	ta.must(200, "GET", "/v1/clinic", admin.AccessToken, nil).decode(t, &cr)
	if cr.Clinic.ID != c1.ID || cr.Me.Email != "desk@smile.test" {
		t.Fatalf("clinic = %+v", cr)
	}
	// Admins cannot manage staff; patients cannot use staff routes.
	ta.must(403, "GET", "/v1/clinic/staff", admin.AccessToken, nil)
	ta.must(403, "POST", "/v1/clinic/staff", admin.AccessToken, map[string]string{
		"email": "y@smile.test", "password": "reception-pass", "role": "manager"})
	pt := ta.signInPatient("+79990005566")
	ta.must(403, "GET", "/v1/clinic", pt.AccessToken, nil)
	ta.must(403, "GET", "/v1/me", admin.AccessToken, nil)

	// Each manager sees only their own clinic's staff.
	var l1, l2 staffListResponse
	ta.must(200, "GET", "/v1/clinic/staff", m1.AccessToken, nil).decode(t, &l1)
	ta.must(200, "GET", "/v1/clinic/staff", m2.AccessToken, nil).decode(t, &l2)
	if len(l1.Staff) != 2 || len(l2.Staff) != 1 || l2.Staff[0].Email != "boss@other.test" {
		t.Fatalf("clinic 1 staff %+v, clinic 2 staff %+v", l1.Staff, l2.Staff)
	}

	// Wrong passwords: 401, then 429 once this email has had 5 attempts
	// from this address in a minute (the sign-in above was the first).
	for range 4 {
		ta.must(401, "POST", "/v1/staff/login", "", map[string]string{"email": "desk@smile.test", "password": "nope"})
	}
	r := ta.must(429, "POST", "/v1/staff/login", "", map[string]string{"email": "desk@smile.test", "password": "reception-pass"})
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on a locked login")
	}
}

func TestStrictJSON(t *testing.T) {
	ta := newTestApp(t)
	_, m := ta.newClinic("Smile Dental", "boss@smile.test")
	cases := []struct {
		name, body, want string
		status           int
	}{
		{"unknown field", `{"email":"a@smile.test","password":"long-enough-pw","role":"admin","nmae":"x"}`, `unknown field "nmae"`, 400},
		{"wrong type", `{"email":"a@smile.test","password":12345678901,"role":"admin"}`, `field "password" must be a string`, 400},
		{"trailing data", `{"email":"a@smile.test","password":"long-enough-pw","role":"admin"} {}`, "data after the JSON value", 400},
		{"not an object", `[1,2]`, "must be an object", 400},
		{"truncated", `{"email":"a@smile.test"`, "truncated", 400},
		{"empty", ``, "must be a JSON object", 400},
	}
	for _, tc := range cases {
		r := ta.doRaw("POST", "/v1/clinic/staff", m.AccessToken, tc.body)
		var e errorBody
		_ = json.Unmarshal(r.Body, &e)
		if r.Status != tc.status || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("%s: %d %s; want %d containing %q", tc.name, r.Status, r.Body, tc.status, tc.want)
		}
	}
	// Oversized bodies: TestOversizedBodyAnswers413, on a real socket.

	var l staffListResponse
	ta.must(200, "GET", "/v1/clinic/staff", m.AccessToken, nil).decode(t, &l)
	if len(l.Staff) != 1 {
		t.Fatalf("bad requests wrote staff: %+v", l.Staff)
	}
	r := ta.doRaw("POST", "/v1/clinic/staff", m.AccessToken, `{}`, "Content-Type", "text/plain")
	if r.Status != 415 {
		t.Fatalf("text/plain body: %d %s", r.Status, r.Body)
	}
}

// forge signs claims with the server's key (or another) and algorithm.
func forge(t *testing.T, method jwt.SigningMethod, key any, c claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenRejections(t *testing.T) {
	ta := newTestApp(t)
	tok := ta.signInPatient("+79990007788")
	var me meResponse
	ta.must(200, "GET", "/v1/me", tok.AccessToken, nil).decode(t, &me)

	// Decode the real token's claims to forge variants of it.
	var good claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &good); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(c *claims)) claims { c := good; f(&c); return c }
	flipped := []byte(tok.AccessToken)
	flipped[len(flipped)-5] ^= 1
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload, _ := json.Marshal(good)
	none := header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."

	cases := map[string]string{
		"alg none":      none,
		"flipped bit":   string(flipped),
		"refresh token": tok.RefreshToken,
		"other key":     forge(t, jwt.SigningMethodHS256, []byte("another-key-another-key-another-k"), good),
		"HS512":         forge(t, jwt.SigningMethodHS512, testKey, good),
		"expired":       forge(t, jwt.SigningMethodHS256, testKey, mod(func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(ta.clock.now().Add(-time.Minute)) })),
		"no expiry":     forge(t, jwt.SigningMethodHS256, testKey, mod(func(c *claims) { c.ExpiresAt = nil })),
		"wrong issuer":  forge(t, jwt.SigningMethodHS256, testKey, mod(func(c *claims) { c.Issuer = "evil" })),
		"wrong aud":     forge(t, jwt.SigningMethodHS256, testKey, mod(func(c *claims) { c.Audience = jwt.ClaimStrings{"other"} })),
		"other type":    forge(t, jwt.SigningMethodHS256, testKey, mod(func(c *claims) { c.TokenType = "ws_ticket" })),
		"garbage":       "not.a.token",
	}
	for name, bad := range cases {
		r := ta.do("PATCH", "/v1/me", bad, map[string]string{"first_name": "Mallory"})
		if r.Status != 401 || r.errorCode(t) != "unauthenticated" {
			t.Errorf("%s: %d %s; want 401", name, r.Status, r.Body)
		}
	}
	r := ta.do("GET", "/v1/me", "", nil)
	if r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
	// None of them changed anything.
	var after meResponse
	ta.must(200, "GET", "/v1/me", tok.AccessToken, nil).decode(t, &after)
	if after != me {
		t.Fatalf("profile changed by rejected tokens: %+v -> %+v", me, after)
	}
	// The real token expires after 15 minutes.
	ta.clock.add(AccessTTL + 10*time.Second)
	ta.must(401, "GET", "/v1/me", tok.AccessToken, nil)
}

func TestHealthAndUnknownRoutes(t *testing.T) {
	ta := newTestApp(t)
	ta.must(200, "GET", "/healthz", "", nil)
	ta.must(200, "GET", "/readyz", "", nil)
	r := ta.mustRaw(404, "GET", "/v1/nope", "", nil)
	if r.errorCode(t) != "not_found" {
		t.Fatalf("unknown route: %s", r.Body)
	}
}
