package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// NewsInbox publishes news's notes through push: the inbox and websockets
// always, FCM when the note has an alert (FCM data carries only the event
// id, seq and type).
type NewsInbox struct{ Push *push.Service }

func newsDraft(n news.Note) (push.Draft, error) {
	data, err := json.Marshal(n.Data)
	if err != nil {
		return push.Draft{}, fmt.Errorf("news note: %w", err)
	}
	d := push.Draft{Key: n.Key, Type: n.Type, Data: data}
	if n.AlertTitle != "" {
		d.Alert = &push.Alert{Title: n.AlertTitle, Body: n.AlertBody}
	}
	if d.Clinic, d.Class, err = policyClass(n.Clinic, n.Class); err != nil {
		return push.Draft{}, err
	}
	return d, nil
}

// Publish implements news.Inbox.
func (b NewsInbox) Publish(ctx context.Context, userID string, n news.Note) error {
	d, err := newsDraft(n)
	if err != nil {
		return err
	}
	_, err = b.Push.Publish(ctx, userID, d)
	return err
}

// PublishMany implements news.Inbox.
func (b NewsInbox) PublishMany(ctx context.Context, userIDs []string, n news.Note) error {
	d, err := newsDraft(n)
	if err != nil {
		return err
	}
	return b.Push.PublishMany(ctx, userIDs, d)
}

// PublishManyReport implements news.ReportingInbox: the users the message
// policy skipped for their weekly budget, and how many got a new event.
func (b NewsInbox) PublishManyReport(ctx context.Context, userIDs []string, n news.Note) (news.PublishReport, error) {
	d, err := newsDraft(n)
	if err != nil {
		return news.PublishReport{}, err
	}
	rep, err := b.Push.PublishManyReport(ctx, userIDs, d)
	out := news.PublishReport{Skipped: rep.Skipped[push.ReasonBudget], Delivered: -1}
	if rep.InUnit {
		out.Delivered = rep.Published
	}
	return out, err
}

// NewsPushes gives news the per-device push counts push records per key.
type NewsPushes struct{ Push *push.Service }

// PushCounts implements news.Pushes.
func (p NewsPushes) PushCounts(ctx context.Context, keys []string) (map[string]news.PushCounts, error) {
	ds, err := p.Push.Deliveries(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]news.PushCounts, len(ds))
	for k, d := range ds {
		out[k] = news.PushCounts(d)
	}
	return out, nil
}

// NewsAudience tells news who holds a clinic's cards, from the wallet,
// and who of them is at a depth of the referral tree, from referrals (nil:
// a depth audience finds nobody past depth 1).
type NewsAudience struct {
	Wallet    *wallet.Service
	Referrals *referrals.Service
}

// Holders implements news.Audience. A depth segment walks the patients
// holding their own card at the clinic (the referral report's
// cardholders) a wallet page at a time and keeps those at the depth.
func (a NewsAudience) Holders(ctx context.Context, clinicID string, seg news.Segment, after string, limit int) ([]string, string, error) {
	if seg.Depth == 0 {
		return a.Wallet.Holders(ctx, clinicID, seg.Level, after, limit)
	}
	hs, next, err := a.Wallet.Cardholders(ctx, clinicID, after, limit)
	if err != nil || len(hs) == 0 {
		return nil, next, err
	}
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.PatientID
	}
	depths := map[string]int{}
	if a.Referrals != nil {
		if depths, err = a.Referrals.Depths(ctx, clinicID, ids); err != nil {
			return nil, "", err
		}
	}
	out := ids[:0]
	for _, id := range ids {
		if max(depths[id], 1) == seg.Depth {
			out = append(out, id)
		}
	}
	return out, next, nil
}

// CheckLevel implements news.Audience.
func (a NewsAudience) CheckLevel(ctx context.Context, clinicID, level string) error {
	p, err := a.Wallet.Program(ctx, clinicID)
	if err != nil {
		return err
	}
	return wallet.CheckLevel(p, level)
}

// Clinics implements news.Audience.
func (a NewsAudience) Clinics(ctx context.Context, patientID string) ([]string, error) {
	cards, err := a.Wallet.MyCards(ctx, patientID)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cards {
		if c.Status == wallet.StatusActive && !seen[c.ClinicID] {
			seen[c.ClinicID] = true
			out = append(out, c.ClinicID)
		}
	}
	return out, nil
}

// NewsClinics gives news clinics' names and time zones from identity.
type NewsClinics struct{ Identity *identity.Service }

// Clinic implements news.Clinics.
func (c NewsClinics) Clinic(ctx context.Context, id string) (news.Clinic, error) {
	cl, err := c.Identity.Clinic(ctx, id)
	if errors.Is(err, identity.ErrNotFound) {
		return news.Clinic{}, fmt.Errorf("%w: %w", news.ErrNotFound, err)
	}
	if err != nil {
		return news.Clinic{}, err
	}
	loc, err := time.LoadLocation(cl.Timezone)
	if err != nil {
		return news.Clinic{}, fmt.Errorf("clinic %s time zone: %w", id, err)
	}
	return news.Clinic{Name: cl.Name, Location: loc}, nil
}

// NewsStaff lists a clinic's active managers from identity.
type NewsStaff struct{ Identity *identity.Service }

// Managers implements news.Staff.
func (s NewsStaff) Managers(ctx context.Context, clinicID string) ([]string, error) {
	staff, err := s.Identity.ListStaff(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range staff {
		if st.Role == identity.RoleManager && !st.Disabled() {
			out = append(out, st.ID)
		}
	}
	return out, nil
}

// NewsBonus credits a chat bonus as a wallet adjustment.
type NewsBonus struct{ Wallet *wallet.Service }

// Credit implements news.Bonus: the patient's own active card in the
// clinic unless a card is named (it must be one of the patient's there).
func (b NewsBonus) Credit(ctx context.Context, c news.BonusCredit) error {
	cards, err := b.Wallet.LookupPatient(ctx, c.ClinicID, c.PatientID)
	if err != nil {
		return err
	}
	cardID := ""
	for _, card := range cards {
		if card.Status != wallet.StatusActive {
			continue
		}
		if card.ID == c.CardID || (c.CardID == "" && card.Holder.Kind == wallet.HolderSelf) {
			cardID = card.ID
			break
		}
	}
	if cardID == "" {
		return fmt.Errorf("%w: the patient has no such active card in this clinic", wallet.ErrNotFound)
	}
	_, err = b.Wallet.Adjust(ctx, wallet.AdjustRequest{ClinicID: c.ClinicID, StaffID: c.StaffID, IdempotencyKey: c.Key,
		CardID: cardID, Points: c.Points, Reason: c.Reason})
	return err
}
