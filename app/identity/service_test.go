package identity_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/app/identity/identitytest"
	"carewallet/app/storage/storagetest"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	svc   *identity.Service
	sms   *identitytest.SMS
	clock *clock
}

func newEnv(t *testing.T, b storagetest.Backend) env {
	t.Helper()
	return newEnvWith(t, b, func(*identity.Options) {})
}

// newEnvWith is newEnv with its options adjusted by opt.
func newEnvWith(t *testing.T, b storagetest.Backend, opt func(*identity.Options)) env {
	t.Helper()
	store := storagetest.Open[identity.Store](t, b, identity.NewSQLiteStore, identity.NewMongoStore)
	e := env{sms: &identitytest.SMS{}, clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	o := identity.Options{Now: e.clock.now, SMS: e.sms, CodeKey: []byte("test-key"), BcryptCost: 4, Limits: noLimits}
	opt(&o)
	e.svc = identity.NewService(store, o)
	return e
}

// testClient is the client address of the tests that are not about the
// abuse limits; noLimits lifts those limits for them, since the subtests
// share a database and a clock.
const testClient = "192.0.2.1"

var noLimits = identity.Limits{CodesPerClientHour: 1e6, CodesPerMinute: 1e6, CodesPerHour: 1e6,
	ChecksPerClientHour: 1e6, ChecksPerMinute: 1e6}

var phoneSeq atomic.Int64

// newPhone returns a phone no other subtest uses (they share a database).
func newPhone() string { return fmt.Sprintf("+7999%07d", phoneSeq.Add(1)) }

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestIdentity(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()

		t.Run("code sign-in creates the patient once and the code is single-use", func(t *testing.T) {
			phone := newPhone()
			e := newEnv(t, b)
			if err := e.svc.RequestCode(ctx, testClient, "8"+phone[2:5]+" "+phone[5:]); err != nil {
				t.Fatal(err)
			}
			code := e.sms.LastCode(t, phone)
			p, err := e.svc.VerifyCode(ctx, testClient, phone, code)
			if err != nil {
				t.Fatal(err)
			}
			if p.Phone != phone || p.ID == "" {
				t.Fatalf("patient = %+v", p)
			}
			if _, err := e.svc.VerifyCode(ctx, testClient, phone, code); !errors.Is(err, identity.ErrInvalidCode) {
				t.Fatalf("reused code: err = %v, want ErrInvalidCode", err)
			}
			if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
				t.Fatal(err)
			}
			p2, err := e.svc.VerifyCode(ctx, testClient, phone, e.sms.LastCode(t, phone))
			if err != nil || p2.ID != p.ID {
				t.Fatalf("second sign-in: %+v, %v; want the same patient %s", p2, err, p.ID)
			}
		})

		t.Run("expired code and superseded code are refused", func(t *testing.T) {
			phone := newPhone()
			e := newEnv(t, b)
			if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
				t.Fatal(err)
			}
			first := e.sms.LastCode(t, phone)
			e.clock.add(identity.CodeLifetime)
			if _, err := e.svc.VerifyCode(ctx, testClient, phone, first); !errors.Is(err, identity.ErrInvalidCode) {
				t.Fatalf("expired: err = %v", err)
			}
			if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
				t.Fatal(err)
			}
			second := e.sms.LastCode(t, phone)
			if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
				t.Fatal(err)
			}
			third := e.sms.LastCode(t, phone)
			if second != third {
				if _, err := e.svc.VerifyCode(ctx, testClient, phone, second); !errors.Is(err, identity.ErrInvalidCode) {
					t.Fatalf("superseded code: err = %v", err)
				}
			}
			if _, err := e.svc.VerifyCode(ctx, testClient, phone, third); err != nil {
				t.Fatalf("latest code: %v", err)
			}
		})

		t.Run("at most 5 code requests per 15 minutes", func(t *testing.T) {
			phone := newPhone()
			e := newEnv(t, b)
			for i := range 5 {
				if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				e.clock.add(time.Minute)
			}
			err := e.svc.RequestCode(ctx, testClient, phone)
			var rl *identity.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 10*time.Minute {
				t.Fatalf("sixth request: %v; want RateLimitError retry 10m", err)
			}
			e.clock.add(10 * time.Minute)
			if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})

		t.Run("50 concurrent guesses get at most 10 attempts", func(t *testing.T) {
			phone := newPhone()
			e := newEnv(t, b)
			if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
				t.Fatal(err)
			}
			code := e.sms.LastCode(t, phone)
			var wrong, locked, other atomic.Int64
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					_, err := e.svc.VerifyCode(ctx, testClient, phone, wrongCode(code))
					switch {
					case errors.Is(err, identity.ErrInvalidCode):
						wrong.Add(1)
					case errors.Is(err, identity.ErrTooManyAttempts):
						locked.Add(1)
					default:
						other.Add(1)
						t.Errorf("unexpected: %v", err)
					}
				})
			}
			wg.Wait()
			if wrong.Load() != 10 || locked.Load() != 40 {
				t.Fatalf("wrong=%d locked=%d other=%d; want 10 and 40", wrong.Load(), locked.Load(), other.Load())
			}
			if _, err := e.svc.VerifyCode(ctx, testClient, phone, code); !errors.Is(err, identity.ErrTooManyAttempts) {
				t.Fatalf("right code after lockout: %v; want ErrTooManyAttempts", err)
			}
		})

		t.Run("refresh rotation: one winner, reuse revokes the session", func(t *testing.T) {
			e := newEnv(t, b)
			se, rt, err := e.svc.StartSession(ctx, identity.Session{Kind: identity.KindPatient, SubjectID: "pt_x"})
			if err != nil {
				t.Fatal(err)
			}
			var wins, reused atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					_, _, err := e.svc.Rotate(ctx, rt.ID)
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, identity.ErrTokenReused), errors.Is(err, identity.ErrSessionRevoked):
						reused.Add(1)
					default:
						t.Errorf("rotate: %v", err)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d concurrent rotations of one token won; want exactly 1", wins.Load())
			}
			// The losers presented a rotated token: the session is gone.
			if _, err := e.svc.ActiveSession(ctx, se.ID); !errors.Is(err, identity.ErrSessionRevoked) {
				t.Fatalf("session after reuse: %v", err)
			}

			se2, rt2, err := e.svc.StartSession(ctx, identity.Session{Kind: identity.KindPatient, SubjectID: "pt_x"})
			if err != nil {
				t.Fatal(err)
			}
			_, rt3, err := e.svc.Rotate(ctx, rt2.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.svc.Rotate(ctx, rt3.ID); err != nil {
				t.Fatalf("rotating the newest token: %v", err)
			}
			if _, _, err := e.svc.Rotate(ctx, rt2.ID); !errors.Is(err, identity.ErrTokenReused) {
				t.Fatalf("old token again: %v; want ErrTokenReused", err)
			}
			if _, err := e.svc.ActiveSession(ctx, se2.ID); !errors.Is(err, identity.ErrSessionRevoked) {
				t.Fatalf("family survived reuse: %v", err)
			}
		})

		t.Run("staff: clinic, unique email, login and lockout", func(t *testing.T) {
			e := newEnv(t, b)
			if any, err := e.svc.AnyClinic(ctx); err != nil || any {
				t.Fatalf("AnyClinic on an empty store = %v, %v", any, err)
			}
			if _, err := e.svc.CreateClinic(ctx, "Smile", "Mars/Olympus"); err == nil {
				t.Fatal("bad time zone accepted")
			}
			c, err := e.svc.CreateClinic(ctx, "Smile Dental", "Europe/Moscow")
			if err != nil {
				t.Fatal(err)
			}
			if any, err := e.svc.AnyClinic(ctx); err != nil || !any {
				t.Fatalf("AnyClinic after CreateClinic = %v, %v", any, err)
			}
			st, err := e.svc.AddStaff(ctx, identity.NewStaff{ClinicID: c.ID, Email: "A@Smile.test", Password: "correct horse", Role: identity.RoleManager})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.AddStaff(ctx, identity.NewStaff{ClinicID: c.ID, Email: "a@smile.test", Password: "another password", Role: identity.RoleAdmin}); !errors.Is(err, identity.ErrEmailTaken) {
				t.Fatalf("duplicate email: %v", err)
			}
			got, err := e.svc.StaffLogin(ctx, testClient, "a@smile.test", "correct horse")
			if err != nil || got.ID != st.ID || got.Role != identity.RoleManager || got.ClinicID != c.ID {
				t.Fatalf("login: %+v, %v", got, err)
			}
			// The login above took one of the address's 5 attempts this
			// minute; four wrong passwords take the rest.
			for i := range 4 {
				if _, err := e.svc.StaffLogin(ctx, testClient, "a@smile.test", "wrong"); !errors.Is(err, identity.ErrBadCredentials) {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
			var rl *identity.RateLimitError
			if _, err := e.svc.StaffLogin(ctx, testClient, "a@smile.test", "correct horse"); !errors.As(err, &rl) || rl.RetryAfter > time.Minute {
				t.Fatalf("after 5 attempts in a minute: %v; want RateLimitError within a minute", err)
			}
			if _, err := e.svc.StaffLogin(ctx, "198.51.100.7", "a@smile.test", "correct horse"); err != nil {
				t.Fatalf("the account is not locked for its owner elsewhere: %v", err)
			}
			e.clock.add(time.Minute)
			if _, err := e.svc.StaffLogin(ctx, testClient, "a@smile.test", "correct horse"); err != nil {
				t.Fatalf("after the window: %v", err)
			}
			list, err := e.svc.ListStaff(ctx, c.ID)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %v %v", list, err)
			}
		})

		t.Run("profile update validates", func(t *testing.T) {
			phone := newPhone()
			e := newEnv(t, b)
			p, err := e.svc.EnsurePatient(ctx, phone)
			if err != nil {
				t.Fatal(err)
			}
			bad := "2031-01-01"
			if _, err := e.svc.UpdateProfile(ctx, p.ID, identity.ProfileUpdate{BirthDate: &bad}); err == nil {
				t.Fatal("future birth date accepted")
			}
			fn, bd := "Anna", "1990-05-17"
			got, err := e.svc.UpdateProfile(ctx, p.ID, identity.ProfileUpdate{FirstName: &fn, BirthDate: &bd})
			if err != nil || got.FirstName != "Anna" || got.BirthDate != bd {
				t.Fatalf("update: %+v %v", got, err)
			}
			again, err := e.svc.Patient(ctx, p.ID)
			if err != nil || again != got {
				t.Fatalf("stored %+v, returned %+v, %v", again, got, err)
			}
		})
	})
}
