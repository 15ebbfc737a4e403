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

// AddGuardian adds a guardian to the dependant whose card this is (staff
// of the card's clinic). Adding an existing guardian is a no-op.
func (s *Service) AddGuardian(ctx context.Context, clinicID, staffID, cardID, guardianID string) error {
	if guardianID == "" {
		return invalid("guardian_phone", "required")
	}
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return err
	}
	if c.Holder.Kind != HolderDependant {
		return invalid("card_id", "not a dependant's card")
	}
	d, err := s.people.Person(ctx, c.Holder.DependantID)
	if err != nil {
		return fmt.Errorf("wallet: add guardian: dependant: %w", err)
	}
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
		for _, g := range gs {
			if g.GuardianID == guardianID {
				return nil
			}
		}
		return fmt.Errorf("wallet: add guardian: the guardian already has a dependant with these details: %w", ErrConflict)
	}
	return nil
}
