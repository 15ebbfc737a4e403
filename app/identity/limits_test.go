package identity_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/app/storage/storagetest"
)

func TestClientKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"},
		{"203.0.113.9:51234", "203.0.113.9"},
		{"[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"},
		{"", "unknown"},
		{"not an address", "unknown"},
	} {
		if got := identity.ClientKey(c.in); got != c.want {
			t.Errorf("ClientKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCodeBudgets: the service's SMS budget holds against requests from
// many addresses at once, an address's budget against one, and numbers
// outside the allowed prefixes are refused before anything is counted.
func TestCodeBudgets(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnvWith(t, b, func(o *identity.Options) {
			o.Limits = identity.Limits{CodesPerClientHour: 2, CodesPerMinute: 5, CodesPerHour: 8, CodePrefixes: []string{"+7999", "+7900"}}
		})
		err := e.svc.RequestCode(ctx, "198.51.100.1", "+88212345678")
		var inv *identity.ValidationError
		if !errors.Is(err, identity.ErrPhoneNotAllowed) || !errors.Is(err, identity.ErrInvalidPhone) || !errors.As(err, &inv) ||
			inv.Field != "phone" || !strings.Contains(inv.Message, "+7999 or +7900") {
			t.Fatalf("premium range: %v", err)
		}
		if err := e.svc.RequestCode(ctx, "198.51.100.1", "+74951234567"); !errors.Is(err, identity.ErrPhoneNotAllowed) {
			t.Fatalf("a landline outside the prefixes: %v", err)
		}

		// 20 addresses at once, one code each: the minute's 5 are sent.
		var sent, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				err := e.svc.RequestCode(ctx, fmt.Sprintf("203.0.113.%d", i), fmt.Sprintf("+7999%07d", 7000000+i))
				var rl *identity.RateLimitError
				switch {
				case err == nil:
					sent.Add(1)
				case errors.As(err, &rl) && errors.Is(err, identity.ErrServiceLimit) &&
					strings.HasPrefix(rl.Message, "at most 5 sign-in codes for the whole service in a minute"):
					refused.Add(1)
				default:
					t.Errorf("request %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if sent.Load() != 5 || refused.Load() != 15 || e.sms.Count() != 5 {
			t.Fatalf("20 addresses at once: %d sent (%d SMS), %d refused; want 5", sent.Load(), e.sms.Count(), refused.Load())
		}
		if e.svc.Refused(identity.RefusedService) != 15 || e.svc.Refused(identity.RefusedPhoneRange) != 2 {
			t.Fatalf("counted refusals: service %d, range %d", e.svc.Refused(identity.RefusedService), e.svc.Refused(identity.RefusedPhoneRange))
		}
		// The next minute: 3 more, then the hour's 8 are spent.
		e.clock.add(time.Minute)
		n := 0
		var last error
		for i := range 5 {
			if last = e.svc.RequestCode(ctx, fmt.Sprintf("192.0.2.%d", i), fmt.Sprintf("+7900%07d", i)); last == nil {
				n++
			}
		}
		var rl *identity.RateLimitError
		if n != 3 || !errors.As(last, &rl) || !strings.HasPrefix(rl.Message, "at most 8 sign-in codes for the whole service in an hour") {
			t.Fatalf("next minute: %d sent, last %v", n, last)
		}

		// One address: its 2 an hour, then refused.
		e.clock.add(time.Hour)
		for i := range 2 {
			if err := e.svc.RequestCode(ctx, "2001:db8::1", fmt.Sprintf("+7999%07d", 7100000+i)); err != nil {
				t.Fatal(err)
			}
		}
		err = e.svc.RequestCode(ctx, "2001:db8::2", "+79997100009") // the same /64
		if !errors.As(err, &rl) || !errors.Is(err, identity.ErrClientLimit) || rl.Message != "at most 2 sign-in codes from one address in an hour" {
			t.Fatalf("third from one address: %v", err)
		}

		// Windows that ended are pruned; those still open are kept.
		if n, err := e.svc.PruneLimits(ctx); err != nil || n != 0 {
			t.Fatalf("prune within the day: %d, %v", n, err)
		}
		e.clock.add(24*time.Hour + time.Minute)
		// Slots taken: 20 addresses, 5 minute, 5 hour; then 5, 5, 3; then 2, 2, 2.
		if n, err := e.svc.PruneLimits(ctx); err != nil || n != 30+13+6 {
			t.Fatalf("prune after a day: %d, %v; want the 49 slots taken", n, err)
		}
	})
}

// TestCheckBudgets: code checks are limited per address with back-off and
// for the whole service, counted before the code is compared.
func TestCheckBudgets(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnvWith(t, b, func(o *identity.Options) {
			o.Limits = identity.Limits{CodesPerClientHour: 1000, CodesPerMinute: 1000, CodesPerHour: 1000,
				ChecksPerClientHour: 4, ChecksPerMinute: 6}
		})
		phones := make([]string, 12)
		for i := range phones {
			phones[i] = newPhone()
			if err := e.svc.RequestCode(ctx, testClient, phones[i]); err != nil {
				t.Fatal(err)
			}
		}
		// One address: 2 per 10 minutes (half of 4 an hour).
		for i := range 3 {
			_, err := e.svc.VerifyCode(ctx, "198.51.100.1", phones[i], "1234567")
			var rl *identity.RateLimitError
			switch {
			case i < 2 && !errors.Is(err, identity.ErrInvalidCode):
				t.Fatalf("check %d: %v", i, err)
			case i == 2 && (!errors.As(err, &rl) || rl.Message != "at most 2 code checks from one address in 10 minutes"):
				t.Fatalf("third check: %v", err)
			}
		}
		// Many addresses at once: the service's 6 a minute (2 used above).
		var checked, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				_, err := e.svc.VerifyCode(ctx, fmt.Sprintf("203.0.113.%d", i), phones[2+i], "1234567")
				switch {
				case errors.Is(err, identity.ErrInvalidCode):
					checked.Add(1)
				case errors.Is(err, identity.ErrServiceLimit):
					refused.Add(1)
				default:
					t.Errorf("check %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if checked.Load() != 4 || refused.Load() != 6 {
			t.Fatalf("10 addresses at once: %d checked, %d refused; want 4 and 6", checked.Load(), refused.Load())
		}
	})
}

// TestPasswordAttemptsAreSlots: concurrent wrong passwords for one email
// from one address are checked at most 5 times; the owner elsewhere is
// not locked out; password hashes run at most HashConcurrency at once.
func TestPasswordAttemptsAreSlots(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnvWith(t, b, func(o *identity.Options) { o.HashConcurrency = 2 })
		c, err := e.svc.CreateClinic(ctx, "Smile Dental", "Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddStaff(ctx, identity.NewStaff{ClinicID: c.ID, Email: "a@smile.test", Password: "correct horse", Role: identity.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		var checked, refused atomic.Int64
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() {
				_, err := e.svc.StaffLogin(ctx, "198.51.100.1", "a@smile.test", "wrong password")
				switch {
				case errors.Is(err, identity.ErrBadCredentials):
					checked.Add(1)
				case errors.Is(err, identity.ErrClientLimit):
					refused.Add(1)
				default:
					t.Errorf("login: %v", err)
				}
			})
		}
		wg.Wait()
		if checked.Load() != 5 || refused.Load() != 55 {
			t.Fatalf("60 concurrent wrong passwords: %d checked, %d refused; want 5 and 55", checked.Load(), refused.Load())
		}
		if _, err := e.svc.StaffLogin(ctx, "203.0.113.5", "a@smile.test", "correct horse"); err != nil {
			t.Fatalf("the owner from another address: %v", err)
		}
		// A flood over many emails and addresses: every one is answered,
		// and no more than 2 hashes ever ran at once.
		for i := range 40 {
			wg.Go(func() {
				_, err := e.svc.StaffLogin(ctx, fmt.Sprintf("192.0.2.%d", i), fmt.Sprintf("u%d@smile.test", i), "whatever-password")
				if !errors.Is(err, identity.ErrBadCredentials) {
					t.Errorf("login %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if p := identity.HashPeak(e.svc); p < 1 || p > 2 {
			t.Fatalf("peak concurrent hashes %d, want 1..2", p)
		}
	})
}

// TestDisableStaff: disabling revokes every session of the staff member
// at once and refuses their password; a role change is stored; neither
// reaches another clinic's staff or the caller themselves.
func TestDisableStaff(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		c, err := e.svc.CreateClinic(ctx, "Smile Dental", "Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.svc.CreateClinic(ctx, "Other", "Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		add := func(clinic, email string, role identity.Role) identity.Staff {
			st, err := e.svc.AddStaff(ctx, identity.NewStaff{ClinicID: clinic, Email: email, Password: "correct horse", Role: role})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		boss, desk, far := add(c.ID, "boss@smile.test", identity.RoleManager), add(c.ID, "desk@smile.test", identity.RoleAdmin),
			add(other.ID, "far@other.test", identity.RoleAdmin)
		var sessions []identity.Session
		for range 2 {
			se, _, err := e.svc.StartSession(ctx, identity.Session{Kind: identity.KindStaff, SubjectID: desk.ID, ClinicID: c.ID, Role: desk.Role})
			if err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, se)
		}
		bossSession, _, err := e.svc.StartSession(ctx, identity.Session{Kind: identity.KindStaff, SubjectID: boss.ID, ClinicID: c.ID, Role: boss.Role})
		if err != nil {
			t.Fatal(err)
		}
		var inv *identity.ValidationError
		if err := e.svc.DisableStaff(ctx, c.ID, boss.ID, boss.ID); !errors.As(err, &inv) {
			t.Fatalf("disabling oneself: %v", err)
		}
		if err := e.svc.DisableStaff(ctx, c.ID, boss.ID, far.ID); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("another clinic's staff: %v", err)
		}
		if _, err := e.svc.SetStaffRole(ctx, c.ID, boss.ID, far.ID, identity.RoleManager); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("another clinic's staff: %v", err)
		}
		if got, err := e.svc.SetStaffRole(ctx, c.ID, boss.ID, desk.ID, identity.RoleManager); err != nil || got.Role != identity.RoleManager {
			t.Fatalf("promote: %+v %v", got, err)
		}
		if got, err := e.svc.Staff(ctx, desk.ID); err != nil || got.Role != identity.RoleManager || got.Disabled() {
			t.Fatalf("stored: %+v %v", got, err)
		}
		e.clock.add(time.Minute)
		for range 2 {
			if err := e.svc.DisableStaff(ctx, c.ID, boss.ID, desk.ID); err != nil {
				t.Fatal(err)
			}
		}
		for _, se := range sessions {
			if _, err := e.svc.ActiveSession(ctx, se.ID); !errors.Is(err, identity.ErrSessionRevoked) {
				t.Fatalf("session after disabling: %v", err)
			}
		}
		if _, err := e.svc.ActiveSession(ctx, bossSession.ID); err != nil {
			t.Fatalf("another staff member's session: %v", err)
		}
		got, err := e.svc.Staff(ctx, desk.ID)
		if err != nil || !got.DisabledAt.Equal(e.clock.now()) {
			t.Fatalf("disabled: %+v %v", got, err)
		}
		if _, err := e.svc.StaffLogin(ctx, testClient, "desk@smile.test", "correct horse"); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatalf("a disabled staff member's password: %v", err)
		}
		if err := e.svc.DisableStaff(ctx, c.ID, boss.ID, "st_missing"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})
}

// FuzzClientKey: any input gives "unknown", an IPv4 address or an IPv6
// /64, and the key of a key is itself (a key is never split further).
func FuzzClientKey(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "::ffff:1.2.3.4", "2001:db8::1", "[::1]:80", "", "1.2.3.4, 5.6.7.8", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := identity.ClientKey(s)
		if k == "unknown" {
			return
		}
		if p, err := netip.ParsePrefix(k); err == nil {
			if p.Bits() != 64 || !p.Addr().Is6() || p.Masked() != p {
				t.Fatalf("ClientKey(%q) = %q", s, k)
			}
			return
		}
		a, err := netip.ParseAddr(k)
		if err != nil || !a.Is4() || identity.ClientKey(k) != k {
			t.Fatalf("ClientKey(%q) = %q", s, k)
		}
	})
}
