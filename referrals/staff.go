package referrals

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrInsufficientRewards: a payout over the staff member's balance.
var ErrInsufficientRewards = errors.New("referrals: the payout is more than the staff member's rewards balance")

// StaffEntry is one line of a staff member's rewards account.
type StaffEntry struct {
	Kind      string    `json:"kind"` // reward, clawback or payout
	Points    int64     `json:"points"`
	ReceiptID string    `json:"receipt_id,omitempty"`
	Note      string    `json:"note,omitempty"`
	Created   time.Time `json:"created_at"`
}

// StaffAccount is GET /v1/clinic/staff/{id}/rewards.
type StaffAccount struct {
	StaffID    string       `json:"staff_id"`
	Code       string       `json:"code"`
	Balance    int64        `json:"balance"`
	Earned     int64        `json:"earned"`
	ClawedBack int64        `json:"clawed_back"`
	PaidOut    int64        `json:"paid_out"`
	Patients   int64        `json:"patients"` // enrolled patients whose receipts earned a reward
	Entries    []StaffEntry `json:"entries"`
}

// StaffAccount is a staff member's rewards account: enrolment rewards
// (level 0 records), their claw-backs and the payouts, newest first.
func (s *Service) StaffAccount(ctx context.Context, clinicID, staffID string) (*StaffAccount, error) {
	code, err := s.StaffCode(ctx, clinicID, staffID)
	if err != nil {
		return nil, err
	}
	a := &StaffAccount{StaffID: staffID, Code: code.Code, Entries: []StaffEntry{}}
	rs, err := s.store.StaffRewards(ctx, clinicID, staffID)
	if err != nil {
		return nil, err
	}
	patients := map[string]bool{}
	for _, r := range rs {
		if r.Status != RewardCredited {
			continue // collusion: the staff member's own patient account
		}
		patients[r.RefereeID] = true
		a.Earned += r.Points
		a.Entries = append(a.Entries, StaffEntry{Kind: "reward", Points: r.Points, ReceiptID: r.ReceiptID, Created: r.Created})
		cs, err := s.store.Clawbacks(ctx, clinicID, r.ReceiptID, StaffLevel)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if c.Points > 0 {
				a.ClawedBack += c.Points
				a.Entries = append(a.Entries, StaffEntry{Kind: "clawback", Points: -c.Points, ReceiptID: c.ReceiptID, Created: c.Created})
			}
		}
	}
	ps, err := s.store.Payouts(ctx, staffID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		a.PaidOut += p.Points
		a.Entries = append(a.Entries, StaffEntry{Kind: "payout", Points: -p.Points, Note: p.Note, Created: p.Created})
	}
	a.Patients = int64(len(patients))
	a.Balance = a.Earned - a.ClawedBack - a.PaidOut
	sort.SliceStable(a.Entries, func(i, j int) bool { return a.Entries[i].Created.After(a.Entries[j].Created) })
	return a, nil
}

// PayoutRequest is POST /v1/clinic/staff/{id}/payouts.
type PayoutRequest struct {
	Points int64  `json:"points" api:"required"`
	Note   string `json:"note,omitempty"`
}

// Payout records cash paid to a staff member for their points: never
// more than the balance (the insert at the next seq is the commit: two
// concurrent payouts cannot spend one balance), once per key.
func (s *Service) Payout(ctx context.Context, clinicID, managerID, staffID, key string, req PayoutRequest) (*Payout, error) {
	if req.Points <= 0 || req.Points > maxPoints {
		return nil, invalid("points", "must be 1 to %d", maxPoints)
	}
	note := strings.TrimSpace(req.Note)
	if len(note) > 500 {
		return nil, invalid("note", "at most 500 characters")
	}
	if key == "" {
		var err error
		if key, err = s.newID(""); err != nil {
			return nil, err
		}
	}
	for range 20 {
		if old, err := s.store.PayoutByKey(ctx, staffID, key); err == nil {
			return old, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		a, err := s.StaffAccount(ctx, clinicID, staffID)
		if err != nil {
			return nil, err
		}
		ps, err := s.store.Payouts(ctx, staffID)
		if err != nil {
			return nil, err
		}
		if req.Points > a.Balance {
			return nil, fmt.Errorf("referrals: payout of %d with a balance of %d: %w", req.Points, a.Balance, ErrInsufficientRewards)
		}
		p := &Payout{StaffID: staffID, ClinicID: clinicID, Seq: int64(len(ps)) + 1, Key: key, Points: req.Points, Note: note,
			By: managerID, Created: s.clock()}
		if len(ps) > 0 {
			p.Seq = ps[len(ps)-1].Seq + 1
		}
		err = s.store.InsertPayout(ctx, p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, errDuplicate) {
			return nil, err
		}
		// another payout took the seq (or the key): read again
	}
	return nil, fmt.Errorf("referrals: payout: too many concurrent payouts")
}
