package referrals

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// DepthRow is one depth of a clinic's tree, over every patient holding
// their own active card at the clinic: depth 1 came by themselves (no
// referrer: a card issued at reception, a join from the app, a staff
// code), depth 2 were brought by depth 1, and so on, however deep. Paid
// counts those who ever paid money on a receipt at the clinic (any paid
// receipt, not only a rewarded first visit).
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

// Report is GET /v1/clinic/reports/referrals. Depths, rewards and top
// referrers are whole on every page; held referrals are paged (oldest
// first), and Next is the cursor of the next page ("" after the last).
type Report struct {
	Depths       []DepthRow     `json:"depths"`
	Rewards      []LevelRewards `json:"rewards"`
	TopReferrers []TopReferrer  `json:"top_referrers"`
	Held         []HeldReferral `json:"held"`
	Next         string         `json:"next,omitempty"`
}

// cardholderPage is how many cardholders the report reads from the
// wallet at once.
const cardholderPage = 5000

// depthRows counts the clinic's cardholders per depth of its tree: the
// wallet pages the patients holding their own active card (and whether
// they ever paid), the links give each one's depth (none: 1).
func (s *Service) depthRows(ctx context.Context, clinicID string) ([]DepthRow, error) {
	depthOf, err := s.store.Depths(ctx, clinicID, nil)
	if err != nil {
		return nil, err
	}
	rows := map[int]*DepthRow{}
	seen := make(map[string]bool, len(depthOf))
	for after := ""; ; {
		hs, next, err := s.wallet.Cardholders(ctx, clinicID, after, cardholderPage)
		if err != nil {
			return nil, fmt.Errorf("referrals: cardholders: %w", err)
		}
		for _, h := range hs {
			if seen[h.PatientID] {
				continue
			}
			seen[h.PatientID] = true
			d := max(depthOf[h.PatientID], 1)
			r := rows[d]
			if r == nil {
				r = &DepthRow{Depth: d}
				rows[d] = r
			}
			r.Patients++
			if h.Paid {
				r.Paid++
			} else {
				r.NotYet++
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	out := make([]DepthRow, 0, len(rows))
	for d := 1; len(out) < len(rows); d++ {
		if r := rows[d]; r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// Depths is each listed patient's depth in the clinic's tree (1: came by
// themselves), for an audience by depth.
func (s *Service) Depths(ctx context.Context, clinicID string, patientIDs []string) (map[string]int, error) {
	if patientIDs == nil {
		patientIDs = []string{}
	}
	ds, err := s.store.Depths(ctx, clinicID, patientIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(patientIDs))
	for _, id := range patientIDs {
		out[id] = max(ds[id], 1)
	}
	return out, nil
}

const topReferrers = 10

// Report is the managers' referral report over the whole tree, with up
// to limit held referrals after the cursor (limit 0: all of them).
func (s *Service) Report(ctx context.Context, clinicID, after string, limit int) (*Report, error) {
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	rep := &Report{Depths: []DepthRow{}, Rewards: []LevelRewards{}, TopReferrers: []TopReferrer{}, Held: []HeldReferral{}}
	if rep.Depths, err = s.depthRows(ctx, clinicID); err != nil {
		return nil, err
	}
	refs, err := s.store.ReferrerCounts(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	friends := map[string]int64{}
	cardOf := map[string]string{}
	for _, r := range refs {
		friends[r.ReferrerID], cardOf[r.ReferrerID] = r.Friends, r.CardID
	}
	held, err := s.store.HeldLinks(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	for _, l := range held {
		if cur.ID != "" && (l.Created.Before(cur.Created) || l.Created.Equal(cur.Created) && l.ID <= cur.ID) {
			continue
		}
		if _, err := s.store.Decision(ctx, l.ID); err == nil {
			continue // decided: no longer waiting
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if limit > 0 && len(rep.Held) == limit { // one more waits: there is a next page
			last := rep.Held[len(rep.Held)-1]
			rep.Next = encodeCursor(linkCursor{Created: last.Created, ID: last.ID})
			break
		}
		first, last, err := s.people.Name(ctx, l.RefereeID)
		if err != nil {
			return nil, err
		}
		rep.Held = append(rep.Held, HeldReferral{ID: l.ID, Name: MaskName(first, last), Depth: l.Depth, Checks: l.Checks, Created: l.Created})
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
// [from, to) (zero bounds: open), in staff id order: up to limit rows
// after the cursor (limit 0: all of them), and the next page's cursor
// ("" after the last). issued are the cards each staff member issued at
// reception in the range (the wallet's count).
func (s *Service) StaffReport(ctx context.Context, clinicID string, from, to time.Time, issued map[string]int64, after string, limit int) ([]StaffRow, string, error) {
	afterID := ""
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || !strings.HasPrefix(string(b), "staff|") || len(b) == len("staff|") {
			return nil, "", invalid("after", "not a cursor")
		}
		afterID = strings.TrimPrefix(string(b), "staff|")
	}
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
	linkAfter := ""
	for {
		ls, err := s.store.ClinicLinks(ctx, clinicID, linkAfter, 2000)
		if err != nil {
			return nil, "", err
		}
		for _, l := range ls {
			if l.StaffID != "" && in(l.Created) {
				row(l.StaffID).Enrolled++
			}
		}
		if len(ls) < 2000 {
			break
		}
		linkAfter = ls[len(ls)-1].ID
	}
	rs, err := s.store.ClinicRewards(ctx, clinicID)
	if err != nil {
		return nil, "", err
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
			return nil, "", err
		}
		for _, c := range cs {
			if in(c.Created) {
				sr.ClawedBack += c.Points
			}
		}
	}
	ids := make([]string, 0, len(rows))
	for id := range rows {
		if id > afterID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	next := ""
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte("staff|" + ids[limit-1]))
	}
	out := make([]StaffRow, 0, len(ids))
	for _, id := range ids {
		r := rows[id]
		ps, err := s.store.Payouts(ctx, id)
		if err != nil {
			return nil, "", err
		}
		for _, p := range ps {
			if p.ClinicID == clinicID && in(p.Created) {
				r.PaidOut += p.Points
			}
		}
		out = append(out, *r)
	}
	return out, next, nil
}
