package push

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Service; the zero value works (no push, no polling).
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sender delivers pushes; nil turns push off (inbox and websocket still work).
	Sender Sender
	// Logger receives operational logs (never tokens, codes or payloads).
	Logger *slog.Logger
	// PollInterval > 0 makes Run follow events written by other instances
	// (MongoDB): through a change stream where the server has them, else by
	// polling the inbox at this interval. 0 disables both, which is right
	// for the single-instance SQLite mode.
	PollInterval time.Duration
	// PollLookback is how far behind now each poll reads, covering clock
	// skew between instances and inserts still in flight; default 3 s.
	PollLookback time.Duration
	// PingInterval and IdleTimeout are the websocket heartbeat: the server
	// pings every PingInterval and drops a peer silent for IdleTimeout.
	// Defaults 25 s and 55 s (dead peers go within 60 s).
	PingInterval, IdleTimeout time.Duration
	// MaxQueueBytes bounds a subscription's queue; default 1 MiB.
	MaxQueueBytes int
	// MaxSocketsPerUser bounds one user's live subscriptions on this
	// instance (phones, tablets, browser tabs); default
	// DefaultMaxSocketsPerUser.
	MaxSocketsPerUser int
	// PushWorkers is how many SendEach calls run at once; default 4.
	PushWorkers int
	// PushQueue is how many batches may wait for a worker; default 4096.
	// When it is full a batch is recorded as failed rather than blocking
	// Publish.
	PushQueue int
	// MaxAttempts is how often a retryable push is tried; default 5.
	MaxAttempts int
	// RetryBase and RetryMax shape the jittered exponential backoff between
	// attempts (full jitter on base·2^attempt, capped); Retry-After from FCM
	// is a lower bound. Defaults 500 ms and 1 min.
	RetryBase, RetryMax time.Duration
	// Zones gives clinics' time zones for the message policy (quiet hours
	// and budget weeks); nil means UTC.
	Zones Zones
	// DeferInterval is how often Run sends pushes whose quiet hours have
	// ended; default 30 s.
	DeferInterval time.Duration
}

// Stats count what the push pipeline did since start.
type Stats struct {
	Sent, Retried, Failed, TokensRemoved, Dropped int64
	// EventsWritten counts events this instance appended to inboxes (a
	// replayed key that found its event already stored is not counted).
	EventsWritten int64
	// The message policy: messages skipped for the weekly budget, events
	// written without a push because the patient opted out, pushes
	// deferred to the end of quiet hours.
	SkippedBudget, OptedOut, Deferred int64
}

// Service is the push component: inbox, hub and FCM pipeline.
type Service struct {
	store Store
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	hub   *Hub

	jobs    chan pushJob
	retries chan pushJob
	sleep   func(ctx context.Context, d time.Duration) error // tests replace it

	sent, retried, failed, removed, dropped atomic.Int64
	written                                 atomic.Int64
	skippedBudget, optedOut, deferred       atomic.Int64

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc // stops Run
	running sync.WaitGroup
}

// NewService builds the service; call Run to start its background loops
// (push workers, retries, the cross-instance poller) and Close at shutdown.
func NewService(store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollLookback <= 0 {
		opts.PollLookback = 3 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 25 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 55 * time.Second
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if opts.MaxSocketsPerUser <= 0 {
		opts.MaxSocketsPerUser = DefaultMaxSocketsPerUser
	}
	if opts.PushWorkers <= 0 {
		opts.PushWorkers = 4
	}
	if opts.PushQueue <= 0 {
		opts.PushQueue = 4096
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 500 * time.Millisecond
	}
	if opts.DeferInterval <= 0 {
		opts.DeferInterval = 30 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Minute
	}
	s := &Service{
		store:   store,
		opts:    opts,
		now:     func() time.Time { return opts.Now().UTC().Truncate(time.Millisecond) },
		log:     opts.Logger,
		hub:     newHub(store, opts.MaxQueueBytes, opts.MaxSocketsPerUser),
		jobs:    make(chan pushJob, opts.PushQueue),
		retries: make(chan pushJob, opts.PushQueue),
		sleep:   sleepCtx,
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Heartbeat is the websocket ping interval and idle timeout.
func (s *Service) Heartbeat() (ping, idle time.Duration) {
	return s.opts.PingInterval, s.opts.IdleTimeout
}

// Hub is the service's realtime hub.
func (s *Service) Hub() *Hub { return s.hub }

// Stats returns the push counters.
func (s *Service) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Retried: s.retried.Load(), Failed: s.failed.Load(),
		TokensRemoved: s.removed.Load(), Dropped: s.dropped.Load(), EventsWritten: s.written.Load(),
		SkippedBudget: s.skippedBudget.Load(), OptedOut: s.optedOut.Load(), Deferred: s.deferred.Load()}
}

// Events pages through a user's inbox: events with seq > after, at most
// limit (default 100, at most 500).
func (s *Service) Events(ctx context.Context, userID string, after int64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxEventsPage)
	evs, err := s.store.Events(ctx, userID, max(after, 0), limit)
	if err != nil {
		return nil, err
	}
	if evs == nil {
		evs = []Event{}
	}
	return evs, nil
}

// LastSeq is the user's newest seq (0 for an empty inbox).
func (s *Service) LastSeq(ctx context.Context, userID string) (int64, error) {
	return s.store.LastSeq(ctx, userID)
}

// RegisterDevice links a device token to the user and the session that
// registered it (so logout can unlink it). A token registered by another
// account moves to this one.
func (s *Service) RegisterDevice(ctx context.Context, userID, sessionID string, d Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.store.PutDevice(ctx, userID, sessionID, d, s.now())
}

// RemoveDevice unlinks one of the user's tokens; ErrNotFound if the user
// has no such token.
func (s *Service) RemoveDevice(ctx context.Context, userID, token string) error {
	return s.store.DeleteDevice(ctx, userID, token)
}

// RemoveSessionDevices unlinks the tokens a session registered; called on
// logout.
func (s *Service) RemoveSessionDevices(ctx context.Context, userID, sessionID string) error {
	return s.store.DeleteSessionDevices(ctx, userID, sessionID)
}

// Devices lists a user's devices.
func (s *Service) Devices(ctx context.Context, userID string) ([]UserDevice, error) {
	return s.store.Devices(ctx, []string{userID})
}

// Failures lists recorded push failures, newest first.
func (s *Service) Failures(ctx context.Context, limit int) ([]Failure, error) {
	return s.store.Failures(ctx, limit)
}

// Subscribe opens a live subscription for the user (see Hub.Subscribe).
func (s *Service) Subscribe(ctx context.Context, userID string, after int64) (*Subscription, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return s.hub.Subscribe(ctx, userID, after)
}

// Sockets is how many live subscriptions userID holds on this instance.
func (s *Service) Sockets(userID string) int { return s.hub.count(userID) }

// SocketsFull reports whether userID may open no further websocket here.
func (s *Service) SocketsFull(userID string) bool { return s.hub.count(userID) >= s.hub.maxPerUser }

// Run runs the push workers, the retry scheduler and, with PollInterval
// set, the follower of other instances' events, until ctx ends or Close
// is called.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cancel != nil {
		s.mu.Unlock()
		return errors.New("push: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()
	defer cancel()

	var wg sync.WaitGroup
	if s.opts.Sender != nil {
		for range s.opts.PushWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.pushWorker(ctx)
			}()
		}
	}
	if s.opts.Sender != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runDeferred(ctx)
		}()
	}
	if s.opts.PollInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.follow(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// Close ends every subscription, stops Run and waits for it. Pushes still
// queued are dropped (their events are in the inbox).
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel := s.cancel
	s.mu.Unlock()
	s.hub.closeAll(ErrClosed)
	if cancel != nil {
		cancel()
	}
	s.running.Wait()
	return nil
}

// poll reads recent inbox events every PollInterval and offers those of
// locally subscribed users to the hub; the hub drops seqs it has already
// delivered and reads any gap from the store, so overlapping polls are
// harmless.
func (s *Service) poll(ctx context.Context) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.pollOnce(ctx)
	}
}

// pollOnce is one pass of poll.
func (s *Service) pollOnce(ctx context.Context) {
	if s.hub.Count() == 0 {
		return
	}
	evs, err := s.store.Since(ctx, s.opts.Now().Add(-s.opts.PollLookback), 10000)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("push: poll inbox", "err", err)
		}
		return
	}
	byUser := map[string][]Event{}
	for _, ue := range evs {
		if s.hub.has(ue.User) {
			byUser[ue.User] = append(byUser[ue.User], ue.Event)
		}
	}
	for user, batch := range byUser {
		sortBySeq(batch)
		s.hub.deliver(user, batch...)
	}
}

func sortBySeq(evs []Event) {
	slices.SortFunc(evs, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
}

// TicketTTL is how long a websocket ticket is valid.
const TicketTTL = 30 * time.Second

// IssueTicket returns a single-use ticket that opens one websocket for the
// user's session within TicketTTL, for clients that cannot set an
// Authorization header on the upgrade. Only its hash is stored.
func (s *Service) IssueTicket(ctx context.Context, userID, sessionID string) (string, time.Duration, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	ticket := "wst_" + base64.RawURLEncoding.EncodeToString(b[:])
	if err := s.store.PutTicket(ctx, hashTicket(ticket), userID, sessionID, s.opts.Now().Add(TicketTTL)); err != nil {
		return "", 0, err
	}
	return ticket, TicketTTL, nil
}

// RedeemTicket consumes a ticket; ErrInvalidTicket if it is unknown,
// already used or expired.
func (s *Service) RedeemTicket(ctx context.Context, ticket string) (userID, sessionID string, err error) {
	if !strings.HasPrefix(ticket, "wst_") || len(ticket) > 100 {
		return "", "", ErrInvalidTicket
	}
	userID, sessionID, err = s.store.TakeTicket(ctx, hashTicket(ticket), s.opts.Now())
	if errors.Is(err, ErrNotFound) {
		return "", "", ErrInvalidTicket
	}
	return userID, sessionID, err
}

func hashTicket(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}
