package wallet

import (
	"context"
	"fmt"
	"time"
)

// Holders pages the accounts that hold the clinic's active cards, for a
// fan-out to them (news): the patient whose app holds each card — the
// holder, or a dependant's chosen guardian — and every other guardian of a
// dependant at this clinic (its grants). An account appears once per card (a guardian of three
// children three times); the caller dedupes. It reads no personal data.
// A level ("" for all) keeps only the cards at that loyalty level now (by
// their paid spend under the current program). next is "" after the last
// page.
func (s *Service) Holders(ctx context.Context, clinicID, level, after string, limit int) (ids []string, next string, err error) {
	if clinicID == "" {
		return nil, "", invalid("clinic_id", "required")
	}
	var prog *Program
	if level != "" {
		if prog, err = s.Program(ctx, clinicID); err != nil {
			return nil, "", err
		}
		if err := CheckLevel(prog, level); err != nil {
			return nil, "", err
		}
	}
	var cur cardCursor
	if after != "" {
		t, id, _, err := decodeCursor(after)
		if err != nil {
			return nil, "", err
		}
		cur = cardCursor{Created: t, ID: id}
	}
	if limit <= 0 || limit > 5000 {
		return nil, "", invalid("limit", "must be 1..5000")
	}
	cards, err := s.store.CardsIssued(ctx, clinicID, time.Time{}, time.Time{}, cur, limit)
	if err != nil {
		return nil, "", fmt.Errorf("wallet: holders: %w", err)
	}
	ids = make([]string, 0, len(cards))
	for _, c := range cards {
		if c.Status != StatusActive {
			continue
		}
		if prog != nil {
			head, err := s.store.Head(ctx, c.ID)
			if err != nil {
				return nil, "", fmt.Errorf("wallet: holders: %w", err)
			}
			if _, _, lv := baseRate(prog, head.Paid); lv != level {
				continue
			}
		}
		ids = append(ids, c.PatientID)
		if c.Holder.Kind == HolderDependant && c.Holder.DependantID != "" {
			// The child's guardians at this clinic only: a grant at another
			// clinic opens nothing here.
			gs, err := s.store.GrantsFor(ctx, c.ClinicID, c.Holder.DependantID)
			if err != nil {
				return nil, "", fmt.Errorf("wallet: holders: %w", err)
			}
			for _, g := range gs {
				if g.GuardianID != c.PatientID {
					ids = append(ids, g.GuardianID)
				}
			}
		}
	}
	if len(cards) == limit {
		last := cards[len(cards)-1]
		next = encodeCursor(last.Created, last.ID, 0)
	}
	return ids, next, nil
}

// CheckLevel reports whether the program has a level of that name.
func CheckLevel(p *Program, level string) error {
	for _, l := range p.Levels {
		if l.Name == level {
			return nil
		}
	}
	return invalid("level", "the program has no level %q", level)
}
