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
	// Few patients switch marketing off: when the clinic's switches are
	// fewer than the users asked about, one range read of the partial
	// index gets them all, instead of a probe per user.
	all, err := s.optedOutAll(ctx, clinic, card, len(users))
	if err != nil {
		return nil, fmt.Errorf("push: opted out: %w", err)
	}
	if all != nil {
		for _, u := range users {
			if all[u] {
				out[u] = true
			}
		}
		return out, nil
	}
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

// optedOutAll reads every user with marketing off for the clinic (or the
// card) when there are at most limit of them; nil when there are more.
func (s *SQLiteStore) optedOutAll(ctx context.Context, clinic, card string, limit int) (map[string]bool, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT user_id FROM push_preferences
		WHERE marketing = 0 AND clinic_id = ? AND card_id IN ('', ?) LIMIT ?`, clinic, card, limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all := map[string]bool{}
	n := 0
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		all[u] = true
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n > limit {
		return nil, nil
	}
	return all, nil
}

// ClaimSlots spends the budget on a counter per (user, clinic, week): one
// upsert per chunk adds 1 where the count is below the budget and returns
// the rows it granted (a user named twice in a chunk is counted twice, in
// order). A claim whose key the user's inbox already holds was granted
// when its message was written, and spends nothing. The push service
// claims and appends in one Atomic unit, so a stop between the two cannot
// leave a slot spent without its message; and SQLite's single writer makes
// racing claims count one after the other.
func (s *SQLiteStore) ClaimSlots(ctx context.Context, clinic, week string, budget int, claims []Claim, at time.Time) ([]bool, error) {
	granted := make([]bool, len(claims))
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for start := 0; start < len(claims); start += sqliteChunk {
			chunk := claims[start:min(start+sqliteChunk, len(claims))]
			held, err := heldKeys(ctx, q, chunk)
			if err != nil {
				return err
			}
			var rest []int
			for i, c := range chunk {
				if held[c.User+"\x00"+c.Key] {
					granted[start+i] = true
					continue
				}
				rest = append(rest, i)
			}
			if len(rest) == 0 || budget <= 0 {
				continue
			}
			args := make([]any, 0, 3*len(rest)+1)
			for _, i := range rest {
				args = append(args, chunk[i].User, clinic, week)
			}
			args = append(args, budget)
			rows, err := q.QueryContext(ctx, `INSERT OR FAIL INTO push_budget_counts (user_id, clinic_id, week, n) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?,?,?,1),", len(rest)), ",")+`
				ON CONFLICT (user_id, clinic_id, week) DO UPDATE SET n = n + 1 WHERE n < ? RETURNING user_id`, args...)
			if err != nil {
				return err
			}
			got := map[string]int{}
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					rows.Close()
					return err
				}
				got[u]++
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, i := range rest {
				if u := chunk[i].User; got[u] > 0 {
					granted[start+i] = true
					got[u]--
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

// heldKeys reads which claims' messages are already in the user's inbox
// (by its key; a keyless message's claim key, "~" and its event id, is
// new by construction). The query names users and keys as two IN lists
// (the index (user_id, ikey) serves it) and the pairs are matched here.
func heldKeys(ctx context.Context, q storage.Querier, claims []Claim) (map[string]bool, error) {
	var users, keys []any
	seenU, seenK := map[string]bool{}, map[string]bool{}
	want := make(map[string]bool, len(claims))
	for _, c := range claims {
		if strings.HasPrefix(c.Key, "~") {
			continue
		}
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
	held := map[string]bool{}
	if len(users) == 0 {
		return held, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT user_id, ikey FROM push_events WHERE user_id IN (`+placeholders(len(users))+
		`) AND ikey IN (`+placeholders(len(keys))+`)`, append(users, keys...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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

// Atomic runs fn in one transaction that the other stores on the same
// database join (storage.Atomic): the push service claims budget and
// appends the message in one.
func (s *SQLiteStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.Atomic(ctx, fn)
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
