package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"carewallet/app/otp"
)

// Limits bound the abuse of sign-in: codes are SMS the clinic pays for
// (and a premium range can bill it), and code checks are guesses. Every
// limit counts in fixed windows of unique slots (otp.Take), so it holds
// across any number of instances. A zero field takes its default.
type Limits struct {
	// CodesPerClientHour is how many sign-in codes one client address may
	// request in an hour (default 10).
	CodesPerClientHour int
	// CodesPerMinute and CodesPerHour are the whole service's SMS budget
	// (defaults 20 and 200).
	CodesPerMinute int
	CodesPerHour   int
	// CodePrefixes are the E.164 prefixes that may receive codes (default
	// "+79": Russian mobile numbers).
	CodePrefixes []string
	// ChecksPerClientHour is how many code checks one client address may
	// make in an hour (default 30); half of it per 10 minutes and three
	// times it per day make the back-off grow.
	ChecksPerClientHour int
	// ChecksPerMinute is the whole service's code checks per minute
	// (default 120), and twenty times it per hour.
	ChecksPerMinute int
}

// Defaults of Limits.
const (
	DefaultCodesPerClientHour  = 10
	DefaultCodesPerMinute      = 20
	DefaultCodesPerHour        = 200
	DefaultCodePrefix          = "+79"
	DefaultChecksPerClientHour = 30
	DefaultChecksPerMinute     = 120
)

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.CodesPerClientHour, DefaultCodesPerClientHour)
	def(&l.CodesPerMinute, DefaultCodesPerMinute)
	def(&l.CodesPerHour, DefaultCodesPerHour)
	def(&l.ChecksPerClientHour, DefaultChecksPerClientHour)
	def(&l.ChecksPerMinute, DefaultChecksPerMinute)
	if len(l.CodePrefixes) == 0 {
		l.CodePrefixes = []string{DefaultCodePrefix}
	}
	l.CodePrefixes = append([]string(nil), l.CodePrefixes...)
	return l
}

// Password attempts per (email, client address): at most 5 checks a
// minute, 10 in 15 minutes, 20 an hour and 50 a day, so a guesser waits a
// minute, then up to 15 minutes, then an hour, then a day. The account
// itself is never locked: its owner, from another address, signs in as
// usual. One address may also try at most loginsPerClientHour sign-ins
// over all emails.
var (
	loginTiers = []otp.Limit{
		{Max: 5, Per: time.Minute},
		{Max: 10, Per: 15 * time.Minute},
		{Max: 20, Per: time.Hour},
		{Max: 50, Per: longestWindow},
	}
	loginsPerClientHour = otp.Limit{Max: 100, Per: time.Hour}
)

// Kinds of refusal, for errors.Is and for counting them.
var (
	// ErrPhoneNotAllowed is an ErrInvalidPhone: codes are not sent to
	// this number's country or range.
	ErrPhoneNotAllowed = fmt.Errorf("%w: codes are not sent to this range", ErrInvalidPhone)
	// ErrClientLimit: one client address reached its limit.
	ErrClientLimit = errors.New("identity: limit for one client address")
	// ErrServiceLimit: the whole service reached its budget.
	ErrServiceLimit = errors.New("identity: limit of the whole service")
)

// Refusal reasons counted by Service.Refused.
const (
	RefusedPhoneRange = "phone_range"
	RefusedPhone      = "phone"
	RefusedClient     = "client_address"
	RefusedService    = "service_budget"
)

// refusals counts refused sign-in requests by reason, for the logs.
type refusals struct{ phoneRange, phone, client, service atomic.Int64 }

func (r *refusals) counter(reason string) *atomic.Int64 {
	switch reason {
	case RefusedPhoneRange:
		return &r.phoneRange
	case RefusedPhone:
		return &r.phone
	case RefusedClient:
		return &r.client
	case RefusedService:
		return &r.service
	}
	return nil
}

// Refused is how many sign-in requests this instance has refused for
// reason since it started.
func (s *Service) Refused(reason string) int64 {
	if c := s.refused.counter(reason); c != nil {
		return c.Load()
	}
	return 0
}

// RefusalReason names why err refused a sign-in request ("" when it did
// not): what the logs count, never who was refused.
func RefusalReason(err error) string {
	var lim *RateLimitError
	switch {
	case errors.Is(err, ErrPhoneNotAllowed):
		return RefusedPhoneRange
	case errors.Is(err, ErrClientLimit):
		return RefusedClient
	case errors.Is(err, ErrServiceLimit):
		return RefusedService
	case errors.As(err, &lim):
		return RefusedPhone
	}
	return ""
}

// refuse counts err's refusal and returns err.
func (s *Service) refuse(err error) error {
	if c := s.refused.counter(RefusalReason(err)); c != nil {
		c.Add(1)
	}
	return err
}

// ClientKey is the key a client address is limited by: an IPv4 address,
// or an IPv6 address's /64 (one subscriber's block), with any port
// dropped; anything unparsable shares one key.
func ClientKey(addr string) string {
	addr = strings.TrimSpace(addr)
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, perr := netip.ParseAddrPort(addr) // a proxy may add the port
		if perr != nil {
			return "unknown"
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return "unknown"
	}
	return p.String()
}

// slotStore adapts the Store to otp.SlotStore.
type slotStore struct{ Store }

func (s slotStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	return taken(s.Store.InsertSlot(ctx, key, n, at))
}

// codeStore adapts the Store's challenge primitives to otp.Store.
type codeStore struct{ st Store }

func (c codeStore) Attempts(ctx context.Context, id string) (int, error) {
	return c.st.CountAttempts(ctx, id)
}

func (c codeStore) InsertAttempt(ctx context.Context, id string, n int, at time.Time) error {
	return taken(c.st.InsertAttempt(ctx, id, n, at))
}

func (c codeStore) MarkUsed(ctx context.Context, id string, at time.Time) error {
	return taken(c.st.InsertUsed(ctx, id, at))
}

func taken(err error) error {
	if errors.Is(err, ErrDuplicate) {
		return otp.ErrTaken
	}
	return err
}

// take counts one event of key against limits; a refusal becomes a
// RateLimitError of kind that names the full limit.
func (s *Service) take(ctx context.Context, kind error, key, what string, limits ...otp.Limit) error {
	r, err := otp.Take(ctx, slotStore{s.store}, key, s.now().UTC(), limits...)
	if err != nil || !r.Refused() {
		return err
	}
	return s.refuse(&RateLimitError{Kind: kind, RetryAfter: r.RetryAfter,
		Message: fmt.Sprintf("at most %d %s in %s", r.Limit.Max, what, spell(r.Limit.Per))})
}

// spell says a window in words: "a minute", "15 minutes", "an hour", "a day".
func spell(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "a minute"
	case d == time.Hour:
		return "an hour"
	case d == 24*time.Hour:
		return "a day"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// hashKey keeps emails out of the slots table.
func hashKey(prefix string, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + hex.EncodeToString(h[:16])
}

// withHashSlot runs fn, a password hash, when one of the service's hash
// slots is free, so a flood of sign-ins queues here instead of taking
// every core from the requests behind it.
func (s *Service) withHashSlot(ctx context.Context, fn func() error) error {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return s.refuse(&RateLimitError{Kind: ErrServiceLimit, RetryAfter: hashWait,
			Message: fmt.Sprintf("too many sign-ins at once (at most %d passwords are checked at a time)", cap(s.hashing))})
	}
	n := s.hashNow.Add(1)
	for p := s.hashPeak.Load(); n > p && !s.hashPeak.CompareAndSwap(p, n); p = s.hashPeak.Load() {
	}
	defer func() {
		s.hashNow.Add(-1) // before the slot is freed, so the count never exceeds the slots
		<-s.hashing
	}()
	return fn()
}

// hashWait is the longest a sign-in waits for a hash slot.
const hashWait = 10 * time.Second

// longestWindow is the longest window any limit counts in; slots older
// than it can no longer refuse anything.
const longestWindow = 24 * time.Hour

// PruneLimits deletes the slots of windows that have ended (older than a
// day), so the limits' table stays the size of one day's traffic. Any
// instance may run it at any time.
func (s *Service) PruneLimits(ctx context.Context) (int64, error) {
	return s.store.DeleteSlotsBefore(ctx, s.now().UTC().Add(-longestWindow))
}
