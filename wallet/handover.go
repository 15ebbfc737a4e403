package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Handover of a dependant's card to the dependant, once they come of age
// (the clinic's program sets the age: 18 by default, 14 allowed). A
// guardian starts it for the dependant's own phone; the dependant signs in
// with that phone and accepts; the card (and with it the balance, the lots
// and the history, which belong to the card) becomes the dependant's own,
// every guardian loses it at once and is told, and the consents end.
//
// No point moves: the ledger is the card's, and only the card's holder
// changes. Two accepts racing (the same one twice, or two guardians'
// handovers to two phones) are decided by a unique key: one accept per
// card. The winner moves the card; a retry of the winner finishes what a
// crash left undone; the loser is refused.

// Handover errors.
var (
	// ErrTooYoung refuses a handover before the clinic's age of majority.
	ErrTooYoung = errors.New("wallet: the dependant has not reached the clinic's age of majority")
	// ErrHandedOver refuses a second handover of a card already handed over.
	ErrHandedOver = errors.New("wallet: the card was already handed over")
)

// Handover statuses as shown (derived from the card's one accept).
const (
	HandoverOpen     = "open"
	HandoverAccepted = "accepted"
	HandoverClosed   = "closed" // the card went to another handover
)

// Notification types of handovers.
const (
	// NoteHandoverOffered tells the dependant's new account that a card
	// waits to be accepted (data: HandoverData).
	NoteHandoverOffered = "wallet.handover_offered"
	// NoteHandedOver tells the guardians the card is no longer theirs
	// (data: HandoverData).
	NoteHandedOver = "wallet.handed_over"
)

// HandoverData is the data of the handover events: never a name or phone.
type HandoverData struct {
	HandoverID string `json:"handover_id"`
	CardID     string `json:"card_id"`
	ClinicID   string `json:"clinic_id"`
}

// Handover is one offer of a card to a dependant's own account: unique
// (card, to_patient), so starting it again returns the same offer.
type Handover struct {
	ID          string     `json:"handover_id" api:"required"`
	CardID      string     `json:"card_id" api:"required"`
	ClinicID    string     `json:"clinic_id" api:"required"`
	DependantID string     `json:"dependant_id" api:"required"`
	StartedBy   string     `json:"started_by" api:"required"` // the guardian
	ToPatientID string     `json:"to_patient_id" api:"required"`
	Status      string     `json:"status" api:"required,enum=open|accepted|closed"`
	Created     time.Time  `json:"created_at" api:"required"`
	AcceptedAt  *time.Time `json:"accepted_at,omitempty"`
}

// HandoverAccept is the one accept of a card: unique card.
type HandoverAccept struct {
	CardID     string
	HandoverID string
	PatientID  string
	At         time.Time
}

// HandoverStore keeps handovers and their accepts.
type HandoverStore interface {
	InsertHandover(ctx context.Context, h *Handover) error // duplicate: (card, to_patient) taken
	Handover(ctx context.Context, id string) (*Handover, error)
	HandoverFor(ctx context.Context, cardID, toPatientID string) (*Handover, error)
	// HandoversTo lists the offers made to a patient, oldest first.
	HandoversTo(ctx context.Context, patientID string) ([]Handover, error)
	// HandoversBy lists the offers a guardian started, oldest first.
	HandoversBy(ctx context.Context, guardianID string) ([]Handover, error)
	InsertHandoverAccept(ctx context.Context, a *HandoverAccept) error // duplicate: the card's accept exists
	HandoverAcceptOf(ctx context.Context, cardID string) (*HandoverAccept, error)
	// MoveCardHolder makes the card the holder's own (holder, holder key,
	// dependant id, app, slot): a plain update, the same values twice are
	// harmless; duplicate when the holder's slot is taken.
	MoveCardHolder(ctx context.Context, c *Card) error
}

// DefaultMajorityAge is the age of majority when a program sets none.
const DefaultMajorityAge = 18

// majorityAge is the program's age of majority (0: the default).
func (p *Program) majorityAge() int {
	if p.MajorityAge == 0 {
		return DefaultMajorityAge
	}
	return p.MajorityAge
}

// ageOn is the age in whole years on the day of now, for a YYYY-MM-DD
// birth date (ok false for none).
func ageOn(birth string, now time.Time) (int, bool) {
	b, ok := parseDate(birth)
	if !ok {
		return 0, false
	}
	age := now.Year() - b.Year()
	if now.Month() < b.Month() || (now.Month() == b.Month() && now.Day() < b.Day()) {
		age--
	}
	return age, true
}

// checkAge refuses unless the dependant is of age at the card's clinic.
func (s *Service) checkAge(ctx context.Context, c *Card, dependantID string) error {
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return err
	}
	loc, err := s.location(ctx, c.ClinicID)
	if err != nil {
		return err
	}
	who, err := s.people.Person(ctx, dependantID)
	if err != nil {
		return fmt.Errorf("wallet: handover: dependant: %w", err)
	}
	age, ok := ageOn(who.BirthDate, s.clock().In(loc))
	if !ok || age < p.majorityAge() {
		return refused(ErrTooYoung, "the card can be handed over from the age of %d (this clinic's program); the dependant is younger", p.majorityAge())
	}
	return nil
}

// StartHandover is POST /v1/cards/{id}/handover by a guardian of the
// card: toPatientID is the account of the dependant's own phone (the HTTP
// layer resolves it, creating the account if needed). The dependant is
// told in their app.
func (s *Service) StartHandover(ctx context.Context, guardianID, cardID, toPatientID string) (*Handover, error) {
	c, err := s.handoverCard(ctx, guardianID, cardID)
	if err != nil {
		return nil, err
	}
	if toPatientID == "" {
		return nil, invalid("phone", "required")
	}
	gs, err := s.store.GrantsFor(ctx, c.ClinicID, c.Holder.DependantID)
	if err != nil {
		return nil, fmt.Errorf("wallet: guardians: %w", err)
	}
	for _, g := range gs {
		if g.GuardianID == toPatientID {
			return nil, invalid("phone", "must be the dependant's own phone, not a guardian's")
		}
	}
	id, err := s.newID("ho_")
	if err != nil {
		return nil, err
	}
	h := &Handover{ID: id, CardID: c.ID, ClinicID: c.ClinicID, DependantID: c.Holder.DependantID,
		StartedBy: guardianID, ToPatientID: toPatientID, Status: HandoverOpen, Created: s.clock()}
	err = s.store.InsertHandover(ctx, h)
	if errors.Is(err, errDuplicate) {
		if h, err = s.store.HandoverFor(ctx, c.ID, toPatientID); err != nil {
			return nil, fmt.Errorf("wallet: handover: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("wallet: handover: %w", err)
	}
	_ = s.notifier.Notify(ctx, toPatientID, Notification{ // best effort: the offer is listed either way
		Key: "handover:" + h.ID, Type: NoteHandoverOffered,
		Data:       HandoverData{HandoverID: h.ID, CardID: c.ID, ClinicID: c.ClinicID},
		AlertTitle: "Ваша карта клиники / Your clinic card",
		AlertBody:  "Откройте приложение, чтобы принять свою карту. / Open the app to accept your own card.",
	})
	return s.withStatus(ctx, h)
}

// CheckHandover refuses what StartHandover would refuse about the card
// (not the guardian's dependant's card, not active, too young), so the
// HTTP layer checks before it creates an account for the phone.
func (s *Service) CheckHandover(ctx context.Context, guardianID, cardID string) error {
	_, err := s.handoverCard(ctx, guardianID, cardID)
	return err
}

func (s *Service) handoverCard(ctx context.Context, guardianID, cardID string) (*Card, error) {
	c, dep, err := s.patientCard(ctx, guardianID, cardID)
	if err != nil {
		return nil, err
	}
	if !dep {
		return nil, invalid("card_id", "not a dependant's card")
	}
	// An unconfirmed card (StatusUnconfirmed) is always a patient's own
	// (reception registers only those unconfirmed), so its holder is
	// refused above as "not a dependant's card"; the status check keeps it
	// refused should that ever change: it is confirmed in the app first.
	if c.Status != StatusActive {
		return nil, refused(ErrCardNotActive, "card %s is not active: only an active card can be handed over", c.ID)
	}
	if err := s.checkAge(ctx, c, c.Holder.DependantID); err != nil {
		return nil, err
	}
	return c, nil
}

// withStatus fills the handover's status from the card's accept.
func (s *Service) withStatus(ctx context.Context, h *Handover) (*Handover, error) {
	a, err := s.store.HandoverAcceptOf(ctx, h.CardID)
	switch {
	case errors.Is(err, ErrNotFound):
		h.Status = HandoverOpen
	case err != nil:
		return nil, fmt.Errorf("wallet: handover: %w", err)
	case a.HandoverID == h.ID:
		h.Status, h.AcceptedAt = HandoverAccepted, &a.At
	default:
		h.Status = HandoverClosed
	}
	return h, nil
}

// handoverOfCard is the accepted handover of a card (nil if none).
func (s *Service) handoverOfCard(ctx context.Context, cardID string) (*Handover, error) {
	a, err := s.store.HandoverAcceptOf(ctx, cardID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: handover: %w", err)
	}
	h, err := s.store.Handover(ctx, a.HandoverID)
	if err != nil {
		return nil, fmt.Errorf("wallet: handover: %w", err)
	}
	return s.withStatus(ctx, h)
}

// MyHandovers is GET /v1/me/handovers: the cards offered to the caller
// and the handovers the caller started as a guardian, oldest first.
func (s *Service) MyHandovers(ctx context.Context, patientID string) ([]Handover, error) {
	to, err := s.store.HandoversTo(ctx, patientID)
	if err != nil {
		return nil, fmt.Errorf("wallet: handovers: %w", err)
	}
	by, err := s.store.HandoversBy(ctx, patientID)
	if err != nil {
		return nil, fmt.Errorf("wallet: handovers: %w", err)
	}
	out := make([]Handover, 0, len(to)+len(by))
	for _, h := range append(to, by...) {
		hv, err := s.withStatus(ctx, &h)
		if err != nil {
			return nil, err
		}
		out = append(out, *hv)
	}
	return out, nil
}

// AcceptHandover is POST /v1/me/handovers/{id}/accept by the account the
// handover was made to. Accepting again is a no-op that returns the same
// result (and finishes what a crash left undone).
func (s *Service) AcceptHandover(ctx context.Context, patientID, handoverID string) (*Handover, error) {
	h, err := s.store.Handover(ctx, handoverID)
	if err != nil || h.ToPatientID != patientID {
		return nil, fmt.Errorf("wallet: handover %s: %w", handoverID, ErrNotFound)
	}
	c, err := s.store.Card(ctx, h.CardID)
	if err != nil {
		return nil, fmt.Errorf("wallet: handover: card: %w", err)
	}
	now := s.clock()
	a, err := s.store.HandoverAcceptOf(ctx, c.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := s.checkAge(ctx, c, h.DependantID); err != nil {
			return nil, err
		}
		live, _, err := s.liveCard(ctx, c.ClinicID, Holder{Kind: HolderSelf, PatientID: patientID})
		if err != nil {
			return nil, err
		}
		// The live card may be this one, handed to the patient by a
		// concurrent accept since the read above: the insert below then
		// finds that accept, and this call finishes it again.
		if live != nil && live.ID != c.ID {
			return nil, refused(ErrCardExists, "you already have a card at this clinic (%s): a clinic keeps one card per person", live.ID)
		}
		a = &HandoverAccept{CardID: c.ID, HandoverID: h.ID, PatientID: patientID, At: now}
		err = s.store.InsertHandoverAccept(ctx, a)
		if errors.Is(err, errDuplicate) {
			if a, err = s.store.HandoverAcceptOf(ctx, c.ID); err != nil {
				return nil, fmt.Errorf("wallet: handover: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("wallet: handover: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("wallet: handover: %w", err)
	}
	if a.HandoverID != h.ID {
		return nil, refused(ErrHandedOver, "card %s was already handed over through another offer", c.ID)
	}
	if err := s.finishHandover(ctx, c, h, a); err != nil {
		return nil, err
	}
	return s.withStatus(ctx, h)
}

// finishHandover applies an accept; every step is idempotent.
func (s *Service) finishHandover(ctx context.Context, c *Card, h *Handover, a *HandoverAccept) error {
	if c.Holder.Kind == HolderDependant {
		own, err := s.store.CardsByHolder(ctx, c.ClinicID, Holder{Kind: HolderSelf, PatientID: a.PatientID}.key())
		if err != nil {
			return fmt.Errorf("wallet: cards of holder: %w", err)
		}
		slot := 0
		for _, o := range own {
			slot = max(slot, o.Slot+1)
		}
		moved := *c
		moved.Holder = Holder{Kind: HolderSelf, PatientID: a.PatientID}
		moved.PatientID, moved.Slot = a.PatientID, slot
		if err := s.store.MoveCardHolder(ctx, &moved); err != nil {
			if errors.Is(err, errDuplicate) {
				return fmt.Errorf("wallet: handover: %w", ErrConflict) // a card was issued meanwhile: retry
			}
			return fmt.Errorf("wallet: handover: move card: %w", err)
		}
	}
	gs, err := s.store.GrantsFor(ctx, h.ClinicID, h.DependantID)
	if err != nil {
		return fmt.Errorf("wallet: guardians: %w", err)
	}
	for _, g := range gs {
		if err := s.store.DeleteGrant(ctx, g.ClinicID, g.DependantID, g.GuardianID); err != nil {
			return fmt.Errorf("wallet: handover: %w", err)
		}
		_ = s.notifier.Notify(ctx, g.GuardianID, Notification{ // best effort, keyed: told once
			Key: "handed-over:" + h.ID, Type: NoteHandedOver,
			Data:       HandoverData{HandoverID: h.ID, CardID: h.CardID, ClinicID: h.ClinicID},
			AlertTitle: "Карта передана / The card was handed over",
			AlertBody:  "Карта клиники теперь в собственном приложении её владельца. / The clinic card is now in its holder's own app.",
		})
	}
	cs, err := s.store.Consents(ctx, h.ClinicID, h.DependantID)
	if err != nil {
		return fmt.Errorf("wallet: consents: %w", err)
	}
	for _, x := range cs {
		if x.ClosedAt == nil {
			if err := s.store.CloseConsent(ctx, x.ID, a.At); err != nil {
				return fmt.Errorf("wallet: close consent: %w", err)
			}
		}
	}
	if d, err := s.people.Person(ctx, h.DependantID); err == nil {
		// The new account starts with the names and birth date the
		// guardian gave (never overwriting what the person entered).
		if err := s.people.CompleteProfile(ctx, a.PatientID, d.FirstName, d.LastName, d.BirthDate); err != nil {
			return fmt.Errorf("wallet: handover: profile: %w", err)
		}
	}
	return nil
}
