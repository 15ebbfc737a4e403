package referrals

import (
	"context"
	"errors"
	"fmt"
)

// clawBackRefund records, for each reward of the refunded receipt, the
// drop in what it is owed (unique (clinic, receipt, level, refund)) and
// takes it back from a paid reward's card.
func (s *Service) clawBackRefund(ctx context.Context, f *ReceiptFact, rep *JobReport) error {
	if f.Reduced <= 0 {
		return nil
	}
	for level := StaffLevel; level <= MaxLevels; level++ {
		r, err := s.store.Reward(ctx, f.ClinicID, f.ReceiptID, level)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("referrals: reward: %w", err)
		}
		c, err := s.ensureClawback(ctx, r, f)
		if err != nil {
			return err
		}
		if err := s.reclaim(ctx, r, c, rep); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) ensureClawback(ctx context.Context, r *Reward, f *ReceiptFact) (*Clawback, error) {
	cs, err := s.store.Clawbacks(ctx, r.ClinicID, r.ReceiptID, r.Level)
	if err != nil {
		return nil, fmt.Errorf("referrals: claw-backs: %w", err)
	}
	var before int64
	for i := range cs {
		if cs[i].RefundKey == f.Key {
			return &cs[i], nil
		}
		before += cs[i].Reduced
	}
	c := &Clawback{ClinicID: r.ClinicID, ReceiptID: r.ReceiptID, Level: r.Level, RefundKey: f.Key, Before: before,
		Reduced: f.Reduced, Points: r.Terms.ClawBack(r.Paid, before, f.Reduced), Created: f.At}
	if err := s.store.InsertClawback(ctx, c); errors.Is(err, errDuplicate) {
		return s.ensureClawback(ctx, r, f) // another run recorded it: use theirs
	} else if err != nil {
		return nil, fmt.Errorf("referrals: claw-back: %w", err)
	}
	return c, nil
}

// reclaim takes a claw-back from a paid reward's card under its own key.
func (s *Service) reclaim(ctx context.Context, r *Reward, c *Clawback, rep *JobReport) error {
	if r.Level == StaffLevel || c.Points <= 0 {
		return nil
	}
	ok, err := s.effective(ctx, r)
	if err != nil || !ok {
		return err
	}
	posted, err := s.wallet.Reclaim(ctx, Credit{CardID: r.BeneficiaryCard, Kind: KindReferral, Key: c.Key(), Points: c.Points,
		Reason: "the friend's receipt was refunded",
		Details: map[string]any{"rule": "referral_clawback", "referral_id": r.LinkID, "level": r.Level,
			"receipt_id": r.ReceiptID, "refund": c.RefundKey, "refunded": c.Reduced}})
	if err != nil {
		return fmt.Errorf("referrals: claw back %s: %w", c.Key(), err)
	}
	if !posted.Replayed {
		rep.Clawbacks++
	}
	return nil
}
