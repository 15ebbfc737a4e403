package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// RefundRequest is POST /v1/clinic/receipts/{receipt_id}/refund. No lines:
// the whole (remaining) receipt. A line's Amount 0 refunds the rest of
// that line. IdempotencyKey (the Idempotency-Key header) tells two equal
// partial refunds apart; without it the body is the key.
type RefundRequest struct {
	ClinicID       string `json:"-"`
	StaffID        string `json:"-"`
	ReceiptID      string `json:"-"`
	IdempotencyKey string `json:"-"`
	Lines          []Line `json:"lines"`
}

// RefundResult tells what a refund did.
type RefundResult struct {
	ReceiptID string `json:"receipt_id"`
	CardID    string `json:"card_id"`
	// Reversed is the cashback taken back; Uncollected the part of it the
	// card no longer had (already spent or burned).
	Reversed    int64   `json:"reversed"`
	Uncollected int64   `json:"uncollected"`
	Returned    int64   `json:"returned"` // spent points given back
	Entries     []Entry `json:"entries"`
}

// RefundDetails explains a refund or refund_spend entry.
type RefundDetails struct {
	Ref         string       `json:"ref"`
	Lines       []RefundLine `json:"lines"`
	Wanted      int64        `json:"wanted,omitempty"`
	Uncollected int64        `json:"uncollected,omitempty"`
}

// receiptLedgerOf folds a receipt's entries into per-line totals.
func receiptLedgerOf(lines []Line, es []Entry) *receiptLedger {
	r := newReceiptLedger(lines)
	same := func(ls []EarnLine) bool {
		if len(ls) != len(lines) {
			return false
		}
		for i := range ls {
			if ls[i].Service != lines[i].Service || ls[i].Amount != lines[i].Amount {
				return false
			}
		}
		return true
	}
	for _, e := range es {
		switch e.Kind {
		case KindCashback:
			var d Earning
			if json.Unmarshal(e.Details, &d) == nil && same(d.Lines) {
				for i, l := range d.Lines {
					r.Paid[i], r.Cashback[i] = l.Paid, l.Points
				}
			}
			for _, ld := range e.Lots {
				if ld.Delta > 0 {
					r.CashbackLot = ld.LotID
				}
			}
		case KindSpend:
			var d SpendDetails
			if json.Unmarshal(e.Details, &d) == nil && same(d.Lines) {
				for i, l := range d.Lines {
					r.Spent[i] = l.SpentPoints
				}
			} else {
				amounts := make([]int64, len(lines))
				for i, l := range lines {
					amounts[i] = l.Amount
				}
				copy(r.Spent, allocate(-e.Amount, amounts))
			}
		case KindRefund, KindRefundSpend:
			var d RefundDetails
			if json.Unmarshal(e.Details, &d) != nil {
				continue
			}
			for _, l := range d.Lines {
				if l.Line < 0 || l.Line >= len(lines) {
					continue
				}
				r.Refunded[l.Line] += l.Amount
				r.Reversed[l.Line] += l.Reversed
				r.PaidReduced[l.Line] += l.PaidReduced
				r.Returned[l.Line] += l.Returned
			}
		}
	}
	return r
}

// Refund is POST /v1/clinic/receipts/{receipt_id}/refund: the refunded
// lines' cashback is taken back (refund entry; rounded up, never below a
// zero balance: what the card no longer holds is reported Uncollected) and
// the points spent on them are given back as a new lot (refund_spend
// entry; rounded down). Both entries are keyed by the receipt and the
// request, so a replay posts nothing new.
func (s *Service) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	if err := validReceiptID(req.ReceiptID); err != nil {
		return nil, err
	}
	if len(req.Lines) > maxLines {
		return nil, invalid("lines", "at most %d lines", maxLines)
	}
	if len(req.IdempotencyKey) > 128 {
		return nil, invalid("idempotency_key", "at most 128 characters")
	}
	var lines []Line
	cardID := ""
	rec, err := s.store.Receipt(ctx, req.ClinicID, req.ReceiptID)
	switch {
	case err == nil:
		lines, cardID = rec.Lines, rec.CardID
	case errors.Is(err, ErrNotFound):
		sps, err := s.store.SpendsByReceipt(ctx, req.ClinicID, req.ReceiptID)
		if err != nil {
			return nil, err
		}
		for i := range sps {
			if st, _, err := s.spendState(ctx, &sps[i]); err == nil && st == SpendConfirmed {
				lines, cardID = sps[i].Lines, sps[i].CardID
			}
		}
	default:
		return nil, err
	}
	if cardID == "" {
		return nil, fmt.Errorf("wallet: receipt %s: %w", req.ReceiptID, ErrNotFound)
	}
	card, err := s.staffCard(ctx, req.ClinicID, cardID)
	if err != nil {
		return nil, err
	}
	terms, err := s.cashbackTerms(ctx, card)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(req.Lines)
	ref := req.IdempotencyKey
	if ref == "" {
		ref = fp
	}
	res := &RefundResult{ReceiptID: req.ReceiptID, CardID: card.ID, Entries: []Entry{}}
	key := "refund:" + req.ReceiptID + ":" + ref
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, ReceiptID: req.ReceiptID,
		Build: func(st *State, es []Entry) (*Entry, error) {
			now := s.clock()
			r := receiptLedgerOf(lines, es)
			plan, err := planRefund(r, req.Lines)
			if err != nil {
				return nil, err
			}
			var wanted, paidRed int64
			for _, l := range plan {
				wanted += l.Reversed
				paidRed += l.PaidReduced
			}
			take := min(wanted, st.Balance)
			deltas, err := takeLots(st, take, now, r.CashbackLot, true)
			if err != nil {
				return nil, err
			}
			e := stampEntry(&Entry{Kind: KindRefund, Amount: -take, Lots: deltas}, st, card, now)
			if deltas == nil {
				e.Lots = []LotDelta{}
			}
			e.PaidAfter = max(0, st.Paid-paidRed)
			e.Key, e.Fingerprint, e.StaffID, e.ReceiptID = key, fp, req.StaffID, req.ReceiptID
			e.Details = mustJSON(RefundDetails{Ref: ref, Lines: plan, Wanted: wanted, Uncollected: wanted - take})
			return e, nil
		}})
	if err != nil {
		return nil, fmt.Errorf("wallet: refund of %s: %w", req.ReceiptID, err)
	}
	res.Entries = append(res.Entries, *e)
	res.Reversed = -e.Amount
	var d RefundDetails
	_ = json.Unmarshal(e.Details, &d)
	res.Uncollected = d.Uncollected
	key2 := "refund_spend:" + req.ReceiptID + ":" + ref
	e2, err := s.commit(ctx, Commit{CardID: card.ID, Key: key2, Fingerprint: fp, ReceiptID: req.ReceiptID,
		Build: func(st *State, es []Entry) (*Entry, error) {
			now := s.clock()
			plan := planReturn(receiptLedgerOf(lines, es))
			var total int64
			for _, l := range plan {
				total += l.Returned
			}
			if total == 0 {
				return nil, nil
			}
			e := credit(card, st, KindRefundSpend, total, now, terms)
			e.Key, e.Fingerprint, e.StaffID, e.ReceiptID = key2, fp, req.StaffID, req.ReceiptID
			e.Details = mustJSON(RefundDetails{Ref: ref, Lines: plan})
			return e, nil
		}})
	if err != nil {
		return nil, fmt.Errorf("wallet: refund of %s: %w", req.ReceiptID, err)
	}
	if e2 != nil {
		res.Entries = append(res.Entries, *e2)
		res.Returned = e2.Amount
	}
	s.notifyBalance(ctx, card, e)
	s.notifyBalance(ctx, card, e2)
	return res, nil
}
