// Package idempotency gives requests sent with an Idempotency-Key header
// their contract: exactly one request with a key does the work; a replay
// gets the first response back; the same key with another body is refused.
//
// The key is claimed by inserting it before the work starts (a unique key,
// docs/architecture.md §2), so concurrent requests with one key cannot both
// proceed: the loser sees the claim and is told the request is in
// progress (or, with another body, that the key is taken). The winner
// stores its response on the claim when it is done, or drops the claim
// when the outcome says nothing final (a conflict, a limit, a server
// error), so that a retry runs. A claim whose owner died is taken over
// once it is older than the longest a request can run.
package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound means nothing is stored under the key.
var ErrNotFound = errors.New("idempotency: not found")

// ErrTaken is what Store.Insert returns when the key is already claimed.
var ErrTaken = errors.New("idempotency: key taken")

// Record is a claimed key and, once the work is done, its response.
type Record struct {
	Scope       string // who: "clinic:{id}" or "patient:{id}"
	Key         string // route + the client's Idempotency-Key
	Fingerprint string // hash of method, path and body
	Token       string // the claim's owner (random per claim)
	Status      int    // 0 while the work is under way
	Body        []byte
	CreatedAt   time.Time
}

// Pending reports whether the work under the claim is still under way.
func (r Record) Pending() bool { return r.Status == 0 }

// Store keeps records. Its adapters only translate; the protocol is Claim,
// Finish and Release below.
type Store interface {
	// Insert stores r if (scope, key) is free, else returns ErrTaken.
	Insert(ctx context.Context, r Record) error
	Get(ctx context.Context, scope, key string) (Record, error)
	// Complete sets status and body on the pending record claimed with
	// token (nothing if another claim holds it now).
	Complete(ctx context.Context, scope, key, token string, status int, body []byte) error
	// Delete removes the pending record claimed with token.
	Delete(ctx context.Context, scope, key, token string) error
	// Replace swaps a pending record created before staleBefore for r,
	// reporting whether it did (false: it is no longer stale or pending).
	Replace(ctx context.Context, r Record, staleBefore time.Time) (bool, error)
	// DeleteScope removes every record of a scope (a deleted patient's
	// stored responses, which may name them).
	DeleteScope(ctx context.Context, scope string) error
}

// StaleAfter is how old a pending claim must be before another request
// may take it over: longer than any request runs (the server's read and
// write timeouts are 30 s each).
const StaleAfter = 2 * time.Minute

// Outcome is what Claim decided.
type Outcome int

const (
	// Proceed: this request holds the claim and does the work, then calls
	// Finish or Release with the returned record.
	Proceed Outcome = iota
	// Replay: the work was done; answer with the returned record.
	Replay
	// InProgress: another request with this key and body is under way.
	InProgress
	// Mismatch: the key was used with a different request.
	Mismatch
)

// Claim claims (scope, key) for a request with fingerprint fp, or tells
// why it cannot: the first response, work in progress, or another body.
func Claim(ctx context.Context, s Store, scope, key, fp string, now time.Time) (Outcome, Record, error) {
	tok, err := newToken()
	if err != nil {
		return 0, Record{}, err
	}
	r := Record{Scope: scope, Key: key, Fingerprint: fp, Token: tok, CreatedAt: now}
	for range 3 {
		err := s.Insert(ctx, r)
		if err == nil {
			return Proceed, r, nil
		}
		if !errors.Is(err, ErrTaken) {
			return 0, Record{}, err
		}
		cur, err := s.Get(ctx, scope, key)
		if errors.Is(err, ErrNotFound) {
			continue // released between our insert and read: try again
		}
		if err != nil {
			return 0, Record{}, err
		}
		switch {
		case cur.Fingerprint != fp:
			return Mismatch, cur, nil
		case !cur.Pending():
			return Replay, cur, nil
		case cur.CreatedAt.After(now.Add(-StaleAfter)):
			return InProgress, cur, nil
		}
		ok, err := s.Replace(ctx, r, now.Add(-StaleAfter))
		if err != nil {
			return 0, Record{}, err
		}
		if ok {
			return Proceed, r, nil
		}
	}
	return InProgress, Record{}, nil
}

// Finish stores the response of the work done under claim r.
func Finish(ctx context.Context, s Store, r Record, status int, body []byte) error {
	return s.Complete(ctx, r.Scope, r.Key, r.Token, status, body)
}

// Release gives up claim r, so a later request with the key runs.
func Release(ctx context.Context, s Store, r Record) error {
	return s.Delete(ctx, r.Scope, r.Key, r.Token)
}

func newToken() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("idempotency: token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
