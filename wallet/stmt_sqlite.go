package wallet

import (
	"context"
	"database/sql"
	"sync"
)

// stmtDB runs queries through prepared statements cached per SQL text:
// with modernc.org/sqlite, parsing a statement costs more than running
// it, so re-preparing every call halves throughput.
type stmtDB struct {
	db    *sql.DB
	cache sync.Map // string -> *sql.Stmt
}

func (s *stmtDB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if v, ok := s.cache.Load(q); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := s.cache.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *stmtDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// rowErr is a Scan-able error for QueryRowContext's failure to prepare.
type row interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (s *stmtDB) QueryRow(ctx context.Context, q string, args ...any) row {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *stmtDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// stmtTx runs a transaction's queries through the writer's cached
// statements.
type stmtTx struct {
	tx *sql.Tx
	w  *stmtDB
}

// cached returns the writer's statement for q only if already prepared:
// preparing on the DB inside a transaction would wait for the writer's
// only connection, which the transaction holds. NewSQLiteStore prepares
// the commit path's statements up front.
func (t stmtTx) cached(q string) *sql.Stmt {
	if v, ok := t.w.cache.Load(q); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

func (t stmtTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t stmtTx) QueryRow(ctx context.Context, q string, args ...any) row {
	if st := t.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}
