package storage

import (
	"context"
	"sync"
)

// One unit of work across stores. The domain packages each keep their own
// store, but on SQLite every store is opened on the same *SQLite: Atomic
// lets a caller run several stores' writes (and the reads they decide
// on) as one transaction without any store knowing about the others. A
// statement of any store whose context carries the transaction runs in
// it, and so does a store's own Tx. On MongoDB (no
// multi-document transactions, ARCHITECTURE.md §2) a store's Atomic just
// calls fn: each write stands alone, keyed, as it always does.
//
// Why: every SQLite transaction, and every read outside one, takes and
// releases file locks and, after another connection wrote, drops its page
// cache; a referral receipt's dozen reads and five small commits cost more
// in those than in the rows themselves.
//
// The rules for fn: use ctx for every store call (a call with another
// context would wait for the writer connection fn holds); do not use ctx
// from several goroutines at once; return every error a store returns
// (the unit has no savepoints: a failed step may have written part of
// itself, and only the rollback of the whole unit undoes it); and defer
// effects outside the database (a websocket delivery, a push) with
// AfterCommit, so that a rollback leaves none behind.
//
// There are no savepoints, and single-row writes that run inside a unit
// say OR FAIL where they can, because both make SQLite copy every page
// they touch to a statement journal first: in this driver that is a
// temporary file or freshly mapped memory, and cost a referral receipt
// more than the commits the unit saves.

type ambientKey struct{ s *SQLite }

type afterKey struct{}

// ambient is an open Atomic transaction.
type ambient struct {
	q cached

	mu    sync.Mutex
	done  bool
	after []func()
}

// Atomic runs fn in one write transaction that every store on s joins
// through fn's context, committing when fn returns nil and rolling back
// otherwise; the functions fn registered with AfterCommit run after the
// commit, in order. Inside another Atomic it runs fn in that one.
func (s *SQLite) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.joined(ctx) != nil {
		return fn(ctx)
	}
	tx, err := s.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	a := &ambient{q: cached{s: s, write: true, tx: tx, state: &txState{}}}
	actx := context.WithValue(context.WithValue(ctx, ambientKey{s}, a), afterKey{}, a)
	err = fn(actx)
	a.mu.Lock()
	a.done = true
	after := a.after
	a.after = nil
	a.mu.Unlock()
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.prepareMissed(ctx, a.q.state)
	for _, f := range after {
		f()
	}
	return nil
}

// InUnit reports whether ctx carries an open Atomic transaction of s: a
// store's writes with ctx then commit or roll back with the caller's unit.
func (s *SQLite) InUnit(ctx context.Context) bool { return s.joined(ctx) != nil }

// joined is the open Atomic transaction of s that ctx carries, if any.
func (s *SQLite) joined(ctx context.Context) *ambient {
	a, _ := ctx.Value(ambientKey{s}).(*ambient)
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return nil // a context kept after its Atomic returned
	}
	return a
}

// AfterCommit runs f once the Atomic transaction ctx carries has
// committed (never, if it rolls back), or at once when ctx carries none:
// what a write tells the world (a websocket delivery, a push) waits for
// the write to be durable.
func AfterCommit(ctx context.Context, f func()) {
	if a, _ := ctx.Value(afterKey{}).(*ambient); a != nil {
		a.mu.Lock()
		if !a.done {
			a.after = append(a.after, f)
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
	}
	f()
}

// InAtomic reports whether ctx carries an open Atomic transaction. A
// service that serializes its own writes with in-process locks skips them
// inside one: the transaction already holds the only writer connection,
// so nothing else here commits meanwhile, and waiting for a lock whose
// holder waits for that connection would never end.
func InAtomic(ctx context.Context) bool {
	a, _ := ctx.Value(afterKey{}).(*ambient)
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.done
}
