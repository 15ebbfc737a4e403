package referrals

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"carewallet/app/storage"
)

// SQLiteStore is the embedded adapter. Records are JSON bodies beside the
// columns they are looked up by; a link and its ancestor rows are written
// in one transaction.
type SQLiteStore struct {
	db   *storage.SQLite
	r, w storage.Querier
}

var sqliteErr = storage.Errors{NotFound: ErrNotFound, Duplicate: errDuplicate, Context: "referrals: sqlite"}

var sqliteMigrations = []string{`
CREATE TABLE referrals_programs (
	clinic_id TEXT NOT NULL, version INTEGER NOT NULL, created INTEGER NOT NULL, body TEXT NOT NULL,
	PRIMARY KEY (clinic_id, version));
CREATE TABLE referrals_codes (code TEXT PRIMARY KEY, owner TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE referrals_links (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, referee_id TEXT NOT NULL, referrer_id TEXT NOT NULL,
	created INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE (clinic_id, referee_id));
CREATE INDEX referrals_links_referrer ON referrals_links (clinic_id, referrer_id, created);
CREATE INDEX referrals_links_clinic ON referrals_links (clinic_id, id);
CREATE TABLE referrals_ancestors (
	clinic_id TEXT NOT NULL, ancestor TEXT NOT NULL, created INTEGER NOT NULL, link_id TEXT NOT NULL,
	PRIMARY KEY (clinic_id, ancestor, created, link_id)) WITHOUT ROWID;
CREATE TABLE referrals_decisions (link_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE referrals_visits (
	clinic_id TEXT NOT NULL, referee_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (clinic_id, referee_id));
CREATE TABLE referrals_rewards (
	clinic_id TEXT NOT NULL, receipt_id TEXT NOT NULL, level INTEGER NOT NULL, link_id TEXT NOT NULL,
	card_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (clinic_id, receipt_id, level));
CREATE INDEX referrals_rewards_link ON referrals_rewards (link_id) WHERE link_id != '';
CREATE INDEX referrals_rewards_card ON referrals_rewards (card_id) WHERE card_id != '';
CREATE TABLE referrals_clawbacks (
	clinic_id TEXT NOT NULL, receipt_id TEXT NOT NULL, level INTEGER NOT NULL, refund_key TEXT NOT NULL,
	created INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (clinic_id, receipt_id, level, refund_key));
CREATE TABLE referrals_cursors (clinic_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE referrals_slots (key TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID;
CREATE TABLE referrals_devices (
	device TEXT NOT NULL, patient_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (device, patient_id)) WITHOUT ROWID;
CREATE INDEX referrals_devices_patient ON referrals_devices (patient_id);
CREATE INDEX referrals_rewards_staff ON referrals_rewards (clinic_id, json_extract(body, '$.staff_id')) WHERE level = 0;
CREATE TABLE referrals_payouts (
	staff_id TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,
	PRIMARY KEY (staff_id, seq), UNIQUE (staff_id, key));
`, `
-- The report counts the tree in SQL: its columns beside the body.
ALTER TABLE referrals_links ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals_links ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals_links ADD COLUMN referrer_card TEXT NOT NULL DEFAULT '';
UPDATE referrals_links SET depth = json_extract(body, '$.depth'), held = coalesce(json_extract(body, '$.held'), 0),
	referrer_card = coalesce(json_extract(body, '$.referrer_card'), '');
CREATE INDEX referrals_links_depth ON referrals_links (clinic_id, depth, referee_id);
CREATE INDEX referrals_links_held ON referrals_links (clinic_id) WHERE held = 1;
`}

// NewSQLiteStore migrates the referrals' tables (component "referrals").
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "referrals", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db, r: db.Reader(), w: db.Writer()}, nil
}

func (s *SQLiteStore) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.w.ExecContext(ctx, q, args...)
	return sqliteErr.Map(err)
}

func (s *SQLiteStore) one(ctx context.Context, v any, q string, args ...any) error {
	var b string
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&b); err != nil {
		return sqliteErr.Map(err)
	}
	return json.Unmarshal([]byte(b), v)
}

// sqliteOne reads one record (nil and the error when there is none).
func sqliteOne[T any](ctx context.Context, s *SQLiteStore, q string, args ...any) (*T, error) {
	var v T
	if err := s.one(ctx, &v, q, args...); err != nil {
		return nil, err
	}
	return &v, nil
}

func sqliteAll[T any](ctx context.Context, q storage.Querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, sqliteErr.Map(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, sqliteErr.Map(err)
		}
		var v T
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, sqliteErr.Map(rows.Err())
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain records are stored
	}
	return string(b)
}

func (s *SQLiteStore) InsertProgram(ctx context.Context, p *Program) error {
	return s.exec(ctx, `INSERT INTO referrals_programs (clinic_id, version, created, body) VALUES (?, ?, ?, ?)`,
		p.ClinicID, p.Version, storage.Nanos(p.Created), js(p))
}

func (s *SQLiteStore) ProgramAt(ctx context.Context, clinicID string, t time.Time) (*Program, error) {
	var p Program
	var err error
	if t.IsZero() {
		err = s.one(ctx, &p, `SELECT body FROM referrals_programs WHERE clinic_id = ? ORDER BY version DESC LIMIT 1`, clinicID)
	} else {
		err = s.one(ctx, &p, `SELECT body FROM referrals_programs WHERE clinic_id = ? AND created <= ? ORDER BY version DESC LIMIT 1`,
			clinicID, storage.Nanos(t))
	}
	if err != nil {
		return nil, err
	}
	p.ClinicID = clinicID
	return &p, nil
}

func (s *SQLiteStore) ProgramClinics(ctx context.Context) ([]string, error) {
	return s.column(ctx, `SELECT DISTINCT clinic_id FROM referrals_programs ORDER BY clinic_id`)
}

func (s *SQLiteStore) InsertCode(ctx context.Context, c *Code) error {
	return s.exec(ctx, `INSERT INTO referrals_codes (code, owner, body) VALUES (?, ?, ?)`, c.Code, c.Owner, js(c))
}

func (s *SQLiteStore) Code(ctx context.Context, code string) (*Code, error) {
	return sqliteOne[Code](ctx, s, `SELECT body FROM referrals_codes WHERE code = ?`, code)
}

func (s *SQLiteStore) CodeByOwner(ctx context.Context, owner string) (*Code, error) {
	return sqliteOne[Code](ctx, s, `SELECT body FROM referrals_codes WHERE owner = ?`, owner)
}

// InsertLink writes the link and its ancestor rows in one transaction.
func (s *SQLiteStore) InsertLink(ctx context.Context, l *Link) error {
	return sqliteErr.Map(s.db.Tx(ctx, func(q storage.Querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO referrals_links (id, clinic_id, referee_id, referrer_id, created, body,
			depth, held, referrer_card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.ClinicID, l.RefereeID, l.ReferrerID, storage.Nanos(l.Created), js(l), l.Depth, l.Held, l.ReferrerCard); err != nil {
			return err
		}
		for _, a := range l.Ancestors {
			if _, err := q.ExecContext(ctx, `INSERT INTO referrals_ancestors (clinic_id, ancestor, created, link_id) VALUES (?, ?, ?, ?)`,
				l.ClinicID, a, storage.Nanos(l.Created), l.ID); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (s *SQLiteStore) Link(ctx context.Context, clinicID, refereeID string) (*Link, error) {
	return sqliteOne[Link](ctx, s, `SELECT body FROM referrals_links WHERE clinic_id = ? AND referee_id = ?`, clinicID, refereeID)
}

func (s *SQLiteStore) Links(ctx context.Context, clinicID string, refereeIDs []string) ([]Link, error) {
	// One point read per referee: the chain above a link asks for two at
	// most, and an IN list makes SQLite build a temporary index of its
	// values first, which here cost five times the two reads.
	out := make([]Link, 0, len(refereeIDs))
	for _, id := range refereeIDs {
		l, err := s.Link(ctx, clinicID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, nil
}

func (s *SQLiteStore) LinkByID(ctx context.Context, id string) (*Link, error) {
	return sqliteOne[Link](ctx, s, `SELECT body FROM referrals_links WHERE id = ?`, id)
}

func (s *SQLiteStore) Descendants(ctx context.Context, clinicID, ancestor string, after linkCursor, limit int) ([]Link, error) {
	return sqliteAll[Link](ctx, s.r, `SELECT l.body FROM referrals_ancestors a JOIN referrals_links l ON l.id = a.link_id
		WHERE a.clinic_id = ? AND a.ancestor = ? AND (a.created, a.link_id) > (?, ?)
		ORDER BY a.created, a.link_id LIMIT ?`, clinicID, ancestor, storage.Nanos(after.Created), after.ID, limit)
}

func (s *SQLiteStore) JoinsSince(ctx context.Context, clinicID, referrerID string, t time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM referrals_links WHERE clinic_id = ? AND referrer_id = ? AND created >= ?`,
		clinicID, referrerID, storage.Nanos(t)).Scan(&n)
	return n, sqliteErr.Map(err)
}

func (s *SQLiteStore) ClinicLinks(ctx context.Context, clinicID, afterID string, limit int) ([]Link, error) {
	return sqliteAll[Link](ctx, s.r, `SELECT body FROM referrals_links WHERE clinic_id = ? AND id > ? ORDER BY id LIMIT ?`,
		clinicID, afterID, limit)
}

func (s *SQLiteStore) ReferrerCounts(ctx context.Context, clinicID string) ([]ReferrerCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT referrer_id, max(referrer_card), count(*) FROM referrals_links
		WHERE clinic_id = ? AND referrer_id != '' GROUP BY referrer_id`, clinicID)
	if err != nil {
		return nil, sqliteErr.Map(err)
	}
	defer rows.Close()
	var rs []ReferrerCount
	for rows.Next() {
		var r ReferrerCount
		if err := rows.Scan(&r.ReferrerID, &r.CardID, &r.Friends); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// Depths reads the whole clinic from the covering index (clinic_id,
// depth, referee_id), or the listed patients by the unique key.
func (s *SQLiteStore) Depths(ctx context.Context, clinicID string, refereeIDs []string) (map[string]int, error) {
	q, args := `SELECT referee_id, depth FROM referrals_links WHERE clinic_id = ?`, []any{clinicID}
	if refereeIDs != nil {
		if len(refereeIDs) == 0 {
			return map[string]int{}, nil
		}
		q += ` AND referee_id IN (?` + strings.Repeat(`, ?`, len(refereeIDs)-1) + `)`
		for _, id := range refereeIDs {
			args = append(args, id)
		}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, sqliteErr.Map(err)
	}
	defer rows.Close()
	out := make(map[string]int, len(refereeIDs))
	for rows.Next() {
		var id string
		var d int
		if err := rows.Scan(&id, &d); err != nil {
			return nil, err
		}
		out[id] = d
	}
	return out, rows.Err()
}

func (s *SQLiteStore) HeldLinks(ctx context.Context, clinicID string) ([]Link, error) {
	return sqliteAll[Link](ctx, s.r, `SELECT body FROM referrals_links WHERE clinic_id = ? AND held = 1 ORDER BY created, id`, clinicID)
}

func (s *SQLiteStore) InsertDecision(ctx context.Context, d *Decision) error {
	return s.exec(ctx, `INSERT INTO referrals_decisions (link_id, body) VALUES (?, ?)`, d.LinkID, js(d))
}

func (s *SQLiteStore) Decision(ctx context.Context, linkID string) (*Decision, error) {
	return sqliteOne[Decision](ctx, s, `SELECT body FROM referrals_decisions WHERE link_id = ?`, linkID)
}

func (s *SQLiteStore) InsertVisit(ctx context.Context, v *Visit) error {
	return s.exec(ctx, `INSERT INTO referrals_visits (clinic_id, referee_id, body) VALUES (?, ?, ?)`, v.ClinicID, v.RefereeID, js(v))
}

func (s *SQLiteStore) Visit(ctx context.Context, clinicID, refereeID string) (*Visit, error) {
	return sqliteOne[Visit](ctx, s, `SELECT body FROM referrals_visits WHERE clinic_id = ? AND referee_id = ?`, clinicID, refereeID)
}

func (s *SQLiteStore) InsertReward(ctx context.Context, r *Reward) error {
	return s.exec(ctx, `INSERT INTO referrals_rewards (clinic_id, receipt_id, level, link_id, card_id, body) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ClinicID, r.ReceiptID, r.Level, r.LinkID, r.BeneficiaryCard, js(r))
}

func (s *SQLiteStore) Reward(ctx context.Context, clinicID, receiptID string, level int) (*Reward, error) {
	return sqliteOne[Reward](ctx, s, `SELECT body FROM referrals_rewards WHERE clinic_id = ? AND receipt_id = ? AND level = ?`,
		clinicID, receiptID, level)
}

func (s *SQLiteStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.Atomic(ctx, fn)
}

func (s *SQLiteStore) InsertRewards(ctx context.Context, rs []*Reward) ([]bool, error) {
	inserted := make([]bool, len(rs))
	err := s.db.Tx(ctx, func(q storage.Querier) error {
		for i, r := range rs {
			res, err := q.ExecContext(ctx, `INSERT INTO referrals_rewards (clinic_id, receipt_id, level, link_id, card_id, body)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (clinic_id, receipt_id, level) DO NOTHING`,
				r.ClinicID, r.ReceiptID, r.Level, r.LinkID, r.BeneficiaryCard, js(r))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			inserted[i] = n == 1
		}
		return nil
	})
	return inserted, sqliteErr.Map(err)
}

func (s *SQLiteStore) ReceiptRewards(ctx context.Context, clinicID, receiptID string) ([]Reward, error) {
	return sqliteAll[Reward](ctx, s.r, `SELECT body FROM referrals_rewards WHERE clinic_id = ? AND receipt_id = ? ORDER BY level`,
		clinicID, receiptID)
}

func (s *SQLiteStore) RewardsByLink(ctx context.Context, linkID string) ([]Reward, error) {
	return sqliteAll[Reward](ctx, s.r, `SELECT body FROM referrals_rewards WHERE link_id = ? ORDER BY receipt_id, level`, linkID)
}

func (s *SQLiteStore) RewardsByCard(ctx context.Context, cardID string) ([]Reward, error) {
	return sqliteAll[Reward](ctx, s.r, `SELECT body FROM referrals_rewards WHERE card_id = ? ORDER BY receipt_id, level`, cardID)
}

func (s *SQLiteStore) ClinicRewards(ctx context.Context, clinicID string) ([]Reward, error) {
	return sqliteAll[Reward](ctx, s.r, `SELECT body FROM referrals_rewards WHERE clinic_id = ? ORDER BY receipt_id, level`, clinicID)
}

func (s *SQLiteStore) InsertClawback(ctx context.Context, c *Clawback) error {
	return s.exec(ctx, `INSERT INTO referrals_clawbacks (clinic_id, receipt_id, level, refund_key, created, body) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ClinicID, c.ReceiptID, c.Level, c.RefundKey, storage.Nanos(c.Created), js(c))
}

func (s *SQLiteStore) Clawbacks(ctx context.Context, clinicID, receiptID string, level int) ([]Clawback, error) {
	return sqliteAll[Clawback](ctx, s.r, `SELECT body FROM referrals_clawbacks WHERE clinic_id = ? AND receipt_id = ? AND level = ?
		ORDER BY created, refund_key`, clinicID, receiptID, level)
}

func (s *SQLiteStore) Cursor(ctx context.Context, clinicID string) (time.Time, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT at FROM referrals_cursors WHERE clinic_id = ?`, clinicID).Scan(&at)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	return storage.FromNanos(at), sqliteErr.Map(err)
}

func (s *SQLiteStore) SetCursor(ctx context.Context, clinicID string, t time.Time) error {
	return s.exec(ctx, `INSERT INTO referrals_cursors (clinic_id, at) VALUES (?, ?)
		ON CONFLICT (clinic_id) DO UPDATE SET at = max(at, excluded.at)`, clinicID, storage.Nanos(t))
}

func (s *SQLiteStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	return s.exec(ctx, `INSERT INTO referrals_slots (key, n, at) VALUES (?, ?, ?)`, key, n, storage.Nanos(at))
}

func (s *SQLiteStore) Slots(ctx context.Context, key string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM referrals_slots WHERE key = ?`, key).Scan(&n)
	return n, sqliteErr.Map(err)
}

func (s *SQLiteStore) ClinicVisits(ctx context.Context, clinicID string) ([]Visit, error) {
	return sqliteAll[Visit](ctx, s.r, `SELECT body FROM referrals_visits WHERE clinic_id = ?`, clinicID)
}

func (s *SQLiteStore) InsertDevice(ctx context.Context, deviceHash, patientID string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO referrals_devices (device, patient_id, at) VALUES (?, ?, ?)`, deviceHash, patientID, storage.Nanos(at))
}

func (s *SQLiteStore) DeviceUsers(ctx context.Context, patientID string) ([]string, error) {
	// Sorted and without repeats, made so here: DISTINCT and ORDER BY
	// would each make SQLite build a temporary table, for the few rows a
	// patient's devices have.
	users, err := s.column(ctx, `SELECT o.patient_id FROM referrals_devices d
		JOIN referrals_devices o ON o.device = d.device WHERE d.patient_id = ?`, patientID)
	if err != nil {
		return nil, err
	}
	slices.Sort(users)
	return slices.Compact(users), nil
}

func (s *SQLiteStore) StaffRewards(ctx context.Context, clinicID, staffID string) ([]Reward, error) {
	return sqliteAll[Reward](ctx, s.r, `SELECT body FROM referrals_rewards
		WHERE clinic_id = ? AND json_extract(body, '$.staff_id') = ? AND level = 0 ORDER BY receipt_id`, clinicID, staffID)
}

func (s *SQLiteStore) InsertPayout(ctx context.Context, p *Payout) error {
	return s.exec(ctx, `INSERT INTO referrals_payouts (staff_id, seq, key, body) VALUES (?, ?, ?, ?)`,
		p.StaffID, p.Seq, p.Key, js(p))
}

func (s *SQLiteStore) Payouts(ctx context.Context, staffID string) ([]Payout, error) {
	return sqliteAll[Payout](ctx, s.r, `SELECT body FROM referrals_payouts WHERE staff_id = ? ORDER BY seq`, staffID)
}

func (s *SQLiteStore) PayoutByKey(ctx context.Context, staffID, key string) (*Payout, error) {
	return sqliteOne[Payout](ctx, s, `SELECT body FROM referrals_payouts WHERE staff_id = ? AND key = ?`, staffID, key)
}

var _ Store = (*SQLiteStore)(nil)

// column reads the one text column a query selects.
func (s *SQLiteStore) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, sqliteErr.Map(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
