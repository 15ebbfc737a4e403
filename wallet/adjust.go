package wallet

import (
	"context"
	"fmt"
	"strings"

	"carewallet/app/text"
)

// maxReason is the longest adjustment reason, in characters.
const maxReason = 500

// AdjustRequest is a manager's manual adjustment (signed points).
type AdjustRequest struct {
	ClinicID       string `json:"-"`
	StaffID        string `json:"-"`
	IdempotencyKey string `json:"-"`
	CardID         string `json:"card_id" api:"required"`
	Points         int64  `json:"points" api:"required"`
	Reason         string `json:"reason" api:"required"`
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
	if reason == "" {
		return nil, invalid("reason", "required")
	}
	if m := text.Line(reason, maxReason); m != "" {
		return nil, invalid("reason", "%s", m)
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
	terms, err := s.cashbackTerms(ctx, card)
	if err != nil {
		return nil, err
	}
	key := "adjust:" + ref
	fp := fingerprint([]any{req.CardID, req.Points, reason})
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		var e *Entry
		if req.Points > 0 {
			e = credit(card, st, KindAdjustment, req.Points, now, terms)
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
		s.notifyBalance(ctx, card, e)
	}
	return e, nil
}
