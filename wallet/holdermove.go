package wallet

import (
	"context"
	"errors"
	"fmt"
)

// holderCopies is what MoveHolderDetails needs from a store: the records
// that still carry holder details from before identity owned them. Both
// adapters implement it beside Store.
type holderCopies interface {
	// LegacyDependants lists the dependants the wallet kept, by id after
	// afterID.
	LegacyDependants(ctx context.Context, afterID string, limit int) ([]Dependant, error)
	DeleteLegacyDependant(ctx context.Context, id string) error
	// DetailedCards lists cards whose stored holder still carries names or
	// a birth date, by id after afterID.
	DetailedCards(ctx context.Context, afterID string, limit int) ([]Card, error)
	// ForgetHolderDetails stores the card's holder as kind and ids only.
	ForgetHolderDetails(ctx context.Context, c *Card) error
}

// MoveHolderDetails hands People the holder details the wallet kept before
// identity owned them: its dependants (under their ids, so cards and
// guardianships keep pointing at them) and the names and birth dates
// reception entered on patients' own cards (filling only empty profile
// fields); the wallet's copies are then removed. It runs at start-up,
// before serving. Every step is idempotent, so a crash halfway is finished
// by the next start, and once done it finds nothing. It reports how many
// records it moved.
func (s *Service) MoveHolderDetails(ctx context.Context) (int, error) {
	st, ok := s.store.(holderCopies)
	if !ok {
		return 0, nil
	}
	moved := 0
	for {
		// Each page is deleted as it is handed over: always read the first.
		ds, err := st.LegacyDependants(ctx, "", s.batch)
		if err != nil {
			return moved, fmt.Errorf("wallet: move dependants: %w", err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			p := Person{ID: d.ID, FirstName: d.FirstName, LastName: d.LastName, BirthDate: d.BirthDate}
			if err := s.people.ImportDependant(ctx, p, d.Created); err != nil {
				return moved, fmt.Errorf("wallet: move dependant %s: %w", d.ID, err)
			}
			if err := st.DeleteLegacyDependant(ctx, d.ID); err != nil {
				return moved, fmt.Errorf("wallet: move dependant %s: %w", d.ID, err)
			}
			moved++
		}
	}
	after := ""
	for {
		cards, err := st.DetailedCards(ctx, after, s.batch)
		if err != nil {
			return moved, fmt.Errorf("wallet: move holder details: %w", err)
		}
		if len(cards) == 0 {
			return moved, nil
		}
		for i := range cards {
			c := &cards[i]
			after = c.ID
			h := c.Holder
			if h.Kind == HolderSelf {
				err := s.people.CompleteProfile(ctx, h.PatientID, h.FirstName, h.LastName, h.BirthDate)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return moved, fmt.Errorf("wallet: move holder of card %s: %w", c.ID, err)
				}
			}
			if err := st.ForgetHolderDetails(ctx, c); err != nil {
				return moved, fmt.Errorf("wallet: move holder of card %s: %w", c.ID, err)
			}
			moved++
		}
	}
}
