package push

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"carewallet/app/storage"
)

// applied is the policy in force for one draft at one instant.
type applied struct {
	clinic string
	class  Class
	pol    Policy
	loc    *time.Location
	now    time.Time
}

// underPolicy reports whether the message policy governs d.
func (d Draft) underPolicy() bool { return d.Clinic != "" && d.Class.Budgeted() }

// policyFor loads the clinic's policy and zone for d, or nil when d is
// not under the policy.
func (s *Service) policyFor(ctx context.Context, d Draft) (*applied, error) {
	if !d.underPolicy() {
		return nil, nil
	}
	p, ok, err := s.store.ClinicPolicy(ctx, d.Clinic)
	if err != nil {
		return nil, err
	}
	if !ok {
		p = DefaultPolicy()
	}
	loc := time.UTC
	if s.opts.Zones != nil {
		if loc, err = s.opts.Zones.Location(ctx, d.Clinic); err != nil {
			return nil, fmt.Errorf("push: clinic zone: %w", err)
		}
	}
	return &applied{clinic: d.Clinic, class: d.Class, pol: p, loc: loc, now: s.now()}, nil
}

// claimKey identifies a message for its budget slot: the draft's key, or
// the new event's id for an unkeyed draft.
func claimKey(d Draft, eventID string) string {
	if d.Key != "" {
		return d.Key
	}
	return "~" + eventID
}

// claim takes budget slots for users (events evs, one per user) and
// returns which were granted.
func (s *Service) claim(ctx context.Context, a *applied, d Draft, users []string, evs []Event) ([]bool, error) {
	claims := make([]Claim, len(users))
	for i, u := range users {
		claims[i] = Claim{User: u, Key: claimKey(d, evs[i].ID), Class: d.Class}
	}
	return s.store.ClaimSlots(ctx, a.clinic, Week(a.now, a.loc), a.pol.WeeklyBudget, claims, a.now)
}

// tally counts n messages held back for reason, in Stats at once and in
// the store per clinic, class and day (a failure to store it is logged:
// counters never fail a message).
func (s *Service) tally(ctx context.Context, a *applied, reason string, n int) {
	if n == 0 {
		return
	}
	switch reason {
	case ReasonBudget:
		s.skippedBudget.Add(int64(n))
	case ReasonOptedOut:
		s.optedOut.Add(int64(n))
	case ReasonDeferred:
		s.deferred.Add(int64(n))
	}
	t := Tally{Clinic: a.clinic, Class: a.class, Reason: reason, Day: a.now.In(a.loc).Format(time.DateOnly), N: int64(n)}
	if err := s.store.AddTallies(ctx, []Tally{t}); err != nil {
		s.log.Error("push: count held-back messages", "err", err, "reason", reason)
	}
}

// pushTargets sends d's alert to targets whose events were just created:
// at once, or deferred to the end of quiet hours, minus those who opted
// out. Errors are logged, not returned: the inbox write already happened.
func (s *Service) pushTargets(ctx context.Context, a *applied, d Draft, targets []target, rep *Report) {
	if d.Alert == nil || s.opts.Sender == nil || len(targets) == 0 {
		return
	}
	if a != nil && d.Class.Marketing() {
		users := make([]string, len(targets))
		for i, t := range targets {
			users[i] = t.user
		}
		out, err := s.store.OptedOut(ctx, a.clinic, d.Card, users)
		if err != nil {
			s.failed.Add(int64(len(targets)))
			s.log.Error("push: read preferences", "err", err, "events", len(targets))
			return
		}
		if len(out) > 0 {
			kept := targets[:0:0]
			for _, t := range targets {
				if !out[t.user] {
					kept = append(kept, t)
				}
			}
			n := len(targets) - len(kept)
			s.tally(ctx, a, ReasonOptedOut, n)
			if rep != nil {
				rep.OptedOut += n
			}
			targets = kept
		}
	}
	if len(targets) == 0 {
		return
	}
	if a != nil {
		if until, quiet := a.pol.QuietUntil(a.now, a.loc); quiet {
			ds := make([]Deferred, len(targets))
			for i, t := range targets {
				ds[i] = Deferred{User: t.user, Event: t.event, Key: d.Key, Alert: *d.Alert,
					Clinic: a.clinic, Class: d.Class, NotBefore: until}
			}
			if err := s.store.Defer(ctx, ds); err != nil {
				s.failed.Add(int64(len(targets)))
				s.log.Error("push: defer to the end of quiet hours", "err", err, "events", len(targets))
				return
			}
			s.tally(ctx, a, ReasonDeferred, len(targets))
			if rep != nil {
				rep.Deferred += len(targets)
			}
			return
		}
	}
	job := pushJob{alert: *d.Alert, key: d.Key, targets: targets}
	storage.AfterCommit(ctx, func() { s.enqueue(job) })
}

// Report says what PublishManyReport did.
type Report struct {
	Published int                 // inbox events created
	Skipped   map[string][]string // reason → users who got nothing
	OptedOut  int                 // events written without a push
	Deferred  int                 // pushes waiting for the end of quiet hours
	// InUnit: the events were written in the caller's storage.Atomic
	// unit, so they commit or roll back with it (Published then counts
	// exactly what the unit adds).
	InUnit bool
}

// Outgoing is one draft for one user, for PublishEach.
type Outgoing struct {
	User  string
	Draft Draft
}

// PublishEach publishes several messages in priority order (most urgent
// class first, the given order among equals), so that when they compete
// for a patient's weekly budget the more urgent ones take it. errs[i] is
// the result of msgs[i] (a *SkippedError when the policy skipped it).
func (s *Service) PublishEach(ctx context.Context, msgs []Outgoing) (evs []Event, errs []error) {
	order := make([]int, len(msgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(msgs[a].Draft.Class, msgs[b].Draft.Class) })
	evs, errs = make([]Event, len(msgs)), make([]error, len(msgs))
	for _, i := range order {
		evs[i], errs[i] = s.Publish(ctx, msgs[i].User, msgs[i].Draft)
	}
	return evs, errs
}

// SendDue sends the deferred pushes whose quiet hours have ended and
// returns how many it handed to the push queue. Each row is taken by
// removing it, so instances running SendDue at once never send one twice;
// a row still waiting survives a restart.
func (s *Service) SendDue(ctx context.Context) (int, error) {
	if s.opts.Sender == nil {
		return 0, nil
	}
	total := 0
	for {
		ds, err := s.store.TakeDue(ctx, s.now(), maxSendBatch)
		if err != nil {
			return total, err
		}
		type group struct {
			alert Alert
			key   string
		}
		jobs := map[group][]target{}
		var order []group
		for _, d := range ds {
			g := group{d.Alert, d.Key}
			if jobs[g] == nil {
				order = append(order, g)
			}
			jobs[g] = append(jobs[g], target{user: d.User, event: d.Event})
		}
		for _, g := range order {
			s.enqueue(pushJob{alert: g.alert, key: g.key, targets: jobs[g]})
		}
		total += len(ds)
		if len(ds) < maxSendBatch {
			return total, nil
		}
	}
}

// runDeferred calls SendDue every interval until ctx ends.
func (s *Service) runDeferred(ctx context.Context) {
	t := time.NewTicker(s.opts.DeferInterval)
	defer t.Stop()
	for {
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("push: send deferred pushes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ClinicPolicy is the clinic's message policy (the defaults if it set none).
func (s *Service) ClinicPolicy(ctx context.Context, clinic string) (Policy, error) {
	p, ok, err := s.store.ClinicPolicy(ctx, clinic)
	if err != nil || !ok {
		return DefaultPolicy(), err
	}
	return p, nil
}

// SetClinicPolicy validates and stores the clinic's message policy.
func (s *Service) SetClinicPolicy(ctx context.Context, clinic string, p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.store.PutClinicPolicy(ctx, clinic, p, s.now())
}

// Preferences lists the user's stored marketing switches (a clinic or
// card not listed has marketing on).
func (s *Service) Preferences(ctx context.Context, user string) ([]Preference, error) {
	return s.store.Preferences(ctx, user)
}

// SetPreferences stores the user's switches; the caller has checked that
// the user holds a card of each clinic and guards each card.
func (s *Service) SetPreferences(ctx context.Context, user string, prefs []Preference) error {
	now := s.now()
	for i := range prefs {
		if prefs[i].Clinic == "" {
			return fmt.Errorf("%w: a preference needs a clinic", ErrInvalidPolicy)
		}
		prefs[i].UpdatedAt = now
	}
	return s.store.PutPreferences(ctx, user, prefs)
}

// Tallies sums the messages the policy held back at the clinic from one
// clinic-local day to another (inclusive, YYYY-MM-DD), per class and
// reason: what care's report and operators read.
func (s *Service) Tallies(ctx context.Context, clinic, from, to string) ([]Tally, error) {
	return s.store.Tallies(ctx, clinic, from, to)
}

// Deliveries are the per-device push results of drafts by key.
func (s *Service) Deliveries(ctx context.Context, keys []string) (map[string]Delivery, error) {
	return s.store.Deliveries(ctx, keys)
}
