package wallet

// RefundLine explains the refund of one receipt line.
type RefundLine struct {
	Line    int    `json:"line"` // index in the receipt
	Service string `json:"service"`
	// Amount is the money refunded now; RefundedAfter the line's total.
	Amount        int64 `json:"amount"`
	RefundedAfter int64 `json:"refunded_after"`
	// Reversed is the cashback to take back for this refund (rounded up:
	// the clinic's favour); PaidReduced the paid spend taken off the level
	// base; Returned the spent points given back (rounded down).
	Reversed    int64 `json:"reversed,omitempty"`
	PaidReduced int64 `json:"paid_reduced,omitempty"`
	Returned    int64 `json:"returned,omitempty"`
}

// receiptLedger is what the ledger knows of one receipt, per line.
type receiptLedger struct {
	Lines       []Line
	Paid        []int64 // money actually paid (no cashback entry: the amount)
	Cashback    []int64
	Spent       []int64
	Refunded    []int64
	Reversed    []int64
	PaidReduced []int64
	Returned    []int64
	CashbackLot string
}

func newReceiptLedger(lines []Line) *receiptLedger {
	n := len(lines)
	r := &receiptLedger{Lines: lines, Paid: make([]int64, n), Cashback: make([]int64, n), Spent: make([]int64, n),
		Refunded: make([]int64, n), Reversed: make([]int64, n), PaidReduced: make([]int64, n), Returned: make([]int64, n)}
	for i, l := range lines {
		r.Paid[i] = l.Amount
	}
	return r
}

// planRefund matches the requested lines to the receipt's lines (by
// service, the first line with enough left; amount 0 = the rest of that
// line; no lines = everything left) and computes, cumulatively so repeated
// partial refunds never drift, what to reverse and reduce.
func planRefund(r *receiptLedger, req []Line) ([]RefundLine, error) {
	n := len(r.Lines)
	now := make([]int64, n)
	if len(req) == 0 {
		for i, l := range r.Lines {
			now[i] = l.Amount - r.Refunded[i]
		}
	}
	for j, q := range req {
		if !serviceCodeRE.MatchString(q.Service) {
			return nil, invalid(fieldIdx("lines", j, "service"), "not a service code")
		}
		if q.Amount < 0 || q.Amount > maxMoney {
			return nil, invalid(fieldIdx("lines", j, "amount"), "out of range")
		}
		found := false
		for i, l := range r.Lines {
			left := l.Amount - r.Refunded[i] - now[i]
			if l.Service != q.Service || left <= 0 {
				continue
			}
			amt := q.Amount
			if amt == 0 {
				amt = left
			}
			if amt > left {
				continue
			}
			now[i] += amt
			found = true
			break
		}
		if !found {
			return nil, invalid(fieldIdx("lines", j, "amount"), "no line of service %q with %d left to refund", q.Service, q.Amount)
		}
	}
	var out []RefundLine
	for i, l := range r.Lines {
		if now[i] == 0 {
			continue
		}
		after := r.Refunded[i] + now[i]
		out = append(out, RefundLine{
			Line: i, Service: l.Service, Amount: now[i], RefundedAfter: after,
			Reversed:    mulDivUp(r.Cashback[i], after, l.Amount) - r.Reversed[i],
			PaidReduced: mulDiv(r.Paid[i], after, l.Amount) - r.PaidReduced[i],
		})
	}
	if len(out) == 0 {
		return nil, invalid("lines", "nothing left to refund on this receipt")
	}
	return out, nil
}

// planReturn is how many spent points each line gives back now: the
// lines' refunded share of their spent points, rounded down, minus what
// was already returned.
func planReturn(r *receiptLedger) []RefundLine {
	var out []RefundLine
	for i, l := range r.Lines {
		ret := mulDiv(r.Spent[i], r.Refunded[i], l.Amount) - r.Returned[i]
		if ret > 0 {
			out = append(out, RefundLine{Line: i, Service: l.Service, RefundedAfter: r.Refunded[i], Returned: ret})
		}
	}
	return out
}
