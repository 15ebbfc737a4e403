package wallet

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Codes are 6 digits from crypto/rand (Options.Rand), stored only as a
// hash bound to the challenge id, purpose, card and amount, so a code
// confirms exactly what it was sent for. Each check first takes an attempt
// slot (challenge, n) with n <= MaxAttempts by unique insert: two checks
// can never share a slot, so no more than MaxAttempts guesses are ever
// checked, on any number of instances.

func (s *Service) newCode() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("wallet: random code: %w", err)
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	// 2^64 mod 10^6 bias is below 10^-13: negligible.
	return fmt.Sprintf("%06d", n%1_000_000), nil
}

// codeHash is an HMAC under the server's code key, so the stored hashes
// of 6-digit codes cannot be brute-forced from a copy of the database.
func (s *Service) codeHash(ch *Challenge, code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(ch.ID + "|" + ch.Purpose + "|" + ch.SubjectID + "|" + ch.CardID + "|" +
		strconv.FormatInt(ch.Points, 10) + "|" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// newChallenge stores a challenge and returns it with its plaintext code.
func (s *Service) newChallenge(ctx context.Context, purpose, subjectID, cardID string, points int64, now time.Time) (*Challenge, string, error) {
	id, err := s.newID("ch_")
	if err != nil {
		return nil, "", err
	}
	code, err := s.newCode()
	if err != nil {
		return nil, "", err
	}
	ch := &Challenge{ID: id, Purpose: purpose, SubjectID: subjectID, CardID: cardID, Points: points,
		ExpiresAt: now.Add(s.codeTTL), Created: now}
	ch.Hash = s.codeHash(ch, code)
	if err := s.store.InsertChallenge(ctx, ch); err != nil {
		return nil, "", fmt.Errorf("wallet: store challenge: %w", err)
	}
	return ch, code, nil
}

// challengeDead reports whether a challenge can no longer be confirmed.
func (s *Service) challengeDead(ctx context.Context, chID string, now time.Time) (bool, error) {
	ch, err := s.store.Challenge(ctx, chID)
	if err != nil {
		return false, err
	}
	if !now.Before(ch.ExpiresAt) {
		return true, nil
	}
	n, err := s.store.Attempts(ctx, chID)
	if err != nil {
		return false, err
	}
	return n >= s.maxTries, nil
}

// verify takes an attempt slot and checks the code. It returns nil only
// for the right code within its lifetime.
func (s *Service) verify(ctx context.Context, chID, purpose, subjectID, code string) error {
	ch, err := s.store.Challenge(ctx, chID)
	if err != nil {
		return fmt.Errorf("wallet: challenge: %w", err)
	}
	if ch.Purpose != purpose || ch.SubjectID != subjectID {
		return ErrInvalidCode
	}
	if !s.clock().Before(ch.ExpiresAt) {
		return ErrCodeExpired
	}
	n, err := s.store.Attempts(ctx, chID)
	if err != nil {
		return fmt.Errorf("wallet: attempts: %w", err)
	}
	for {
		n++
		if n > s.maxTries {
			return ErrTooManyAttempts
		}
		err := s.store.InsertAttempt(ctx, chID, n)
		if err == nil {
			break
		}
		if !errors.Is(err, errDuplicate) {
			return fmt.Errorf("wallet: attempt slot: %w", err)
		}
	}
	if len(code) != 6 {
		return ErrInvalidCode
	}
	if subtle.ConstantTimeCompare([]byte(s.codeHash(ch, code)), []byte(ch.Hash)) != 1 {
		return ErrInvalidCode
	}
	return nil
}

// Challenge is a one-time code: stored hashed, bound to its purpose,
// subject (spend or card), card and amount, valid until ExpiresAt.
type Challenge struct {
	ID        string
	Purpose   string // "spend" or "card"
	SubjectID string
	CardID    string
	Points    int64
	Hash      string
	ExpiresAt time.Time
	Created   time.Time
}
