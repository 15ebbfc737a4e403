package referrals

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestOwed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		terms Terms
		paid  int64
		want  int64
	}{
		// "every friend with a first receipt of 10,000 roubles brings 700
		// bonus roubles": 7% of 1,000,000 kopecks at 100 kopecks a point.
		{"uds 7%", Terms{RateBP: 700, PointValue: 100}, 1_000_000, 700},
		{"rate plus bonus", Terms{RateBP: 700, Bonus: 100, MinPaid: 100_000, PointValue: 100}, 1_000_000, 800},
		{"below min paid: no bonus", Terms{RateBP: 700, Bonus: 100, MinPaid: 100_000, PointValue: 100}, 99_999, 69},
		{"rounded down", Terms{RateBP: 200, PointValue: 100}, 9_999, 1},
		{"nothing paid", Terms{RateBP: 700, Bonus: 100, PointValue: 100}, 0, 0},
		{"zero point value acts as 1", Terms{RateBP: 100}, 1000, 10},
		{"huge", Terms{RateBP: 10_000, PointValue: 1}, 1 << 62, maxPoints},
	} {
		if got := tc.terms.Owed(tc.paid); got != tc.want {
			t.Errorf("%s: Owed(%d) = %d, want %d", tc.name, tc.paid, got, tc.want)
		}
	}
}

func TestLevelTerms(t *testing.T) {
	p := &Program{Enabled: true, ReferrerBonus: Points{Points: 100}, MinPaid: 1000,
		Levels: []Level{{RateBP: 700}, {RateBP: 200}, {RateBP: 100}}, RewardOn: RewardFirstPaidVisit}
	t1, ok := LevelTerms(p, 1, 100)
	if !ok || t1.Bonus != 100 || t1.RateBP != 700 {
		t.Fatalf("level 1: %+v %v", t1, ok)
	}
	t2, ok := LevelTerms(p, 2, 100)
	if !ok || t2.Bonus != 0 || t2.RateBP != 200 {
		t.Fatalf("level 2: %+v %v", t2, ok)
	}
	if _, ok := LevelTerms(p, 4, 100); ok {
		t.Fatal("level 4 rewarded")
	}
	if _, ok := LevelTerms(p, 0, 100); ok {
		t.Fatal("level 0 rewarded")
	}
}

func TestQualifies(t *testing.T) {
	joined := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	first := &Program{Enabled: true, RewardOn: RewardFirstPaidVisit, MinPaid: 100}
	every := &Program{Enabled: true, RewardOn: RewardEveryPaidVisit, WindowDays: 30}
	for _, tc := range []struct {
		name  string
		p     *Program
		paid  int64
		at    time.Time
		first bool
		want  bool
	}{
		{"first visit", first, 100, joined.Add(time.Hour), true, true},
		{"second visit", first, 100, joined.Add(time.Hour), false, false},
		{"below min", first, 99, joined.Add(time.Hour), true, false},
		{"off", &Program{RewardOn: RewardFirstPaidVisit}, 100, joined, true, false},
		{"every: in window", every, 1, joined.AddDate(0, 0, 29), false, true},
		{"every: after window", every, 1, joined.AddDate(0, 0, 30), false, false},
		{"every: nothing paid", every, 0, joined, false, false},
	} {
		if got := Qualifies(tc.p, tc.paid, joined, tc.at, tc.first); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Over any sequence of refunds, the claw-backs add up to exactly what the
// refunded money no longer earns, each is non-negative, and a full refund
// takes back everything.
func TestClawBackProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		terms := Terms{RateBP: r.Int64N(10_001), PointValue: 1 + r.Int64N(200)}
		if r.IntN(2) == 0 {
			terms.Bonus, terms.MinPaid = r.Int64N(1000), r.Int64N(100_000)
		}
		paid := r.Int64N(10_000_000)
		var before, total int64
		for before < paid && r.IntN(5) != 0 {
			reduced := 1 + r.Int64N(paid-before)
			c := terms.ClawBack(paid, before, reduced)
			if c < 0 {
				t.Fatalf("negative claw-back %d", c)
			}
			total += c
			before += reduced
		}
		if want := terms.Owed(paid) - terms.Owed(paid-before); total != want {
			t.Fatalf("%+v paid %d refunded %d: clawed %d, want %d", terms, paid, before, total, want)
		}
		if rest := terms.ClawBack(paid, before, paid); total+rest != terms.Owed(paid) {
			t.Fatalf("full refund takes back %d of %d", total+rest, terms.Owed(paid))
		}
	}
}

func FuzzOwed(f *testing.F) {
	f.Add(int64(700), int64(100), int64(100_000), int64(100), int64(1_000_000), int64(5))
	f.Fuzz(func(t *testing.T, rate, bonus, minPaid, pv, paid, reduced int64) {
		terms := Terms{RateBP: rate % 10_001, Bonus: bonus % maxPoints, MinPaid: minPaid, PointValue: pv}
		o := terms.Owed(paid)
		if o < 0 {
			t.Fatalf("negative owed %d", o)
		}
		if o2 := terms.Owed(paid - max(reduced, 0)); paid >= 0 && reduced >= 0 && o2 > o && paid-reduced < paid {
			t.Fatalf("owed grew when paid shrank: %d -> %d", o, o2)
		}
		if c := terms.ClawBack(paid, 0, reduced); c < 0 || c > max(o, 0) {
			t.Fatalf("claw-back %d of owed %d", c, o)
		}
	})
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{"abc-dEf 2": "ABCDEF2", " 23456 78": "2345678", "ABCDEF0": "", "ABCDEFI": "",
		"ABCDEFO": "", "ABCDEF1": "", "ABC": "", "ABCDEFGH": "", "АБВГДЕЖ": ""} {
		got, ok := NormalizeCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func FuzzNormalizeCode(f *testing.F) {
	f.Add("abc-def 2")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := NormalizeCode(s)
		if !ok {
			return
		}
		if len(c) != CodeLength {
			t.Fatalf("%q -> %q", s, c)
		}
		if again, ok := NormalizeCode(c); !ok || again != c {
			t.Fatalf("not idempotent: %q -> %q", c, again)
		}
	})
}

func TestNewCodeAlphabet(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(r.UintN(256))
		}
		return len(p), nil
	})
	for range 1000 {
		c, err := newCode(src)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := NormalizeCode(c); !ok || n != c {
			t.Fatalf("code %q is not canonical", c)
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestProgramValidate(t *testing.T) {
	good := Program{Enabled: true, RefereeBonus: Bonus{Points: 300, BurnDays: 60}, ReferrerBonus: Points{Points: 100},
		Levels: []Level{{700}, {200}, {100}}, RewardOn: RewardFirstPaidVisit, MinPaid: 100_000, RewardBurnDays: 365,
		StaffRewardBP: 60, MaxRewardedPerMonth: 20}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mut := range map[string]func(p *Program){
		"levels":                  func(p *Program) { p.Levels = append(p.Levels, Level{1}) },
		"levels[1].rate_bp":       func(p *Program) { p.Levels[1].RateBP = 10_001 },
		"reward_on":               func(p *Program) { p.RewardOn = "sometimes" },
		"window_days":             func(p *Program) { p.RewardOn = RewardEveryPaidVisit },
		"min_paid":                func(p *Program) { p.MinPaid = -1 },
		"referee_bonus.points":    func(p *Program) { p.RefereeBonus.Points = -1 },
		"staff_reward_bp":         func(p *Program) { p.StaffRewardBP = 20_000 },
		"max_rewarded_per_month":  func(p *Program) { p.MaxRewardedPerMonth = -1 },
		"referee_bonus.burn_days": func(p *Program) { p.RefereeBonus.BurnDays = 99999 },
	} {
		p := good
		p.Levels = append([]Level(nil), good.Levels...)
		mut(&p)
		err := p.Validate()
		if err == nil || !contains(err.Error(), field+":") {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
