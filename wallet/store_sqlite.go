package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"carewallet/app/storage"
)

// SQLiteStore is the embedded adapter. Each ledger commit is one
// transaction on the single writer connection: it checks the idempotency
// key, reads the head and the open lots, inserts the entry at seq+1 and
// updates the lot rows (a cache of the entries' deltas) together, so the
// cache can never disagree with the facts. The unique keys of the MongoDB
// adapter are kept here too.
type SQLiteStore struct {
	db   *storage.SQLite
	r, w storage.Querier // cached statements on the read pool and the writer
}

var sqliteMigrations = []string{`
CREATE TABLE wallet_programs (
	clinic_id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
	PRIMARY KEY (clinic_id, version));
CREATE TABLE wallet_dependants (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE wallet_guardians (
	guardian_id TEXT NOT NULL, dependant_id TEXT NOT NULL, person_key TEXT NOT NULL, created INTEGER NOT NULL,
	PRIMARY KEY (guardian_id, person_key), UNIQUE (dependant_id, guardian_id));
CREATE TABLE wallet_cards (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, patient_id TEXT NOT NULL, holder_key TEXT NOT NULL,
	dependant_id TEXT NOT NULL, slot INTEGER NOT NULL, status TEXT NOT NULL, issued_by TEXT NOT NULL,
	created INTEGER NOT NULL, birth_md TEXT NOT NULL, challenge_id TEXT NOT NULL, holder TEXT NOT NULL,
	UNIQUE (clinic_id, holder_key, slot));
CREATE INDEX wallet_cards_patient ON wallet_cards (patient_id);
CREATE INDEX wallet_cards_dependant ON wallet_cards (dependant_id) WHERE dependant_id != '';
CREATE INDEX wallet_cards_birthday ON wallet_cards (birth_md, id) WHERE birth_md != '';
CREATE INDEX wallet_cards_created ON wallet_cards (clinic_id, created, id);
CREATE TABLE wallet_challenges (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE wallet_attempts (challenge_id TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (challenge_id, n)) WITHOUT ROWID;
CREATE TABLE wallet_spends (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, receipt_id TEXT NOT NULL, slot INTEGER NOT NULL, body TEXT NOT NULL,
	UNIQUE (clinic_id, receipt_id, slot));
CREATE TABLE wallet_receipts (
	clinic_id TEXT NOT NULL, receipt_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (clinic_id, receipt_id));
CREATE TABLE wallet_entries (
	card_id TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
	amount INTEGER NOT NULL, balance_after INTEGER NOT NULL, paid_after INTEGER NOT NULL,
	clinic_id TEXT NOT NULL, patient_id TEXT NOT NULL, staff_id TEXT NOT NULL, receipt_id TEXT NOT NULL,
	reason TEXT NOT NULL, created INTEGER NOT NULL, fingerprint TEXT NOT NULL, lots TEXT NOT NULL, details TEXT NOT NULL,
	PRIMARY KEY (card_id, seq), UNIQUE (card_id, key));
CREATE INDEX wallet_entries_receipt ON wallet_entries (card_id, receipt_id) WHERE receipt_id != '';
CREATE INDEX wallet_entries_journal ON wallet_entries (clinic_id, created, card_id, seq);
CREATE TABLE wallet_lots (
	id TEXT PRIMARY KEY, card_id TEXT NOT NULL, clinic_id TEXT NOT NULL, kind TEXT NOT NULL,
	points INTEGER NOT NULL, remaining INTEGER NOT NULL, burns_at INTEGER NOT NULL, warn_at INTEGER NOT NULL,
	warned INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL);
CREATE INDEX wallet_lots_card ON wallet_lots (card_id) WHERE remaining > 0;
CREATE INDEX wallet_lots_burn ON wallet_lots (burns_at) WHERE remaining > 0;
CREATE INDEX wallet_lots_warn ON wallet_lots (warn_at) WHERE remaining > 0 AND warned = 0;
CREATE TABLE wallet_card_codes (
	code TEXT PRIMARY KEY, card_id TEXT NOT NULL, clinic_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX wallet_card_codes_exp ON wallet_card_codes (expires_at);
`, `
DROP INDEX wallet_lots_burn;
CREATE INDEX wallet_lots_burn ON wallet_lots (burns_at, card_id) WHERE remaining > 0;
`}

// The commit path's statements.
const (
	qEntryByKey     = `SELECT ` + entryCols + ` FROM wallet_entries WHERE card_id = ? AND key = ?`
	qHead           = `SELECT seq, balance_after, paid_after FROM wallet_entries WHERE card_id = ? ORDER BY seq DESC LIMIT 1`
	qOpenLots       = `SELECT id, clinic_id, kind, points, remaining, burns_at, warn_at, seq FROM wallet_lots WHERE card_id = ? AND remaining > 0`
	qReceiptEntries = `SELECT ` + entryCols + ` FROM wallet_entries WHERE card_id = ? AND receipt_id = ? AND seq <= ? ORDER BY seq`
	qInsertEntry    = `INSERT INTO wallet_entries (` + entryCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qLotDelta       = `UPDATE wallet_lots SET remaining = remaining + ? WHERE id = ?`
	qInsertLot      = `INSERT INTO wallet_lots (id, card_id, clinic_id, kind, points, remaining, burns_at, warn_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// NewSQLiteStore migrates the wallet's tables (component "wallet").
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "wallet", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db, r: db.Reader(), w: db.Writer()}, nil
}

func sqlErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if storage.IsDuplicate(err) {
		return errDuplicate // the driver's text holds the key's value: never pass it on
	}
	return err
}

func (s *SQLiteStore) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.w.ExecContext(ctx, q, args...)
	return sqlErr(err)
}

func (s *SQLiteStore) body(ctx context.Context, v any, q string, args ...any) error {
	var b string
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&b); err != nil {
		return sqlErr(err)
	}
	return json.Unmarshal([]byte(b), v)
}

func (s *SQLiteStore) InsertProgram(ctx context.Context, p *Program) error {
	return s.exec(ctx, `INSERT INTO wallet_programs (clinic_id, version, body) VALUES (?, ?, ?)`, p.ClinicID, p.Version, string(mustJSON(p)))
}

func (s *SQLiteStore) LatestProgram(ctx context.Context, clinicID string) (*Program, error) {
	var p Program
	err := s.body(ctx, &p, `SELECT body FROM wallet_programs WHERE clinic_id = ? ORDER BY version DESC LIMIT 1`, clinicID)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *SQLiteStore) LatestProgramVersion(ctx context.Context, clinicID string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM wallet_programs WHERE clinic_id = ?`, clinicID).Scan(&v)
	return v, err
}

func (s *SQLiteStore) InsertDependant(ctx context.Context, d *Dependant) error {
	return s.exec(ctx, `INSERT INTO wallet_dependants (id, body) VALUES (?, ?)`, d.ID, string(mustJSON(d)))
}

func (s *SQLiteStore) Dependant(ctx context.Context, id string) (*Dependant, error) {
	var d Dependant
	if err := s.body(ctx, &d, `SELECT body FROM wallet_dependants WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *SQLiteStore) InsertGuardianship(ctx context.Context, g *Guardianship) error {
	return s.exec(ctx, `INSERT INTO wallet_guardians (guardian_id, dependant_id, person_key, created) VALUES (?, ?, ?, ?)`,
		g.GuardianID, g.DependantID, g.PersonKey, ns(g.Created))
}

func (s *SQLiteStore) guardianships(ctx context.Context, q string, arg string) ([]Guardianship, error) {
	rows, err := s.r.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Guardianship
	for rows.Next() {
		var g Guardianship
		var c int64
		if err := rows.Scan(&g.GuardianID, &g.DependantID, &g.PersonKey, &c); err != nil {
			return nil, err
		}
		g.Created = fromNS(c)
		out = append(out, g)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) GuardianshipsOf(ctx context.Context, guardianID string) ([]Guardianship, error) {
	return s.guardianships(ctx, `SELECT guardian_id, dependant_id, person_key, created FROM wallet_guardians WHERE guardian_id = ?`, guardianID)
}

func (s *SQLiteStore) GuardiansOf(ctx context.Context, dependantID string) ([]Guardianship, error) {
	return s.guardianships(ctx, `SELECT guardian_id, dependant_id, person_key, created FROM wallet_guardians WHERE dependant_id = ?`, dependantID)
}

func (s *SQLiteStore) InsertCard(ctx context.Context, c *Card) error {
	return s.exec(ctx, `INSERT INTO wallet_cards (id, clinic_id, patient_id, holder_key, dependant_id, slot, status,
		issued_by, created, birth_md, challenge_id, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ClinicID, c.PatientID, c.Holder.key(), c.Holder.DependantID, c.Slot, c.Status, c.IssuedBy,
		ns(c.Created), c.Holder.birthMD(), c.ChallengeID, string(mustJSON(c.Holder)))
}

const cardCols = `id, clinic_id, patient_id, slot, status, issued_by, created, challenge_id, holder`

func scanCard(sc row) (*Card, error) {
	var c Card
	var created int64
	var holder string
	if err := sc.Scan(&c.ID, &c.ClinicID, &c.PatientID, &c.Slot, &c.Status, &c.IssuedBy, &created, &c.ChallengeID, &holder); err != nil {
		return nil, sqlErr(err)
	}
	c.Created = fromNS(created)
	if err := json.Unmarshal([]byte(holder), &c.Holder); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *SQLiteStore) cards(ctx context.Context, q string, args ...any) ([]Card, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) Card(ctx context.Context, id string) (*Card, error) {
	return scanCard(s.r.QueryRowContext(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE id = ?`, id))
}

func (s *SQLiteStore) CardsByHolder(ctx context.Context, clinicID, holderKey string) ([]Card, error) {
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE clinic_id = ? AND holder_key = ? ORDER BY slot`, clinicID, holderKey)
}

func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (s *SQLiteStore) CardsByPatient(ctx context.Context, ids []string) ([]Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE patient_id IN (`+inList(len(ids))+`) ORDER BY created, id`, anys(ids)...)
}

func (s *SQLiteStore) CardsByDependant(ctx context.Context, ids []string) ([]Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE dependant_id IN (`+inList(len(ids))+`) ORDER BY created, id`, anys(ids)...)
}

func (s *SQLiteStore) ActivateCard(ctx context.Context, id string) error {
	return s.exec(ctx, `UPDATE wallet_cards SET status = 'active' WHERE id = ?`, id)
}

func (s *SQLiteStore) CardsByBirthday(ctx context.Context, mds []string, afterID string, limit int) ([]Card, error) {
	if len(mds) == 0 {
		return nil, nil
	}
	args := append(anys(mds), afterID, limit)
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE birth_md IN (`+inList(len(mds))+`)
		AND status = 'active' AND id > ? ORDER BY id LIMIT ?`, args...)
}

func (s *SQLiteStore) InsertChallenge(ctx context.Context, c *Challenge) error {
	return s.exec(ctx, `INSERT INTO wallet_challenges (id, body) VALUES (?, ?)`, c.ID, string(mustJSON(c)))
}

func (s *SQLiteStore) Challenge(ctx context.Context, id string) (*Challenge, error) {
	var c Challenge
	if err := s.body(ctx, &c, `SELECT body FROM wallet_challenges WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *SQLiteStore) InsertAttempt(ctx context.Context, challengeID string, n int) error {
	return s.exec(ctx, `INSERT INTO wallet_attempts (challenge_id, n) VALUES (?, ?)`, challengeID, n)
}

func (s *SQLiteStore) Attempts(ctx context.Context, challengeID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM wallet_attempts WHERE challenge_id = ?`, challengeID).Scan(&n)
	return n, err
}

func (s *SQLiteStore) InsertSpend(ctx context.Context, sp *Spend) error {
	return s.exec(ctx, `INSERT INTO wallet_spends (id, clinic_id, receipt_id, slot, body) VALUES (?, ?, ?, ?, ?)`,
		sp.ID, sp.ClinicID, sp.ReceiptID, sp.Slot, string(mustJSON(sp)))
}

func (s *SQLiteStore) Spend(ctx context.Context, id string) (*Spend, error) {
	var sp Spend
	if err := s.body(ctx, &sp, `SELECT body FROM wallet_spends WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return &sp, nil
}

func (s *SQLiteStore) SpendsByReceipt(ctx context.Context, clinicID, receiptID string) ([]Spend, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM wallet_spends WHERE clinic_id = ? AND receipt_id = ? ORDER BY slot`, clinicID, receiptID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Spend
	for rows.Next() {
		var b string
		var sp Spend
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(b), &sp); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) InsertReceipt(ctx context.Context, r *Receipt) error {
	return s.exec(ctx, `INSERT INTO wallet_receipts (clinic_id, receipt_id, body) VALUES (?, ?, ?)`, r.ClinicID, r.ReceiptID, string(mustJSON(r)))
}

func (s *SQLiteStore) Receipt(ctx context.Context, clinicID, receiptID string) (*Receipt, error) {
	var r Receipt
	if err := s.body(ctx, &r, `SELECT body FROM wallet_receipts WHERE clinic_id = ? AND receipt_id = ?`, clinicID, receiptID); err != nil {
		return nil, err
	}
	return &r, nil
}

const entryCols = `card_id, seq, key, kind, amount, balance_after, paid_after, clinic_id, patient_id, staff_id,
	receipt_id, reason, created, fingerprint, lots, details`

func scanEntry(sc row) (*Entry, error) {
	var e Entry
	var created int64
	var lots, details string
	if err := sc.Scan(&e.CardID, &e.Seq, &e.Key, &e.Kind, &e.Amount, &e.BalanceAfter, &e.PaidAfter, &e.ClinicID,
		&e.PatientID, &e.StaffID, &e.ReceiptID, &e.Reason, &created, &e.Fingerprint, &lots, &details); err != nil {
		return nil, sqlErr(err)
	}
	e.Created = fromNS(created)
	if err := json.Unmarshal([]byte(lots), &e.Lots); err != nil {
		return nil, err
	}
	if details != "" {
		e.Details = json.RawMessage(details)
	}
	return &e, nil
}

// row is what scans one result: *sql.Row or *sql.Rows.
type row interface{ Scan(...any) error }

func entries(ctx context.Context, db storage.Querier, q string, args ...any) ([]Entry, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// sqliteLedger is the commit protocol's primitives on one querier: a
// write transaction inside Atomically, the read pool for plain reads.
type sqliteLedger struct{ q storage.Querier }

// Atomically runs fn in one write transaction: the entry and the lot rows
// it changes are written together.
func (s *SQLiteStore) Atomically(ctx context.Context, fn func(LedgerTx) error) error {
	return s.db.Tx(ctx, func(tx storage.Querier) error { return fn(sqliteLedger{tx}) })
}

func (s *SQLiteStore) EntryByKey(ctx context.Context, cardID, key string) (*Entry, error) {
	return sqliteLedger{s.r}.EntryByKey(ctx, cardID, key)
}

func (s *SQLiteStore) State(ctx context.Context, cardID string) (*State, error) {
	return sqliteLedger{s.r}.State(ctx, cardID)
}

func (s *SQLiteStore) Entries(ctx context.Context, cardID string, afterSeq int64, limit int) ([]Entry, error) {
	return entries(ctx, s.r, `SELECT `+entryCols+` FROM wallet_entries WHERE card_id = ? AND seq > ? ORDER BY seq LIMIT ?`, cardID, afterSeq, limit)
}

func (l sqliteLedger) EntryByKey(ctx context.Context, cardID, key string) (*Entry, error) {
	return scanEntry(l.q.QueryRowContext(ctx, qEntryByKey, cardID, key))
}

func (l sqliteLedger) ReceiptEntries(ctx context.Context, cardID, receiptID string, throughSeq int64) ([]Entry, error) {
	return entries(ctx, l.q, qReceiptEntries, cardID, receiptID, throughSeq)
}

// State reads the head entry and the open lot rows.
func (l sqliteLedger) State(ctx context.Context, cardID string) (*State, error) {
	st := &State{}
	err := l.q.QueryRowContext(ctx, qHead, cardID).Scan(&st.Seq, &st.Balance, &st.Paid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := l.q.QueryContext(ctx, qOpenLots, cardID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		l := Lot{CardID: cardID}
		var b, w int64
		if err := rows.Scan(&l.ID, &l.ClinicID, &l.Kind, &l.Points, &l.Remaining, &b, &w, &l.Seq); err != nil {
			return nil, err
		}
		l.BurnsAt, l.WarnAt = fromNS(b), fromNS(w)
		st.Lots = append(st.Lots, l)
	}
	sortLots(st.Lots)
	return st, rows.Err()
}

// InsertEntry inserts the entry row; the state after it lives in the lot
// rows (CacheLots, same transaction) and the entry's own columns.
func (l sqliteLedger) InsertEntry(ctx context.Context, e *Entry, _ *State) error {
	_, err := l.q.ExecContext(ctx, qInsertEntry,
		e.CardID, e.Seq, e.Key, e.Kind, e.Amount, e.BalanceAfter, e.PaidAfter, e.ClinicID, e.PatientID, e.StaffID,
		e.ReceiptID, e.Reason, ns(e.Created), e.Fingerprint, string(mustJSON(e.Lots)), string(e.Details))
	return sqlErr(err)
}

// CacheLots inserts the entry's new lot and applies its other deltas.
func (l sqliteLedger) CacheLots(ctx context.Context, e *Entry, _ *State) error {
	for _, d := range e.Lots {
		if e.NewLot != nil && d.LotID == e.NewLot.ID {
			continue
		}
		if _, err := l.q.ExecContext(ctx, qLotDelta, d.Delta, d.LotID); err != nil {
			return err
		}
	}
	if n := e.NewLot; n != nil {
		if _, err := l.q.ExecContext(ctx, qInsertLot, n.ID, e.CardID, e.ClinicID, n.Kind, n.Points, n.Points, ns(n.BurnsAt), ns(n.WarnAt), e.Seq); err != nil {
			return sqlErr(err)
		}
	}
	return nil
}

func (s *SQLiteStore) lots(ctx context.Context, q string, args ...any) ([]Lot, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lot
	for rows.Next() {
		var l Lot
		var b, w int64
		if err := rows.Scan(&l.ID, &l.CardID, &l.ClinicID, &l.Kind, &l.Points, &l.Remaining, &b, &w, &l.Seq); err != nil {
			return nil, err
		}
		l.BurnsAt, l.WarnAt = fromNS(b), fromNS(w)
		out = append(out, l)
	}
	return out, rows.Err()
}

const lotCols = `id, card_id, clinic_id, kind, points, remaining, burns_at, warn_at, seq`

func (s *SQLiteStore) DueLots(ctx context.Context, before time.Time, limit int) ([]Lot, error) {
	return s.lots(ctx, `SELECT `+lotCols+` FROM wallet_lots WHERE remaining > 0 AND burns_at <= ? ORDER BY burns_at, card_id LIMIT ?`, ns(before), limit)
}

func (s *SQLiteStore) WarnLots(ctx context.Context, now time.Time, limit int) ([]Lot, error) {
	return s.lots(ctx, `SELECT `+lotCols+` FROM wallet_lots WHERE remaining > 0 AND warned = 0 AND warn_at <= ? AND burns_at > ?
		ORDER BY card_id, burns_at, id LIMIT ?`, ns(now), ns(now), limit)
}

func (s *SQLiteStore) MarkWarned(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.exec(ctx, `UPDATE wallet_lots SET warned = 1 WHERE id IN (`+inList(len(ids))+`)`, anys(ids)...)
}

// RepairLots has nothing to repair: lots change in the entry's transaction.
func (s *SQLiteStore) RepairLots(ctx context.Context, olderThan time.Time, limit int) (int, error) {
	return 0, nil
}

// SyncLots is a no-op: the lot rows change in the entry's transaction.
func (s *SQLiteStore) SyncLots(ctx context.Context, cardID string) error { return nil }

func (s *SQLiteStore) InsertCardCode(ctx context.Context, c *cardCodeRec) error {
	return s.exec(ctx, `INSERT INTO wallet_card_codes (code, card_id, clinic_id, expires_at) VALUES (?, ?, ?, ?)`,
		c.Code, c.CardID, c.ClinicID, ns(c.ExpiresAt))
}

func (s *SQLiteStore) CardCode(ctx context.Context, code string) (*cardCodeRec, error) {
	var c cardCodeRec
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT code, card_id, clinic_id, expires_at FROM wallet_card_codes WHERE code = ?`, code).
		Scan(&c.Code, &c.CardID, &c.ClinicID, &exp)
	if err != nil {
		return nil, sqlErr(err)
	}
	c.ExpiresAt = fromNS(exp)
	return &c, nil
}

func (s *SQLiteStore) PurgeCardCodes(ctx context.Context, before time.Time) error {
	return s.exec(ctx, `DELETE FROM wallet_card_codes WHERE expires_at < ?`, ns(before))
}

func timeRange(col string, from, to time.Time, where []string, args []any) ([]string, []any) {
	if !from.IsZero() {
		where, args = append(where, col+" >= ?"), append(args, ns(from))
	}
	if !to.IsZero() {
		where, args = append(where, col+" < ?"), append(args, ns(to))
	}
	return where, args
}

func (s *SQLiteStore) Journal(ctx context.Context, f JournalFilter, cards []string, after journalCursor, limit int) ([]Entry, error) {
	where, args := []string{"clinic_id = ?"}, []any{f.ClinicID}
	if len(cards) > 0 {
		where, args = append(where, "card_id IN ("+inList(len(cards))+")"), append(args, anys(cards)...)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Reason != "" {
		where, args = append(where, "instr(lower(reason), lower(?)) > 0"), append(args, f.Reason)
	}
	where, args = timeRange("created", f.From, f.To, where, args)
	if !after.Created.IsZero() {
		where, args = append(where, "(created, card_id, seq) > (?, ?, ?)"), append(args, ns(after.Created), after.CardID, after.Seq)
	}
	args = append(args, limit)
	return entries(ctx, s.r, `SELECT `+entryCols+` FROM wallet_entries WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created, card_id, seq LIMIT ?`, args...)
}

func (s *SQLiteStore) CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after cardCursor, limit int) ([]Card, error) {
	where, args := timeRange("created", from, to, []string{"clinic_id = ?"}, []any{clinicID})
	if !after.Created.IsZero() {
		where, args = append(where, "(created, id) > (?, ?)"), append(args, ns(after.Created), after.ID)
	}
	args = append(args, limit)
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE `+strings.Join(where, " AND ")+` ORDER BY created, id LIMIT ?`, args...)
}

func (s *SQLiteStore) CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error) {
	where, args := timeRange("created", from, to, []string{"clinic_id = ?", "issued_by != ''"}, []any{clinicID})
	rows, err := s.r.QueryContext(ctx, `SELECT issued_by, count(*) FROM wallet_cards WHERE `+strings.Join(where, " AND ")+
		` GROUP BY issued_by ORDER BY issued_by`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StaffCards
	for rows.Next() {
		var r StaffCards
		if err := rows.Scan(&r.StaffID, &r.Cards); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) SumByKind(ctx context.Context, clinicID string, from, to time.Time) (map[string]int64, error) {
	where, args := timeRange("created", from, to, []string{"clinic_id = ?"}, []any{clinicID})
	rows, err := s.r.QueryContext(ctx, `SELECT kind, amount < 0, sum(amount) FROM wallet_entries WHERE `+
		strings.Join(where, " AND ")+` GROUP BY kind, amount < 0`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var neg bool
		var sum int64
		if err := rows.Scan(&k, &neg, &sum); err != nil {
			return nil, err
		}
		if neg {
			k += "-"
		}
		out[k] += sum
	}
	return out, rows.Err()
}

var _ Store = (*SQLiteStore)(nil)
