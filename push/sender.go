package push

import (
	"context"
	"fmt"
	"math/rand/v2" // retry jitter only: nothing secret is drawn here (codes and tickets use crypto/rand)
	"strconv"
	"time"
)

// maxSendBatch is FCM's SendEach limit.
const maxSendBatch = 500

// Message is one push to one device.
type Message struct {
	Token    string
	Platform string
	Alert    Alert
	Data     map[string]string // event_id, seq, type and, when small, data
}

// Outcome classifies one message's result.
type Outcome int

const (
	Delivered    Outcome = iota
	TokenInvalid         // UNREGISTERED or a token INVALID_ARGUMENT: remove the token
	Retryable            // 429, 500, 503, transport errors: retry with backoff
	Failed               // anything else: record and give up
)

// Result is the outcome of one message; Code is FCM's error code
// ("UNREGISTERED", "QUOTA_EXCEEDED", …) for the records.
type Result struct {
	Outcome    Outcome
	Code       string
	RetryAfter time.Duration
}

// Sender delivers up to 500 messages; results are in message order. An
// error means the whole batch failed and is retried.
type Sender interface {
	SendEach(ctx context.Context, msgs []Message) ([]Result, error)
}

type target struct {
	user  string
	event Event
}

type item struct {
	user, eventID string
	msg           Message
}

// pushJob is a batch of pushes: targets on the first attempt (devices are
// looked up by the worker, not by Publish), items on retries.
type pushJob struct {
	alert   Alert
	key     string // the draft's key: per-key delivery counts (none when "")
	targets []target
	items   []item
	attempt int // attempts already made
}

func (s *Service) enqueue(j pushJob) {
	select {
	case s.jobs <- j:
	default:
		n := int64(len(j.targets) + len(j.items))
		s.dropped.Add(n)
		s.log.Warn("push: queue full, push dropped (events stay in the inbox)", "events", n)
	}
}

func (s *Service) pushWorker(ctx context.Context) {
	for {
		var j pushJob
		select {
		case <-ctx.Done():
			return
		case j = <-s.retries:
		case j = <-s.jobs:
		}
		s.process(ctx, j)
	}
}

// fcmData is all a push carries: which inbox event woke the app. The
// event's data (a one-time code, a balance) never leaves through FCM and
// Google: the app reads it from the inbox over its own connection.
func fcmData(ev Event) map[string]string {
	return map[string]string{"event_id": ev.ID, "seq": strconv.FormatInt(ev.Seq, 10), "type": ev.Type}
}

func (s *Service) resolve(ctx context.Context, j pushJob) ([]item, error) {
	users := make([]string, len(j.targets))
	byUser := make(map[string][]Event, len(j.targets))
	for i, t := range j.targets {
		users[i] = t.user
		byUser[t.user] = append(byUser[t.user], t.event)
	}
	devs, err := s.store.Devices(ctx, users)
	if err != nil {
		return nil, err
	}
	data := make(map[string]map[string]string, len(j.targets))
	items := make([]item, 0, len(devs))
	for _, d := range devs {
		for _, ev := range byUser[d.User] {
			m := data[ev.ID]
			if m == nil {
				m = fcmData(ev)
				data[ev.ID] = m
			}
			items = append(items, item{user: d.User, eventID: ev.ID,
				msg: Message{Token: d.Token, Platform: d.Platform, Alert: j.alert, Data: m}})
		}
	}
	return items, nil
}

func (s *Service) process(ctx context.Context, j pushJob) {
	items := j.items
	if items == nil {
		var err error
		if items, err = s.resolve(ctx, j); err != nil {
			if ctx.Err() == nil {
				s.failed.Add(int64(len(j.targets)))
				s.log.Error("push: look up devices", "err", err, "events", len(j.targets))
			}
			return
		}
	}
	attempt := j.attempt + 1
	var retry []item
	var retryAfter time.Duration
	var gone []string
	var failures []Failure
	retryCode := ""
	var delivered int64
	for start := 0; start < len(items); start += maxSendBatch {
		chunk := items[start:min(start+maxSendBatch, len(items))]
		msgs := make([]Message, len(chunk))
		for i, it := range chunk {
			msgs[i] = it.msg
		}
		res, err := s.opts.Sender.SendEach(ctx, msgs)
		if err == nil && len(res) != len(msgs) {
			err = fmt.Errorf("push: sender returned %d results for %d messages", len(res), len(msgs))
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("push: send batch", "err", err, "messages", len(msgs), "attempt", attempt)
			retry = append(retry, chunk...)
			retryCode = "TRANSPORT"
			continue
		}
		for i, r := range res {
			it := chunk[i]
			switch r.Outcome {
			case Delivered:
				s.sent.Add(1)
				delivered++
			case TokenInvalid:
				gone = append(gone, it.msg.Token)
				failures = append(failures, Failure{User: it.user, EventID: it.eventID, Token: it.msg.Token,
					Reason: r.Code + ": token removed", Attempts: attempt, At: s.now()})
			case Retryable:
				retry = append(retry, it)
				retryAfter = max(retryAfter, r.RetryAfter)
				retryCode = r.Code
			default:
				failures = append(failures, Failure{User: it.user, EventID: it.eventID, Token: it.msg.Token,
					Reason: r.Code, Attempts: attempt, At: s.now()})
			}
		}
	}
	if len(gone) > 0 {
		if err := s.store.DeleteTokens(ctx, gone); err != nil {
			s.log.Error("push: remove rejected tokens", "err", err, "tokens", len(gone))
		} else {
			s.removed.Add(int64(len(gone)))
		}
	}
	if len(retry) > 0 {
		if attempt >= s.opts.MaxAttempts {
			for _, it := range retry {
				failures = append(failures, Failure{User: it.user, EventID: it.eventID, Token: it.msg.Token,
					Reason: fmt.Sprintf("%s after %d attempts", retryCode, attempt), Attempts: attempt, At: s.now()})
			}
		} else {
			s.retried.Add(int64(len(retry)))
			s.scheduleRetry(ctx, pushJob{alert: j.alert, key: j.key, items: retry, attempt: attempt},
				max(s.backoff(attempt), retryAfter))
		}
	}
	if j.key != "" && (delivered > 0 || len(failures) > 0) {
		// Per device: a retried message counts once, when it finally
		// succeeds or fails.
		if err := s.store.AddDeliveries(ctx, map[string]Delivery{j.key: {Sent: delivered, Failed: int64(len(failures))}}); err != nil {
			s.log.Error("push: count deliveries", "err", err)
		}
	}
	if len(failures) > 0 {
		if err := s.store.RecordFailures(ctx, failures); err != nil {
			s.log.Error("push: record failures", "err", err, "failures", len(failures))
		}
		// Counted after recording, so a reader of Stats sees them stored.
		s.failed.Add(int64(len(failures)))
		s.log.Info("push: undelivered", "messages", len(failures), "attempt", attempt)
	}
}

// backoff is the delay before attempt+1: exponential in the attempts made,
// with equal jitter (half fixed, half random) so retries of many clients
// spread out yet still grow.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.opts.RetryBase << min(attempt-1, 20)
	if d <= 0 || d > s.opts.RetryMax {
		d = s.opts.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}

func (s *Service) scheduleRetry(ctx context.Context, j pushJob, delay time.Duration) {
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		if err := s.sleep(ctx, delay); err != nil {
			s.dropped.Add(int64(len(j.items)))
			return
		}
		select {
		case s.retries <- j:
		case <-ctx.Done():
			s.dropped.Add(int64(len(j.items)))
		}
	}()
}
