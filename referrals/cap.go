package referrals

import (
	"context"
	"errors"
	"time"
)

// max_rewarded_per_month: the friends rewarded per referrer per calendar
// month (clinic time) are counted in unique (key, n) slots.

// capped takes one of the referrer's rewarded-friend slots of the month
// (clinic time): unique (key, n ≤ max). A slot taken by a run that then
// lost the reward insert is lost: the cap errs on the clinic's side.
func (s *Service) capped(ctx context.Context, p *Program, referrerID string, at time.Time) (bool, error) {
	loc, err := s.people.Location(ctx, p.ClinicID)
	if err != nil {
		return false, err
	}
	if loc == nil {
		loc = time.UTC
	}
	key := "cap:" + p.ClinicID + ":" + referrerID + ":" + at.In(loc).Format("2006-01")
	n, err := s.store.Slots(ctx, key)
	if err != nil {
		return false, err
	}
	for n++; n <= p.MaxRewardedPerMonth; n++ {
		err := s.store.InsertSlot(ctx, key, n, at)
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, errDuplicate) {
			return false, err
		}
	}
	return true, nil
}

// heldCapped applies max_rewarded_per_month to a held level-1 reward when
// it is approved: the verdict is recorded once per reward (a marker slot),
// so paying it again neither takes another month slot nor changes it. A
// crash between the month slot and the marker may cost the referrer a
// slot: the cap errs on the clinic's side.
func (s *Service) heldCapped(ctx context.Context, r *Reward) (bool, error) {
	over, counted := "capped:"+r.ClinicID+":"+r.ReceiptID, "counted:"+r.ClinicID+":"+r.ReceiptID
	for _, k := range []string{over, counted} {
		n, err := s.store.Slots(ctx, k)
		if err != nil {
			return false, err
		}
		if n > 0 {
			return k == over, nil
		}
	}
	p, err := s.programAt(ctx, r.ClinicID, r.Created)
	if err != nil {
		return false, err
	}
	capped := false
	if p.MaxRewardedPerMonth > 0 {
		if capped, err = s.capped(ctx, p, r.BeneficiaryPatient, r.Created); err != nil {
			return false, err
		}
	}
	mark := counted
	if capped {
		mark = over
	}
	if err := s.store.InsertSlot(ctx, mark, 1, s.clock()); err != nil && !errors.Is(err, errDuplicate) {
		return false, err
	}
	return s.heldCapped(ctx, r) // the first verdict recorded stands
}
