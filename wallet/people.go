package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// People is where the wallet reads who a card belongs to. Identity owns
// patients' and dependants' names and birth dates; the wallet keeps only
// their ids (Holder.PatientID, Holder.DependantID, guardianships), so a
// profile change shows on every card at once and the birthday job sees a
// birth date however it was entered. The app adapts identity to it.
type People interface {
	// Person returns a patient's or a dependant's names and birth date.
	Person(ctx context.Context, id string) (Person, error)
	// AddDependant records a new dependant (all fields required) and
	// returns their id.
	AddDependant(ctx context.Context, firstName, lastName, birthDate string) (string, error)
	// CompleteProfile sets those of a patient's names and birth date that
	// are empty (what reception entered); it never overwrites.
	CompleteProfile(ctx context.Context, patientID, firstName, lastName, birthDate string) error
	// BornOn lists people born on one of the month-days ("MM-DD"), by id,
	// after afterID.
	BornOn(ctx context.Context, monthDays []string, afterID string, limit int) ([]Person, error)
	// ImportDependant records a dependant under the id the wallet gave
	// them when it kept dependants itself (idempotent).
	ImportDependant(ctx context.Context, p Person, created time.Time) error
}

// Person is a card holder's details as People gives them.
type Person struct {
	ID        string
	FirstName string
	LastName  string
	BirthDate string // YYYY-MM-DD, or "" when not given
}

// errNoPeople is what a Service built without Options.People answers when
// it needs someone's details (only tests that never issue cards to
// dependants or run the birthday job leave People out).
var errNoPeople = errors.New("wallet: no People to read holder details from")

type noPeople struct{}

func (noPeople) Person(context.Context, string) (Person, error) { return Person{}, ErrNotFound }
func (noPeople) AddDependant(context.Context, string, string, string) (string, error) {
	return "", errNoPeople
}
func (noPeople) CompleteProfile(context.Context, string, string, string, string) error { return nil }
func (noPeople) BornOn(context.Context, []string, string, int) ([]Person, error)       { return nil, nil }
func (noPeople) ImportDependant(context.Context, Person, time.Time) error              { return errNoPeople }

// holderID is the id People knows the card's holder by.
func (h Holder) holderID() string {
	if h.Kind == HolderDependant {
		return h.DependantID
	}
	return h.PatientID
}

// withHolder fills the card's holder details from People. A holder
// People does not know keeps the ids alone.
func (s *Service) withHolder(ctx context.Context, c *Card) error {
	p, err := s.people.Person(ctx, c.Holder.holderID())
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("wallet: holder of card %s: %w", c.ID, err)
	}
	c.Holder.FirstName, c.Holder.LastName, c.Holder.BirthDate = p.FirstName, p.LastName, p.BirthDate
	return nil
}

// withHolders is withHolder for each card.
func (s *Service) withHolders(ctx context.Context, cards []Card) error {
	for i := range cards {
		if err := s.withHolder(ctx, &cards[i]); err != nil {
			return err
		}
	}
	return nil
}

// stored is the holder as a card stores it: kind and ids, no details.
func (h Holder) stored() Holder {
	return Holder{Kind: h.Kind, PatientID: h.PatientID, DependantID: h.DependantID}
}
