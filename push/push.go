// Package push delivers everything a patient should see: it appends events
// to each user's durable inbox (the truth, with a per-user increasing seq),
// hands them to live websocket subscriptions through the in-process Hub, and
// wakes backgrounded apps through FCM.
//
// Invariants:
//   - a user's events have seqs 1, 2, 3, … with no gap and no duplicate, on
//     SQLite and on MongoDB, without multi-document transactions: the insert
//     at seq+1 guarded by the unique key (user, seq) is the commit;
//   - a Draft with a Key is published at most once per user: the unique key
//     (user, key) makes a replay return the first event and push nothing;
//   - a subscription receives seqs in order without gap or duplicate: the
//     hub only queues seq == last+1 and reads the store to fill any gap;
//   - FCM is a hint sent after the inbox write, from a queue, so a slow or
//     failing FCM never blocks or fails Publish.
//
// The package knows nothing of HTTP; the app layer maps its errors and
// drives Subscription from the websocket handler.
package push

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Errors returned by the package; the app maps them to HTTP statuses.
var (
	ErrInvalidDevice = errors.New("push: invalid device")
	ErrInvalidDraft  = errors.New("push: invalid event")
	ErrNotFound      = errors.New("push: not found")
	ErrSlowConsumer  = errors.New("push: subscriber too slow, queue limit exceeded")
	ErrClosed        = errors.New("push: closed")
	ErrInvalidTicket = errors.New("push: websocket ticket is invalid, used or expired")
	// ErrTooManySockets: the user already holds MaxSocketsPerUser open
	// websockets on this instance.
	ErrTooManySockets = errors.New("push: too many open websockets for this account")
)

// Limits.
const (
	MaxDataBytes    = 16 << 10 // an event's JSON payload
	MaxTypeLen      = 64
	MaxKeyLen       = 200
	MaxTokenLen     = 4096
	MaxEventsPage   = 500
	DefaultPageSize = 100
)

// Draft is an event to publish. Key, when set, makes Publish idempotent per
// user: publishing the same (user, key) again returns the first event,
// appends nothing and sends no second push.
type Draft struct {
	Key   string          // e.g. "spend:{id}:code"
	Type  string          // e.g. "wallet.spend_code", "wallet.points_earned"
	Data  json.RawMessage // the JSON payload shown in the inbox / websocket and sent as FCM data
	Alert *Alert          // nil: inbox + websocket only; set: also wake the app via FCM

	// Clinic and Class say who sends the message and what kind it is, for
	// the one message policy (quiet hours, the weekly budget, opt-outs).
	// Class zero (ClassService) is never held back.
	Clinic string
	Class  Class
	// Card, when the message is about one card (a dependant's), lets the
	// guardian's per-card marketing switch apply as well as the clinic's.
	Card string
}

// ErrSkipped: the message policy held a message back entirely (for example
// the patient's weekly budget was spent); nothing was written or sent.
var ErrSkipped = errors.New("push: skipped by the message policy")

// SkippedError says why a message was skipped; it wraps ErrSkipped.
type SkippedError struct{ Reason string }

func (e *SkippedError) Error() string { return "push: skipped by the message policy: " + e.Reason }
func (e *SkippedError) Unwrap() error { return ErrSkipped }

// Class is what kind of message a draft is. The order is the priority
// order of the message policy: a lower value is more urgent.
type Class int

// Message classes, most urgent first.
const (
	ClassService     Class = iota // anything not under the policy (receipts, system notices)
	ClassCode                     // sign-in, card and spend codes: exempt
	ClassChat                     // chat replies: exempt
	ClassBurnWarning              // points about to burn
	ClassReminder                 // appointment reminders and before/after-visit texts
	ClassRating                   // "rate your visit"
	ClassNews                     // news posts and polls
	ClassBirthday                 // birthday greetings
	ClassWinBack                  // win-back after a cancelled or missed visit
)

// Alert is the lock-screen text of a push: never a code or a medical detail
// (the code travels only in Data and the inbox).
type Alert struct{ Title, Body string }

// Event is one entry of a user's inbox.
type Event struct {
	Seq       int64           `json:"seq"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Device is an app installation that receives pushes.
type Device struct {
	Token      string `json:"token"`
	Platform   string `json:"platform"` // android | ios | web
	AppVersion string `json:"app_version"`
	Locale     string `json:"locale"`
}

// Validate checks a device registration.
func (d Device) Validate() error {
	switch {
	case d.Token == "" || len(d.Token) > MaxTokenLen || !utf8.ValidString(d.Token):
		return fmt.Errorf("%w: token must be 1..%d characters", ErrInvalidDevice, MaxTokenLen)
	case d.Platform != "android" && d.Platform != "ios" && d.Platform != "web":
		return fmt.Errorf("%w: platform must be android, ios or web", ErrInvalidDevice)
	case len(d.AppVersion) > 64:
		return fmt.Errorf("%w: app_version is longer than 64 characters", ErrInvalidDevice)
	case len(d.Locale) > 35:
		return fmt.Errorf("%w: locale is longer than 35 characters", ErrInvalidDevice)
	}
	return nil
}

// normalize validates d and returns its payload in compact form ({} for none).
func (d Draft) normalize() (json.RawMessage, error) {
	if d.Type == "" || len(d.Type) > MaxTypeLen {
		return nil, fmt.Errorf("%w: type must be 1..%d characters", ErrInvalidDraft, MaxTypeLen)
	}
	if len(d.Key) > MaxKeyLen {
		return nil, fmt.Errorf("%w: key is longer than %d characters", ErrInvalidDraft, MaxKeyLen)
	}
	if d.Alert != nil && (d.Alert.Title == "" || len(d.Alert.Title)+len(d.Alert.Body) > 1024) {
		return nil, fmt.Errorf("%w: alert needs a title and at most 1 KiB of text", ErrInvalidDraft)
	}
	if len(d.Data) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if len(d.Data) > MaxDataBytes {
		return nil, fmt.Errorf("%w: data is larger than %d bytes", ErrInvalidDraft, MaxDataBytes)
	}
	if !json.Valid(d.Data) {
		return nil, fmt.Errorf("%w: data is not valid JSON", ErrInvalidDraft)
	}
	return d.Data, nil
}

// newID returns a random event id: stable once stored, so clients can drop
// duplicates by id as well as by seq.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "ev_" + hex.EncodeToString(b[:])
}
