package wallet

import (
	"math/bits"
	"sort"
	"time"
)

// The business rules: pure functions of their arguments, table-tested and
// fuzzed without a database. Every division rounds down; where rounding
// down would favour the patient (a clawback) the rule rounds up instead.

// mulDiv returns floor(a*b/c) for a, b >= 0, c > 0, without overflow as
// long as the result fits (a*b is computed in 128 bits).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		// The quotient would not fit in 64 bits; callers keep a <= c or
		// b <= c, so this is unreachable with validated input.
		panic("wallet: mulDiv overflow")
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// mulDivUp returns ceil(a*b/c) for a, b >= 0, c > 0.
func mulDivUp(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		panic("wallet: mulDivUp overflow")
	}
	q, r := bits.Div64(hi, lo, uint64(c))
	if r != 0 {
		q++
	}
	return int64(q)
}

// validateLines checks receipt lines: 1..maxLines lines, service codes,
// positive amounts, a total within range.
func validateLines(field string, lines []Line) error {
	if len(lines) == 0 {
		return invalid(field, "at least one line is required")
	}
	if len(lines) > maxLines {
		return invalid(field, "at most %d lines", maxLines)
	}
	var total int64
	for i, l := range lines {
		if !serviceCodeRE.MatchString(l.Service) {
			return invalid(fieldIdx(field, i, "service"), "not a service code")
		}
		if l.Amount < 1 || l.Amount > maxMoney {
			return invalid(fieldIdx(field, i, "amount"), "must be between 1 and %d minor units", int64(maxMoney))
		}
		total += l.Amount
		if total > maxMoney {
			return invalid(field, "receipt total exceeds %d minor units", int64(maxMoney))
		}
	}
	return nil
}

// levelFor is the level for a cumulative paid spend: the highest level
// whose min_spend <= paid. ok is false when the program has no levels.
func levelFor(p *Program, paid int64) (idx int, ok bool) {
	if len(p.Levels) == 0 {
		return 0, false
	}
	idx = 0
	for i, l := range p.Levels {
		if paid >= l.MinSpend {
			idx = i
		}
	}
	return idx, true
}

// baseRate is the cashback rate before overrides, and the rule's name.
func baseRate(p *Program, paid int64) (bp int64, rule string, level string) {
	if i, ok := levelFor(p, paid); ok {
		l := p.Levels[i]
		return l.CashbackBP, "level", l.Name
	}
	return p.CashbackBP, "rate", ""
}

// allocate splits total over weights in proportion, each share rounded
// down, the remainder handed out one unit at a time in line order to
// shares still below their weight, so the shares sum to total exactly and
// no share exceeds its weight. Requires 0 <= total <= sum(weights).
func allocate(total int64, weights []int64) []int64 {
	out := make([]int64, len(weights))
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if total <= 0 || sum <= 0 {
		return out
	}
	var given int64
	for i, w := range weights {
		out[i] = mulDiv(total, w, sum)
		given += out[i]
	}
	for i := 0; given < total && i < len(weights); i++ {
		if out[i] < weights[i] {
			out[i]++
			given++
		}
	}
	return out
}

// eligible returns the amounts of the lines payable with points (0 for
// excluded services) and their sum.
func eligible(p *Program, lines []Line) ([]int64, int64) {
	w := make([]int64, len(lines))
	var sum int64
	for i, l := range lines {
		if !p.excluded(l.Service) {
			w[i] = l.Amount
			sum += l.Amount
		}
	}
	return w, sum
}

// maxSpendByShare is the most points the program lets pay these lines:
// floor(eligible * max_share_bp / 10000 / point_value).
func maxSpendByShare(p *Program, lines []Line) int64 {
	_, e := eligible(p, lines)
	return mulDiv(e, p.MaxShareBP, maxBP*p.PointValue)
}

// EarnLine explains the cashback of one receipt line.
type EarnLine struct {
	Service string `json:"service"`
	Amount  int64  `json:"amount"`
	// PaidWithPoints is the money of this line paid with points (points
	// pay only lines of services not excluded from points payment).
	PaidWithPoints int64  `json:"paid_with_points"`
	Paid           int64  `json:"paid"`
	Rule           string `json:"rule"` // level, rate, override_bp, override_points
	RateBP         int64  `json:"rate_bp,omitempty"`
	Points         int64  `json:"points"`
	// SpentPoints is the part of a spend attributed to this line.
	SpentPoints int64 `json:"spent_points,omitempty"`
}

// Earning explains the cashback of a receipt.
type Earning struct {
	Level          string     `json:"level,omitempty"`
	PaidBefore     int64      `json:"paid_before"`
	PointValue     int64      `json:"point_value"`
	PointsUsed     int64      `json:"points_used"`
	Lines          []EarnLine `json:"lines"`
	ExcludedLines  []int      `json:"excluded_lines,omitempty"` // not payable with points
	Uncapped       int64      `json:"uncapped"`
	CapApplied     int64      `json:"cap_applied,omitempty"`
	Points         int64      `json:"points"`
	Paid           int64      `json:"paid"` // money actually paid
	ProgramVersion int64      `json:"program_version"`
}

// earn computes a receipt's cashback. paidBefore is the card's cumulative
// paid spend before this receipt (it picks the level); pointsUsed is how
// many points paid part of it. Points accrue only on money actually paid:
// the points' money is allocated over the eligible lines in proportion and
// each line earns on the rest, rounded down per line. Requires validated
// lines and pointsUsed*point_value <= the eligible amount.
func earn(p *Program, lines []Line, pointsUsed, paidBefore int64) Earning {
	bp, rule, level := baseRate(p, paidBefore)
	w, _ := eligible(p, lines)
	pm := pointsUsed * p.PointValue
	share := allocate(pm, w)
	pts := allocate(pointsUsed, w)
	e := Earning{Level: level, PaidBefore: paidBefore, PointValue: p.PointValue, PointsUsed: pointsUsed,
		Lines: make([]EarnLine, len(lines)), ProgramVersion: p.Version}
	for i, l := range lines {
		el := EarnLine{Service: l.Service, Amount: l.Amount, PaidWithPoints: share[i], Paid: l.Amount - share[i],
			Rule: rule, RateBP: bp, SpentPoints: pts[i]}
		if p.excluded(l.Service) {
			e.ExcludedLines = append(e.ExcludedLines, i)
		}
		switch o := p.override(l.Service); {
		case o != nil && o.Points != nil:
			el.Rule, el.RateBP = "override_points", 0
			el.Points = mulDiv(*o.Points, el.Paid, l.Amount)
		case o != nil && o.CashbackBP != nil:
			el.Rule, el.RateBP = "override_bp", *o.CashbackBP
			el.Points = mulDiv(el.Paid, *o.CashbackBP, maxBP*p.PointValue)
		default:
			el.Points = mulDiv(el.Paid, bp, maxBP*p.PointValue)
		}
		e.Lines[i] = el
		e.Uncapped += el.Points
		e.Paid += el.Paid
	}
	e.Points = e.Uncapped
	if p.MaxReceiptPoints > 0 && e.Points > p.MaxReceiptPoints {
		e.Points, e.CapApplied = p.MaxReceiptPoints, p.MaxReceiptPoints
		// Scale the lines down so they still explain the total.
		scaled := allocate(e.Points, pointsOf(e.Lines))
		for i := range e.Lines {
			e.Lines[i].Points = scaled[i]
		}
	}
	return e
}

func pointsOf(ls []EarnLine) []int64 {
	out := make([]int64, len(ls))
	for i, l := range ls {
		out[i] = l.Points
	}
	return out
}

// usable reports whether a lot can be spent at now: a lot whose burn
// instant has come (burns_at <= now) is unusable, even before the job
// burns it.
func usable(l Lot, now time.Time) bool {
	return l.Remaining > 0 && l.BurnsAt.After(now)
}

// available is the spendable balance at now.
func available(st *State, now time.Time) int64 {
	var n int64
	for _, l := range st.Lots {
		if usable(l, now) {
			n += l.Remaining
		}
	}
	return n
}

// sortLots orders lots soonest-burning first (ties by id) — the order in
// which spends consume them.
func sortLots(lots []Lot) {
	sort.SliceStable(lots, func(i, j int) bool {
		if !lots[i].BurnsAt.Equal(lots[j].BurnsAt) {
			return lots[i].BurnsAt.Before(lots[j].BurnsAt)
		}
		return lots[i].ID < lots[j].ID
	})
}

// takeLots allocates a debit of amount points over the usable lots at
// now, soonest-burning first. It fails with ErrInsufficientPoints when the
// usable lots hold less. prefer, if set, is consumed first (a clawback
// takes back its own cashback lot first); includeExpired lets a clawback
// reach lots past their burn instant.
func takeLots(st *State, amount int64, now time.Time, prefer string, includeExpired bool) ([]LotDelta, error) {
	if amount <= 0 {
		return nil, nil
	}
	lots := append([]Lot(nil), st.Lots...)
	sortLots(lots)
	if prefer != "" {
		for i, l := range lots {
			if l.ID == prefer {
				copy(lots[1:i+1], lots[:i])
				lots[0] = l
				break
			}
		}
	}
	var out []LotDelta
	left := amount
	for _, l := range lots {
		if left == 0 {
			break
		}
		if l.Remaining <= 0 || (!includeExpired && !usable(l, now)) {
			continue
		}
		d := min(left, l.Remaining)
		out = append(out, LotDelta{LotID: l.ID, Delta: -d})
		left -= d
	}
	if left > 0 {
		return nil, ErrInsufficientPoints
	}
	return out, nil
}

// apply returns the state after e: e.Seq, balance + amount, paid, the new
// lot added, the touched lots' remainders changed and emptied lots
// dropped. It is the one definition of "state derivable from entries".
func apply(st *State, e *Entry) *State {
	next := &State{Seq: e.Seq, Balance: st.Balance + e.Amount, Paid: e.PaidAfter}
	deltas := map[string]int64{}
	for _, d := range e.Lots {
		deltas[d.LotID] += d.Delta
	}
	for _, l := range st.Lots {
		d := deltas[l.ID]
		l.Remaining += d
		if d > 0 { // a credit joining the lot (see credit)
			l.Points += d
		}
		if l.Remaining > 0 {
			next.Lots = append(next.Lots, l)
		}
	}
	if e.NewLot != nil && e.NewLot.Points > 0 {
		l := *e.NewLot
		l.Remaining = l.Points
		next.Lots = append(next.Lots, l)
	}
	sortLots(next.Lots)
	return next
}

// burnTime is when points earned at now with burnDays burn: the end of
// local day D+burnDays (midnight starting the day after) in the clinic's
// time zone, where D is today there. Points earned on 1 March with 30 burn
// days are usable through 31 March, local time.
func burnTime(now time.Time, loc *time.Location, burnDays int) time.Time {
	l := now.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day()+burnDays+1, 0, 0, 0, 0, loc)
	return d.UTC()
}

// warnTime is burnsAt minus warningDays calendar days, local time.
func warnTime(burnsAt time.Time, loc *time.Location, warningDays int) time.Time {
	return burnsAt.In(loc).AddDate(0, 0, -warningDays).UTC()
}

// parseDate parses a YYYY-MM-DD date.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil && t.Format(time.DateOnly) == s
}

// isBirthday reports whether the local date (y, m, d) is the birthday of
// someone born on birth (YYYY-MM-DD); 29 February is celebrated on 28
// February in common years.
func isBirthday(birth string, y int, m time.Month, d int) bool {
	b, ok := parseDate(birth)
	if !ok {
		return false
	}
	bm, bd := b.Month(), b.Day()
	if bm == time.February && bd == 29 && !isLeap(y) {
		bd = 28
	}
	return bm == m && bd == d
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// birthMonthDays is the month-day keys ("MM-DD") whose holders may have a
// birthday on local date (m, d): the day itself, plus 02-29 on 28 Feb of a
// common year.
func birthMonthDays(y int, m time.Month, d int) []string {
	out := []string{time.Date(2000, m, d, 0, 0, 0, 0, time.UTC).Format("01-02")}
	if m == time.February && d == 28 && !isLeap(y) {
		out = append(out, "02-29")
	}
	return out
}

func fieldIdx(field string, i int, sub string) string {
	return field + "[" + itoa(i) + "]." + sub
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}
