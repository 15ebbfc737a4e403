package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Limits of the sign-in rules.
const (
	CodeLifetime       = 10 * time.Minute
	maxCodeAttempts    = 10
	challengeWindow    = 15 * time.Minute
	challengesInWindow = 5
	loginFailWindow    = 15 * time.Minute
	loginFailsInWindow = 10
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
}

// Service implements sign-in and profiles over a Store.
type Service struct {
	locations sync.Map // clinic id → *time.Location; a clinic's zone never changes
	store     Store
	now       func() time.Time
	sms       SMS
	codeKey   []byte
	cost      int
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
	dummy, err := bcrypt.GenerateFromPassword([]byte("not-a-real-password"), opts.BcryptCost)
	if err != nil {
		panic(err)
	}
	return &Service{store: store, now: opts.Now, sms: opts.SMS, codeKey: opts.CodeKey, cost: opts.BcryptCost, dummyHash: dummy}
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

// NewStaff describes a staff member to add.
type NewStaff struct {
	ClinicID string
	Email    string
	Password string
	Name     string
	Role     Role
}

// AddStaff adds a staff member to a clinic.
func (s *Service) AddStaff(ctx context.Context, n NewStaff) (Staff, error) {
	email, err := normalizeEmail(n.Email)
	if err != nil {
		return Staff{}, err
	}
	if !n.Role.Valid() {
		return Staff{}, invalid("role", `must be "admin" or "manager"`)
	}
	if l := len(n.Password); l < minPasswordLen || l > maxPasswordLen {
		return Staff{}, invalid("password", fmt.Sprintf("must be %d to %d bytes", minPasswordLen, maxPasswordLen))
	}
	name := strings.TrimSpace(n.Name)
	if utf8.RuneCountInString(name) > 200 {
		return Staff{}, invalid("name", "must be at most 200 characters")
	}
	if _, err := s.store.Clinic(ctx, n.ClinicID); err != nil {
		return Staff{}, fmt.Errorf("add staff: clinic: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), s.cost)
	if err != nil {
		return Staff{}, fmt.Errorf("add staff: %w", err)
	}
	st := Staff{ID: NewID("st"), ClinicID: n.ClinicID, Email: email, Name: name, Role: n.Role,
		PasswordHash: string(hash), CreatedAt: s.now().UTC()}
	if err := s.store.InsertStaff(ctx, st); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return Staff{}, ErrEmailTaken
		}
		return Staff{}, fmt.Errorf("add staff: %w", err)
	}
	return st, nil
}

func normalizeEmail(e string) (string, error) {
	e = strings.ToLower(strings.TrimSpace(e))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", invalid("email", "must be a plain email address")
	}
	return e, nil
}

// ListStaff lists a clinic's staff, oldest first.
func (s *Service) ListStaff(ctx context.Context, clinicID string) ([]Staff, error) {
	return s.store.ListStaff(ctx, clinicID)
}

// StaffByEmail returns a staff member by email.
func (s *Service) StaffByEmail(ctx context.Context, email string) (Staff, error) {
	return s.store.StaffByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
}

// Staff returns a staff member by id.
func (s *Service) Staff(ctx context.Context, id string) (Staff, error) {
	return s.store.StaffByID(ctx, id)
}

// StaffLogin checks an email and password. After 10 failures for one
// email within 15 minutes it refuses with a RateLimitError until the
// oldest of them ages out, whatever the password.
func (s *Service) StaffLogin(ctx context.Context, email, password string) (Staff, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	key := "login:" + email
	if err := s.checkWindow(ctx, key, loginFailsInWindow, loginFailWindow, "sign-in failures"); err != nil {
		return Staff{}, err
	}
	st, err := s.store.StaffByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Staff{}, err
	}
	hash := s.dummyHash
	if err == nil {
		hash = []byte(st.PasswordHash)
	}
	if len(password) > maxPasswordLen || bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil {
		if rerr := s.recordWindow(ctx, key); rerr != nil {
			return Staff{}, rerr
		}
		return Staff{}, ErrBadCredentials
	}
	return st, nil
}

// checkWindow refuses when the limit-th latest event of key is younger
// than window.
func (s *Service) checkWindow(ctx context.Context, key string, limit int64, window time.Duration, what string) error {
	last, err := s.store.LastRateSeq(ctx, key)
	if err != nil || last < limit {
		return err
	}
	at, err := s.store.RateEventAt(ctx, key, last-limit+1)
	if err != nil {
		return err
	}
	if wait := at.Add(window).Sub(s.now()); wait > 0 {
		return rateLimited(what, wait)
	}
	return nil
}

func (s *Service) recordWindow(ctx context.Context, key string) error {
	for range maxRetries {
		last, err := s.store.LastRateSeq(ctx, key)
		if err != nil {
			return err
		}
		err = s.store.InsertRateEvent(ctx, key, last+1, s.now().UTC())
		if !errors.Is(err, ErrDuplicate) {
			return err
		}
	}
	return fmt.Errorf("identity: record %s: too much contention", key)
}

// RequestCode sends a new login code to phone by SMS. The new challenge
// replaces any earlier one. At most 5 are issued per phone in 15 minutes:
// the sixth is a RateLimitError saying when the oldest ages out.
func (s *Service) RequestCode(ctx context.Context, rawPhone string) error {
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		return err
	}
	code, err := newCode()
	if err != nil {
		return err
	}
	for range maxRetries {
		now := s.now().UTC()
		var seq int64
		last, err := s.store.LastChallenge(ctx, phone)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			seq = last.Seq
		}
		if seq >= challengesInWindow {
			old, err := s.store.ChallengeBySeq(ctx, phone, seq-challengesInWindow+1)
			if err != nil {
				return err
			}
			if wait := old.CreatedAt.Add(challengeWindow).Sub(now); wait > 0 {
				return rateLimited("code requests", wait)
			}
		}
		c := Challenge{ID: NewID("ch"), Phone: phone, Seq: seq + 1, CreatedAt: now, ExpiresAt: now.Add(CodeLifetime)}
		c.CodeHash = s.codeHash(c.ID, code)
		err = s.store.InsertChallenge(ctx, c)
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

// newCode returns 6 uniformly random digits from crypto/rand.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("identity: random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func (s *Service) codeHash(challengeID, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// VerifyCode checks a login code against the phone's latest challenge and
// returns the patient, creating the account on first sign-in. Every check
// takes one of the challenge's 10 attempt slots first, so no number of
// concurrent guesses gets more than 10 tries; a right code is spent once.
func (s *Service) VerifyCode(ctx context.Context, rawPhone, code string) (Patient, error) {
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		return Patient{}, err
	}
	c, err := s.store.LastChallenge(ctx, phone)
	if errors.Is(err, ErrNotFound) {
		return Patient{}, ErrInvalidCode
	}
	if err != nil {
		return Patient{}, err
	}
	now := s.now().UTC()
	if !now.Before(c.ExpiresAt) {
		return Patient{}, ErrInvalidCode
	}
	if err := s.takeAttempt(ctx, c.ID, now); err != nil {
		return Patient{}, err
	}
	if len(code) != 6 || !hmac.Equal(s.codeHash(c.ID, code), c.CodeHash) {
		return Patient{}, ErrInvalidCode
	}
	if err := s.store.InsertUsed(ctx, c.ID, now); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return Patient{}, ErrInvalidCode
		}
		return Patient{}, err
	}
	return s.EnsurePatient(ctx, phone)
}

func (s *Service) takeAttempt(ctx context.Context, challengeID string, now time.Time) error {
	n, err := s.store.CountAttempts(ctx, challengeID)
	if err != nil {
		return err
	}
	for n++; n <= maxCodeAttempts; n++ {
		err := s.store.InsertAttempt(ctx, challengeID, n, now)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrDuplicate) {
			return err
		}
	}
	return ErrTooManyAttempts
}

// EnsurePatient returns the patient with this phone, creating the account
// when there is none (reception may register a patient before their first
// sign-in). phone must already be E.164.
func (s *Service) EnsurePatient(ctx context.Context, phone string) (Patient, error) {
	p, err := s.store.PatientByPhone(ctx, phone)
	if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	p = Patient{ID: NewID("pt"), Phone: phone, CreatedAt: s.now().UTC()}
	err = s.store.InsertPatient(ctx, p)
	if errors.Is(err, ErrDuplicate) {
		return s.store.PatientByPhone(ctx, phone) // a concurrent sign-in created it
	}
	return p, err
}

// PatientByPhone finds a patient by a phone number in any common notation.
func (s *Service) PatientByPhone(ctx context.Context, rawPhone string) (Patient, error) {
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		return Patient{}, err
	}
	return s.store.PatientByPhone(ctx, phone)
}

// Patient returns a patient by id.
func (s *Service) Patient(ctx context.Context, id string) (Patient, error) {
	return s.store.PatientByID(ctx, id)
}

// ProfileUpdate changes the fields that are set.
type ProfileUpdate struct {
	FirstName *string
	LastName  *string
	BirthDate *string // YYYY-MM-DD, or "" to clear
}

// UpdateProfile applies u to the patient's profile.
func (s *Service) UpdateProfile(ctx context.Context, id string, u ProfileUpdate) (Patient, error) {
	p, err := s.store.PatientByID(ctx, id)
	if err != nil {
		return Patient{}, err
	}
	if u.FirstName != nil {
		if p.FirstName, err = cleanName("first_name", *u.FirstName); err != nil {
			return Patient{}, err
		}
	}
	if u.LastName != nil {
		if p.LastName, err = cleanName("last_name", *u.LastName); err != nil {
			return Patient{}, err
		}
	}
	if u.BirthDate != nil {
		if err := ValidateBirthDate(*u.BirthDate, s.now()); err != nil {
			return Patient{}, err
		}
		p.BirthDate = *u.BirthDate
	}
	if err := s.store.UpdatePatientProfile(ctx, p); err != nil {
		return Patient{}, err
	}
	return p, nil
}

func cleanName(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) > 100 || strings.ContainsAny(v, "\x00\r\n\t") {
		return "", invalid(field, "must be at most 100 characters on one line")
	}
	return v, nil
}

// ValidateBirthDate accepts "" or a real YYYY-MM-DD date between 1900 and today.
func ValidateBirthDate(d string, now time.Time) error {
	if d == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return invalid("birth_date", "must be a date as YYYY-MM-DD")
	}
	if t.Year() < 1900 || t.After(now) {
		return invalid("birth_date", "must be between 1900-01-01 and today")
	}
	return nil
}

// StartSession opens a session for a signed-in subject and returns its
// first refresh token.
func (s *Service) StartSession(ctx context.Context, se Session) (Session, RefreshToken, error) {
	se.ID = NewID("se")
	se.CreatedAt = s.now().UTC()
	se.RevokedAt = time.Time{}
	if err := s.store.InsertSession(ctx, se); err != nil {
		return Session{}, RefreshToken{}, err
	}
	t := RefreshToken{ID: NewID("rt"), SessionID: se.ID, CreatedAt: se.CreatedAt}
	if err := s.store.InsertRefreshToken(ctx, t); err != nil {
		return Session{}, RefreshToken{}, err
	}
	return se, t, nil
}

// Rotate exchanges a refresh token for its successor. A token can be
// rotated once: presenting it again (a stolen copy, or a replay) revokes
// the whole session, and the caller gets ErrTokenReused.
func (s *Service) Rotate(ctx context.Context, tokenID string) (Session, RefreshToken, error) {
	old, err := s.store.RefreshToken(ctx, tokenID)
	if errors.Is(err, ErrNotFound) {
		return Session{}, RefreshToken{}, ErrSessionRevoked
	}
	if err != nil {
		return Session{}, RefreshToken{}, err
	}
	se, err := s.ActiveSession(ctx, old.SessionID)
	if err != nil {
		return Session{}, RefreshToken{}, err
	}
	next := RefreshToken{ID: NewID("rt"), SessionID: se.ID, ParentID: old.ID, CreatedAt: s.now().UTC()}
	err = s.store.InsertRefreshToken(ctx, next)
	if errors.Is(err, ErrDuplicate) {
		if rerr := s.store.RevokeSession(ctx, se.ID, s.now().UTC()); rerr != nil {
			return Session{}, RefreshToken{}, rerr
		}
		return Session{}, RefreshToken{}, ErrTokenReused
	}
	if err != nil {
		return Session{}, RefreshToken{}, err
	}
	return se, next, nil
}

// ActiveSession returns the session unless it was revoked.
func (s *Service) ActiveSession(ctx context.Context, id string) (Session, error) {
	se, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrSessionRevoked
	}
	if err != nil {
		return Session{}, err
	}
	if !se.Active() {
		return Session{}, ErrSessionRevoked
	}
	return se, nil
}

// Logout revokes the session; its refresh and access tokens stop working.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	return s.store.RevokeSession(ctx, sessionID, s.now().UTC())
}
