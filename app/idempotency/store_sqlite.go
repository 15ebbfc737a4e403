package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"carewallet/app/storage"
)

var sqliteMigrations = []string{
	`CREATE TABLE idempotency (
	scope       TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status      INTEGER NOT NULL,
	body        BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (scope, key))`,
	// Claims: a row is inserted before the work (status 0) by its owner.
	`ALTER TABLE idempotency ADD COLUMN token TEXT NOT NULL DEFAULT ''`,
}

// SQLiteStore keeps records in the embedded database.
type SQLiteStore struct{ db *storage.SQLite }

// NewSQLiteStore migrates the table and returns the store.
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "idempotency", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

func (s *SQLiteStore) Insert(ctx context.Context, r Record) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO idempotency (scope, key, fingerprint, token, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Scope, r.Key, r.Fingerprint, r.Token, r.Status, nonNil(r.Body), r.CreatedAt.UnixNano())
	if storage.IsDuplicate(err) {
		return ErrTaken
	}
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

func (s *SQLiteStore) Get(ctx context.Context, scope, key string) (Record, error) {
	r := Record{Scope: scope, Key: key}
	var at int64
	// The writer: a claim just inserted must be seen by the next request.
	err := s.db.Writer().QueryRowContext(ctx, `SELECT fingerprint, token, status, body, created_at FROM idempotency WHERE scope = ? AND key = ?`,
		scope, key).Scan(&r.Fingerprint, &r.Token, &r.Status, &r.Body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("idempotency: %w", err)
	}
	r.CreatedAt = time.Unix(0, at).UTC()
	return r, nil
}

func (s *SQLiteStore) Complete(ctx context.Context, scope, key, token string, status int, body []byte) error {
	_, err := s.db.Writer().ExecContext(ctx, `UPDATE idempotency SET status = ?, body = ?
		WHERE scope = ? AND key = ? AND token = ? AND status = 0`, status, nonNil(body), scope, key, token)
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

func (s *SQLiteStore) Delete(ctx context.Context, scope, key, token string) error {
	_, err := s.db.Writer().ExecContext(ctx, `DELETE FROM idempotency WHERE scope = ? AND key = ? AND token = ? AND status = 0`,
		scope, key, token)
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

func (s *SQLiteStore) Replace(ctx context.Context, r Record, staleBefore time.Time) (bool, error) {
	res, err := s.db.Writer().ExecContext(ctx, `UPDATE idempotency SET fingerprint = ?, token = ?, body = ?, created_at = ?
		WHERE scope = ? AND key = ? AND status = 0 AND created_at < ?`,
		r.Fingerprint, r.Token, nonNil(r.Body), r.CreatedAt.UnixNano(), r.Scope, r.Key, staleBefore.UnixNano())
	if err != nil {
		return false, fmt.Errorf("idempotency: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *SQLiteStore) DeleteScope(ctx context.Context, scope string) error {
	if _, err := s.db.Writer().ExecContext(ctx, `DELETE FROM idempotency WHERE scope = ?`, scope); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}
