package referrals

import (
	"context"
	"errors"
	"sort"
	"time"
)

// DepthRow is one depth of a clinic's tree: depth 1 came by themselves
// (here: those who brought someone, and those who joined with a staff
// code), depth 2 were brought by depth 1, and so on, however deep.
type DepthRow struct {
	Depth    int   `json:"depth"`
	Patients int64 `json:"patients"`
	Paid     int64 `json:"paid"`    // paid at least once
	NotYet   int64 `json:"not_yet"` // not yet
}

// LevelRewards are the rewards paid at one level (0: staff).
type LevelRewards struct {
	Level   int   `json:"level"`
	Rewards int64 `json:"rewards"`
	Points  int64 `json:"points"`
}

// TopReferrer is a patient who brought the most friends.
type TopReferrer struct {
	Name    string `json:"name"` // masked
	CardID  string `json:"card_id"`
	Friends int64  `json:"friends"` // brought directly
	Points  int64  `json:"points"`  // earned at every level, before claw-backs
}

// HeldReferral is a referral waiting for a manager, with the checks that
// fired.
type HeldReferral struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"` // the new patient, masked
	Depth   int       `json:"depth"`
	Checks  []Check   `json:"checks"`
	Created time.Time `json:"created_at"`
}

// Report is GET /v1/clinic/reports/referrals.
type Report struct {
	Depths       []DepthRow     `json:"depths"`
	Rewards      []LevelRewards `json:"rewards"`
	TopReferrers []TopReferrer  `json:"top_referrers"`
	Held         []HeldReferral `json:"held"`
}

const topReferrers = 10

// Report is the managers' referral report over the whole tree.
func (s *Service) Report(ctx context.Context, clinicID string) (*Report, error) {
	rep := &Report{Depths: []DepthRow{}, Rewards: []LevelRewards{}, TopReferrers: []TopReferrer{}, Held: []HeldReferral{}}
	dcs, refs, err := s.store.TreeCounts(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	depths := map[int]*DepthRow{}
	for _, d := range dcs {
		depths[d.Depth] = &DepthRow{Depth: d.Depth, Patients: d.Patients, Paid: d.Visited, NotYet: d.Patients - d.Visited}
	}
	// The roots: referrers nobody brought, at depth 1 beside those who
	// joined with a staff code.
	friends := map[string]int64{}
	cardOf := map[string]string{}
	for _, r := range refs {
		friends[r.ReferrerID], cardOf[r.ReferrerID] = r.Friends, r.CardID
		if r.Linked {
			continue
		}
		if depths[1] == nil {
			depths[1] = &DepthRow{Depth: 1}
		}
		depths[1].Patients++
		if c, err := s.wallet.Card(ctx, r.CardID); err == nil && c.Paid > 0 {
			depths[1].Paid++
		} else {
			depths[1].NotYet++
		}
	}
	for d := 1; len(rep.Depths) < len(depths); d++ {
		if r := depths[d]; r != nil {
			rep.Depths = append(rep.Depths, *r)
		}
	}
	held, err := s.store.HeldLinks(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	for _, l := range held {
		if _, err := s.store.Decision(ctx, l.ID); errors.Is(err, ErrNotFound) {
			first, last, err := s.people.Name(ctx, l.RefereeID)
			if err != nil {
				return nil, err
			}
			rep.Held = append(rep.Held, HeldReferral{ID: l.ID, Name: MaskName(first, last), Depth: l.Depth, Checks: l.Checks, Created: l.Created})
		} else if err != nil {
			return nil, err
		}
	}
	rs, err := s.store.ClinicRewards(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	levels := map[int]*LevelRewards{}
	earned := map[string]int64{}
	for i := range rs {
		r := &rs[i]
		ok, err := s.effective(ctx, r)
		if err != nil {
			return nil, err
		}
		if r.Level == StaffLevel {
			ok = r.Status == RewardCredited
		}
		if !ok {
			continue
		}
		lr := levels[r.Level]
		if lr == nil {
			lr = &LevelRewards{Level: r.Level}
			levels[r.Level] = lr
		}
		lr.Rewards++
		lr.Points += r.Points
		if r.BeneficiaryPatient != "" {
			earned[r.BeneficiaryPatient] += r.Points
		}
	}
	for l := StaffLevel; l <= MaxLevels; l++ {
		if lr := levels[l]; lr != nil {
			rep.Rewards = append(rep.Rewards, *lr)
		}
	}
	ids := make([]string, 0, len(friends))
	for id := range friends {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := ids[i], ids[j]
		if friends[a] != friends[b] {
			return friends[a] > friends[b]
		}
		if earned[a] != earned[b] {
			return earned[a] > earned[b]
		}
		return a < b
	})
	for _, id := range ids[:min(len(ids), topReferrers)] {
		first, last, err := s.people.Name(ctx, id)
		if err != nil {
			return nil, err
		}
		rep.TopReferrers = append(rep.TopReferrers, TopReferrer{Name: MaskName(first, last), CardID: cardOf[id],
			Friends: friends[id], Points: earned[id]})
	}
	return rep, nil
}

// StaffRow is one staff member in GET /v1/clinic/reports/staff-rewards.
type StaffRow struct {
	StaffID    string `json:"staff_id"`
	Enrolled   int64  `json:"enrolled"` // cards issued at reception and joins with their code
	Rewards    int64  `json:"rewards"`
	Points     int64  `json:"points"`
	ClawedBack int64  `json:"clawed_back"`
	PaidOut    int64  `json:"paid_out"`
}

// StaffReport is enrolments, rewards and payouts per staff member in
// [from, to) (zero bounds: open). issued are the cards each staff member
// issued at reception in the range (the wallet's count).
func (s *Service) StaffReport(ctx context.Context, clinicID string, from, to time.Time, issued map[string]int64) ([]StaffRow, error) {
	in := func(t time.Time) bool { return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to)) }
	rows := map[string]*StaffRow{}
	row := func(id string) *StaffRow {
		if rows[id] == nil {
			rows[id] = &StaffRow{StaffID: id}
		}
		return rows[id]
	}
	for id, n := range issued {
		row(id).Enrolled += n
	}
	after := ""
	for {
		ls, err := s.store.ClinicLinks(ctx, clinicID, after, 2000)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if l.StaffID != "" && in(l.Created) {
				row(l.StaffID).Enrolled++
			}
		}
		if len(ls) < 2000 {
			break
		}
		after = ls[len(ls)-1].ID
	}
	rs, err := s.store.ClinicRewards(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Level != StaffLevel || r.Status != RewardCredited {
			continue
		}
		sr := row(r.StaffID)
		if in(r.Created) {
			sr.Rewards++
			sr.Points += r.Points
		}
		cs, err := s.store.Clawbacks(ctx, clinicID, r.ReceiptID, StaffLevel)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if in(c.Created) {
				sr.ClawedBack += c.Points
			}
		}
	}
	out := make([]StaffRow, 0, len(rows))
	for id, r := range rows {
		ps, err := s.store.Payouts(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.ClinicID == clinicID && in(p.Created) {
				r.PaidOut += p.Points
			}
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StaffID < out[j].StaffID })
	return out, nil
}
