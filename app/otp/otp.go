// Package otp is the one implementation of a one-time code: six digits
// from crypto/rand, stored only as an HMAC bound to the challenge and to
// what the code confirms (a phone, a spend of this amount on this card),
// valid until its expiry, spent once, and checked at most MaxAttempts
// times. Sign-in codes (identity) and card and spend codes (wallet) both
// use it; each domain's store adapters implement the small Store below.
//
// The protocol holds on any number of instances without transactions:
// every check first takes an attempt slot (challenge, n) with
// n ≤ MaxAttempts by unique insert, so two checks never share a slot and
// no more than MaxAttempts guesses are ever compared; a right code is
// spent by inserting its challenge into the used set, which succeeds once.
//
// It is a leaf: it imports nothing of ours.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
)

// The rules of a code. They are constants, not settings: no caller can
// loosen them.
const (
	// Digits is the length of a code.
	Digits = 6
	// MaxAttempts is how many checks one challenge allows, right or wrong.
	MaxAttempts = 10
	// Lifetime is the longest a code lives.
	Lifetime = 10 * time.Minute
)

// Errors of a check. ErrTaken is what a Store returns when a unique key
// (an attempt slot, the used mark, a window slot) is already taken.
var (
	ErrTaken           = errors.New("otp: already taken")
	ErrExpired         = errors.New("otp: code expired")
	ErrWrongCode       = errors.New("otp: wrong code")
	ErrTooManyAttempts = errors.New("otp: too many attempts")
	ErrUsed            = errors.New("otp: code already used")
)

// Challenge is what a domain stores for one code, beside its own fields.
type Challenge struct {
	ID        string
	Hash      []byte // HMAC of the id, the binding and the code
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the primitives a domain's adapters implement for its codes.
// Inserts report a clash of their unique key as ErrTaken (errors.Is).
type Store interface {
	// Attempts is how many attempt slots of the challenge are taken.
	Attempts(ctx context.Context, challengeID string) (int, error)
	// InsertAttempt takes slot n (1..MaxAttempts) of the challenge; unique
	// (challenge, n).
	InsertAttempt(ctx context.Context, challengeID string, n int, at time.Time) error
	// MarkUsed records that the challenge's code was accepted; unique
	// challenge.
	MarkUsed(ctx context.Context, challengeID string, at time.Time) error
}

// Codes issues and checks codes under one HMAC key.
type Codes struct {
	key  []byte
	rand io.Reader
}

// New returns Codes under key; random is the source of codes (nil:
// crypto/rand). It panics on an empty key, a wiring mistake.
func New(key []byte, random io.Reader) *Codes {
	if len(key) == 0 {
		panic("otp: New needs a key")
	}
	if random == nil {
		random = rand.Reader
	}
	return &Codes{key: key, rand: random}
}

// Issue returns a new challenge with id, bound to binding (what the code
// confirms, in a notation the caller can rebuild at check time), and its
// plaintext code, which the caller sends and never stores. ttl is capped
// at Lifetime; zero or less means Lifetime.
func (c *Codes) Issue(id, binding string, now time.Time, ttl time.Duration) (Challenge, string, error) {
	if ttl <= 0 || ttl > Lifetime {
		ttl = Lifetime
	}
	code, err := c.newCode()
	if err != nil {
		return Challenge{}, "", err
	}
	return Challenge{ID: id, Hash: c.sum(id, binding, code), CreatedAt: now, ExpiresAt: now.Add(ttl)}, code, nil
}

// newCode returns Digits uniformly random digits (rejection sampling, so
// no digit string is likelier than another).
func (c *Codes) newCode() (string, error) {
	const space = 1_000_000
	const limit = (1 << 32) / space * space
	var b [4]byte
	for {
		if _, err := io.ReadFull(c.rand, b[:]); err != nil {
			return "", fmt.Errorf("otp: random code: %w", err)
		}
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if n < limit {
			return fmt.Sprintf("%06d", n%space), nil
		}
	}
}

// sum is HMAC-SHA256(key, id "|" binding "|" code). Ids and codes hold no
// "|", so the three parts cannot be confused.
func (c *Codes) sum(id, binding, code string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(id + "|" + binding + "|" + code))
	return m.Sum(nil)
}

// Check verifies code against ch, bound to binding: a live challenge, an
// attempt slot taken before anything is compared, the right code, and the
// code not spent before. It returns nil exactly once per challenge, for
// the right code; otherwise ErrExpired, ErrTooManyAttempts, ErrWrongCode
// or ErrUsed, or a store error.
func (c *Codes) Check(ctx context.Context, st Store, ch Challenge, binding, code string, now time.Time) error {
	if !now.Before(ch.ExpiresAt) {
		return ErrExpired
	}
	if err := takeAttempt(ctx, st, ch.ID, now); err != nil {
		return err
	}
	if len(code) != Digits || !hmac.Equal(c.sum(ch.ID, binding, code), ch.Hash) {
		return ErrWrongCode
	}
	if err := st.MarkUsed(ctx, ch.ID, now); err != nil {
		if errors.Is(err, ErrTaken) {
			return ErrUsed
		}
		return fmt.Errorf("otp: mark used: %w", err)
	}
	return nil
}

// Spent reports whether a challenge can no longer be confirmed: expired
// or out of attempts (a right code may still be refused as used).
func Spent(ctx context.Context, st Store, ch Challenge, now time.Time) (bool, error) {
	if !now.Before(ch.ExpiresAt) {
		return true, nil
	}
	n, err := st.Attempts(ctx, ch.ID)
	if err != nil {
		return false, fmt.Errorf("otp: attempts: %w", err)
	}
	return n >= MaxAttempts, nil
}

func takeAttempt(ctx context.Context, st Store, id string, now time.Time) error {
	n, err := st.Attempts(ctx, id)
	if err != nil {
		return fmt.Errorf("otp: attempts: %w", err)
	}
	for n++; n <= MaxAttempts; n++ {
		err := st.InsertAttempt(ctx, id, n, now)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrTaken) {
			return fmt.Errorf("otp: attempt slot: %w", err)
		}
	}
	return ErrTooManyAttempts
}
