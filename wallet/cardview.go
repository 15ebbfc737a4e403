package wallet

import (
	"context"
	"fmt"
	"time"
)

// pendingLapsed reports whether a pending card can no longer be confirmed
// (code expired or attempts used up): it then counts as lapsed.
func (s *Service) pendingLapsed(ctx context.Context, c *Card, now time.Time) (bool, error) {
	if c.Status != StatusPending {
		return false, nil
	}
	if c.ChallengeID == "" {
		return true, nil
	}
	return s.challengeDead(ctx, c.ChallengeID, now)
}

// status is the card's status as shown: pending cards past their code are
// lapsed.
func (s *Service) status(ctx context.Context, c *Card) (string, error) {
	lapsed, err := s.pendingLapsed(ctx, c, s.clock())
	if err != nil {
		return "", err
	}
	if lapsed {
		return StatusLapsed, nil
	}
	return c.Status, nil
}

// staffCard loads a card of the clinic; another clinic's card is
// ErrNotFound.
func (s *Service) staffCard(ctx context.Context, clinicID, cardID string) (*Card, error) {
	c, err := s.store.Card(ctx, cardID)
	if err != nil {
		return nil, fmt.Errorf("wallet: card %s: %w", cardID, err)
	}
	if clinicID == "" || c.ClinicID != clinicID {
		return nil, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
	}
	return c, nil
}

// activeStaffCard is staffCard for operations that move points.
func (s *Service) activeStaffCard(ctx context.Context, clinicID, cardID string) (*Card, error) {
	if cardID == "" {
		return nil, invalid("card_id", "required")
	}
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusUnconfirmed {
		return nil, refused(ErrCardUnconfirmed, "card %s is not confirmed yet: its points can be spent once the patient confirms it in the app", cardID)
	}
	if c.Status != StatusActive {
		return nil, refused(ErrCardNotActive, "card %s is not active (pending or lapsed): points move only on an active card", cardID)
	}
	return c, nil
}

// patientCard loads a card the patient may read: their own, or a
// dependant's they hold a grant for at the card's clinic. Anything else is
// ErrNotFound (the card's existence is not revealed).
func (s *Service) patientCard(ctx context.Context, patientID, cardID string) (*Card, bool, error) {
	c, err := s.store.Card(ctx, cardID)
	if err != nil {
		return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, err)
	}
	if patientID == "" {
		return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
	}
	switch c.Holder.Kind {
	case HolderDependant:
		ok, err := s.guards(ctx, c, patientID)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return c, true, nil
		}
	default:
		if c.PatientID == patientID || c.Holder.PatientID == patientID {
			return c, false, nil
		}
	}
	return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
}

// CardView is GET /v1/cards/{id}.
type CardView struct {
	Card
	// Balance is the ledger balance (= sum of entries = sum of lot
	// remainders); Available excludes lots past their burn instant that the
	// burn job has not yet burned.
	Balance   int64      `json:"balance"`
	Available int64      `json:"available"`
	Level     *LevelView `json:"level,omitempty"`
	// Burns is the burn calendar: the next BurnCalendarDays dates on
	// which points burn, soonest first, with the points burning at the
	// end of each (the lots themselves page at /lots).
	Burns    []BurnView `json:"burns"`
	NextBurn *BurnView  `json:"next_burn,omitempty"`
}

// LevelView is the card's level and the progress to the next one.
type LevelView struct {
	Name       string `json:"name"`
	CashbackBP int64  `json:"cashback_bp"`
	PaidSpend  int64  `json:"paid_spend"`
	Next       string `json:"next,omitempty"`
	NextAt     int64  `json:"next_min_spend,omitempty"`
	ToNext     int64  `json:"to_next,omitempty"`
}

// BurnView is one date of the burn calendar: the last day the points can
// be used (clinic time), the instant they burn and how many.
type BurnView struct {
	Date    string    `json:"date"`
	BurnsAt time.Time `json:"burns_at"`
	Points  int64     `json:"points"`
}

// CardSummary is one row of GET /v1/me/cards and of staff lookups.
type CardSummary struct {
	Card
	Balance   int64 `json:"balance"`
	Available int64 `json:"available"`
	// Guardian is true when the card is a dependant's card held by (or
	// readable by) the calling guardian.
	Guardian bool `json:"guardian"`
}

// Card is GET /v1/cards/{id} for a signed-in patient.
func (s *Service) Card(ctx context.Context, patientID, cardID string) (*CardView, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, c)
}

// StaffCard is a card as staff of its clinic see it.
func (s *Service) StaffCard(ctx context.Context, clinicID, cardID string) (*CardView, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, c)
}

// view builds the card view: balance, level and progress, the burn
// calendar and the next burn.
func (s *Service) view(ctx context.Context, c *Card) (*CardView, error) {
	now := s.clock()
	pos, err := s.position(ctx, c, now, BurnCalendarDays)
	if err != nil {
		return nil, err
	}
	st := pos.head
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return nil, err
	}
	status, err := s.status(ctx, c)
	if err != nil {
		return nil, err
	}
	v := &CardView{Card: *c, Balance: st.Balance, Available: pos.available, Burns: pos.burns}
	v.Status = status
	if err := s.withHolder(ctx, &v.Card); err != nil {
		return nil, err
	}
	if i, ok := levelFor(p, st.Paid); ok {
		l := p.Levels[i]
		v.Level = &LevelView{Name: l.Name, CashbackBP: l.CashbackBP, PaidSpend: st.Paid}
		if i+1 < len(p.Levels) {
			n := p.Levels[i+1]
			v.Level.Next, v.Level.NextAt, v.Level.ToNext = n.Name, n.MinSpend, n.MinSpend-st.Paid
		}
	}
	if len(pos.burns) > 0 {
		next := pos.burns[0]
		v.NextBurn = &next
	}
	return v, nil
}

// MyCards is GET /v1/me/cards: the patient's own cards and their
// dependants' cards (lapsed cards are left out).
func (s *Service) MyCards(ctx context.Context, patientID string) ([]CardSummary, error) {
	if patientID == "" {
		return nil, invalid("patient_id", "required")
	}
	all, err := s.store.CardsByPatient(ctx, []string{patientID})
	if err != nil {
		return nil, err
	}
	var cards []Card
	for _, c := range all {
		if c.Holder.Kind != HolderDependant {
			cards = append(cards, c)
		}
	}
	// Dependants' cards only where a grant opens them: (clinic, dependant).
	gs, err := s.store.GrantsOf(ctx, patientID)
	if err != nil {
		return nil, err
	}
	if len(gs) > 0 {
		granted, listed := map[[2]string]bool{}, map[string]bool{}
		var ids []string
		for _, g := range gs {
			if !listed[g.DependantID] {
				listed[g.DependantID] = true
				ids = append(ids, g.DependantID)
			}
			granted[[2]string{g.ClinicID, g.DependantID}] = true
		}
		more, err := s.store.CardsByDependant(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range more {
			if granted[[2]string{c.ClinicID, c.Holder.DependantID}] {
				cards = append(cards, c)
			}
		}
	}
	return s.summaries(ctx, cards, "")
}

func (s *Service) summaries(ctx context.Context, cards []Card, clinicID string) ([]CardSummary, error) {
	out := []CardSummary{}
	seen := map[string]bool{}
	now := s.clock()
	for i := range cards {
		c := &cards[i]
		if seen[c.ID] || (clinicID != "" && c.ClinicID != clinicID) {
			continue
		}
		seen[c.ID] = true
		status, err := s.status(ctx, c)
		if err != nil {
			return nil, err
		}
		if status == StatusLapsed {
			continue
		}
		pos, err := s.position(ctx, c, now, 0)
		if err != nil {
			return nil, err
		}
		if err := s.withHolder(ctx, c); err != nil {
			return nil, err
		}
		out = append(out, CardSummary{Card: *c, Balance: pos.head.Balance, Available: pos.available,
			Guardian: c.Holder.Kind == HolderDependant})
	}
	return out, nil
}

// LookupPatient lists the clinic's live cards in a patient's app, own
// and dependants' (reception's lookup by phone, resolved by the HTTP
// layer to a patient id).
func (s *Service) LookupPatient(ctx context.Context, clinicID, patientID string) ([]CardSummary, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	all, err := s.MyCards(ctx, patientID)
	if err != nil {
		return nil, err
	}
	out := []CardSummary{}
	for _, c := range all {
		if c.ClinicID == clinicID {
			out = append(out, c)
		}
	}
	return out, nil
}
