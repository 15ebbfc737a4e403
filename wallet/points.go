package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

func validReceiptID(v string) error {
	if v == "" {
		return invalid("receipt_id", "required")
	}
	if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return invalid("receipt_id", "must be 1 to 64 printable characters without spaces")
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
	loc, err := s.location(ctx, card.ClinicID)
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
		return nil, invalid("paid_with_points", "more than the receipt's lines payable with points")
	}
	fp := fingerprint([]any{req.CardID, req.ReceiptID, req.Lines, req.PaidWithPoints})
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
	lotID, err := s.newID("lt_")
	if err != nil {
		return nil, err
	}
	key := "cashback:" + req.ReceiptID
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		earning := earn(p, req.Lines, used, st.Paid)
		var e *Entry
		if earning.Points > 0 {
			burns := burnTime(now, loc, p.CashbackBurnDays)
			e = s.credit(card, st, KindCashback, earning.Points, burns, warnTime(burns, loc, p.BurnWarningDays), now, lotID)
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
		s.notifyPoints(ctx, card, e)
	}
	var earning Earning
	_ = json.Unmarshal(e.Details, &earning)
	return &ReceiptResult{ReceiptID: req.ReceiptID, CardID: card.ID, Points: e.Amount, Balance: e.BalanceAfter,
		Level: earning.Level, Entry: e}, nil
}

// SpendDetails explains a spend entry.
type SpendDetails struct {
	SpendID       string     `json:"spend_id"`
	Points        int64      `json:"points"`
	MaxPoints     int64      `json:"max_points"`
	MaxShareBP    int64      `json:"max_share_bp"`
	PointValue    int64      `json:"point_value"`
	Lines         []EarnLine `json:"lines"`
	ExcludedLines []int      `json:"excluded_lines,omitempty"`
}

func spendLines(p *Program, lines []Line, points int64) ([]EarnLine, []int) {
	w, _ := eligible(p, lines)
	pts := allocate(points, w)
	out := make([]EarnLine, len(lines))
	var excl []int
	for i, l := range lines {
		out[i] = EarnLine{Service: l.Service, Amount: l.Amount, SpentPoints: pts[i], PaidWithPoints: pts[i] * p.PointValue}
		if w[i] == 0 {
			excl = append(excl, i)
		}
	}
	return out, excl
}

func spendResult(sp *Spend, status string, e *Entry) *SpendResult {
	return &SpendResult{SpendID: sp.ID, Status: status, CardID: sp.CardID, ReceiptID: sp.ReceiptID,
		Points: sp.Points, MaxPoints: sp.MaxPoints, ExpiresAt: sp.ExpiresAt, Entry: e}
}

// spendState classifies an existing spend: confirmed, awaiting or expired.
func (s *Service) spendState(ctx context.Context, sp *Spend) (string, *Entry, error) {
	e, err := s.store.EntryByKey(ctx, sp.CardID, "spend:"+sp.ReceiptID)
	if err == nil && e.Fingerprint == sp.ID {
		return SpendConfirmed, e, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", nil, err
	}
	dead, err := s.challengeDead(ctx, sp.ChallengeID, s.clock())
	if err != nil {
		return "", nil, err
	}
	if dead || e != nil {
		return SpendExpired, nil, nil
	}
	return SpendAwaiting, nil, nil
}

// CreateSpend is POST /v1/clinic/spends: checks the program's limits (max
// share of the lines payable with points, excluded services) and the
// available balance, then sends a code bound to this spend, amount and
// card to the card's patient (the guardian for a dependant). Replaying the
// same body returns the same spend (no new code); another body for a
// receipt with a live or confirmed spend is ErrIdempotencyConflict. Spends
// are unique (clinic, receipt_id, slot); a new slot only after the earlier
// spend's code died unconfirmed.
func (s *Service) CreateSpend(ctx context.Context, req SpendRequest) (*SpendResult, error) {
	if req.Points < 1 || req.Points > maxPoints {
		return nil, invalid("points", "must be between 1 and %d", maxPoints)
	}
	card, p, err := s.receiptCard(ctx, req.ClinicID, req.CardID, req.ReceiptID, req.Lines)
	if err != nil {
		return nil, err
	}
	fp := fingerprint([]any{req.CardID, req.ReceiptID, req.Lines, req.Points})
	for range 10 {
		olds, err := s.store.SpendsByReceipt(ctx, req.ClinicID, req.ReceiptID)
		if err != nil {
			return nil, fmt.Errorf("wallet: spends of receipt: %w", err)
		}
		slot := 0
		for i := range olds {
			old := &olds[i]
			slot = max(slot, old.Slot+1)
			state, e, err := s.spendState(ctx, old)
			if err != nil {
				return nil, err
			}
			if state == SpendExpired {
				continue
			}
			if old.Fingerprint != fp {
				return nil, fmt.Errorf("wallet: spend for receipt %s: %w", req.ReceiptID, ErrIdempotencyConflict)
			}
			return spendResult(old, state, e), nil
		}
		st, err := s.store.State(ctx, card.ID)
		if err != nil {
			return nil, err
		}
		now := s.clock()
		byShare := maxSpendByShare(p, req.Lines)
		avail := available(st, now)
		maxPts := min(byShare, avail)
		if req.Points > byShare {
			return nil, fmt.Errorf("wallet: spend of %d points, the program allows %d on these lines (max_points %d): %w",
				req.Points, byShare, maxPts, ErrLimitExceeded)
		}
		if req.Points > avail {
			return nil, fmt.Errorf("wallet: spend of %d points, %d available (max_points %d): %w",
				req.Points, avail, maxPts, ErrInsufficientPoints)
		}
		id, err := s.newID("sp_")
		if err != nil {
			return nil, err
		}
		ch, code, err := s.newChallenge(ctx, "spend", id, card.ID, req.Points, now)
		if err != nil {
			return nil, err
		}
		sp := &Spend{ID: id, ClinicID: req.ClinicID, CardID: card.ID, PatientID: card.PatientID, StaffID: req.StaffID,
			ReceiptID: req.ReceiptID, Lines: req.Lines, Points: req.Points, MaxPoints: maxPts, Slot: slot,
			Fingerprint: fp, ChallengeID: ch.ID, Created: now, ExpiresAt: ch.ExpiresAt}
		err = s.store.InsertSpend(ctx, sp)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: create spend: %w", err)
		}
		if err := s.notifier.Notify(ctx, card.PatientID, Notification{
			Key: "spendcode:" + id, Type: NoteSpendCode,
			Data: SpendCodeData{Code: code, SpendID: id, CardID: card.ID, ClinicID: card.ClinicID,
				Points: req.Points, ExpiresAt: ch.ExpiresAt},
			AlertTitle: "Confirm payment with points", AlertBody: fmt.Sprintf("Open the app to confirm paying %d points", req.Points),
		}); err != nil {
			return nil, fmt.Errorf("wallet: send spend code: %w", err)
		}
		return spendResult(sp, SpendAwaiting, nil), nil
	}
	return nil, fmt.Errorf("wallet: create spend: %w", ErrConflict)
}

// ConfirmSpend is POST /v1/clinic/spends/{id}/confirm: a right code within
// its lifetime posts the spend as the entry spend:{receipt_id}, consuming
// the soonest-burning usable lots. The unique key posts it once however
// many correct confirmations race; the losers, and any later use of the
// code, get ErrCodeUsed. A wrong, expired or exhausted code posts nothing.
func (s *Service) ConfirmSpend(ctx context.Context, clinicID, spendID, code string) (*SpendResult, error) {
	sp, err := s.store.Spend(ctx, spendID)
	if err != nil {
		return nil, fmt.Errorf("wallet: spend %s: %w", spendID, err)
	}
	if clinicID == "" || sp.ClinicID != clinicID {
		return nil, fmt.Errorf("wallet: spend %s: %w", spendID, ErrNotFound)
	}
	key := "spend:" + sp.ReceiptID
	if _, err := s.store.EntryByKey(ctx, sp.CardID, key); err == nil {
		return nil, fmt.Errorf("wallet: spend %s: %w", spendID, ErrCodeUsed)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := s.verify(ctx, sp.ChallengeID, "spend", sp.ID, strings.TrimSpace(code)); err != nil {
		return nil, fmt.Errorf("wallet: confirm spend %s: %w", spendID, err)
	}
	card, err := s.activeStaffCard(ctx, clinicID, sp.CardID)
	if err != nil {
		return nil, err
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	lines, excl := spendLines(p, sp.Lines, sp.Points)
	details := SpendDetails{SpendID: sp.ID, Points: sp.Points, MaxPoints: sp.MaxPoints, MaxShareBP: p.MaxShareBP,
		PointValue: p.PointValue, Lines: lines, ExcludedLines: excl}
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: sp.ID, Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		deltas, err := takeLots(st, sp.Points, now, "", false)
		if err != nil {
			return nil, err
		}
		e := stampEntry(&Entry{Kind: KindSpend, Amount: -sp.Points, Lots: deltas}, st, card, now)
		e.Key, e.Fingerprint, e.StaffID, e.ReceiptID = key, sp.ID, sp.StaffID, sp.ReceiptID
		e.Details = mustJSON(details)
		return e, nil
	}})
	if errors.Is(err, ErrIdempotencyConflict) || (err == nil && e.Replayed) {
		return nil, fmt.Errorf("wallet: spend %s: %w", spendID, ErrCodeUsed)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: confirm spend %s: %w", spendID, err)
	}
	return spendResult(sp, SpendConfirmed, e), nil
}

// receiptCard checks what a receipt and a bonus payment share (the
// receipt number and lines) and returns the clinic's active card and its
// program.
func (s *Service) receiptCard(ctx context.Context, clinicID, cardID, receiptID string, lines []Line) (*Card, *Program, error) {
	if err := validReceiptID(receiptID); err != nil {
		return nil, nil, err
	}
	if err := validateLines("lines", lines); err != nil {
		return nil, nil, err
	}
	card, err := s.activeStaffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, nil, err
	}
	return card, p, nil
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
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	loc, err := s.location(ctx, card.ClinicID)
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
	lotID, err := s.newID("lt_")
	if err != nil {
		return nil, err
	}
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
			burns := burnTime(now, loc, p.CashbackBurnDays)
			e := s.credit(card, st, KindRefundSpend, total, burns, warnTime(burns, loc, p.BurnWarningDays), now, lotID)
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
	return res, nil
}

// Booking is POST /v1/clinic/bookings: the online-booking bonus, once per
// booking id (key booking:{booking_id}). Returns nil when the program has
// no booking bonus.
func (s *Service) Booking(ctx context.Context, req BookingRequest) (*Entry, error) {
	if req.BookingID == "" || len(req.BookingID) > 64 {
		return nil, invalid("booking_id", "must be 1 to 64 characters")
	}
	var card *Card
	var err error
	switch {
	case req.CardID != "":
		card, err = s.activeStaffCard(ctx, req.ClinicID, req.CardID)
	case req.PatientID != "":
		var live *Card
		live, _, err = s.liveCard(ctx, req.ClinicID, Holder{Kind: HolderSelf, PatientID: req.PatientID})
		if err == nil && (live == nil || live.Status != StatusActive) {
			err = fmt.Errorf("wallet: booking: patient has no active card: %w", ErrNotFound)
		}
		card = live
	default:
		return nil, invalid("card_id", "give card_id or phone")
	}
	if err != nil {
		return nil, err
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	return s.bonus(ctx, card, KindBooking, "booking:"+req.BookingID, "", p.BookingBonus,
		map[string]any{"rule": "booking_bonus", "booking_id": req.BookingID, "program_version": p.Version})
}

// Adjust is a manager's manual adjustment with a reason (kind adjustment).
// A credit is a new lot burning after cashback_burn_days; a debit takes
// the soonest-burning usable lots and cannot overdraw. IdempotencyKey
// (the header) makes a replay post once.
func (s *Service) Adjust(ctx context.Context, req AdjustRequest) (*Entry, error) {
	if req.Points == 0 || req.Points > maxPoints || req.Points < -maxPoints {
		return nil, invalid("points", "must be non-zero, at most %d either way", maxPoints)
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" || len(reason) > 500 {
		return nil, invalid("reason", "must be 1 to 500 characters")
	}
	card, err := s.activeStaffCard(ctx, req.ClinicID, req.CardID)
	if err != nil {
		return nil, err
	}
	ref := req.IdempotencyKey
	if ref == "" {
		if ref, err = s.newID(""); err != nil {
			return nil, err
		}
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	loc, err := s.location(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	lotID, err := s.newID("lt_")
	if err != nil {
		return nil, err
	}
	key := "adjust:" + ref
	fp := fingerprint([]any{req.CardID, req.Points, reason})
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		var e *Entry
		if req.Points > 0 {
			burns := burnTime(now, loc, p.CashbackBurnDays)
			e = s.credit(card, st, KindAdjustment, req.Points, burns, warnTime(burns, loc, p.BurnWarningDays), now, lotID)
		} else {
			deltas, err := takeLots(st, -req.Points, now, "", false)
			if err != nil {
				return nil, err
			}
			e = stampEntry(&Entry{Kind: KindAdjustment, Amount: req.Points, Lots: deltas}, st, card, now)
		}
		e.Key, e.Fingerprint, e.StaffID, e.Reason = key, fp, req.StaffID, reason
		e.Details = mustJSON(map[string]any{"rule": "manual_adjustment", "reason": reason})
		return e, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("wallet: adjust: %w", err)
	}
	if !e.Replayed {
		s.notifyPoints(ctx, card, e)
	}
	return e, nil
}

var _ = time.Now
