package push

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"carewallet/app/storage"
)

// sqliteMigrations are the push component's schema versions; released
// versions are never edited, only appended to.
var sqliteMigrations = []string{
	`CREATE TABLE push_events (
		user_id    TEXT    NOT NULL,
		seq        INTEGER NOT NULL,
		id         TEXT    NOT NULL UNIQUE,
		ikey       TEXT,
		type       TEXT    NOT NULL,
		data       TEXT    NOT NULL,
		created_at INTEGER NOT NULL, -- unix milliseconds until version 3, then nanoseconds
		PRIMARY KEY (user_id, seq)
	) WITHOUT ROWID;
	CREATE UNIQUE INDEX push_events_key ON push_events (user_id, ikey);
	CREATE INDEX push_events_created ON push_events (created_at);
	CREATE TABLE push_devices (
		token       TEXT    NOT NULL PRIMARY KEY,
		user_id     TEXT    NOT NULL,
		session_id  TEXT    NOT NULL,
		platform    TEXT    NOT NULL,
		app_version TEXT    NOT NULL,
		locale      TEXT    NOT NULL,
		updated_at  INTEGER NOT NULL
	);
	CREATE INDEX push_devices_user ON push_devices (user_id, session_id);
	CREATE TABLE push_failures (
		id         INTEGER PRIMARY KEY,
		user_id    TEXT    NOT NULL,
		event_id   TEXT    NOT NULL,
		token      TEXT    NOT NULL,
		reason     TEXT    NOT NULL,
		attempts   INTEGER NOT NULL,
		created_at INTEGER NOT NULL
	);`,
	`CREATE TABLE push_tickets (
		hash       TEXT    NOT NULL PRIMARY KEY,
		user_id    TEXT    NOT NULL,
		session_id TEXT    NOT NULL,
		expires_at INTEGER NOT NULL
	);`,
	// 3: times are Unix nanoseconds (storage.Nanos), as in every store;
	// they were milliseconds.
	`UPDATE push_events SET created_at = created_at * 1000000;
	UPDATE push_devices SET updated_at = updated_at * 1000000;
	UPDATE push_failures SET created_at = created_at * 1000000;
	UPDATE push_tickets SET expires_at = expires_at * 1000000;`,
	// 4: the message policy (store_sqlite_policy.go).
	sqlitePolicySchema,
	// 5: a handed-over card's preferences are found by card
	// (ForgetCardPreferences).
	`CREATE INDEX push_preferences_card ON push_preferences (card_id) WHERE card_id != '';`,
	// 6: the weekly budget is a count per (user, clinic, week), not a row
	// per message (ClaimSlots); the counts start from the slots taken.
	`CREATE TABLE push_budget_counts (
		user_id   TEXT    NOT NULL,
		clinic_id TEXT    NOT NULL,
		week      TEXT    NOT NULL,
		n         INTEGER NOT NULL,
		PRIMARY KEY (user_id, clinic_id, week)
	) WITHOUT ROWID;
	INSERT INTO push_budget_counts (user_id, clinic_id, week, n)
		SELECT user_id, clinic_id, week, max(n) FROM push_budget_slots GROUP BY user_id, clinic_id, week;
	DROP TABLE push_budget_slots;`,
	// 7: an event's id is no longer a unique index: nothing looks events
	// up by id (the inbox reads by user and seq, by user and key, by
	// time), the ids are 96 random bits, and the index was a random
	// b-tree insert per event, a quarter of a fan-out's page writes.
	`CREATE TABLE push_events_v7 (
		user_id    TEXT    NOT NULL,
		seq        INTEGER NOT NULL,
		id         TEXT    NOT NULL,
		ikey       TEXT,
		type       TEXT    NOT NULL,
		data       TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (user_id, seq)
	) WITHOUT ROWID;
	INSERT INTO push_events_v7 (user_id, seq, id, ikey, type, data, created_at)
		SELECT user_id, seq, id, ikey, type, data, created_at FROM push_events;
	DROP TABLE push_events;
	ALTER TABLE push_events_v7 RENAME TO push_events;
	CREATE UNIQUE INDEX push_events_key ON push_events (user_id, ikey);
	CREATE INDEX push_events_created ON push_events (created_at);`,
}

// SQLiteStore is the embedded Store. Every write goes through the single
// writer connection, so Append's read of max(seq) and its insert are one
// statement that no other writer interleaves with; the primary key (user,
// seq) still guards against a second process on the same file.
type SQLiteStore struct {
	db *storage.SQLite
}

// NewSQLiteStore runs the push migrations and returns the store.
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "push", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

const eventCols = `seq, id, type, data, created_at`

func nullKey(key string) sql.NullString { return sql.NullString{String: key, Valid: key != ""} }

type scanner interface{ Scan(...any) error }

func scanEvent(r scanner) (Event, error) {
	var ev Event
	var data string
	var at int64
	if err := r.Scan(&ev.Seq, &ev.ID, &ev.Type, &data, &at); err != nil {
		return Event{}, err
	}
	ev.Data = []byte(data)
	ev.CreatedAt = storage.FromNanos(at)
	return ev, nil
}

func (s *SQLiteStore) Append(ctx context.Context, user, key string, ev Event) (Event, bool, error) {
	for range maxAppendAttempts {
		// The last seq is read and the event inserted in one transaction
		// (the caller's unit when there is one), as two statements: an
		// INSERT … SELECT from push_events itself, with RETURNING, made
		// SQLite stage its row in two temporary tables, which cost four
		// times the insert. OR FAIL: the one row either goes in or fails
		// its unique key, so there is nothing to undo, and inside a unit
		// the statement needs no statement journal.
		err := s.db.Tx(ctx, func(q storage.Querier) error {
			var last int64
			if err := q.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM push_events WHERE user_id = ?`, user).Scan(&last); err != nil {
				return err
			}
			ev.Seq = last + 1
			_, err := q.ExecContext(ctx, `
				INSERT OR FAIL INTO push_events (user_id, seq, id, ikey, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				user, ev.Seq, ev.ID, nullKey(key), ev.Type, string(ev.Data), storage.Nanos(ev.CreatedAt))
			return err
		})
		if err == nil {
			ev.CreatedAt = ev.CreatedAt.UTC()
			return ev, true, nil
		}
		if !storage.IsDuplicate(err) {
			return Event{}, false, fmt.Errorf("push: append event: %w", err)
		}
		if key != "" {
			got, err := s.byKey(ctx, user, key)
			if err == nil {
				return got, false, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return Event{}, false, err
			}
		}
		// Another writer took the seq: re-read and retry.
	}
	return Event{}, false, fmt.Errorf("push: append event: seq contention for %d attempts", maxAppendAttempts)
}

// InUnit reports whether the store's writes with ctx belong to the
// caller's storage.Atomic unit.
func (s *SQLiteStore) InUnit(ctx context.Context) bool { return s.db.InUnit(ctx) }

func (s *SQLiteStore) byKey(ctx context.Context, user, key string) (Event, error) {
	ev, err := scanEvent(s.db.Writer().QueryRowContext(ctx,
		`SELECT `+eventCols+` FROM push_events WHERE user_id = ? AND ikey = ?`, user, key))
	if err != nil {
		return Event{}, storage.Errors{NotFound: ErrNotFound, Context: "push: event by key"}.Map(err)
	}
	return ev, nil
}

// sqliteChunk keeps statements under SQLite's bound-parameter limit.
const sqliteChunk = 500

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// AppendMany writes all the users in one transaction, a chunk of users
// per statement: it reads each chunk's last seqs and existing keys, then
// inserts with one prepared statement. Holding the write lock makes the
// reads and the inserts atomic; a duplicate (another process on the file)
// rolls back and falls back to Append per user.
func (s *SQLiteStore) AppendMany(ctx context.Context, users []string, key string, evs []Event) ([]Appended, error) {
	if len(users) != len(evs) {
		return nil, errors.New("push: AppendMany: users and events differ in length")
	}
	out, err := s.appendAll(ctx, users, key, evs)
	if !storage.IsDuplicate(err) {
		return out, err
	}
	out = out[:0]
	for i, u := range users {
		ev, created, err := s.Append(ctx, u, key, evs[i])
		if err != nil {
			return out, err
		}
		out = append(out, Appended{User: u, Event: ev, Created: created})
	}
	return out, nil
}

func (s *SQLiteStore) appendAll(ctx context.Context, users []string, key string, evs []Event) ([]Appended, error) {
	out := make([]Appended, 0, len(users))
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for start := 0; start < len(users); start += sqliteChunk {
			end := min(start+sqliteChunk, len(users))
			res, err := appendChunk(ctx, q, users[start:end], key, evs[start:end])
			if err != nil {
				return err
			}
			out = append(out, res...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push: append events: %w", err)
	}
	return out, nil
}

// appendInsert is one prepared single-row insert, executed per row (the
// transaction rebinds it once): binding thousands of parameters into one
// multi-row statement costs more in the driver than it saves in SQLite.
const appendInsert = `INSERT INTO push_events (user_id, seq, id, ikey, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

func appendChunk(ctx context.Context, tx storage.Querier, users []string, key string, evs []Event) ([]Appended, error) {
	args := make([]any, 0, len(users)*7)
	for _, u := range users {
		args = append(args, u)
	}
	last := make(map[string]int64, len(users))
	rows, err := tx.QueryContext(ctx, `SELECT user_id, max(seq) FROM push_events WHERE user_id IN (`+
		placeholders(len(users))+`) GROUP BY user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("push: append events: %w", err)
	}
	for rows.Next() {
		var u string
		var seq int64
		if err := rows.Scan(&u, &seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("push: append events: %w", err)
		}
		last[u] = seq
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("push: append events: %w", err)
	}
	existing := map[string]Event{}
	if key != "" {
		rows, err := tx.QueryContext(ctx, `SELECT user_id, `+eventCols+` FROM push_events WHERE ikey = ? AND user_id IN (`+
			placeholders(len(users))+`)`, append([]any{key}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("push: append events: %w", err)
		}
		for rows.Next() {
			var u string
			var ev Event
			var data string
			var at int64
			if err := rows.Scan(&u, &ev.Seq, &ev.ID, &ev.Type, &data, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("push: append events: %w", err)
			}
			ev.Data, ev.CreatedAt = []byte(data), storage.FromNanos(at)
			existing[u] = ev
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("push: append events: %w", err)
		}
	}

	out := make([]Appended, len(users))
	for i, u := range users {
		if ev, ok := existing[u]; ok {
			out[i] = Appended{User: u, Event: ev}
			continue
		}
		ev := evs[i]
		last[u]++ // a user listed twice gets two events
		ev.Seq = last[u]
		ev.CreatedAt = ev.CreatedAt.UTC()
		out[i] = Appended{User: u, Event: ev, Created: true}
		if key != "" {
			existing[u] = ev
		}
		if _, err := tx.ExecContext(ctx, appendInsert, u, ev.Seq, ev.ID, nullKey(key), ev.Type, string(ev.Data), storage.Nanos(ev.CreatedAt)); err != nil {
			return nil, fmt.Errorf("push: append events: %w", err)
		}
	}
	return out, nil
}

func (s *SQLiteStore) Events(ctx context.Context, user string, after int64, limit int) ([]Event, error) {
	rows, err := s.db.Reader().QueryContext(ctx,
		`SELECT `+eventCols+` FROM push_events WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		user, after, limit)
	if err != nil {
		return nil, fmt.Errorf("push: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("push: events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("push: events: %w", err)
	}
	return out, nil
}

func (s *SQLiteStore) LastSeq(ctx context.Context, user string) (int64, error) {
	var seq int64
	if err := s.db.Reader().QueryRowContext(ctx,
		`SELECT coalesce(max(seq), 0) FROM push_events WHERE user_id = ?`, user).Scan(&seq); err != nil {
		return 0, fmt.Errorf("push: last seq: %w", err)
	}
	return seq, nil
}

func (s *SQLiteStore) Since(ctx context.Context, t time.Time, limit int) ([]UserEvent, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT user_id, `+eventCols+` FROM push_events
		WHERE created_at >= ? ORDER BY created_at, user_id, seq LIMIT ?`, storage.Nanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("push: events since: %w", err)
	}
	defer rows.Close()
	var out []UserEvent
	for rows.Next() {
		var ue UserEvent
		var data string
		var at int64
		if err := rows.Scan(&ue.User, &ue.Event.Seq, &ue.Event.ID, &ue.Event.Type, &data, &at); err != nil {
			return nil, fmt.Errorf("push: events since: %w", err)
		}
		ue.Event.Data, ue.Event.CreatedAt = []byte(data), storage.FromNanos(at)
		out = append(out, ue)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("push: events since: %w", err)
	}
	return out, nil
}
