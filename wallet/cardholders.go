package wallet

import (
	"context"
	"fmt"
	"time"
)

// Cardholder is a patient who holds their own active card at a clinic,
// and whether they ever paid money on a receipt there (any paid receipt,
// refunded later or not; a receipt paid entirely with points is not one).
type Cardholder struct {
	PatientID string
	CardID    string
	Paid      bool

	created time.Time // the card's, for the cursor
}

// CardholderStore lists a clinic's own active cards with the paid flag,
// in issue order (created, id) after the cursor: the referral report and
// the referral-depth audience walk a clinic of 100,000 patients with it,
// a page at a time.
type CardholderStore interface {
	Cardholders(ctx context.Context, clinicID string, after cardCursor, limit int) ([]Cardholder, error)
}

// MaxCardholdersPage bounds one page of Cardholders.
const MaxCardholdersPage = 5000

// Cardholders pages the patients holding their own active card at the
// clinic (dependants' cards are left out: a child is never in the referral
// tree), each with whether they ever paid on a receipt there. It reads no
// personal data. next is "" after the last page.
func (s *Service) Cardholders(ctx context.Context, clinicID, after string, limit int) (rows []Cardholder, next string, err error) {
	if clinicID == "" {
		return nil, "", invalid("clinic_id", "required")
	}
	if limit <= 0 || limit > MaxCardholdersPage {
		return nil, "", invalid("limit", "must be 1..%d", MaxCardholdersPage)
	}
	var cur cardCursor
	if after != "" {
		t, id, _, err := decodeCursor(after)
		if err != nil {
			return nil, "", err
		}
		cur = cardCursor{Created: t, ID: id}
	}
	rows, err = s.store.Cardholders(ctx, clinicID, cur, limit)
	if err != nil {
		return nil, "", fmt.Errorf("wallet: cardholders: %w", err)
	}
	if len(rows) == limit {
		last := rows[len(rows)-1]
		next = encodeCursor(last.created, last.CardID, 0)
	}
	return rows, next, nil
}
