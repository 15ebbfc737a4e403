package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"carewallet/app/storage"
)

// The commit path's statements.
const (
	qEntryByKey     = `SELECT ` + entryCols + ` FROM wallet_entries WHERE card_id = ? AND key = ?`
	qHead           = `SELECT seq, balance_after, paid_after FROM wallet_entries WHERE card_id = ? ORDER BY seq DESC LIMIT 1`
	qOpenLots       = `SELECT id, clinic_id, kind, points, remaining, burns_at, warn_at, seq FROM wallet_lots WHERE card_id = ? AND remaining > 0`
	qOpenLotsAt     = qOpenLots + ` AND burns_at = ?`
	qReceiptEntries = `SELECT ` + entryCols + ` FROM wallet_entries WHERE card_id = ? AND receipt_id = ? AND seq <= ? ORDER BY seq`
	// The ledger's writes run inside transactions; OR FAIL (the same as
	// the default ABORT for a single-row statement, whose constraints are
	// checked before it writes) spares SQLite the statement journal each
	// ABORT statement of a transaction opens.
	qInsertEntry = `INSERT OR FAIL INTO wallet_entries (` + entryCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qLotDelta    = `UPDATE OR FAIL wallet_lots SET remaining = remaining + ?1, points = points + max(?1, 0) WHERE id = ?2`
	qInsertLot   = `INSERT OR FAIL INTO wallet_lots (id, card_id, clinic_id, kind, points, remaining, burns_at, warn_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

const entryCols = `card_id, seq, key, kind, amount, balance_after, paid_after, clinic_id, patient_id, staff_id,
	receipt_id, reason, created, fingerprint, lots, details`

func scanEntry(sc row) (*Entry, error) {
	var e Entry
	var created int64
	var lots, details string
	if err := sc.Scan(&e.CardID, &e.Seq, &e.Key, &e.Kind, &e.Amount, &e.BalanceAfter, &e.PaidAfter, &e.ClinicID,
		&e.PatientID, &e.StaffID, &e.ReceiptID, &e.Reason, &created, &e.Fingerprint, &lots, &details); err != nil {
		return nil, dbErr.Map(err)
	}
	e.Created = storage.FromNanos(created)
	if err := json.Unmarshal([]byte(lots), &e.Lots); err != nil {
		return nil, err
	}
	if details != "" {
		e.Details = json.RawMessage(details)
	}
	return &e, nil
}

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
	return sqliteLedger{s.r}.StateFor(ctx, cardID, time.Time{})
}

// Head reads the head entry only.
func (s *SQLiteStore) Head(ctx context.Context, cardID string) (*State, error) {
	st := &State{}
	err := s.r.QueryRowContext(ctx, qHead, cardID).Scan(&st.Seq, &st.Balance, &st.Paid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return st, nil
}

// OpenLots reads one page of the card's lot rows through the (card_id,
// burns_at, id) index.
func (s *SQLiteStore) OpenLots(ctx context.Context, cardID string, after lotCursor, limit int) ([]Lot, error) {
	if after.BurnsAt.IsZero() && after.ID == "" {
		return s.lots(ctx, `SELECT `+lotCols+` FROM wallet_lots WHERE card_id = ? AND remaining > 0 ORDER BY burns_at, id LIMIT ?`, cardID, limit)
	}
	return s.lots(ctx, `SELECT `+lotCols+` FROM wallet_lots WHERE card_id = ? AND remaining > 0 AND (burns_at, id) > (?, ?)
		ORDER BY burns_at, id LIMIT ?`, cardID, storage.Nanos(after.BurnsAt), after.ID, limit)
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

// StateFor reads the head entry and the open lot rows (those burning at
// burningAt only, when it is set).
func (l sqliteLedger) StateFor(ctx context.Context, cardID string, burningAt time.Time) (*State, error) {
	st := &State{}
	err := l.q.QueryRowContext(ctx, qHead, cardID).Scan(&st.Seq, &st.Balance, &st.Paid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	q, args := qOpenLots, []any{cardID}
	if !burningAt.IsZero() {
		q, args = qOpenLotsAt, []any{cardID, storage.Nanos(burningAt)}
	}
	rows, err := l.q.QueryContext(ctx, q, args...)
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
		l.BurnsAt, l.WarnAt = storage.FromNanos(b), storage.FromNanos(w)
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
		e.ReceiptID, e.Reason, storage.Nanos(e.Created), e.Fingerprint, string(mustJSON(e.Lots)), string(e.Details))
	return dbErr.Map(err)
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
		if _, err := l.q.ExecContext(ctx, qInsertLot, n.ID, e.CardID, e.ClinicID, n.Kind, n.Points, n.Points, storage.Nanos(n.BurnsAt), storage.Nanos(n.WarnAt), e.Seq); err != nil {
			return dbErr.Map(err)
		}
	}
	return nil
}
