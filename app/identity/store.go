package identity

import (
	"context"
	"time"
)

// Store is what the identity service keeps. Inserts report a unique-key
// clash as ErrDuplicate; reads of a missing record return ErrNotFound.
type Store interface {
	ProfileStore

	InsertClinic(ctx context.Context, c Clinic) error
	Clinic(ctx context.Context, id string) (Clinic, error)
	AnyClinic(ctx context.Context) (bool, error)

	InsertStaff(ctx context.Context, s Staff) error // ErrDuplicate: email taken
	StaffByEmail(ctx context.Context, email string) (Staff, error)
	StaffByID(ctx context.Context, id string) (Staff, error)
	ListStaff(ctx context.Context, clinicID string) ([]Staff, error)
	SetStaffRole(ctx context.Context, id string, role Role) error    // ErrNotFound: no such staff
	DisableStaff(ctx context.Context, id string, at time.Time) error // ErrNotFound: no such staff

	InsertPatient(ctx context.Context, p Patient) error // ErrDuplicate: phone taken
	PatientByPhone(ctx context.Context, phone string) (Patient, error)
	PatientByID(ctx context.Context, id string) (Patient, error)
	UpdatePatientProfile(ctx context.Context, p Patient) error

	InsertDependant(ctx context.Context, d Dependant) error // ErrDuplicate: id taken
	DependantByID(ctx context.Context, id string) (Dependant, error)
	// PeopleBornOn lists the patients and dependants born on one of the
	// month-days ("MM-DD"), ordered by id, after afterID.
	PeopleBornOn(ctx context.Context, monthDays []string, afterID string, limit int) ([]Person, error)

	// LastChallenge is the phone's challenge with the highest seq.
	LastChallenge(ctx context.Context, phone string) (Challenge, error)
	ChallengeBySeq(ctx context.Context, phone string, seq int64) (Challenge, error)
	InsertChallenge(ctx context.Context, c Challenge) error // ErrDuplicate: (phone, seq) taken
	CountAttempts(ctx context.Context, challengeID string) (int, error)
	InsertAttempt(ctx context.Context, challengeID string, n int, at time.Time) error // ErrDuplicate: slot taken
	InsertUsed(ctx context.Context, challengeID string, at time.Time) error           // ErrDuplicate: already used

	// Slots count events of a windowed limit (see otp.Take): unique (key, n).
	Slots(ctx context.Context, key string) (int, error)
	InsertSlot(ctx context.Context, key string, n int, at time.Time) error // ErrDuplicate: slot taken
	// DeleteSlotsBefore drops the slots taken before t (windows that ended).
	DeleteSlotsBefore(ctx context.Context, t time.Time) (int64, error)

	InsertSession(ctx context.Context, s Session) error
	Session(ctx context.Context, id string) (Session, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeSubjectSessions revokes every active session of a subject.
	RevokeSubjectSessions(ctx context.Context, subjectID string, at time.Time) error

	InsertRefreshToken(ctx context.Context, t RefreshToken) error // ErrDuplicate: parent already rotated
	RefreshToken(ctx context.Context, id string) (RefreshToken, error)

	RightsStore

	Ping(ctx context.Context) error
}
