package push

import (
	"context"
	"fmt"
	"time"

	"carewallet/app/storage"
)

// Devices, failed pushes and websocket tickets on SQLite.

func (s *SQLiteStore) PutDevice(ctx context.Context, user, session string, d Device, at time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, `
		INSERT INTO push_devices (token, user_id, session_id, platform, app_version, locale, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, session_id = excluded.session_id,
			platform = excluded.platform, app_version = excluded.app_version, locale = excluded.locale,
			updated_at = excluded.updated_at`,
		d.Token, user, session, d.Platform, d.AppVersion, d.Locale, storage.Nanos(at))
	if err != nil {
		return fmt.Errorf("push: put device: %w", err)
	}
	return nil
}

func (s *SQLiteStore) DeleteDevice(ctx context.Context, user, token string) error {
	res, err := s.db.Writer().ExecContext(ctx, `DELETE FROM push_devices WHERE token = ? AND user_id = ?`, token, user)
	if err != nil {
		return fmt.Errorf("push: delete device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("push: delete device: %w", err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQLiteStore) DeleteSessionDevices(ctx context.Context, user, session string) error {
	if _, err := s.db.Writer().ExecContext(ctx,
		`DELETE FROM push_devices WHERE user_id = ? AND session_id = ?`, user, session); err != nil {
		return fmt.Errorf("push: delete session devices: %w", err)
	}
	return nil
}

func (s *SQLiteStore) DeleteTokens(ctx context.Context, tokens []string) error {
	for start := 0; start < len(tokens); start += sqliteChunk {
		chunk := tokens[start:min(start+sqliteChunk, len(tokens))]
		args := make([]any, len(chunk))
		for i, t := range chunk {
			args[i] = t
		}
		if _, err := s.db.Writer().ExecContext(ctx,
			`DELETE FROM push_devices WHERE token IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return fmt.Errorf("push: delete tokens: %w", err)
		}
	}
	return nil
}

func (s *SQLiteStore) Devices(ctx context.Context, users []string) ([]UserDevice, error) {
	var out []UserDevice
	for start := 0; start < len(users); start += sqliteChunk {
		chunk := users[start:min(start+sqliteChunk, len(users))]
		args := make([]any, len(chunk))
		for i, u := range chunk {
			args[i] = u
		}
		rows, err := s.db.Reader().QueryContext(ctx, `SELECT user_id, session_id, token, platform, app_version, locale, updated_at
			FROM push_devices WHERE user_id IN (`+placeholders(len(chunk))+`) ORDER BY user_id, token`, args...)
		if err != nil {
			return nil, fmt.Errorf("push: devices: %w", err)
		}
		for rows.Next() {
			var d UserDevice
			var at int64
			if err := rows.Scan(&d.User, &d.Session, &d.Token, &d.Platform, &d.AppVersion, &d.Locale, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("push: devices: %w", err)
			}
			d.UpdatedAt = storage.FromNanos(at)
			out = append(out, d)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("push: devices: %w", err)
		}
	}
	return out, nil
}

func (s *SQLiteStore) RecordFailures(ctx context.Context, fs []Failure) error {
	if len(fs) == 0 {
		return nil
	}
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for _, f := range fs {
			if _, err := q.ExecContext(ctx, `INSERT INTO push_failures (user_id, event_id, token, reason, attempts, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, f.User, f.EventID, f.Token, f.Reason, f.Attempts, storage.Nanos(f.At)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("push: record failures: %w", err)
	}
	return nil
}

func (s *SQLiteStore) Failures(ctx context.Context, limit int) ([]Failure, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT user_id, event_id, token, reason, attempts, created_at
		FROM push_failures ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("push: failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var at int64
		if err := rows.Scan(&f.User, &f.EventID, &f.Token, &f.Reason, &f.Attempts, &at); err != nil {
			return nil, fmt.Errorf("push: failures: %w", err)
		}
		f.At = storage.FromNanos(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) PutTicket(ctx context.Context, hash, user, session string, expires time.Time) error {
	if _, err := s.db.Writer().ExecContext(ctx, `DELETE FROM push_tickets WHERE expires_at <= ?`,
		storage.Nanos(expires.Add(-time.Hour))); err != nil {
		return fmt.Errorf("push: put ticket: %w", err)
	}
	if _, err := s.db.Writer().ExecContext(ctx, `INSERT INTO push_tickets (hash, user_id, session_id, expires_at)
		VALUES (?, ?, ?, ?)`, hash, user, session, storage.Nanos(expires)); err != nil {
		return fmt.Errorf("push: put ticket: %w", err)
	}
	return nil
}

// TakeTicket deletes the ticket and returns it in one statement, so two
// concurrent redemptions cannot both succeed.
func (s *SQLiteStore) TakeTicket(ctx context.Context, hash string, now time.Time) (string, string, error) {
	var user, session string
	var exp int64
	err := s.db.Writer().QueryRowContext(ctx, `DELETE FROM push_tickets WHERE hash = ?
		RETURNING user_id, session_id, expires_at`, hash).Scan(&user, &session, &exp)
	if err != nil {
		return "", "", storage.Errors{NotFound: ErrNotFound, Context: "push: take ticket"}.Map(err)
	}
	if exp <= storage.Nanos(now) {
		return "", "", ErrNotFound
	}
	return user, session, nil
}
