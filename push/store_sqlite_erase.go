package push

import (
	"context"

	"carewallet/app/storage"
)

// EraseUser deletes the user's rows in one transaction.
func (s *SQLiteStore) EraseUser(ctx context.Context, user string) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		for _, t := range []string{"push_events", "push_devices", "push_tickets", "push_failures",
			"push_preferences", "push_budget_counts", "push_deferred"} {
			if _, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE user_id = ?`, user); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *SQLiteStore) RedactEvents(ctx context.Context, typ, field, value string) error {
	_, err := s.db.Writer().ExecContext(ctx, `UPDATE push_events SET data = ? WHERE type = ? AND json_extract(data, ?) = ?`,
		RedactedData, typ, "$."+field, value)
	return err
}

func (s *SQLiteStore) ForgetCardPreferences(ctx context.Context, card string) error {
	if card == "" {
		return nil // '' is every clinic-wide switch, never a card
	}
	_, err := s.db.Writer().ExecContext(ctx, `DELETE FROM push_preferences WHERE card_id = ? AND card_id != ''`, card)
	return err
}
