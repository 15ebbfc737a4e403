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

// sqlitePolicySchema is version 4 of the push schema: the message policy.
// Budget slots are unique per (user, clinic, week, n) — the claim — and
// per (user, clinic, key) — a retry finds its own slot; deferred pushes
// are unique per (user, event).
const sqlitePolicySchema = `CREATE TABLE push_policies (
		clinic_id     TEXT    NOT NULL PRIMARY KEY,
		quiet_from    INTEGER NOT NULL,
		quiet_to      INTEGER NOT NULL,
		weekly_budget INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL
	);
	CREATE TABLE push_preferences (
		user_id    TEXT    NOT NULL,
		clinic_id  TEXT    NOT NULL,
		card_id    TEXT    NOT NULL, -- '' for the clinic as a whole
		marketing  INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (user_id, clinic_id, card_id)
	) WITHOUT ROWID;
	CREATE INDEX push_preferences_off ON push_preferences (clinic_id, card_id, user_id) WHERE marketing = 0;
	CREATE TABLE push_budget_slots (
		user_id    TEXT    NOT NULL,
		clinic_id  TEXT    NOT NULL,
		week       TEXT    NOT NULL,
		n          INTEGER NOT NULL,
		ikey       TEXT    NOT NULL,
		class      INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (user_id, clinic_id, week, n)
	) WITHOUT ROWID;
	CREATE UNIQUE INDEX push_budget_slots_key ON push_budget_slots (user_id, clinic_id, ikey);
	CREATE TABLE push_deferred (
		user_id    TEXT    NOT NULL,
		event_id   TEXT    NOT NULL,
		seq        INTEGER NOT NULL,
		type       TEXT    NOT NULL,
		ikey       TEXT    NOT NULL,
		title      TEXT    NOT NULL,
		body       TEXT    NOT NULL,
		clinic_id  TEXT    NOT NULL,
		class      INTEGER NOT NULL,
		not_before INTEGER NOT NULL,
		PRIMARY KEY (user_id, event_id)
	);
	CREATE INDEX push_deferred_due ON push_deferred (not_before);
	CREATE TABLE push_tallies (
		clinic_id TEXT    NOT NULL,
		day       TEXT    NOT NULL,
		class     INTEGER NOT NULL,
		reason    TEXT    NOT NULL,
		n         INTEGER NOT NULL,
		PRIMARY KEY (clinic_id, day, class, reason)
	) WITHOUT ROWID;
	CREATE TABLE push_deliveries (
		ikey   TEXT    NOT NULL PRIMARY KEY,
		sent   INTEGER NOT NULL,
		failed INTEGER NOT NULL
	) WITHOUT ROWID;`

func (s *SQLiteStore) ClinicPolicy(ctx context.Context, clinic string) (Policy, bool, error) {
	var p Policy
	err := s.db.Reader().QueryRowContext(ctx, `SELECT quiet_from, quiet_to, weekly_budget FROM push_policies WHERE clinic_id = ?`,
		clinic).Scan(&p.QuietFrom, &p.QuietTo, &p.WeeklyBudget)
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, false, nil
	}
	if err != nil {
		return Policy{}, false, fmt.Errorf("push: clinic policy: %w", err)
	}
	return p, true, nil
}

func (s *SQLiteStore) PutClinicPolicy(ctx context.Context, clinic string, p Policy, at time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO push_policies (clinic_id, quiet_from, quiet_to, weekly_budget, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (clinic_id) DO UPDATE SET quiet_from = excluded.quiet_from,
		quiet_to = excluded.quiet_to, weekly_budget = excluded.weekly_budget, updated_at = excluded.updated_at`,
		clinic, p.QuietFrom, p.QuietTo, p.WeeklyBudget, storage.Nanos(at))
	if err != nil {
		return fmt.Errorf("push: put clinic policy: %w", err)
	}
	return nil
}

func (s *SQLiteStore) Preferences(ctx context.Context, user string) ([]Preference, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT clinic_id, card_id, marketing, updated_at FROM push_preferences
		WHERE user_id = ? ORDER BY clinic_id, card_id`, user)
	if err != nil {
		return nil, fmt.Errorf("push: preferences: %w", err)
	}
	defer rows.Close()
	var out []Preference
	for rows.Next() {
		var p Preference
		var at int64
		if err := rows.Scan(&p.Clinic, &p.Card, &p.Marketing, &at); err != nil {
			return nil, fmt.Errorf("push: preferences: %w", err)
		}
		p.UpdatedAt = storage.FromNanos(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("push: preferences: %w", err)
	}
	return out, nil
}

func (s *SQLiteStore) PutPreferences(ctx context.Context, user string, prefs []Preference) error {
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for _, p := range prefs {
			if _, err := q.ExecContext(ctx, `INSERT INTO push_preferences (user_id, clinic_id, card_id, marketing, updated_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, clinic_id, card_id) DO UPDATE SET
				marketing = excluded.marketing, updated_at = excluded.updated_at`,
				user, p.Clinic, p.Card, p.Marketing, storage.Nanos(p.UpdatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("push: put preferences: %w", err)
	}
	return nil
}

func (s *SQLiteStore) OptedOut(ctx context.Context, clinic, card string, users []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(users); start += sqliteChunk {
		chunk := users[start:min(start+sqliteChunk, len(users))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, clinic, card)
		for _, u := range chunk {
			args = append(args, u)
		}
		rows, err := s.db.Reader().QueryContext(ctx, `SELECT user_id FROM push_preferences
			WHERE marketing = 0 AND clinic_id = ? AND card_id IN ('', ?) AND user_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("push: opted out: %w", err)
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, fmt.Errorf("push: opted out: %w", err)
			}
			out[u] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("push: opted out: %w", err)
		}
	}
	return out, nil
}

// ClaimSlots runs in one write transaction, chunk by chunk: it reads which
// claims already hold a slot by key, then inserts a slot at max(n)+1 of
// each other claim's (user, clinic, week) where that is within the budget,
// all in one INSERT … SELECT that returns the granted rows. A chunk that
// names a user twice, or whose insert hits a unique key (another process
// on the file took a slot), is claimed one by one instead.
func (s *SQLiteStore) ClaimSlots(ctx context.Context, clinic, week string, budget int, claims []Claim, at time.Time) ([]bool, error) {
	granted := make([]bool, len(claims))
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for start := 0; start < len(claims); start += sqliteChunk {
			chunk := claims[start:min(start+sqliteChunk, len(claims))]
			held, err := heldSlots(ctx, q, clinic, chunk)
			if err != nil {
				return err
			}
			var rest []int
			users := make(map[string]bool, len(chunk))
			distinct := true
			for i, c := range chunk {
				if held[c.User+"\x00"+c.Key] {
					granted[start+i] = true
					continue
				}
				rest = append(rest, i)
				distinct = distinct && !users[c.User]
				users[c.User] = true
			}
			if len(rest) == 0 {
				continue
			}
			if distinct {
				got, err := claimBatch(ctx, q, clinic, week, budget, chunk, rest, at)
				if err == nil {
					for _, i := range rest {
						granted[start+i] = got[chunk[i].User]
					}
					continue
				}
				if !storage.IsDuplicate(err) {
					return err
				}
			}
			for _, i := range rest {
				c := chunk[i]
				if held[c.User+"\x00"+c.Key] {
					granted[start+i] = true
					continue
				}
				ok, err := claimOne(ctx, q, clinic, week, budget, c, at)
				if err != nil {
					return err
				}
				granted[start+i] = ok
				if ok {
					held[c.User+"\x00"+c.Key] = true // the same user and key twice in a batch
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push: claim budget slots: %w", err)
	}
	return granted, nil
}

// claimBatch inserts one slot per claim chunk[i], i in idx (distinct
// users), where the user's week has room, and returns the users granted.
func claimBatch(ctx context.Context, q storage.Querier, clinic, week string, budget int, chunk []Claim, idx []int, at time.Time) (map[string]bool, error) {
	args := make([]any, 0, 4+3*len(idx))
	args = append(args, clinic, week, storage.Nanos(at), budget)
	for _, i := range idx {
		args = append(args, chunk[i].User, chunk[i].Key, int(chunk[i].Class))
	}
	const top = `coalesce((SELECT max(n) FROM push_budget_slots s WHERE s.user_id = v.u AND s.clinic_id = c.clinic AND s.week = c.week), 0)`
	rows, err := q.QueryContext(ctx, `WITH c(clinic, week, at, budget) AS (VALUES (?, ?, ?, ?)),
		v(u, k, cl) AS (VALUES `+strings.TrimSuffix(strings.Repeat("(?,?,?),", len(idx)), ",")+`)
		INSERT INTO push_budget_slots (user_id, clinic_id, week, n, ikey, class, created_at)
		SELECT v.u, c.clinic, c.week, `+top+` + 1, v.k, v.cl, c.at FROM v, c WHERE `+top+` < c.budget
		RETURNING user_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[string]bool, len(idx))
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		got[u] = true
	}
	return got, rows.Err()
}

// heldSlots reads which claims' keys already hold a slot. The query names
// users and keys as two IN lists (the index (user_id, clinic_id, ikey)
// serves it; a row-value IN over VALUES would scan the table) and the
// pairs are matched here.
func heldSlots(ctx context.Context, q storage.Querier, clinic string, claims []Claim) (map[string]bool, error) {
	users := make([]any, 0, len(claims))
	keys := make([]any, 0, 1)
	seenU, seenK := map[string]bool{}, map[string]bool{}
	want := make(map[string]bool, len(claims))
	for _, c := range claims {
		want[c.User+"\x00"+c.Key] = true
		if !seenU[c.User] {
			seenU[c.User] = true
			users = append(users, c.User)
		}
		if !seenK[c.Key] {
			seenK[c.Key] = true
			keys = append(keys, c.Key)
		}
	}
	args := append(append(users, clinic), keys...)
	rows, err := q.QueryContext(ctx, `SELECT user_id, ikey FROM push_budget_slots WHERE user_id IN (`+placeholders(len(users))+
		`) AND clinic_id = ? AND ikey IN (`+placeholders(len(keys))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var u, k string
		if err := rows.Scan(&u, &k); err != nil {
			return nil, err
		}
		if want[u+"\x00"+k] {
			held[u+"\x00"+k] = true
		}
	}
	return held, rows.Err()
}

func claimOne(ctx context.Context, q storage.Querier, clinic, week string, budget int, c Claim, at time.Time) (bool, error) {
	for range MaxWeeklyBudget + 1 {
		res, err := q.ExecContext(ctx, `INSERT INTO push_budget_slots (user_id, clinic_id, week, n, ikey, class, created_at)
			SELECT ?, ?, ?, coalesce(max(n), 0) + 1, ?, ?, ? FROM push_budget_slots
			WHERE user_id = ? AND clinic_id = ? AND week = ? HAVING coalesce(max(n), 0) < ?`,
			c.User, clinic, week, c.Key, int(c.Class), storage.Nanos(at), c.User, clinic, week, budget)
		if err == nil {
			n, err := res.RowsAffected()
			return n == 1, err
		}
		if !storage.IsDuplicate(err) {
			return false, err
		}
		var one int
		err = q.QueryRowContext(ctx, `SELECT 1 FROM push_budget_slots WHERE user_id = ? AND clinic_id = ? AND ikey = ?`,
			c.User, clinic, c.Key).Scan(&one)
		if err == nil {
			return true, nil // another writer claimed this very message
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		// Another writer took slot n: read again.
	}
	return false, errors.New("budget slot contention")
}

func (s *SQLiteStore) Defer(ctx context.Context, ds []Deferred) error {
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for _, d := range ds {
			if _, err := q.ExecContext(ctx, `INSERT INTO push_deferred (user_id, event_id, seq, type, ikey, title, body, clinic_id, class, not_before)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, event_id) DO NOTHING`,
				d.User, d.Event.ID, d.Event.Seq, d.Event.Type, d.Key, d.Alert.Title, d.Alert.Body, d.Clinic, int(d.Class),
				storage.Nanos(d.NotBefore)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("push: defer pushes: %w", err)
	}
	return nil
}

// TakeDue deletes the due rows and returns them in one statement: the
// single writer runs it whole, so no two callers get the same row.
func (s *SQLiteStore) TakeDue(ctx context.Context, now time.Time, limit int) ([]Deferred, error) {
	rows, err := s.db.Writer().QueryContext(ctx, `DELETE FROM push_deferred WHERE rowid IN (
			SELECT rowid FROM push_deferred WHERE not_before <= ? ORDER BY not_before LIMIT ?)
		RETURNING user_id, event_id, seq, type, ikey, title, body, clinic_id, class, not_before`, storage.Nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("push: take due pushes: %w", err)
	}
	defer rows.Close()
	var out []Deferred
	for rows.Next() {
		var d Deferred
		var class int
		var nb int64
		if err := rows.Scan(&d.User, &d.Event.ID, &d.Event.Seq, &d.Event.Type, &d.Key, &d.Alert.Title, &d.Alert.Body,
			&d.Clinic, &class, &nb); err != nil {
			return nil, fmt.Errorf("push: take due pushes: %w", err)
		}
		d.Class, d.NotBefore = Class(class), storage.FromNanos(nb)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("push: take due pushes: %w", err)
	}
	return out, nil
}
