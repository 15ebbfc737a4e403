package wallet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Dependant is a person in someone's care (a child) without an account of
// their own, as the wallet kept them before identity owned dependants'
// details: only MoveHolderDetails reads these records, to hand them to
// People. A dependant may have several guardians.
type Dependant struct {
	ID        string    `json:"dependant_id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	BirthDate string    `json:"birth_date"`
	Created   time.Time `json:"created_at"`
}

// Guardianship links a guardian (patient account) to a dependant. Unique
// (guardian, person_key) so concurrent issuances for the same child under
// the same guardian find one dependant, and unique (dependant, guardian).
type Guardianship struct {
	GuardianID  string    `json:"guardian_id"`
	DependantID string    `json:"dependant_id"`
	PersonKey   string    `json:"-"` // normalized name + birth date
	Created     time.Time `json:"created_at"`
}

// personKey identifies a dependant under one guardian: normalized names
// and birth date.
func personKey(first, last, birth string) string {
	n := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	return n(first) + "|" + n(last) + "|" + birth
}

// dependantOf finds the id of the guardian's dependant with these name and
// birth date, recording a new dependant with People (and the guardianship)
// if needed. Unique (guardian, person_key): concurrent issuances agree on
// one dependant (a loser's new record is left unused).
func (s *Service) dependantOf(ctx context.Context, guardianID, first, last, birth string) (string, error) {
	key := personKey(first, last, birth)
	for range 5 {
		gs, err := s.store.GuardianshipsOf(ctx, guardianID)
		if err != nil {
			return "", fmt.Errorf("wallet: guardianships: %w", err)
		}
		for _, g := range gs {
			if g.PersonKey == key {
				return g.DependantID, nil
			}
		}
		id, err := s.people.AddDependant(ctx, first, last, birth)
		if err != nil {
			return "", fmt.Errorf("wallet: dependant: %w", err)
		}
		err = s.store.InsertGuardianship(ctx, &Guardianship{GuardianID: guardianID, DependantID: id, PersonKey: key, Created: s.clock()})
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, errDuplicate) {
			return "", fmt.Errorf("wallet: guardianship: %w", err)
		}
	}
	return "", fmt.Errorf("wallet: dependant: %w", ErrConflict)
}

// Grant lets a guardian hold a dependant's cards at one clinic, and only
// there: unique (clinic, dependant, guardian). Every read of a dependant's
// card by a patient checks one (card view, history, lots, code, QR, the
// card lists), so a guardian added at one clinic never opens another
// clinic's cards of the same child.
type Grant struct {
	ClinicID    string    `json:"clinic_id"`
	DependantID string    `json:"dependant_id"`
	GuardianID  string    `json:"patient_id"`
	Created     time.Time `json:"added_at"`
}

// NoteGuardianAdded tells a dependant's guardians at a clinic that the
// clinic gave another person access to the child's card there (data:
// GuardianData).
const NoteGuardianAdded = "wallet.guardian_added"

// GuardianData is the data of NoteGuardianAdded and NoteGuardianRemoved
// events: the card and when. It never names the other guardian or their
// phone.
type GuardianData struct {
	CardID   string    `json:"card_id"`
	ClinicID string    `json:"clinic_id"`
	At       time.Time `json:"at"`
}

// NoteGuardianRemoved tells a removed guardian's app that the card is no
// longer theirs, so an open app drops it at once (data: GuardianData;
// inbox and websocket only, no push).
const NoteGuardianRemoved = "wallet.guardian_removed"

// ErrLastGuardian refuses removing a dependant's only guardian at a
// clinic: the card must keep someone its codes go to.
var ErrLastGuardian = errors.New("wallet: this is the card's only guardian, and a dependant's card must keep one to send its codes to: add another guardian first")

// grant gives the guardian the dependant's cards at the card's clinic
// (idempotent: an existing grant is kept) and, when it is new, tells the
// guardians who already had them.
func (s *Service) grant(ctx context.Context, c *Card, guardianID string) error {
	dep := c.Holder.DependantID
	// The guardian consents to the clinic processing the dependant's data
	// (consent.go) before they hold the card.
	if err := s.recordConsent(ctx, c, guardianID); err != nil {
		return err
	}
	before, err := s.store.GrantsFor(ctx, c.ClinicID, dep)
	if err != nil {
		return fmt.Errorf("wallet: guardians: %w", err)
	}
	g := &Grant{ClinicID: c.ClinicID, DependantID: dep, GuardianID: guardianID, Created: s.clock()}
	err = s.store.InsertGrant(ctx, g)
	if errors.Is(err, errDuplicate) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wallet: guardian: %w", err)
	}
	for _, o := range before {
		if o.GuardianID == guardianID {
			continue
		}
		// Best effort: the grant stands either way; the key makes a retry
		// deliver once.
		_ = s.notifier.Notify(ctx, o.GuardianID, Notification{
			Key:  fmt.Sprintf("guardian:%s:%s:%s:%d", c.ClinicID, dep, guardianID, g.Created.UnixNano()),
			Type: NoteGuardianAdded, Data: GuardianData{CardID: c.ID, ClinicID: c.ClinicID, At: g.Created},
			AlertTitle: "Добавлен ещё один опекун / Another guardian was added",
			AlertBody: "Клиника дала ещё одному человеку доступ к карте вашего ребёнка. Если вы этого не ждали, обратитесь в клинику. / " +
				"The clinic gave another person access to your child's card. If you did not expect this, contact the clinic.",
		})
	}
	return nil
}

// guards reports whether the patient holds a grant for the dependant's
// card's clinic.
func (s *Service) guards(ctx context.Context, c *Card, patientID string) (bool, error) {
	gs, err := s.store.GrantsFor(ctx, c.ClinicID, c.Holder.DependantID)
	if err != nil {
		return false, fmt.Errorf("wallet: guardians: %w", err)
	}
	for _, g := range gs {
		if g.GuardianID == patientID {
			return true, nil
		}
	}
	return false, nil
}

// dependantCard is staffCard for a dependant's card.
func (s *Service) dependantCard(ctx context.Context, clinicID, cardID string) (*Card, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Holder.Kind != HolderDependant {
		return nil, invalid("card_id", "not a dependant's card")
	}
	return c, nil
}

// Guardians is GET /v1/clinic/cards/{id}/guardians: who holds the
// dependant's cards at this clinic, oldest first.
func (s *Service) Guardians(ctx context.Context, clinicID, cardID string) ([]Grant, error) {
	c, err := s.dependantCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	gs, err := s.store.GrantsFor(ctx, c.ClinicID, c.Holder.DependantID)
	if err != nil {
		return nil, fmt.Errorf("wallet: guardians: %w", err)
	}
	return gs, nil
}

// RemoveGuardian is DELETE /v1/clinic/cards/{id}/guardians/{patient_id}
// (staff of the card's clinic): the guardian's grant at this clinic ends
// at once, and the dependant's cards there whose codes went to them go to
// the oldest remaining guardian. The only guardian cannot be removed
// (ErrLastGuardian). Two removals racing for the last two guardians both
// delete and then find none left: each puts its grant back and is
// refused, so a dependant never ends up without a guardian.
func (s *Service) RemoveGuardian(ctx context.Context, clinicID, cardID, guardianID string) error {
	c, err := s.dependantCard(ctx, clinicID, cardID)
	if err != nil {
		return err
	}
	dep := c.Holder.DependantID
	gs, err := s.store.GrantsFor(ctx, c.ClinicID, dep)
	if err != nil {
		return fmt.Errorf("wallet: guardians: %w", err)
	}
	var target *Grant
	next, others := "", map[string]bool{}
	for i := range gs {
		switch {
		case gs[i].GuardianID == guardianID:
			target = &gs[i]
		case next == "":
			next = gs[i].GuardianID
			fallthrough
		default:
			others[gs[i].GuardianID] = true
		}
	}
	if target == nil {
		return fmt.Errorf("wallet: guardian %s: %w", guardianID, ErrNotFound)
	}
	if next == "" {
		return ErrLastGuardian
	}
	// Codes move first: the cards never point at someone without a grant.
	if err := s.moveCodes(ctx, c, others, next); err != nil {
		return err
	}
	if err := s.store.DeleteGrant(ctx, c.ClinicID, dep, guardianID); err != nil {
		return fmt.Errorf("wallet: remove guardian: %w", err)
	}
	left, err := s.store.GrantsFor(ctx, c.ClinicID, dep)
	if err != nil {
		return fmt.Errorf("wallet: guardians: %w", err)
	}
	refused := len(left) == 0
	if refused {
		if err := s.store.InsertGrant(ctx, target); err != nil && !errors.Is(err, errDuplicate) {
			return fmt.Errorf("wallet: restore guardian: %w", err)
		}
		left = []Grant{*target}
	}
	// A racing removal may have moved the codes to a guardian removed
	// since: settle them on one who holds a grant now.
	holders := map[string]bool{}
	for _, g := range left {
		holders[g.GuardianID] = true
	}
	if err := s.moveCodes(ctx, c, holders, left[0].GuardianID); err != nil {
		return err
	}
	if refused {
		return ErrLastGuardian
	}
	now := s.clock()
	_ = s.notifier.Notify(ctx, guardianID, Notification{ // best effort: the grant is gone either way
		Key:  fmt.Sprintf("guardian-removed:%s:%s:%d", c.ClinicID, dep, now.UnixNano()),
		Type: NoteGuardianRemoved, Data: GuardianData{CardID: c.ID, ClinicID: c.ClinicID, At: now},
	})
	return nil
}

// moveCodes points the dependant's cards at the card's clinic whose codes
// go to someone outside holders to to.
func (s *Service) moveCodes(ctx context.Context, c *Card, holders map[string]bool, to string) error {
	cards, err := s.store.CardsByHolder(ctx, c.ClinicID, c.Holder.key())
	if err != nil {
		return fmt.Errorf("wallet: cards of holder: %w", err)
	}
	for _, hc := range cards {
		if !holders[hc.PatientID] {
			if err := s.store.SetCardPatient(ctx, hc.ID, to); err != nil {
				return fmt.Errorf("wallet: move card %s: %w", hc.ID, err)
			}
		}
	}
	return nil
}

// AddGuardian adds a guardian to the dependant whose card this is (staff
// of the card's clinic), for this clinic's cards only; the guardians who
// already hold them are told. Adding an existing guardian is a no-op.
func (s *Service) AddGuardian(ctx context.Context, clinicID, staffID, cardID, guardianID string) error {
	if guardianID == "" {
		return invalid("phone", "required")
	}
	c, err := s.dependantCard(ctx, clinicID, cardID)
	if err != nil {
		return err
	}
	d, err := s.people.Person(ctx, c.Holder.DependantID)
	if err != nil {
		return fmt.Errorf("wallet: add guardian: dependant: %w", err)
	}
	// The guardian's own list of dependants (which child reception means
	// when they bring the same details elsewhere); it opens no card.
	err = s.store.InsertGuardianship(ctx, &Guardianship{GuardianID: guardianID, DependantID: c.Holder.DependantID,
		PersonKey: personKey(d.FirstName, d.LastName, d.BirthDate), Created: s.clock()})
	if err != nil && !errors.Is(err, errDuplicate) {
		return fmt.Errorf("wallet: add guardian: %w", err)
	}
	if errors.Is(err, errDuplicate) {
		gs, gerr := s.store.GuardiansOf(ctx, c.Holder.DependantID)
		if gerr != nil {
			return gerr
		}
		mine := false
		for _, g := range gs {
			mine = mine || g.GuardianID == guardianID
		}
		if !mine {
			return refused(ErrConflict, "this guardian already has another dependant with the same names and birth date")
		}
	}
	return s.grant(ctx, c, guardianID)
}
