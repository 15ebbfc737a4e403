package wallet

import (
	"context"
	"errors"
	"fmt"

	"carewallet/app/text"
)

// BookingRequest is POST /v1/clinic/bookings from the clinic's system: the
// online-booking bonus, idempotent on BookingID. Either CardID or
// PatientID (resolved from a phone; the patient's own card) is set.
type BookingRequest struct {
	ClinicID  string `json:"-"`
	PatientID string `json:"-"`
	CardID    string `json:"card_id,omitempty"`
	BookingID string `json:"booking_id"`
}

// Booking is POST /v1/clinic/bookings: the online-booking bonus, once per
// booking id (key booking:{booking_id}). Returns nil when the program has
// no booking bonus.
func (s *Service) Booking(ctx context.Context, req BookingRequest) (*Entry, error) {
	if m := text.ID(req.BookingID, maxClientID); m != "" {
		return nil, invalid("booking_id", "%s", m)
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

// bonus credits a fixed bonus once per key.
func (s *Service) bonus(ctx context.Context, card *Card, kind, key, staffID string, b Bonus, details any) (*Entry, error) {
	if b.Points <= 0 {
		return nil, nil
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	terms, err := s.creditTerms(ctx, card, p, b.BurnDays)
	if err != nil {
		return nil, err
	}
	fp := fingerprint([]any{kind, key, b})
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, CreditBurnsAt: terms.burnsAt(s.clock()), Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		e := credit(card, st, kind, b.Points, now, terms)
		e.Key, e.Fingerprint, e.StaffID = key, fp, staffID
		e.Details = mustJSON(details)
		return e, nil
	}})
	if errors.Is(err, ErrIdempotencyConflict) {
		// A bonus key is ours alone; a replay with another program's
		// amount is still the same bonus: return what was credited.
		return s.store.EntryByKey(ctx, card.ID, key)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: %s bonus: %w", kind, err)
	}
	s.notifyBalance(ctx, card, e)
	return e, nil
}

// notifyBalance tells the card's app about a change to its balance, so an
// open app never shows a stale one: every entry that moves points appends
// an inbox event (and so a websocket frame) carrying the new balance;
// credits are wallet.points, debits wallet.balance. Only what the patient
// would want on the lock screen also pushes: points credited, points
// burned, and a manager's adjustment; a spend or a refund done at the desk
// with the patient (both its entries) is shown in the app only. Best
// effort: the ledger entry is the truth and the inbox key (one per entry)
// makes a retry harmless.
func (s *Service) notifyBalance(ctx context.Context, card *Card, e *Entry) {
	if e == nil || e.Amount == 0 || e.Replayed {
		return
	}
	n := Notification{
		Key:  fmt.Sprintf("points:%s:%d", card.ID, e.Seq),
		Type: NotePointsEarned,
		Data: PointsData{CardID: card.ID, ClinicID: card.ClinicID, Kind: e.Kind, Points: e.Amount, Balance: e.BalanceAfter},
	}
	if e.Amount < 0 {
		n.Type = NoteBalance
	}
	switch {
	case e.Kind == KindRefundSpend:
		// points given back by a refund at the desk: in the app only
	case e.Amount > 0:
		n.AlertTitle, n.AlertBody = "Бонусные баллы / Bonus points", fmt.Sprintf("+%d", e.Amount)
	case e.Kind == KindExpire:
		n.AlertTitle, n.AlertBody = "Баллы сгорели / Points burned", fmt.Sprintf("−%d", -e.Amount)
	case e.Kind == KindAdjustment:
		n.AlertTitle, n.AlertBody = "Баллы списаны клиникой / Points deducted by the clinic", fmt.Sprintf("−%d", -e.Amount)
	}
	_ = s.notifier.Notify(ctx, card.PatientID, n)
}
