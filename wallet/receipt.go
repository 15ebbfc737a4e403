package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"carewallet/app/text"
)

// ReceiptRequest is POST /v1/clinic/receipts: a paid receipt earning
// cashback. PaidWithPoints is the number of points that paid part of it
// (the confirmed spend of the same receipt counts if larger).
type ReceiptRequest struct {
	ClinicID       string `json:"-"`
	StaffID        string `json:"-"`
	CardID         string `json:"card_id" api:"required"`
	ReceiptID      string `json:"receipt_id" api:"required"`
	Lines          []Line `json:"lines" api:"required"`
	PaidWithPoints int64  `json:"paid_with_points"` // may be left out: 0
}

// ReceiptResult is the answer of RecordReceipt (also on replays).
type ReceiptResult struct {
	ReceiptID string `json:"receipt_id"`
	CardID    string `json:"card_id"`
	Points    int64  `json:"points"`
	Balance   int64  `json:"balance"`
	Level     string `json:"level,omitempty"`
	Entry     *Entry `json:"entry,omitempty"` // nil when nothing was earned
}

// Line is a receipt line: a clinic service code and its amount in minor
// units.
type Line struct {
	Service string `json:"service" api:"required"`
	Amount  int64  `json:"amount" api:"required"`
}

func validReceiptID(v string) error {
	if m := text.ID(v, maxClientID); m != "" {
		return invalid("receipt_id", "%s", m)
	}
	return nil
}

// RecordReceipt is POST /v1/clinic/receipts: cashback on the money actually
// paid, at the level reached before this receipt. Unique (clinic,
// receipt_id) records the receipt; the entry's key cashback:{receipt_id}
// makes any number of replays post once. The same receipt_id with another
// body is ErrIdempotencyConflict.
func (s *Service) RecordReceipt(ctx context.Context, req ReceiptRequest) (*ReceiptResult, error) {
	if req.PaidWithPoints < 0 || req.PaidWithPoints > maxPoints {
		return nil, invalid("paid_with_points", "must be between 0 and %d", maxPoints)
	}
	// Everything is validated before the receipt is recorded: a recorded
	// receipt fixes its body for good.
	card, p, err := s.receiptCard(ctx, req.ClinicID, req.CardID, req.ReceiptID, req.Lines)
	if err != nil {
		return nil, err
	}
	terms, err := s.creditTerms(ctx, card, p, p.CashbackBurnDays)
	if err != nil {
		return nil, err
	}
	used := req.PaidWithPoints
	if sp, err := s.store.EntryByKey(ctx, card.ID, "spend:"+req.ReceiptID); err == nil {
		used = max(used, -sp.Amount)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if _, elig := eligible(p, req.Lines); used*p.PointValue > elig {
		return nil, invalid("paid_with_points", "at most %d points can be paid on these lines (%d minor units payable with points; excluded services cannot be), not %d",
			elig/p.PointValue, elig, used)
	}
	fp := fingerprint([]any{req.CardID, req.ReceiptID, req.Lines, req.PaidWithPoints})
	if err := s.claimReceipt(ctx, req.ClinicID, req.ReceiptID, card.ID, true); err != nil {
		// The receipt itself recorded with another body (card included)
		// is a reused key, as it always was.
		if old, rerr := s.store.Receipt(ctx, req.ClinicID, req.ReceiptID); errors.Is(err, ErrConflict) && rerr == nil && old.Fingerprint != fp {
			return nil, fmt.Errorf("wallet: receipt %s: %w", req.ReceiptID, ErrIdempotencyConflict)
		}
		return nil, err
	}
	rec := &Receipt{ClinicID: req.ClinicID, ReceiptID: req.ReceiptID, CardID: card.ID, StaffID: req.StaffID,
		Lines: req.Lines, PaidWithPoints: req.PaidWithPoints, Fingerprint: fp, Created: s.clock()}
	if err := s.store.InsertReceipt(ctx, rec); err != nil {
		if !errors.Is(err, errDuplicate) {
			return nil, fmt.Errorf("wallet: record receipt: %w", err)
		}
		old, err := s.store.Receipt(ctx, req.ClinicID, req.ReceiptID)
		if err != nil {
			return nil, fmt.Errorf("wallet: record receipt: %w", err)
		}
		if old.Fingerprint != fp {
			return nil, fmt.Errorf("wallet: receipt %s: %w", req.ReceiptID, ErrIdempotencyConflict)
		}
	}
	key := "cashback:" + req.ReceiptID
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, CreditBurnsAt: terms.burnsAt(s.clock()), Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		earning := earn(p, req.Lines, used, st.Paid)
		var e *Entry
		if earning.Points > 0 {
			e = credit(card, st, KindCashback, earning.Points, now, terms)
		} else {
			e = stampEntry(&Entry{Kind: KindCashback, Lots: []LotDelta{}}, st, card, now)
		}
		e.PaidAfter = st.Paid + earning.Paid
		e.Key, e.Fingerprint, e.StaffID, e.ReceiptID = key, fp, req.StaffID, req.ReceiptID
		e.Details = mustJSON(earning)
		return e, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("wallet: cashback of %s: %w", req.ReceiptID, err)
	}
	if !e.Replayed {
		s.notifyBalance(ctx, card, e)
	}
	var earning Earning
	_ = json.Unmarshal(e.Details, &earning)
	return &ReceiptResult{ReceiptID: req.ReceiptID, CardID: card.ID, Points: e.Amount, Balance: e.BalanceAfter,
		Level: earning.Level, Entry: e}, nil
}

// receiptCard checks what a receipt and a bonus payment share (the
// receipt number and lines) and returns the clinic's card (active, or
// unconfirmed: the bonus payment refuses that one itself) and its program.
func (s *Service) receiptCard(ctx context.Context, clinicID, cardID, receiptID string, lines []Line) (*Card, *Program, error) {
	if err := validReceiptID(receiptID); err != nil {
		return nil, nil, err
	}
	if err := validateLines("lines", lines); err != nil {
		return nil, nil, err
	}
	card, err := s.earningStaffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, nil, err
	}
	return card, p, nil
}

// Receipt is a recorded paid receipt: unique (clinic, receipt_id).
type Receipt struct {
	ClinicID       string
	ReceiptID      string
	CardID         string
	StaffID        string
	Lines          []Line
	PaidWithPoints int64
	Fingerprint    string
	Created        time.Time
}

// claimReceipt makes the card the owner of the clinic's receipt, or checks
// that it may be (claim false): one receipt belongs to one card, so a spend
// and a receipt with one receipt_id on two cards cannot both be accepted.
// The owner is fixed by a unique insert (clinic, receipt_id) when a receipt
// is recorded or a spend confirmed; receipts and confirmed spends written
// before owners were recorded count as owners too.
func (s *Service) claimReceipt(ctx context.Context, clinicID, receiptID, cardID string, claim bool) error {
	mismatch := refused(ErrConflict, "receipt %s belongs to another card", receiptID)
	owner, err := s.store.ReceiptCard(ctx, clinicID, receiptID)
	switch {
	case err == nil && owner == cardID:
		return nil
	case err == nil:
		return mismatch
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if r, err := s.store.Receipt(ctx, clinicID, receiptID); err == nil && r.CardID != cardID {
		return mismatch
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	sps, err := s.store.SpendsByReceipt(ctx, clinicID, receiptID)
	if err != nil {
		return err
	}
	for i := range sps {
		if sps[i].CardID == cardID {
			continue
		}
		if state, _, err := s.spendState(ctx, &sps[i]); err != nil {
			return err
		} else if state == SpendConfirmed {
			return mismatch
		}
	}
	if !claim {
		return nil
	}
	if err := s.store.InsertReceiptCard(ctx, clinicID, receiptID, cardID); errors.Is(err, errDuplicate) {
		return s.claimReceipt(ctx, clinicID, receiptID, cardID, false) // the winner's claim decides
	} else if err != nil {
		return fmt.Errorf("wallet: receipt owner: %w", err)
	}
	return nil
}
