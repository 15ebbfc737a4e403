package wallet

import (
	"errors"
	"testing"
	"time"
)

func TestEarn(t *testing.T) {
	p := testProgram()
	tests := []struct {
		name       string
		lines      []Line
		used, paid int64
		want       int64
		level      string
	}{
		{"issue example: 5% of 10,000.00", []Line{{"CONS-01", 1000000}}, 0, 0, 500, "Base"},
		{"VIP from spend before", []Line{{"CONS-01", 1000000}}, 0, 15000000, 1000, "VIP"},
		{"just below VIP", []Line{{"CONS-01", 1000000}}, 0, 14999999, 500, "Base"},
		{"rate override", []Line{{"IMPL-01", 1000000}}, 0, 0, 300, "Base"},
		{"fixed points override", []Line{{"CHECK-01", 5000}}, 0, 0, 50, "Base"},
		{"rounds down per line", []Line{{"CONS-01", 1999}, {"CONS-01", 1999}}, 0, 0, 0, "Base"},
		{"points part earns nothing", []Line{{"CONS-01", 1000000}}, 5000, 0, 250, "Base"},
		{"points pay only eligible lines", []Line{{"CONS-01", 100000}, {"LAB-01", 100000}}, 1000, 0, 50, "Base"},
		{"fixed points scale with money paid", []Line{{"CHECK-01", 10000}}, 50, 0, 25, "Base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := earn(&p, tt.lines, tt.used, tt.paid)
			if e.Points != tt.want || e.Level != tt.level {
				t.Fatalf("earned %d at %q, want %d at %q (%+v)", e.Points, e.Level, tt.want, tt.level, e)
			}
		})
	}
	t.Run("no levels: one rate", func(t *testing.T) {
		q := testProgram()
		q.Levels, q.CashbackBP = nil, 200
		if e := earn(&q, []Line{{"CONS-01", 1000000}}, 0, 99999999); e.Points != 200 || e.Level != "" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("cap", func(t *testing.T) {
		q := testProgram()
		q.MaxReceiptPoints = 100
		e := earn(&q, []Line{{"CONS-01", 1000000}, {"CONS-01", 1000000}}, 0, 0)
		if e.Points != 100 || e.CapApplied != 100 || e.Uncapped != 1000 || e.Lines[0].Points+e.Lines[1].Points != 100 {
			t.Fatalf("%+v", e)
		}
	})
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{10, []int64{1, 1, 1}, []int64{1, 1, 1}[:0]},
		{3, []int64{1, 1, 1}, []int64{1, 1, 1}},
		{2, []int64{1, 1, 1}, []int64{1, 1, 0}},
		{100, []int64{50, 0, 50}, []int64{50, 0, 50}},
		{7, []int64{3, 3}, []int64{4, 3}[:0]},
		{5, []int64{3, 3}, []int64{3, 2}},
		{0, []int64{3, 3}, []int64{0, 0}},
	}
	for _, tt := range tests {
		var sum int64
		for _, w := range tt.weights {
			sum += w
		}
		if tt.total > sum {
			continue // outside the contract
		}
		got := allocate(tt.total, tt.weights)
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("allocate(%d, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
			}
		}
	}
}

func TestTakeLots(t *testing.T) {
	now := t0
	st := &State{Balance: 60, Lots: []Lot{
		{ID: "late", Remaining: 10, BurnsAt: now.Add(48 * time.Hour)},
		{ID: "soon", Remaining: 20, BurnsAt: now.Add(time.Hour)},
		{ID: "burning", Remaining: 30, BurnsAt: now},
	}}
	d, err := takeLots(st, 25, now, "", false)
	if err != nil || len(d) != 2 || d[0] != (LotDelta{"soon", -20}) || d[1] != (LotDelta{"late", -5}) {
		t.Fatalf("takeLots = %v, %v", d, err)
	}
	if _, err := takeLots(st, 31, now, "", false); !errors.Is(err, ErrInsufficientPoints) {
		t.Fatalf("the lot burning at now was used: %v", err)
	}
	d, err = takeLots(st, 35, now, "late", true)
	if err != nil || d[0] != (LotDelta{"late", -10}) || d[1] != (LotDelta{"burning", -25}) {
		t.Fatalf("clawback = %v, %v", d, err)
	}
}

func TestPlanRefund(t *testing.T) {
	r := newReceiptLedger([]Line{{"CONS-01", 10000}, {"LAB-01", 5000}})
	r.Cashback = []int64{5, 3}
	r.Spent = []int64{7, 0}
	plan, err := planRefund(r, []Line{{"CONS-01", 3333}})
	if err != nil || len(plan) != 1 || plan[0].Reversed != 2 || plan[0].Amount != 3333 {
		t.Fatalf("%+v %v", plan, err)
	}
	r.Refunded[0], r.Reversed[0] = 3333, 2
	if ret := planReturn(r); len(ret) != 1 || ret[0].Returned != 2 {
		t.Fatalf("return %+v", ret)
	}
	r.Returned[0] = 2
	// The rest: everything left, cumulative rounding lands exactly.
	plan, err = planRefund(r, nil)
	if err != nil || len(plan) != 2 || plan[0].Reversed != 3 || plan[1].Reversed != 3 {
		t.Fatalf("%+v %v", plan, err)
	}
	r.Refunded = []int64{10000, 5000}
	if ret := planReturn(r); ret[0].Returned != 5 {
		t.Fatalf("return %+v", ret)
	}
	if _, err := planRefund(r, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("refund beyond the receipt: %v", err)
	}
	if _, err := planRefund(newReceiptLedger([]Line{{"CONS-01", 100}}), []Line{{"CONS-01", 101}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("line over-refund: %v", err)
	}
}

func TestBurnTimeAndBirthday(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	// 23:30 UTC on 9 March is 10 March in Moscow.
	got := burnTime(time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC), msk, 1)
	if want := time.Date(2026, 3, 11, 21, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("burnTime = %v, want %v", got, want)
	}
	tests := []struct {
		birth string
		y     int
		m     time.Month
		d     int
		want  bool
	}{
		{"1990-04-20", 2026, 4, 20, true},
		{"1990-04-20", 2026, 4, 21, false},
		{"2000-02-29", 2027, 2, 28, true},
		{"2000-02-29", 2028, 2, 28, false},
		{"2000-02-29", 2028, 2, 29, true},
		{"bad", 2026, 1, 1, false},
	}
	for _, tt := range tests {
		if got := isBirthday(tt.birth, tt.y, tt.m, tt.d); got != tt.want {
			t.Errorf("isBirthday(%s, %d-%d-%d) = %v", tt.birth, tt.y, tt.m, tt.d, got)
		}
	}
}

func TestProgramValidate(t *testing.T) {
	ok := testProgram()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		field string
		edit  func(p *Program)
	}{
		{"point_value", func(p *Program) { p.PointValue = 0 }},
		{"levels[0].min_spend", func(p *Program) { p.Levels[0].MinSpend = 5 }},
		{"levels[1].min_spend", func(p *Program) { p.Levels[1].MinSpend = 0 }},
		{"levels[1].cashback_bp", func(p *Program) { p.Levels[1].CashbackBP = 10001 }},
		{"service_overrides[0]", func(p *Program) { p.ServiceOverrides[0].Points = i64(1) }},
		{"service_overrides[1].points", func(p *Program) { p.ServiceOverrides[1].Points = i64(-1) }},
		{"excluded_services[0]", func(p *Program) { p.ExcludedServices[0] = "bad code" }},
		{"max_share_bp", func(p *Program) { p.MaxShareBP = -1 }},
		{"welcome_bonus.burn_days", func(p *Program) { p.WelcomeBonus.BurnDays = 0 }},
		{"cashback_burn_days", func(p *Program) { p.CashbackBurnDays = 0 }},
		{"burn_warning_days", func(p *Program) { p.BurnWarningDays = 91 }},
	}
	for _, tt := range tests {
		p := testProgram()
		tt.edit(&p)
		err := p.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field || !errors.Is(err, ErrInvalidProgram) {
			t.Errorf("%s: got %v", tt.field, err)
		}
	}
}

// FuzzEarn: earning never exceeds the rate on the money paid, never goes
// negative, and the points part never earns.
func FuzzEarn(f *testing.F) {
	f.Add(int64(1000000), int64(5), int64(0), int64(0), uint8(0))
	f.Add(int64(1), int64(1), int64(0), int64(20000000), uint8(3))
	f.Fuzz(func(t *testing.T, a1, a2, used, paid int64, svc uint8) {
		p := testProgram()
		services := []string{"CONS-01", "IMPL-01", "CHECK-01", "LAB-01"}
		lines := []Line{{services[svc%4], a1}, {services[(svc/4)%4], a2}}
		if validateLines("lines", lines) != nil || paid < 0 || paid > maxMoney*1000 || used < 0 {
			return
		}
		_, elig := eligible(&p, lines)
		if used*p.PointValue > elig || used > maxPoints {
			return
		}
		e := earn(&p, lines, used, paid)
		var money, sharesum int64
		for _, l := range e.Lines {
			if l.Points < 0 || l.Paid < 0 || l.PaidWithPoints > l.Amount {
				t.Fatalf("line %+v", l)
			}
			money += l.Paid
			sharesum += l.PaidWithPoints
		}
		if sharesum != used*p.PointValue || money != a1+a2-sharesum || e.Paid != money {
			t.Fatalf("points money %d of %d, paid %d", sharesum, used*p.PointValue, money)
		}
		// Upper bound: the best rate (10%) on the money paid, or fixed 50/line.
		if e.Points > mulDiv(money, 1000, maxBP*p.PointValue)+100 {
			t.Fatalf("earned %d on %d", e.Points, money)
		}
	})
}

// FuzzAllocate: shares sum to the total, each within its weight.
func FuzzAllocate(f *testing.F) {
	f.Add(int64(7), int64(3), int64(3), int64(5))
	f.Fuzz(func(t *testing.T, total, w1, w2, w3 int64) {
		ws := []int64{w1, w2, w3}
		var sum int64
		for _, w := range ws {
			if w < 0 || w > maxMoney {
				return
			}
			sum += w
		}
		if total < 0 || total > sum {
			return
		}
		got := allocate(total, ws)
		var s int64
		for i, g := range got {
			if g < 0 || g > ws[i] {
				t.Fatalf("share %d of weight %d", g, ws[i])
			}
			s += g
		}
		if s != total && sum > 0 {
			t.Fatalf("shares %v sum %d, want %d", got, s, total)
		}
	})
}

// FuzzTakeLots: a debit takes exactly its amount from usable lots, the
// soonest-burning first, never a lot at or past its burn instant.
func FuzzTakeLots(f *testing.F) {
	f.Add(int64(10), int64(20), int64(30), int64(-1), int64(5), int64(0), int64(25))
	f.Fuzz(func(t *testing.T, r1, r2, r3, h1, h2, h3, amount int64) {
		hs := []int64{h1, h2, h3}
		rs := []int64{r1, r2, r3}
		st := &State{}
		for i := range rs {
			if rs[i] < 1 || rs[i] > maxPoints || hs[i] < -100 || hs[i] > 100 {
				return
			}
			st.Lots = append(st.Lots, Lot{ID: string(rune('a' + i)), Remaining: rs[i], BurnsAt: t0.Add(time.Duration(hs[i]) * time.Hour)})
		}
		if amount < 1 || amount > 3*maxPoints {
			return
		}
		avail := available(st, t0)
		d, err := takeLots(st, amount, t0, "", false)
		if amount > avail {
			if !errors.Is(err, ErrInsufficientPoints) {
				t.Fatalf("took %d of %d available: %v", amount, avail, err)
			}
			return
		}
		var sum int64
		for _, x := range d {
			for _, l := range st.Lots {
				if l.ID == x.LotID && (!usable(l, t0) || -x.Delta > l.Remaining) {
					t.Fatalf("bad take %+v from %+v", x, l)
				}
				// Any usable lot burning sooner must be emptied first.
				for _, o := range st.Lots {
					if l.ID == x.LotID && usable(o, t0) && o.BurnsAt.Before(l.BurnsAt) {
						found := false
						for _, y := range d {
							if y.LotID == o.ID && -y.Delta == o.Remaining {
								found = true
							}
						}
						if !found {
							t.Fatalf("lot %s used before sooner lot %s was emptied", l.ID, o.ID)
						}
					}
				}
			}
			sum -= x.Delta
		}
		if sum != amount {
			t.Fatalf("took %d, want %d", sum, amount)
		}
	})
}

// FuzzSpendLimit: max points never exceed the share of eligible money.
func FuzzSpendLimit(f *testing.F) {
	f.Add(int64(20000), int64(50000), int64(5000), uint8(1))
	f.Fuzz(func(t *testing.T, a1, a2, share int64, svc uint8) {
		p := testProgram()
		p.MaxShareBP = share
		if p.Validate() != nil {
			return
		}
		services := []string{"CONS-01", "LAB-01"}
		lines := []Line{{services[svc%2], a1}, {services[(svc/2)%2], a2}}
		if validateLines("lines", lines) != nil {
			return
		}
		m := maxSpendByShare(&p, lines)
		_, elig := eligible(&p, lines)
		if m < 0 || m*p.PointValue*maxBP > elig*share {
			t.Fatalf("max %d points on eligible %d at %d bp", m, elig, share)
		}
		if (m+1)*p.PointValue*maxBP <= elig*share {
			t.Fatalf("max %d is not the largest", m)
		}
	})
}

// FuzzPlanRefund: repeated partial refunds never reverse more cashback
// or return more points than the receipt had.
func FuzzPlanRefund(f *testing.F) {
	f.Add(int64(10000), int64(500), int64(70), int64(3333), int64(3333))
	f.Fuzz(func(t *testing.T, amount, cashback, spent, r1, r2 int64) {
		if amount < 1 || amount > maxMoney || cashback < 0 || cashback > maxPoints || spent < 0 || spent > maxPoints ||
			r1 < 0 || r2 < 0 || r1 > amount || r2 > amount {
			return
		}
		r := newReceiptLedger([]Line{{"CONS-01", amount}})
		r.Cashback[0], r.Spent[0] = cashback, spent
		for _, q := range []int64{r1, r2, 0} {
			plan, err := planRefund(r, []Line{{"CONS-01", q}})
			if err != nil {
				continue
			}
			for _, l := range plan {
				if l.Reversed < 0 || l.PaidReduced < 0 {
					t.Fatalf("negative plan %+v", l)
				}
				r.Refunded[l.Line] += l.Amount
				r.Reversed[l.Line] += l.Reversed
				r.PaidReduced[l.Line] += l.PaidReduced
			}
			for _, l := range planReturn(r) {
				r.Returned[l.Line] += l.Returned
			}
		}
		if r.Refunded[0] > amount || r.Reversed[0] > cashback || r.Returned[0] > spent {
			t.Fatalf("refunded %d/%d reversed %d/%d returned %d/%d", r.Refunded[0], amount, r.Reversed[0], cashback, r.Returned[0], spent)
		}
		if r.Refunded[0] == amount && (r.Reversed[0] != cashback || r.Returned[0] != spent) {
			t.Fatalf("full refund reversed %d/%d returned %d/%d", r.Reversed[0], cashback, r.Returned[0], spent)
		}
	})
}
