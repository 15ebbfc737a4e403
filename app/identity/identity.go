// Package identity owns who is calling: clinics, their staff (email and
// password, a role within one clinic), patients (phone and one-time code),
// and the sessions behind refresh tokens. It is the one owner of personal
// details: patients' and their dependants' names and birth dates (other
// packages keep ids and read the details through Person and BornOn).
//
// Every rule that must hold under concurrency is a unique key, so the
// SQLite and MongoDB adapters are both correct without transactions:
// login-code challenges are numbered per phone (unique (phone, seq)) and a
// new one is allowed only when the fifth-latest is older than the window;
// the code itself follows the one protocol of package otp (an HMAC at
// rest, attempt slots (challenge, n ≤ 10), spent by inserting its
// challenge into the used set); the abuse limits (codes and checks per
// client address and for the whole service, password attempts per email
// and address) are fixed windows of unique slots; a refresh token is
// rotated by inserting its successor (unique parent), so two concurrent
// refreshes with one token cannot both win.
package identity

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"carewallet/app/problem"
)

// Errors returned by the service; the HTTP layer maps them to statuses.
var (
	ErrNotFound        = errors.New("identity: not found")
	ErrDuplicate       = errors.New("identity: already exists")
	ErrInvalidPhone    = errors.New("identity: invalid phone number")
	ErrInvalidCode     = errors.New("identity: invalid or expired code")
	ErrTooManyAttempts = errors.New("identity: too many attempts")
	ErrEmailTaken      = errors.New("identity: email already registered")
	ErrBadCredentials  = errors.New("identity: wrong email or password")
	ErrTokenReused     = errors.New("identity: refresh token reused; session revoked")
	ErrSessionRevoked  = errors.New("identity: session revoked")
)

// RateLimitError says a limit was hit and when to try again: the shared
// shape, so the HTTP layer maps it without a case for this package.
type RateLimitError = problem.Limited

// ValidationError names the field that is wrong (the shared shape).
type ValidationError = problem.Invalid

func invalid(field, msg string) error { return &ValidationError{Field: field, Message: msg} }

// Role is a staff member's role within their clinic.
type Role string

// Staff roles: an admin works at reception; a manager may do all an admin
// may, and also runs the program, the staff list, news and reports.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleManager }

// Clinic is one clinic (or one chain sharing a program).
type Clinic struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
}

// Staff is a clinic employee who signs in with email and password.
type Staff struct {
	ID           string    `json:"id"`
	ClinicID     string    `json:"clinic_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	DisabledAt   time.Time `json:"disabled_at,omitzero"` // zero while the staff member may sign in
}

// Disabled reports whether the staff member was disabled: they cannot sign
// in and their sessions were revoked.
func (s Staff) Disabled() bool { return !s.DisabledAt.IsZero() }

// Patient is a person with the app, known by phone.
type Patient struct {
	ID        string    `json:"id"`
	Phone     string    `json:"phone"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	BirthDate string    `json:"birth_date"` // YYYY-MM-DD, or "" when not given
	CreatedAt time.Time `json:"created_at"`
}

// Challenge is one login code sent to a phone; seq numbers a phone's
// challenges and the latest one is the only one that can be used.
type Challenge struct {
	ID        string
	Phone     string
	Seq       int64
	CodeHash  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Subject kinds of a session.
const (
	KindPatient = "patient"
	KindStaff   = "staff"
)

// Session is one sign-in: the family of refresh tokens rotated from it.
type Session struct {
	ID        string
	Kind      string // KindPatient or KindStaff
	SubjectID string
	ClinicID  string // staff only
	Role      Role   // staff only
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// Active reports whether the session has not been revoked.
func (s Session) Active() bool { return s.RevokedAt.IsZero() }

// RefreshToken is one link of a session's rotation chain. ParentID is
// unique: a token can be rotated once.
type RefreshToken struct {
	ID        string
	SessionID string
	ParentID  string // "" for the first token of a session
	CreatedAt time.Time
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns prefix + "_" + 26 random base32 characters (130 bits).
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
