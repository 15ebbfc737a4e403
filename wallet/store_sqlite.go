package wallet

import (
	"context"
	"encoding/json"
	"strings"

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
`, `
-- A card's open lots in burn order (the card view's calendar, the lot
-- list's pages) without reading all of them, from the index alone.
DROP INDEX wallet_lots_card;
CREATE INDEX wallet_lots_card ON wallet_lots (card_id, burns_at, id, remaining, points, kind, clinic_id, warn_at, seq)
	WHERE remaining > 0;
`, `
CREATE TABLE wallet_receipt_cards (
	clinic_id TEXT NOT NULL, receipt_id TEXT NOT NULL, card_id TEXT NOT NULL, PRIMARY KEY (clinic_id, receipt_id)) WITHOUT ROWID;
`, `
CREATE TABLE wallet_slots (key TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID;
`, `
-- Guardianship per clinic: a grant opens one clinic's cards of a
-- dependant. Existing guardians keep the cards they could read: a grant at
-- every clinic where the dependant has a card, and one for the guardian
-- each card's codes go to.
CREATE TABLE wallet_grants (
	clinic_id TEXT NOT NULL, dependant_id TEXT NOT NULL, guardian_id TEXT NOT NULL, created INTEGER NOT NULL,
	PRIMARY KEY (clinic_id, dependant_id, guardian_id)) WITHOUT ROWID;
CREATE INDEX wallet_grants_guardian ON wallet_grants (guardian_id);
INSERT OR IGNORE INTO wallet_grants (clinic_id, dependant_id, guardian_id, created)
	SELECT c.clinic_id, g.dependant_id, g.guardian_id, g.created
	FROM wallet_guardians g JOIN wallet_cards c ON c.dependant_id = g.dependant_id;
INSERT OR IGNORE INTO wallet_grants (clinic_id, dependant_id, guardian_id, created)
	SELECT clinic_id, dependant_id, patient_id, created FROM wallet_cards WHERE dependant_id != '';
`}

// NewSQLiteStore migrates the wallet's tables (component "wallet").
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "wallet", sqliteMigrations); err != nil {
		return nil, err
	}
	if err := storage.Migrate(ctx, db.Write, "wallet_rights", rightsMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db, r: db.Reader(), w: db.Writer()}, nil
}

func (s *SQLiteStore) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.w.ExecContext(ctx, q, args...)
	return dbErr.Map(err)
}

func (s *SQLiteStore) body(ctx context.Context, v any, q string, args ...any) error {
	var b string
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&b); err != nil {
		return dbErr.Map(err)
	}
	return json.Unmarshal([]byte(b), v)
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

// row is what scans one result: *sql.Row or *sql.Rows.
type row interface{ Scan(...any) error }

var _ Store = (*SQLiteStore)(nil)
