package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"carewallet/app/otp"
)

// RequestCode sends a new login code to phone by SMS, for a request from
// client (its network address). The new challenge replaces any earlier
// one. In order, it refuses: a number outside the allowed prefixes
// (ErrPhoneNotAllowed); a sixth code for one phone in 15 minutes; a client
// address over its hourly codes; the service over its SMS budget per hour
// or per minute. Each refusal is a RateLimitError naming the limit, and
// every limit but the phone's is counted in unique slots, so it holds on
// any number of instances.
func (s *Service) RequestCode(ctx context.Context, client, rawPhone string) error {
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		return err
	}
	if !s.allowedPhone(phone) {
		return s.refuse(&ValidationError{Field: "phone", Kind: ErrPhoneNotAllowed,
			Message: "codes are sent only to numbers starting with " + strings.Join(s.limits.CodePrefixes, " or ")})
	}
	// The phone's window is checked before any budget is spent, so knocking
	// on one phone does not use up the service's SMS; the insert below
	// checks it again against concurrent requests.
	if _, err := s.nextChallengeSeq(ctx, phone, s.now().UTC()); err != nil {
		return err
	}
	if err := s.take(ctx, ErrClientLimit, "sms-client:"+ClientKey(client), "sign-in codes from one address",
		otp.Limit{Max: s.limits.CodesPerClientHour, Per: time.Hour}); err != nil {
		return err
	}
	if err := s.take(ctx, ErrServiceLimit, "sms", "sign-in codes for the whole service",
		otp.Limit{Max: s.limits.CodesPerMinute, Per: time.Minute}, otp.Limit{Max: s.limits.CodesPerHour, Per: time.Hour}); err != nil {
		return err
	}
	for range maxRetries {
		now := s.now().UTC()
		seq, err := s.nextChallengeSeq(ctx, phone, now)
		if err != nil {
			return err
		}
		oc, code, err := s.codes.Issue(NewID("ch"), phone, now, CodeLifetime)
		if err != nil {
			return err
		}
		err = s.store.InsertChallenge(ctx, Challenge{ID: oc.ID, Phone: phone, Seq: seq, CodeHash: oc.Hash,
			CreatedAt: oc.CreatedAt, ExpiresAt: oc.ExpiresAt})
		if errors.Is(err, ErrDuplicate) {
			continue // another request took this seq: re-read the window
		}
		if err != nil {
			return err
		}
		text := fmt.Sprintf("Your carewallet code: %s. It is valid for 10 minutes. Never share it.", code)
		if err := s.sms.Send(ctx, phone, text); err != nil {
			return fmt.Errorf("%w: %v", ErrSMSUnavailable, err)
		}
		return nil
	}
	return fmt.Errorf("identity: request code: too much contention")
}

func (s *Service) allowedPhone(phone string) bool {
	for _, p := range s.limits.CodePrefixes {
		if strings.HasPrefix(phone, p) {
			return true
		}
	}
	return false
}

// nextChallengeSeq is the seq of the phone's next challenge, or a
// RateLimitError when the fifth-latest is younger than the window.
func (s *Service) nextChallengeSeq(ctx context.Context, phone string, now time.Time) (int64, error) {
	var seq int64
	last, err := s.store.LastChallenge(ctx, phone)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	default:
		seq = last.Seq
	}
	if seq >= challengesInWindow {
		old, err := s.store.ChallengeBySeq(ctx, phone, seq-challengesInWindow+1)
		if err != nil {
			return 0, err
		}
		if wait := old.CreatedAt.Add(challengeWindow).Sub(now); wait > 0 {
			return 0, s.refuse(&RateLimitError{RetryAfter: wait,
				Message: fmt.Sprintf("at most %d codes per phone in %s", challengesInWindow, spell(challengeWindow))})
		}
	}
	return seq + 1, nil
}

// VerifyCode checks a login code against the phone's latest challenge and
// returns the patient, creating the account on first sign-in. A check
// first counts against the client address's windows (back-off from 10
// minutes to a day) and the service's, then takes one of the challenge's
// attempt slots (otp.Check): no number of concurrent guesses gets more
// than otp.MaxAttempts tries at one code, and a right code is spent once.
func (s *Service) VerifyCode(ctx context.Context, client, rawPhone, code string) (Patient, error) {
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		return Patient{}, err
	}
	if err := s.checkCode(ctx, client, phone, code); err != nil {
		return Patient{}, err
	}
	return s.EnsurePatient(ctx, phone)
}

// checkCode is VerifyCode's check of a code against the phone's latest
// challenge (E.164 phone), which spends the code when it is right.
func (s *Service) checkCode(ctx context.Context, client, phone, code string) error {
	c, err := s.store.LastChallenge(ctx, phone)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidCode
	}
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if !now.Before(c.ExpiresAt) {
		return ErrInvalidCode
	}
	h := s.limits.ChecksPerClientHour
	if err := s.take(ctx, ErrClientLimit, "check-client:"+ClientKey(client), "code checks from one address",
		otp.Limit{Max: max(1, h/2), Per: 10 * time.Minute}, otp.Limit{Max: h, Per: time.Hour},
		otp.Limit{Max: 3 * h, Per: longestWindow}); err != nil {
		return err
	}
	m := s.limits.ChecksPerMinute
	if err := s.take(ctx, ErrServiceLimit, "check", "code checks for the whole service",
		otp.Limit{Max: m, Per: time.Minute}, otp.Limit{Max: 20 * m, Per: time.Hour}); err != nil {
		return err
	}
	oc := otp.Challenge{ID: c.ID, Hash: c.CodeHash, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
	switch err := s.codes.Check(ctx, codeStore{s.store}, oc, phone, code, now); {
	case err == nil:
	case errors.Is(err, otp.ErrTooManyAttempts):
		return ErrTooManyAttempts
	case errors.Is(err, otp.ErrWrongCode), errors.Is(err, otp.ErrExpired), errors.Is(err, otp.ErrUsed):
		return ErrInvalidCode
	default:
		return err
	}
	return nil
}
