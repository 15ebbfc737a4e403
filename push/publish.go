package push

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"carewallet/app/storage"
)

// Publish appends an event to the user's inbox, hands it to the user's live
// subscriptions and, when d.Alert is set, queues a push to the user's
// devices. The inbox write is the commit: Publish never waits for FCM.
// A draft under the message policy (policy.go) may be skipped (a
// *SkippedError, nothing written), written without a push (opted out) or
// have its push deferred to the end of quiet hours.
func (s *Service) Publish(ctx context.Context, userID string, d Draft) (Event, error) {
	if userID == "" {
		return Event{}, fmt.Errorf("%w: empty user id", ErrInvalidDraft)
	}
	data, err := d.normalize()
	if err != nil {
		return Event{}, err
	}
	ev := Event{ID: newID(), Type: d.Type, Data: data, CreatedAt: s.now()}
	a, err := s.policyFor(ctx, d)
	if err != nil {
		return Event{}, err
	}
	if a == nil {
		return s.publishOne(ctx, a, userID, d, ev)
	}
	// Under the policy the budget claim and the append are one unit (one
	// transaction on SQLite): a stop between them spends no slot without
	// its message.
	var stored Event
	skipped := false
	err = s.unit(ctx, func(ctx context.Context) error {
		granted, err := s.claim(ctx, a, d, []string{userID}, []Event{ev})
		if err != nil {
			return err
		}
		if !granted[0] {
			s.tally(ctx, a, ReasonBudget, 1)
			skipped = true
			return nil
		}
		stored, err = s.publishOne(ctx, a, userID, d, ev)
		return err
	})
	if err != nil {
		return Event{}, err
	}
	if skipped {
		return Event{}, &SkippedError{Reason: ReasonBudget}
	}
	return stored, nil
}

// publishOne appends ev to the user's inbox and, once that commits,
// delivers it and queues its push.
func (s *Service) publishOne(ctx context.Context, a *applied, userID string, d Draft, ev Event) (Event, error) {
	stored, created, err := s.store.Append(ctx, userID, d.Key, ev)
	if err != nil {
		return Event{}, err
	}
	if !created {
		return stored, nil
	}
	storage.AfterCommit(ctx, func() {
		s.written.Add(1)
		s.hub.deliver(userID, stored)
	})
	s.pushTargets(ctx, a, d, []target{{user: userID, event: stored}}, nil)
	return stored, nil
}

// unit runs fn as one unit of the store where it can (storage.Atomic on
// SQLite), else just runs it.
func (s *Service) unit(ctx context.Context, fn func(ctx context.Context) error) error {
	if u, ok := s.store.(interface {
		Atomic(context.Context, func(context.Context) error) error
	}); ok {
		return u.Atomic(ctx, fn)
	}
	return fn(ctx)
}

// PublishMany appends the same draft to many users' inboxes (fan-out: news,
// burn warnings) in batched writes and queues batched pushes. With a Key,
// users who already have it are skipped. Users the message policy skips
// get nothing; PublishManyReport says who.
func (s *Service) PublishMany(ctx context.Context, userIDs []string, d Draft) error {
	_, err := s.PublishManyReport(ctx, userIDs, d)
	return err
}

// PublishManyReport is PublishMany reporting what the message policy did.
func (s *Service) PublishManyReport(ctx context.Context, userIDs []string, d Draft) (Report, error) {
	data, err := d.normalize()
	if err != nil {
		return Report{}, err
	}
	return s.publishMany(ctx, userIDs, func(int) json.RawMessage { return data }, d)
}

// PublishPersonal is PublishMany with a payload per user (data[i] for
// userIDs[i]; d.Data is ignored): one message kind, key and alert, each
// recipient's own text (care's messages), in the same batched writes and
// under the same message policy. errs[i] is userIDs[i]'s result: nil
// (written, or already there) or a *SkippedError; err failed the call.
func (s *Service) PublishPersonal(ctx context.Context, userIDs []string, data []json.RawMessage, d Draft) (errs []error, err error) {
	if len(userIDs) != len(data) {
		return nil, fmt.Errorf("%w: %d users and %d payloads", ErrInvalidDraft, len(userIDs), len(data))
	}
	payloads := make([]json.RawMessage, len(data))
	for i := range data {
		one := d
		one.Data = data[i]
		if payloads[i], err = one.normalize(); err != nil {
			return nil, err
		}
	}
	rep, err := s.publishMany(ctx, userIDs, func(i int) json.RawMessage { return payloads[i] }, d)
	errs = make([]error, len(userIDs))
	for reason, users := range rep.Skipped {
		skipped := make(map[string]bool, len(users))
		for _, u := range users {
			skipped[u] = true
		}
		for i, u := range userIDs {
			if skipped[u] {
				errs[i] = &SkippedError{Reason: reason}
			}
		}
	}
	return errs, err
}

// publishMany appends d to userIDs' inboxes, payload(i) for userIDs[i],
// under the message policy.
func (s *Service) publishMany(ctx context.Context, userIDs []string, payload func(i int) json.RawMessage, d Draft) (Report, error) {
	var rep Report
	if u, ok := s.store.(interface{ InUnit(context.Context) bool }); ok {
		rep.InUnit = u.InUnit(ctx)
	}
	a, err := s.policyFor(ctx, d)
	if err != nil {
		return rep, err
	}
	// One claim and one append per writeBatch users (the SQLite store
	// writes each in one transaction: fewer commits rewrite fewer pages);
	// pushes go out in SendEach-sized jobs.
	for start := 0; start < len(userIDs); start += writeBatch {
		users := userIDs[start:min(start+writeBatch, len(userIDs))]
		evs := make([]Event, len(users))
		now := s.now()
		for i, u := range users {
			if u == "" {
				return rep, fmt.Errorf("%w: empty user id", ErrInvalidDraft)
			}
			evs[i] = Event{ID: newID(), Type: d.Type, Data: payload(start + i), CreatedAt: now}
		}
		if a == nil {
			if err := s.appendBatch(ctx, a, d, users, evs, &rep); err != nil {
				return rep, err
			}
			continue
		}
		// The batch's budget claims and appends are one unit (one
		// transaction on SQLite): a stop between them spends no slot
		// without its message.
		batch := rep
		err := s.unit(ctx, func(ctx context.Context) error {
			rep = batch // a rolled-back try counts nothing
			granted, err := s.claim(ctx, a, d, users, evs)
			if err != nil {
				return err
			}
			kept, keptEvs := users[:0:0], evs[:0:0]
			var skipped []string
			for i, ok := range granted {
				if ok {
					kept, keptEvs = append(kept, users[i]), append(keptEvs, evs[i])
				} else {
					skipped = append(skipped, users[i])
				}
			}
			if len(skipped) > 0 {
				sk := map[string][]string{}
				for r, us := range rep.Skipped {
					sk[r] = us
				}
				sk[ReasonBudget] = append(slices.Clip(sk[ReasonBudget]), skipped...)
				rep.Skipped = sk
				s.tally(ctx, a, ReasonBudget, len(skipped))
			}
			if len(kept) == 0 {
				return nil
			}
			return s.appendBatch(ctx, a, d, kept, keptEvs, &rep)
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// appendBatch appends a batch's events and, once that commits, delivers
// them and queues their pushes.
func (s *Service) appendBatch(ctx context.Context, a *applied, d Draft, users []string, evs []Event, rep *Report) error {
	res, err := s.store.AppendMany(ctx, users, d.Key, evs)
	if err != nil {
		return err
	}
	var targets []target
	for _, r := range res {
		if r.Created {
			targets = append(targets, target{user: r.User, event: r.Event})
		}
	}
	created := targets
	storage.AfterCommit(ctx, func() {
		s.written.Add(int64(len(created)))
		for _, t := range created {
			s.hub.deliver(t.user, t.event)
		}
	})
	rep.Published += len(targets)
	for len(targets) > 0 {
		n := min(len(targets), maxSendBatch)
		s.pushTargets(ctx, a, d, targets[:n], rep)
		targets = targets[n:]
	}
	return nil
}

// writeBatch is how many users PublishMany claims and appends at once.
const writeBatch = 2000
