package referrals

import (
	"math/bits"
	"time"
)

// The reward rules are pure functions of the program and the money: the
// job that pays them, the refund that claws them back and the tests all
// call these. Money is minor units, rates basis points, points whole
// points; every division rounds down (in the clinic's favour), and a
// claw-back is the drop in what is owed, so over any sequence of refunds
// the points clawed back add up to exactly what the refunded money no
// longer earns.

// Terms are what one beneficiary earns on one receipt: RateBP of the money
// paid (converted to points at PointValue minor units a point) plus the
// fixed Bonus while the receipt still qualifies (at least MinPaid paid,
// and more than nothing).
type Terms struct {
	RateBP     int64 `json:"rate_bp"`
	Bonus      int64 `json:"bonus,omitempty"`
	MinPaid    int64 `json:"min_paid,omitempty"`
	PointValue int64 `json:"point_value"`
}

// Owed is what the terms earn when paid minor units are (still) paid.
func (t Terms) Owed(paid int64) int64 {
	if paid <= 0 {
		return 0
	}
	pv := max(t.PointValue, 1)
	pts := mulDiv(paid, max(t.RateBP, 0), 10_000*pv)
	if t.Bonus > 0 && paid >= t.MinPaid {
		pts += t.Bonus
	}
	return pts
}

// ClawBack is what a refund reducing the paid money by reduced takes back,
// when refunds before it already reduced it by before: the drop in what
// is owed. It is never negative and the sum over refunds never exceeds
// what was paid out.
func (t Terms) ClawBack(paid, before, reduced int64) int64 {
	before = min(max(before, 0), max(paid, 0))
	after := min(before+max(reduced, 0), max(paid, 0))
	return max(t.Owed(paid-before)-t.Owed(paid-after), 0)
}

// LevelTerms are the terms of level (1-based) of a receipt under p: level
// 1 gets the referrer bonus beside its rate. ok is false when p does not
// reward that level.
func LevelTerms(p *Program, level int, pointValue int64) (Terms, bool) {
	if level < 1 || level > len(p.Levels) || level > MaxLevels {
		return Terms{}, false
	}
	t := Terms{RateBP: p.Levels[level-1].RateBP, MinPaid: p.MinPaid, PointValue: pointValue}
	if level == 1 {
		t.Bonus = p.ReferrerBonus.Points
	}
	return t, t.RateBP > 0 || t.Bonus > 0
}

// StaffTerms are the enrolling staff member's terms under p.
func StaffTerms(p *Program, pointValue int64) (Terms, bool) {
	return Terms{RateBP: p.StaffRewardBP, PointValue: pointValue}, p.StaffRewardBP > 0
}

// Qualifies reports whether a receipt paying paid, recorded at at by a
// patient who joined at joined, is rewarded under p, given whether it is
// the patient's first qualifying receipt (first_paid_visit pays only that
// one; every_paid_visit pays each within the window of days after
// joining).
func Qualifies(p *Program, paid int64, joined, at time.Time, first bool) bool {
	if !p.Enabled || paid <= 0 || paid < p.MinPaid {
		return false
	}
	switch p.RewardOn {
	case RewardFirstPaidVisit:
		return first
	case RewardEveryPaidVisit:
		return !at.Before(joined) && at.Before(joined.AddDate(0, 0, p.WindowDays))
	}
	return false
}

// mulDiv is a*b/c rounded down for non-negative a, b and positive c,
// without overflow in the product.
func mulDiv(a, b, c int64) int64 {
	if a <= 0 || b <= 0 || c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return maxPoints // cannot happen with validated money and rates
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(min(q, uint64(maxPoints)))
}
