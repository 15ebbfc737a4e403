package identity

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"carewallet/app/otp"
)

// Limits of the sign-in rules.
const (
	CodeLifetime       = otp.Lifetime
	challengeWindow    = 15 * time.Minute
	challengesInWindow = 5
	minPasswordLen     = 10
	maxPasswordLen     = 72 // bcrypt's limit
	maxRetries         = 50 // seq races lost in a row before giving up
)

// Options configure a Service.
type Options struct {
	Now        func() time.Time
	SMS        SMS
	CodeKey    []byte // HMAC key for stored code hashes; required
	BcryptCost int    // 0 means bcrypt.DefaultCost
	Limits     Limits // abuse limits; zero fields take the defaults
	// HashConcurrency bounds the password hashes computed at once, so a
	// sign-in flood cannot take every core (0: half of GOMAXPROCS, at
	// least 1).
	HashConcurrency int
}

// Service implements sign-in and profiles over a Store.
type Service struct {
	locations sync.Map // clinic id → *time.Location; a clinic's zone never changes
	store     Store
	now       func() time.Time
	sms       SMS
	codes     *otp.Codes
	limits    Limits
	refused   refusals
	cost      int
	hashing   chan struct{} // a slot per password hash in progress
	hashNow   atomic.Int64  // hashes in progress, and the most ever at once
	hashPeak  atomic.Int64
	dummyHash []byte // compared against for unknown emails, so timing tells nothing
}

// NewService returns a Service; it panics on a missing CodeKey or SMS,
// which are wiring mistakes.
func NewService(store Store, opts Options) *Service {
	if len(opts.CodeKey) == 0 || opts.SMS == nil {
		panic("identity: NewService needs CodeKey and SMS")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.DefaultCost
	}
	if opts.HashConcurrency <= 0 {
		opts.HashConcurrency = max(1, runtime.GOMAXPROCS(0)/2)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not-a-real-password"), opts.BcryptCost)
	if err != nil {
		panic(err)
	}
	return &Service{store: store, now: opts.Now, sms: opts.SMS, codes: otp.New(opts.CodeKey, nil),
		limits: opts.Limits.withDefaults(), cost: opts.BcryptCost,
		hashing: make(chan struct{}, opts.HashConcurrency), dummyHash: dummy}
}

// Ping reports whether the store answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// CreateClinic adds a clinic; timezone is an IANA name.
func (s *Service) CreateClinic(ctx context.Context, name, timezone string) (Clinic, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return Clinic{}, invalid("name", "must be 1 to 200 characters")
	}
	if _, err := loadLocation(timezone); err != nil {
		return Clinic{}, err
	}
	c := Clinic{ID: NewID("cl"), Name: name, Timezone: timezone, CreatedAt: s.now().UTC()}
	if err := s.store.InsertClinic(ctx, c); err != nil {
		return Clinic{}, fmt.Errorf("create clinic: %w", err)
	}
	return c, nil
}

func loadLocation(tz string) (*time.Location, error) {
	if tz == "" || tz == "Local" {
		return nil, invalid("timezone", "must be an IANA time zone such as Europe/Moscow")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, invalid("timezone", "unknown time zone "+tz)
	}
	return loc, nil
}

// Clinic returns a clinic by id.
func (s *Service) Clinic(ctx context.Context, id string) (Clinic, error) {
	return s.store.Clinic(ctx, id)
}

// AnyClinic reports whether any clinic exists (the data is not empty).
func (s *Service) AnyClinic(ctx context.Context) (bool, error) { return s.store.AnyClinic(ctx) }

// ClinicLocation returns the clinic's time zone. It is read once per
// clinic: nothing changes a clinic's zone after it is created (the wallet
// asks on every operation, and loading a zone unpacks tzdata).
func (s *Service) ClinicLocation(ctx context.Context, id string) (*time.Location, error) {
	if loc, ok := s.locations.Load(id); ok {
		return loc.(*time.Location), nil
	}
	c, err := s.store.Clinic(ctx, id)
	if err != nil {
		return nil, err
	}
	loc, err := loadLocation(c.Timezone)
	if err != nil {
		return nil, err
	}
	s.locations.Store(id, loc)
	return loc, nil
}
