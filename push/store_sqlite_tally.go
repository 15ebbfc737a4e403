package push

import (
	"context"
	"fmt"
)

// The message policy's counters on SQLite: held-back messages per clinic,
// class, day and reason, and per-key push results.

func (s *SQLiteStore) AddTallies(ctx context.Context, ts []Tally) error {
	for _, t := range ts {
		if _, err := s.db.Writer().ExecContext(ctx, `INSERT INTO push_tallies (clinic_id, day, class, reason, n) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (clinic_id, day, class, reason) DO UPDATE SET n = n + excluded.n`,
			t.Clinic, t.Day, int(t.Class), t.Reason, t.N); err != nil {
			return fmt.Errorf("push: add tallies: %w", err)
		}
	}
	return nil
}

func (s *SQLiteStore) Tallies(ctx context.Context, clinic, from, to string) ([]Tally, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT class, reason, sum(n) FROM push_tallies
		WHERE clinic_id = ? AND day >= ? AND day <= ? GROUP BY class, reason ORDER BY class, reason`, clinic, from, to)
	if err != nil {
		return nil, fmt.Errorf("push: tallies: %w", err)
	}
	defer rows.Close()
	var out []Tally
	for rows.Next() {
		t := Tally{Clinic: clinic}
		var class int
		if err := rows.Scan(&class, &t.Reason, &t.N); err != nil {
			return nil, fmt.Errorf("push: tallies: %w", err)
		}
		t.Class = Class(class)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("push: tallies: %w", err)
	}
	return out, nil
}

func (s *SQLiteStore) AddDeliveries(ctx context.Context, ds map[string]Delivery) error {
	for k, d := range ds {
		if _, err := s.db.Writer().ExecContext(ctx, `INSERT INTO push_deliveries (ikey, sent, failed) VALUES (?, ?, ?)
			ON CONFLICT (ikey) DO UPDATE SET sent = sent + excluded.sent, failed = failed + excluded.failed`,
			k, d.Sent, d.Failed); err != nil {
			return fmt.Errorf("push: add deliveries: %w", err)
		}
	}
	return nil
}

func (s *SQLiteStore) Deliveries(ctx context.Context, keys []string) (map[string]Delivery, error) {
	out := map[string]Delivery{}
	for start := 0; start < len(keys); start += sqliteChunk {
		chunk := keys[start:min(start+sqliteChunk, len(keys))]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		rows, err := s.db.Reader().QueryContext(ctx, `SELECT ikey, sent, failed FROM push_deliveries WHERE ikey IN (`+
			placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("push: deliveries: %w", err)
		}
		for rows.Next() {
			var k string
			var d Delivery
			if err := rows.Scan(&k, &d.Sent, &d.Failed); err != nil {
				rows.Close()
				return nil, fmt.Errorf("push: deliveries: %w", err)
			}
			out[k] = d
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("push: deliveries: %w", err)
		}
	}
	return out, nil
}
