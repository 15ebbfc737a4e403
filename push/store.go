package push

import (
	"context"
	"time"
)

// Store is the persistence the push service needs; SQLiteStore and
// MongoStore implement it and one conformance suite tests both.
//
// Both adapters keep the same unique keys: (user, seq) and (user, key) on
// events, token on devices. Append is correct under concurrent writers from
// any number of processes because a seq is only taken by inserting it.
type Store interface {
	Amender // amend.go
	// Append stores ev for user at seq = last+1 and returns it with its seq
	// and created = true. If key is set and (user, key) already exists it
	// returns the stored event and created = false.
	Append(ctx context.Context, user, key string, ev Event) (stored Event, created bool, err error)
	// AppendMany appends one event per user (ids and times taken from evs,
	// evs[i] for users[i]) in as few round trips as the database allows,
	// with the same key semantics as Append.
	AppendMany(ctx context.Context, users []string, key string, evs []Event) ([]Appended, error)
	// Events returns the user's events with seq > after, in seq order.
	Events(ctx context.Context, user string, after int64, limit int) ([]Event, error)
	// LastSeq is the user's highest seq (0 for an empty inbox).
	LastSeq(ctx context.Context, user string) (int64, error)
	// Since returns events created at or after t, oldest first; the
	// cross-instance poller reads it.
	Since(ctx context.Context, t time.Time, limit int) ([]UserEvent, error)

	// PutDevice registers a token for user and session; a token already
	// registered moves to this user and session.
	PutDevice(ctx context.Context, user, session string, d Device, at time.Time) error
	// DeleteDevice removes the user's token; ErrNotFound if the user has no
	// such token.
	DeleteDevice(ctx context.Context, user, token string) error
	// DeleteSessionDevices removes the tokens registered by one session.
	DeleteSessionDevices(ctx context.Context, user, session string) error
	// DeleteTokens removes tokens whatever their owner (FCM said they are gone).
	DeleteTokens(ctx context.Context, tokens []string) error
	// Devices lists the devices of the given users.
	Devices(ctx context.Context, users []string) ([]UserDevice, error)

	// PutTicket stores a websocket ticket (by its hash) until expires, and
	// forgets expired ones.
	PutTicket(ctx context.Context, hash, user, session string, expires time.Time) error
	// TakeTicket redeems a ticket once: ErrNotFound if it is unknown, used
	// or expired at now.
	TakeTicket(ctx context.Context, hash string, now time.Time) (user, session string, err error)

	// RecordFailures keeps pushes that finally failed, for operators.
	RecordFailures(ctx context.Context, fs []Failure) error
	// Failures lists recorded failures, newest first.
	Failures(ctx context.Context, limit int) ([]Failure, error)

	// PolicyStore keeps the message policy's settings, budget slots,
	// deferred pushes and counters (policy.go).
	PolicyStore
}

// Appended is one result of AppendMany.
type Appended struct {
	User    string
	Event   Event
	Created bool
}

// UserEvent is an event with its owner.
type UserEvent struct {
	User  string
	Event Event
}

// UserDevice is a device with its owner.
type UserDevice struct {
	User    string
	Session string
	Device
	UpdatedAt time.Time
}

// Failure is a push that was not delivered after all retries, or whose
// token was rejected.
type Failure struct {
	User     string
	EventID  string
	Token    string
	Reason   string // e.g. "UNAVAILABLE after 5 attempts", "UNREGISTERED"
	Attempts int
	At       time.Time
}

// maxAppendAttempts bounds the re-read-and-retry loop of Append; each
// failed attempt means another writer took the seq, so this is only hit by
// pathological contention.
const maxAppendAttempts = 1000
