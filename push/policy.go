package push

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"carewallet/app/problem"
)

// The one message policy. Every draft with a Clinic and a Class of
// ClassBurnWarning or below in priority (a higher Class value) goes
// through it, in Publish and PublishMany alike, so news, care scenarios
// and burn warnings share it:
//
//   - the weekly budget: at most Policy.WeeklyBudget such messages per
//     patient per clinic per clinic-local week (Monday–Sunday). A message
//     takes a budget slot (user, clinic, week, n) with n ≤ budget by
//     inserting it; the unique key makes two instances racing take
//     different slots, and the unique key (user, clinic, message key)
//     makes a retry of the same message find its own slot instead of
//     taking a second one. A message that finds no free slot is skipped:
//     no inbox event, no push, *SkippedError{Reason: ReasonBudget};
//   - opt-outs: a patient who switched marketing off for the clinic (or,
//     as a guardian, for the dependant's card the draft is about) gets the
//     inbox event but no push. Burn warnings are not marketing: they always
//     arrive (but they do count against the budget);
//   - quiet hours (default 21:00–09:00 clinic time): the inbox event is
//     written at once; the push is stored as a deferred row keyed (user,
//     event) with the end of the quiet hours as not_before, and SendDue
//     sends it then. A restart neither loses it (the row is durable) nor
//     sends it twice (a row is taken by deleting it, which only one
//     instance can do).
//
// Priority. Classes are ordered most urgent first (ClassCode … ClassWinBack)
// and a budget slot goes to whichever message claims it first, so
// priority is the order of claiming: PublishEach publishes the messages
// due for patients together sorted by class (a budget of 2 with a burn
// warning, a news post and a win-back due at once skips the win-back), and
// each job passes its class. Messages from different jobs at different
// times take slots as they come: one already delivered is never taken back
// for a more urgent one later in the week.
//
// Counting: Stats and the stored tallies count a message each time the
// policy holds it back; a retried page whose users are skipped again is
// counted again (tallies are reports, never guards).
//
// Codes (ClassCode), chat replies (ClassChat) and ClassService are exempt
// from all three rules.

// Reasons a message was held back, as counted by Tally and Stats.
const (
	ReasonBudget   = "budget"    // skipped: the weekly budget was spent
	ReasonOptedOut = "opted_out" // inbox only: the patient switched marketing pushes off
	ReasonDeferred = "deferred"  // the push waits for the end of quiet hours
)

// Policy defaults.
const (
	DefaultQuietFrom    = 21 * 60 // minutes after local midnight
	DefaultQuietTo      = 9 * 60
	DefaultWeeklyBudget = 2
	MaxWeeklyBudget     = 50
)

// ErrInvalidPolicy: a clinic's message policy or a preference is invalid.
var ErrInvalidPolicy = fmt.Errorf("push: invalid message policy")

// Policy is a clinic's message policy. QuietFrom and QuietTo are minutes
// after local midnight; equal values mean no quiet hours; QuietFrom after
// QuietTo spans midnight.
type Policy struct {
	QuietFrom    int
	QuietTo      int
	WeeklyBudget int
}

// DefaultPolicy is the policy of a clinic that set none.
func DefaultPolicy() Policy {
	return Policy{QuietFrom: DefaultQuietFrom, QuietTo: DefaultQuietTo, WeeklyBudget: DefaultWeeklyBudget}
}

// Validate checks a policy (fields named as in the API).
func (p Policy) Validate() error {
	switch {
	case p.QuietFrom < 0 || p.QuietFrom >= 24*60:
		return problem.Invalidf(ErrInvalidPolicy, "quiet_from", "quiet_from must be a time of day HH:MM")
	case p.QuietTo < 0 || p.QuietTo >= 24*60:
		return problem.Invalidf(ErrInvalidPolicy, "quiet_to", "quiet_to must be a time of day HH:MM")
	case p.WeeklyBudget < 0 || p.WeeklyBudget > MaxWeeklyBudget:
		return problem.Invalidf(ErrInvalidPolicy, "weekly_budget", "weekly_budget must be 0..%d", MaxWeeklyBudget)
	}
	return nil
}

// QuietUntil reports whether t falls in the quiet hours in loc and, if so,
// the instant they end.
func (p Policy) QuietUntil(t time.Time, loc *time.Location) (time.Time, bool) {
	if p.QuietFrom == p.QuietTo {
		return time.Time{}, false
	}
	l := t.In(loc)
	m := l.Hour()*60 + l.Minute()
	var quiet bool
	if p.QuietFrom < p.QuietTo {
		quiet = m >= p.QuietFrom && m < p.QuietTo
	} else {
		quiet = m >= p.QuietFrom || m < p.QuietTo
	}
	if !quiet {
		return time.Time{}, false
	}
	end := time.Date(l.Year(), l.Month(), l.Day(), p.QuietTo/60, p.QuietTo%60, 0, 0, loc)
	if !end.After(t) {
		d := l.AddDate(0, 0, 1)
		end = time.Date(d.Year(), d.Month(), d.Day(), p.QuietTo/60, p.QuietTo%60, 0, 0, loc)
	}
	return end.UTC(), true
}

// Week names the clinic-local ISO week (Monday–Sunday) of t, e.g. "2026-W49".
func Week(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// Budgeted reports whether a class counts against the weekly budget and
// observes quiet hours.
func (c Class) Budgeted() bool { return c >= ClassBurnWarning }

// Marketing reports whether a patient may switch the class's pushes off.
func (c Class) Marketing() bool { return c >= ClassReminder }

// String names the class as reports and metrics do.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class%d", int(c))
}

// ClassByName is the class a name (as String gives it) stands for;
// ok = false for an unknown name.
func ClassByName(name string) (c Class, ok bool) {
	for i, n := range classNames {
		if n == name {
			return Class(i), true
		}
	}
	return ClassService, false
}

var classNames = []string{"service", "code", "chat", "burn_warning", "reminder", "rating", "news", "birthday", "win_back"}

// Zones gives clinics' time zones (identity, adapted by the app).
type Zones interface {
	Location(ctx context.Context, clinicID string) (*time.Location, error)
}

// Preference is one marketing switch of a user: for a clinic (Card "") or
// for one dependant's card the user guards.
type Preference struct {
	Clinic    string
	Card      string
	Marketing bool
	UpdatedAt time.Time
}

// Tally is how many messages were held back for one reason, per clinic,
// class and clinic-local day.
type Tally struct {
	Clinic string
	Class  Class
	Reason string
	Day    string // YYYY-MM-DD in the clinic's zone
	N      int64
}

// Delivery counts pushes per device for one draft key, from FCM's
// answers: Sent were accepted, Failed were finally refused (after retries,
// or the token was gone).
type Delivery struct{ Sent, Failed int64 }

// Deferred is a push waiting for the end of quiet hours.
type Deferred struct {
	User      string
	Event     Event // ID, Seq, Type (for the FCM data)
	Key       string
	Alert     Alert
	Clinic    string
	Class     Class
	NotBefore time.Time
}

// Claim asks for one budget slot: Key identifies the message (a retry of
// it finds its slot).
type Claim struct {
	User, Key string
	Class     Class
}

// PolicyStore is what the message policy stores.
type PolicyStore interface {
	// ClinicPolicy is the clinic's stored policy; ok = false if none.
	ClinicPolicy(ctx context.Context, clinic string) (p Policy, ok bool, err error)
	PutClinicPolicy(ctx context.Context, clinic string, p Policy, at time.Time) error
	// Preferences lists the user's switches.
	Preferences(ctx context.Context, user string) ([]Preference, error)
	// PutPreferences upserts the user's switches (others stay).
	PutPreferences(ctx context.Context, user string, prefs []Preference) error
	// OptedOut returns which of users switched marketing off for clinic,
	// or for card when card is not "".
	OptedOut(ctx context.Context, clinic, card string, users []string) (map[string]bool, error)
	// ClaimSlots gives each claim a budget slot n ≤ budget in (user,
	// clinic, week), or grants it without spending when its message is
	// already in the user's inbox (MongoDB keeps a slot per message key and
	// finds that; SQLite keeps a count and looks in the inbox, the claim
	// and the append being one transaction); granted[i] says whether
	// claims[i] has one.
	ClaimSlots(ctx context.Context, clinic, week string, budget int, claims []Claim, at time.Time) (granted []bool, err error)
	// Defer stores deferred pushes; one already stored for (user, event)
	// stays as it is.
	Defer(ctx context.Context, ds []Deferred) error
	// TakeDue removes and returns up to limit deferred pushes due at now;
	// a row is returned to one caller only.
	TakeDue(ctx context.Context, now time.Time, limit int) ([]Deferred, error)
	// AddTallies adds to the per-reason counters.
	AddTallies(ctx context.Context, ts []Tally) error
	// Tallies sums the clinic's counters for days from..to (inclusive,
	// YYYY-MM-DD), per class and reason.
	Tallies(ctx context.Context, clinic, from, to string) ([]Tally, error)
	// AddDeliveries adds per-key push results.
	AddDeliveries(ctx context.Context, ds map[string]Delivery) error
	// Deliveries reads per-key push results (missing keys: zero).
	Deliveries(ctx context.Context, keys []string) (map[string]Delivery, error)
}

func sortTallies(ts []Tally) {
	slices.SortFunc(ts, func(a, b Tally) int {
		return cmp.Or(cmp.Compare(a.Class, b.Class), cmp.Compare(a.Reason, b.Reason))
	})
}
