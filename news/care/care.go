// Package care runs a clinic's care scenarios: appointments arrive from the
// clinic's scheduling system, and scenarios send the right message at the
// right time — a greeting after a first booking, a reminder and the
// services' "before" texts the day before, the "after" texts once the visit
// is done, a request to rate the visit, a birthday greeting, and a message
// bringing back a patient who cancelled or did not come. Patients rate
// their visits: a good score shows the clinic's review sites, a bad one
// goes to the managers as a chat message.
//
// Invariants, each held by a unique key so that they hold on SQLite and on
// MongoDB without multi-document transactions (ARCHITECTURE.md §2):
//   - one appointment per (clinic, external id): an upsert inserts it or
//     rewrites it under a version check;
//   - every message a scenario sends has a deterministic key
//     (care:{scenario}:{appointment}:{date}, care:rating:{clinic}:{patient}:{date},
//     care:birthday:{clinic}:{patient}:{year}), inserted once into the
//     outbox (care_messages) and published with the same key, which push
//     keeps unique per user: a restart, a retry or two instances sending at
//     once deliver each message at most once, and a message written to the
//     outbox is never lost (it is sent, skipped, or dropped and counted);
//   - an appointment's messages are planned from its stored state after
//     each write, and an appointment whose planned version is behind its
//     version is planned again by the scheduler, so a crash between the
//     write and the planning delays the planning and never loses it;
//   - one rating per visit (the appointment id is the key).
//
// The package imports neither app nor another domain package: it declares
// the small interfaces it needs (an inbox, the patients' names and birth
// dates, the clinics' names and zones, the managers, the chat) and app
// adapts identity, wallet, push and news to them. It keeps no names,
// phones or birth dates; it reads them when a message is rendered.
package care

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"carewallet/app/problem"
)

// Sentinel errors; app's error table maps them to statuses and codes.
var (
	ErrInvalid    = errors.New("care: invalid request")
	ErrNotFound   = errors.New("care: not found")
	ErrRated      = errors.New("care: this visit is already rated")
	ErrNotVisited = errors.New("care: the visit has not taken place")
	ErrSkipped    = errors.New("care: skipped by the message policy")
	// ErrNoThread: the patient cannot have a chat thread with the clinic
	// (no card there); a low rating then reaches managers as an alert only.
	ErrNoThread     = errors.New("care: the patient has no chat with this clinic")
	errDuplicate    = errors.New("care: duplicate key")
	errVersionMoved = errors.New("care: the appointment changed meanwhile")
)

func invalid(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalid, field, format, args...)
}

// Note is one care message for a patient's inbox. Key makes it
// idempotent per user. Alert is the lock-screen text: the clinic's name
// and a generic line, never the patient's name or the text itself.
type Note struct {
	Key        string
	Type       string
	ClinicID   string
	Scenario   string
	Data       any
	AlertTitle string
	AlertBody  string
}

// Inbox publishes messages (push). Publish returns an error wrapping
// ErrSkipped, with the policy's reason from SkipReason, when the message
// policy held the message back.
type Inbox interface {
	Publish(ctx context.Context, userID string, n Note) error
}

// SkipError is what an Inbox returns for a message the policy skipped.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "care: skipped by the message policy: " + e.Reason }

// Unwrap returns ErrSkipped.
func (e *SkipError) Unwrap() error { return ErrSkipped }

// Person is what care reads of a patient when it renders a message.
type Person struct {
	ID        string
	FirstName string
	BirthDate string // YYYY-MM-DD or ""
}

// Patients reads patients (identity, wallet).
type Patients interface {
	Person(ctx context.Context, id string) (Person, error)
	// BornOn lists patients born on one of the month-days ("MM-DD"),
	// by id after afterID.
	BornOn(ctx context.Context, monthDays []string, afterID string, limit int) ([]Person, error)
	// Clinics lists the clinics where the patient holds an active card.
	Clinics(ctx context.Context, patientID string) ([]string, error)
}

// Clinic is what care needs of a clinic.
type Clinic struct {
	Name     string
	Location *time.Location
}

// Clinics reads clinics (identity).
type Clinics interface {
	Clinic(ctx context.Context, id string) (Clinic, error)
}

// Managers lists a clinic's active managers (identity).
type Managers interface {
	Managers(ctx context.Context, clinicID string) ([]string, error)
}

// Chat puts a patient's words in their chat thread with the clinic as if
// the patient wrote them (news), returning the thread id.
type Chat interface {
	PatientWrites(ctx context.Context, clinicID, patientID, text string) (threadID string, err error)
}

// Options configure a Service.
type Options struct {
	Now      func() time.Time
	Inbox    Inbox
	Patients Patients
	Clinics  Clinics
	Managers Managers // nil: no realtime alert of a negative rating
	Chat     Chat     // nil: negative ratings reach managers only as alerts
	// PushConfigured says whether FCM is configured; without it scenarios
	// report the problem (messages still reach the inbox).
	PushConfigured bool
	// Batch is how many due messages one scheduler step reads (default 500).
	Batch int
}

// Service is the care component.
type Service struct {
	store Store
	opts  Options
	kick  chan struct{}
}

// NewService builds the service over store.
func NewService(store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	return &Service{store: store, opts: opts, kick: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
