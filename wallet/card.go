package wallet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"carewallet/app/text"
)

// IssueCardRequest is POST /v1/clinic/cards. The HTTP layer resolves
// "phone" to PatientID (a card for the patient themself) or
// "guardian_phone" to GuardianID (a dependant's card, held by that
// guardian; with several guardians, reception chooses by the phone it
// enters). Exactly one of PatientID and GuardianID is set.
type IssueCardRequest struct {
	ClinicID   string `json:"-"`
	StaffID    string `json:"-"`
	PatientID  string `json:"-"`
	GuardianID string `json:"-"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	BirthDate  string `json:"birth_date"` // YYYY-MM-DD
	// Unconfirmed registers the patient's own card for a patient without
	// the app (see unconfirmed.go).
	Unconfirmed bool `json:"-"`
}

// IssueCardResult is the answer of IssueCard and ConfirmCard.
type IssueCardResult struct {
	CardID        string     `json:"card_id"`
	Status        string     `json:"status"`
	CodeExpiresAt *time.Time `json:"code_expires_at,omitempty"`
}

// Card statuses. Lapsed is never stored: a pending card is lapsed once its
// confirmation code expired or used all its attempts.
const (
	StatusPending = "pending"
	StatusActive  = "active"
	StatusLapsed  = "lapsed"
)

// Holder kinds.
const (
	HolderSelf      = "self"
	HolderDependant = "dependant"
)

// Card is a patient's loyalty card at one clinic. PatientID is the account
// whose app holds the card and receives its codes: the holder themself, or
// the chosen guardian of a dependant.
type Card struct {
	ID        string `json:"card_id"`
	ClinicID  string `json:"clinic_id"`
	PatientID string `json:"patient_id"`
	Holder    Holder `json:"holder"`
	// Status as stored: pending or active (see Service views for lapsed).
	Status   string    `json:"status"`
	IssuedBy string    `json:"issued_by,omitempty"` // staff id; empty when joined from the app
	Created  time.Time `json:"created_at"`
	// Slot numbers the cards of one (clinic, holder): unique (clinic,
	// holder_key, slot), and a new slot is taken only when every earlier
	// card of the holder has lapsed.
	Slot int `json:"-"`
	// ChallengeID is the pending card's confirmation challenge.
	ChallengeID string `json:"-"`
}

// Holder is whose card it is. A card stores the kind and the id only;
// the names and birth date are identity's, filled in from People whenever
// a card is shown, so they always follow the profile.
type Holder struct {
	Kind        string `json:"kind"` // self or dependant
	PatientID   string `json:"patient_id,omitempty"`
	DependantID string `json:"dependant_id,omitempty"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	BirthDate   string `json:"birth_date,omitempty"` // YYYY-MM-DD
}

// key is the holder identity used by the unique card slot.
func (h Holder) key() string {
	if h.Kind == HolderDependant {
		return "d:" + h.DependantID
	}
	return "p:" + h.PatientID
}

func validName(field, v string, required bool) error {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if m := text.Name(v); m != "" {
		return invalid(field, "%s", m)
	}
	return nil
}

func (s *Service) validBirth(field, v string, required bool) error {
	if v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	t, ok := parseDate(v)
	if !ok {
		return invalid(field, "must be a date YYYY-MM-DD")
	}
	if t.After(s.clock()) || t.Year() < 1900 {
		return invalid(field, "out of range")
	}
	return nil
}

// liveCard returns the holder's active or unlapsed pending card in the
// clinic (nil if none) and the next free slot.
func (s *Service) liveCard(ctx context.Context, clinicID string, h Holder) (*Card, int, error) {
	cards, err := s.store.CardsByHolder(ctx, clinicID, h.key())
	if err != nil {
		return nil, 0, fmt.Errorf("wallet: cards of holder: %w", err)
	}
	next := 0
	var live *Card
	for i := range cards {
		c := &cards[i]
		next = max(next, c.Slot+1)
		lapsed, err := s.pendingLapsed(ctx, c, s.clock())
		if err != nil {
			return nil, 0, err
		}
		if !lapsed {
			live = c
		}
	}
	return live, next, nil
}

// Join creates the patient's active card at a clinic and credits the
// welcome bonus (POST /v1/me/cards). Joining again returns the same card;
// a pending card issued by reception is activated (the signed-in patient
// proves it is theirs).
func (s *Service) Join(ctx context.Context, patientID, clinicID string) (*CardView, error) {
	if patientID == "" {
		return nil, invalid("patient_id", "required")
	}
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	if _, err := s.location(ctx, clinicID); err != nil {
		return nil, err
	}
	h := Holder{Kind: HolderSelf, PatientID: patientID}
	for range 10 {
		live, slot, err := s.liveCard(ctx, clinicID, h)
		if err != nil {
			return nil, err
		}
		if live != nil {
			if live.PatientID != patientID {
				return nil, refused(ErrCardExists, "your card at this clinic is held in another account's app")
			}
			if err := s.activate(ctx, live); err != nil {
				return nil, err
			}
			return s.view(ctx, live)
		}
		id, err := s.newID("cd_")
		if err != nil {
			return nil, err
		}
		c := &Card{ID: id, ClinicID: clinicID, PatientID: patientID, Holder: h, Status: StatusActive,
			Created: s.clock(), Slot: slot}
		err = s.store.InsertCard(ctx, c)
		if errors.Is(err, errDuplicate) {
			continue // a concurrent join or issue took the slot: look again
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: join: %w", err)
		}
		if err := s.activate(ctx, c); err != nil {
			return nil, err
		}
		return s.view(ctx, c)
	}
	return nil, fmt.Errorf("wallet: join: %w", ErrConflict)
}

// activate marks the card active and credits the welcome bonus; both are
// idempotent, so a retry after a crash completes the job.
func (s *Service) activate(ctx context.Context, c *Card) error {
	wasUnconfirmed := c.Status == StatusUnconfirmed
	if c.Status != StatusActive {
		if err := s.store.ActivateCard(ctx, c.ID); err != nil {
			return fmt.Errorf("wallet: activate card: %w", err)
		}
		c.Status = StatusActive
	}
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return err
	}
	_, err = s.bonus(ctx, c, KindWelcome, "welcome", c.IssuedBy, p.WelcomeBonus,
		map[string]any{"rule": "welcome_bonus", "program_version": p.Version, "burn_days": p.WelcomeBonus.BurnDays})
	if err == nil && wasUnconfirmed {
		err = s.afterConfirm(ctx, c)
	}
	return err
}

// CheckIssue validates the holder's details of a card to issue: names and
// birth date, which a dependant's card requires. The HTTP layer calls it
// before it creates an account for a phone it has not seen, so a bad
// request creates nothing; IssueCard checks the same.
func (s *Service) CheckIssue(firstName, lastName, birthDate string, dependant bool) error {
	if err := validName("first_name", firstName, dependant); err != nil {
		return err
	}
	if err := validName("last_name", lastName, dependant); err != nil {
		return err
	}
	return s.validBirth("birth_date", birthDate, dependant)
}

// IssueCard is POST /v1/clinic/cards: a pending card whose confirmation
// code goes to the patient's app (or the chosen guardian's, for a
// dependant). Unique (clinic, holder, slot) with a new slot only after the
// previous card lapsed: one live card per holder and clinic.
func (s *Service) IssueCard(ctx context.Context, req IssueCardRequest) (*IssueCardResult, error) {
	if req.ClinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	if (req.PatientID == "") == (req.GuardianID == "") {
		return nil, invalid("phone", "give exactly one of phone and guardian_phone")
	}
	dep := req.GuardianID != ""
	if err := s.CheckIssue(req.FirstName, req.LastName, req.BirthDate, dep); err != nil {
		return nil, err
	}
	if _, err := s.location(ctx, req.ClinicID); err != nil {
		return nil, err
	}
	first, last := strings.TrimSpace(req.FirstName), strings.TrimSpace(req.LastName)
	h := Holder{Kind: HolderSelf, PatientID: req.PatientID}
	if req.Unconfirmed {
		if dep {
			return nil, invalid("unconfirmed", "only a patient's own card (phone) is registered unconfirmed")
		}
		return s.issueUnconfirmed(ctx, req, h, first, last)
	}
	app := req.PatientID
	if dep {
		id, err := s.dependantOf(ctx, req.GuardianID, first, last, req.BirthDate)
		if err != nil {
			return nil, err
		}
		h = Holder{Kind: HolderDependant, DependantID: id}
		app = req.GuardianID
	}
	for range 10 {
		live, slot, err := s.liveCard(ctx, req.ClinicID, h)
		if err != nil {
			return nil, err
		}
		if live != nil {
			return nil, refused(ErrCardExists, "this holder already has a card at this clinic (%s, %s); a new one can be issued only once a pending card's code has expired", live.ID, live.Status)
		}
		id, err := s.newID("cd_")
		if err != nil {
			return nil, err
		}
		now := s.clock()
		ch, code, err := s.newChallenge(ctx, "card", id, id, 0, now)
		if err != nil {
			return nil, err
		}
		c := &Card{ID: id, ClinicID: req.ClinicID, PatientID: app, Holder: h, Status: StatusPending,
			IssuedBy: req.StaffID, Created: now, Slot: slot, ChallengeID: ch.ID}
		err = s.store.InsertCard(ctx, c)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: issue card: %w", err)
		}
		if dep {
			// The guardian holds this clinic's cards of the dependant
			// (confirming the card grants it again, should this fail).
			if err := s.grant(ctx, c, app); err != nil {
				return nil, err
			}
		} else {
			// What reception entered fills the patient's profile where it
			// is empty: identity keeps the details, not the card.
			if err := s.people.CompleteProfile(ctx, req.PatientID, first, last, req.BirthDate); err != nil {
				return nil, fmt.Errorf("wallet: issue card: holder details: %w", err)
			}
		}
		if err := s.notifier.Notify(ctx, app, Notification{
			Key: "cardcode:" + id, Type: NoteCardCode,
			Data:       CardCodeData{Code: code, CardID: id, ClinicID: req.ClinicID, ExpiresAt: ch.ExpiresAt},
			AlertTitle: "Your clinic card", AlertBody: "Open the app to see the confirmation code",
		}); err != nil {
			return nil, fmt.Errorf("wallet: send card code: %w", err)
		}
		exp := ch.ExpiresAt
		return &IssueCardResult{CardID: id, Status: StatusPending, CodeExpiresAt: &exp}, nil
	}
	return nil, fmt.Errorf("wallet: issue card: %w", ErrConflict)
}

// ConfirmCard is POST /v1/clinic/cards/{id}/confirm: the code from the
// patient's app activates the pending card and credits the welcome bonus.
func (s *Service) ConfirmCard(ctx context.Context, clinicID, cardID, code string) (*IssueCardResult, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusActive {
		return nil, refused(ErrCardActive, "card %s is already active: there is nothing to confirm", c.ID)
	}
	if err := s.verify(ctx, c.ChallengeID, "card", c.ID, strings.TrimSpace(code)); err != nil {
		return nil, fmt.Errorf("wallet: confirm card: %w", err)
	}
	if c.Holder.Kind == HolderDependant {
		if err := s.grant(ctx, c, c.PatientID); err != nil {
			return nil, err
		}
	}
	if err := s.activate(ctx, c); err != nil {
		return nil, err
	}
	return &IssueCardResult{CardID: c.ID, Status: StatusActive}, nil
}
