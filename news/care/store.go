package care

import (
	"context"
	"time"
)

// Store is the package's persistence, one small interface per concept;
// SQLiteStore and MongoStore implement it with the same unique keys and
// one conformance suite tests both. Inserts guarded by a unique key return
// an error wrapping errDuplicate when the key is taken; lookups return
// ErrNotFound.
type Store interface {
	AppointmentStore
	OutboxStore
	SettingStore
	RatingStore
	EraseStore
}

// EraseStore forgets a deleted patient (DELETE /v1/me).
type EraseStore interface {
	// ErasePatient voids the patient's pending messages (reason
	// ReasonErased, done at), so no tick sends them, and deletes the
	// records of when they entered their birth date (which hold it).
	// Idempotent.
	ErasePatient(ctx context.Context, patientID string, at time.Time) error
}

// AppointmentStore keeps appointments: unique (clinic, external id).
type AppointmentStore interface {
	InsertAppointment(ctx context.Context, a *Appointment) error
	// UpdateAppointment rewrites a's fields if the stored version is still
	// prev; errVersionMoved if another write came first.
	UpdateAppointment(ctx context.Context, a *Appointment, prev int64) error
	Appointment(ctx context.Context, id string) (*Appointment, error)
	AppointmentByExternal(ctx context.Context, clinicID, externalID string) (*Appointment, error)
	Appointments(ctx context.Context, ids []string) ([]Appointment, error)
	// PatientAppointments lists the patient's appointments at the clinic
	// ("" any clinic), oldest booking first.
	PatientAppointments(ctx context.Context, clinicID, patientID string) ([]Appointment, error)
	// SetPlanned records that the messages of version are planned (the
	// planned mark only rises).
	SetPlanned(ctx context.Context, id string, version int64) error
	// Unplanned lists appointments whose planned mark is behind their
	// version.
	Unplanned(ctx context.Context, limit int) ([]Appointment, error)
}

// OutboxStore keeps the care messages: unique key.
type OutboxStore interface {
	// AddMessage inserts m; false (and no error) when its key exists.
	AddMessage(ctx context.Context, m *Message) (bool, error)
	Message(ctx context.Context, key string) (*Message, error)
	// DueMessages lists pending messages due at or before now, soonest
	// first; it reads an index on (state, due), never the whole outbox.
	DueMessages(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// Reschedule moves a pending message to due (and, when set, to
	// another appointment).
	Reschedule(ctx context.Context, key string, due time.Time, appointmentID string) error
	// Finish sets the state and reason of those of the keys still pending.
	Finish(ctx context.Context, keys []string, state int, reason string, at time.Time) error
	// MessageCounts counts the clinic's finished messages done in
	// [from, to) by scenario, state and reason.
	MessageCounts(ctx context.Context, clinicID string, from, to time.Time) ([]MessageCount, error)
	// SentMessages lists the clinic's messages of the scenario sent in
	// [from, to).
	SentMessages(ctx context.Context, clinicID, scenario string, from, to time.Time) ([]Message, error)
}

// MessageCount is one group of MessageCounts.
type MessageCount struct {
	Scenario string
	State    int
	Reason   string
	N        int64
}

// SettingStore keeps the clinics' choices: scenarios (unique (clinic,
// scenario)), service texts (unique (clinic, code)), review sites (one
// list per clinic) and when patients entered their birth dates.
type SettingStore interface {
	PutSetting(ctx context.Context, st Setting) error
	Settings(ctx context.Context, clinicID string) ([]Setting, error)
	// PutServices upserts the texts of several services at once (SQLite:
	// in one transaction).
	PutServices(ctx context.Context, clinicID string, list []ServiceText) error
	Services(ctx context.Context, clinicID string, codes []string) ([]ServiceText, error)
	// AllServices lists the clinic's services by code after after.
	AllServices(ctx context.Context, clinicID, after string, limit int) ([]ServiceText, error)
	ServiceCounts(ctx context.Context, clinicID string) (ServiceCounts, error)
	PutReviewSites(ctx context.Context, clinicID string, sites []Site) error
	ReviewSites(ctx context.Context, clinicID string) ([]Site, error)
	// PutBirthDate records when the patient's birth date was entered.
	PutBirthDate(ctx context.Context, patientID, birthDate string, at time.Time) error
	// BirthDateEntered is when the birth date was entered; zero if never
	// recorded.
	BirthDateEntered(ctx context.Context, patientID, birthDate string) (time.Time, error)
}

// ServiceCounts counts a clinic's services with each kind of text.
type ServiceCounts struct{ Before, After int64 }

// RatingStore keeps ratings: unique visit.
type RatingStore interface {
	InsertRating(ctx context.Context, r *VisitRating) error
	RatingByVisit(ctx context.Context, visitID string) (*VisitRating, error)
	SetRatingThread(ctx context.Context, visitID, threadID string) error
	// Ratings lists the clinic's ratings created in [from, to), with the
	// score unless 0, oldest first, at most limit.
	Ratings(ctx context.Context, clinicID string, from, to time.Time, score, limit int) ([]VisitRating, error)
	PatientRatings(ctx context.Context, patientID string) ([]VisitRating, error)
	// EraseComments blanks the patient's rating comments.
	EraseComments(ctx context.Context, patientID string) (int64, error)
}
