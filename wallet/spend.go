package wallet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SpendRequest is POST /v1/clinic/spends: paying part of a receipt with
// points, confirmed by the patient's code.
type SpendRequest struct {
	ClinicID  string `json:"-"`
	StaffID   string `json:"-"`
	CardID    string `json:"card_id" api:"required"`
	ReceiptID string `json:"receipt_id" api:"required"`
	Lines     []Line `json:"lines" api:"required"`
	Points    int64  `json:"points" api:"required"`
}

// Spend statuses.
const (
	SpendAwaiting  = "awaiting_confirmation"
	SpendConfirmed = "confirmed"
	SpendExpired   = "expired" // code expired or attempts used up
)

// SpendResult is the answer of CreateSpend and ConfirmSpend.
type SpendResult struct {
	SpendID   string    `json:"spend_id"`
	Status    string    `json:"status"`
	CardID    string    `json:"card_id"`
	ReceiptID string    `json:"receipt_id"`
	Points    int64     `json:"points"`
	MaxPoints int64     `json:"max_points"`
	ExpiresAt time.Time `json:"expires_at"`
	Entry     *Entry    `json:"entry,omitempty"`
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
	if card.Status == StatusUnconfirmed {
		return nil, refused(ErrCardUnconfirmed, "card %s is not confirmed yet: its points can be spent once the patient confirms it in the app", card.ID)
	}
	if err := s.spendLocked(ctx, card.ID, s.clock()); err != nil {
		return nil, err
	}
	if err := s.claimReceipt(ctx, req.ClinicID, req.ReceiptID, card.ID, false); err != nil {
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
			return nil, refused(ErrLimitExceeded, "at most %d points can be paid on this receipt (the program's max_share_bp %d of the lines payable with points), not %d",
				byShare, p.MaxShareBP, req.Points)
		}
		if req.Points > avail {
			return nil, refused(ErrInsufficientPoints, "the card has %d points available now, not %d", avail, req.Points)
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
		return nil, refused(ErrCodeUsed, "spend %s is already confirmed: nothing more was posted", spendID)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	now := s.clock()
	if err := s.spendLocked(ctx, sp.CardID, now); err != nil {
		return nil, err
	}
	if err := s.verify(ctx, sp.ChallengeID, "spend", sp.ID, strings.TrimSpace(code)); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			if lerr := s.wrongSpendCode(ctx, sp, now); lerr != nil {
				return nil, lerr
			}
		}
		return nil, fmt.Errorf("wallet: confirm spend %s: %w", spendID, err)
	}
	card, err := s.activeStaffCard(ctx, clinicID, sp.CardID)
	if err != nil {
		return nil, err
	}
	if err := s.claimReceipt(ctx, clinicID, sp.ReceiptID, card.ID, true); err != nil {
		return nil, fmt.Errorf("wallet: confirm spend %s: %w", spendID, err)
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
		return nil, refused(ErrCodeUsed, "spend %s is already confirmed: nothing more was posted", spendID)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: confirm spend %s: %w", spendID, err)
	}
	s.notifyBalance(ctx, card, e)
	return spendResult(sp, SpendConfirmed, e), nil
}

// Spend is a bonus payment awaiting (or past) confirmation.
type Spend struct {
	ID          string
	ClinicID    string
	CardID      string
	PatientID   string // who gets the code
	StaffID     string
	ReceiptID   string
	Lines       []Line
	Points      int64
	MaxPoints   int64
	Slot        int
	Fingerprint string
	ChallengeID string
	Created     time.Time
	ExpiresAt   time.Time
}
