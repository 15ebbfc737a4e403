// Package news keeps a clinic in touch with its patients: news posts (at
// most one a week per clinic), polls carried by a post, and one chat thread
// per (clinic, patient) answered by the clinic's managers.
//
// Invariants, each held by a unique key so that they hold on SQLite and on
// MongoDB without multi-document transactions (ARCHITECTURE.md §2):
//   - at most one post per clinic per ISO week of the clinic's time zone:
//     a post exists only after its (clinic, week) claim was inserted;
//   - a post reaches each recipient once: the fan-out publishes with the
//     key news:{post} per recipient, which the inbox keeps unique, and
//     resumes from a stored cursor, so a stop half way and a restart, or
//     two instances running the job at once, deliver nothing twice;
//   - one vote per (poll, patient);
//   - one thread per (clinic, patient); a message's place is the insert of
//     (thread, seq), so the order is total under concurrent senders.
//
// The package imports neither app nor another domain package: it declares
// the small interfaces it needs (an inbox to publish to, the accounts
// holding a clinic's cards, clinics' names and time zones, a bonus to
// credit) and app adapts push, wallet and identity to them. It keeps no
// names, phones or birth dates: the app reads those from identity.
package news

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"carewallet/app/problem"
)

// Sentinel errors; app's error table maps them to statuses and codes.
var (
	ErrInvalid      = errors.New("news: invalid request")
	ErrNotFound     = errors.New("news: not found")
	ErrWeeklyLimit  = errors.New("news: this clinic already has a post this week")
	ErrPublished    = errors.New("news: the post is already published: only its text and image can change")
	ErrWithdrawn    = errors.New("news: the post was withdrawn")
	ErrNoPoll       = errors.New("news: the post has no poll")
	ErrPollClosed   = errors.New("news: the poll is closed")
	ErrVoted        = errors.New("news: you have already voted in this poll")
	ErrNotVoted     = errors.New("news: results are shown after voting")
	ErrThreadClosed = errors.New("news: the chat is closed")
	ErrNoThread     = errors.New("news: the patient has not written to this clinic")
	ErrRateLimited  = errors.New("news: too many messages")
	errDuplicate    = errors.New("news: duplicate key")
)

// WeeklyLimitError is ErrWeeklyLimit with the first instant a post may be
// published.
type WeeklyLimitError struct{ NextAllowedAt time.Time }

func (e *WeeklyLimitError) Error() string {
	return fmt.Sprintf("%v; the next post may be published from %s", ErrWeeklyLimit, e.NextAllowedAt.Format(time.RFC3339))
}

// Unwrap returns ErrWeeklyLimit.
func (e *WeeklyLimitError) Unwrap() error { return ErrWeeklyLimit }

func invalid(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalid, field, format, args...)
}

// Note is one event for a user's inbox. Key makes it idempotent per user.
// The alert is what a lock screen shows: never chat text or anything
// personal; Data goes only to the inbox (FCM carries event id, seq, type).
type Note struct {
	Key        string
	Type       string
	Data       any
	AlertTitle string
	AlertBody  string
	// Clinic and Class put the note under the one message policy (quiet
	// hours, weekly budget, opt-outs): Class names a message class of the
	// push package ("news", "reminder", "rating", "birthday", "win_back");
	// "" is not under the policy.
	Clinic string
	Class  string
}

// ClassNews is the message class of news posts.
const ClassNews = "news"

// Inbox publishes notes to users' durable inboxes (push).
type Inbox interface {
	Publish(ctx context.Context, userID string, n Note) error
	// PublishMany publishes one note to many users; with a Key, users who
	// already have it are skipped (no second event, no second push).
	PublishMany(ctx context.Context, userIDs []string, n Note) error
}

// ReportingInbox is an Inbox that also says what a PublishMany did: the
// users the message policy skipped (their weekly budget was spent: they
// got nothing) and how many accounts got a new event from this call. The
// fan-out uses it when the inbox has it, to count the recipients apart
// from the skipped, and to count a page without a row per recipient.
type ReportingInbox interface {
	PublishManyReport(ctx context.Context, userIDs []string, n Note) (PublishReport, error)
}

// PublishReport is what a ReportingInbox's PublishMany did.
type PublishReport struct {
	Skipped []string // users the message policy skipped
	// Delivered is how many accounts got a new event, when the events
	// were written in the caller's Store.Atomic unit (they commit or roll
	// back with the page); -1 otherwise.
	Delivered int
}

// PushCounts are the pushes of one note, per device, as FCM answered.
type PushCounts struct{ Sent, Failed int64 }

// Pushes reads per-device push results by note key (push).
type Pushes interface {
	PushCounts(ctx context.Context, keys []string) (map[string]PushCounts, error)
}

// Audience answers who holds the cards of a clinic (wallet).
type Audience interface {
	// Holders pages the accounts in the clinic's segment: every holder of
	// a card of the clinic (patients' own cards and the guardians of
	// dependants' cards), those at the segment's loyalty level, or the
	// patients holding their own card at the segment's depth of the
	// referral tree (a page may then hold fewer than limit, even none,
	// before the last). An account may appear more than once; next is ""
	// after the last page.
	Holders(ctx context.Context, clinicID string, seg Segment, after string, limit int) (ids []string, next string, err error)
	// CheckLevel reports whether the clinic's program has the level.
	CheckLevel(ctx context.Context, clinicID, level string) error
	// Clinics lists the clinics where the patient holds a card (own or a
	// dependant's).
	Clinics(ctx context.Context, patientID string) ([]string, error)
}

// Clinic is what news needs of a clinic.
type Clinic struct {
	Name     string
	Location *time.Location
}

// Clinics reads clinics (identity).
type Clinics interface {
	Clinic(ctx context.Context, id string) (Clinic, error)
}

// Options configure a Service.
type Options struct {
	Now      func() time.Time
	Inbox    Inbox
	Audience Audience
	Clinics  Clinics
	// Staff and Bonus serve the chat (see chat.go); nil disables the
	// manager fan-out and bonuses.
	Staff Staff
	Bonus Bonus
	// Pushes gives the manager's post view its per-device push counts;
	// nil shows zeros.
	Pushes Pushes
	// FanoutPage is how many holders one fan-out step reads and publishes
	// (default 2000: the inbox writes a page in one transaction).
	FanoutPage int
}

// Service is the news component.
type Service struct {
	store Store
	opts  Options
	kick  chan struct{} // wakes RunFanout when a post is published now
}

// NewService builds the service over store.
func NewService(store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FanoutPage <= 0 {
		opts.FanoutPage = 2000
	}
	return &Service{store: store, opts: opts, kick: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
