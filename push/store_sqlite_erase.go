package push

import (
	"context"

	"carewallet/app/storage"
)

// EraseUser deletes the user's rows in one transaction.
func (s *SQLiteStore) EraseUser(ctx context.Context, user string) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		for _, t := range []string{"push_events", "push_devices", "push_tickets", "push_failures"} {
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
