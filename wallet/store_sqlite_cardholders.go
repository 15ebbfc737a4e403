package wallet

import (
	"context"

	"carewallet/app/storage"
)

// Cardholders reads the page from the (clinic_id, created, id) index; the
// paid flag is one probe of the card's entries (primary key (card_id,
// seq)): paid_after is the card's cumulative paid spend, so some entry
// above zero means some receipt was paid with money.
func (s *SQLiteStore) Cardholders(ctx context.Context, clinicID string, after cardCursor, limit int) ([]Cardholder, error) {
	where, args := "c.clinic_id = ?", []any{clinicID}
	if !after.Created.IsZero() {
		where, args = where+" AND (c.created, c.id) > (?, ?)", append(args, storage.Nanos(after.Created), after.ID)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.id, c.patient_id, c.created,
		EXISTS (SELECT 1 FROM wallet_entries e WHERE e.card_id = c.id AND e.paid_after > 0)
		FROM wallet_cards c WHERE `+where+` AND c.dependant_id = '' AND c.status = ?
		ORDER BY c.created, c.id LIMIT ?`, append(args, StatusActive, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Cardholder, 0, limit)
	for rows.Next() {
		var h Cardholder
		var created int64
		if err := rows.Scan(&h.CardID, &h.PatientID, &created, &h.Paid); err != nil {
			return nil, err
		}
		h.created = storage.FromNanos(created)
		out = append(out, h)
	}
	return out, rows.Err()
}
