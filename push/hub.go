package push

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"sync"
)

// Frame is one event encoded for the websocket: the JSON of Event.
type Frame struct {
	Seq  int64
	JSON []byte
}

// DefaultMaxQueueBytes is the most a subscription may have queued and not
// yet taken by its writer before it is dropped as a slow consumer.
const DefaultMaxQueueBytes = 1 << 20

// catchupPage is how many events one store read returns to a subscriber
// that resumes or has a gap; the writer's pace bounds what is in memory.
const catchupPage = 200

// DefaultMaxSocketsPerUser is how many live subscriptions one user may
// hold on one instance: enough for a phone, a tablet and browser tabs,
// few enough that one stolen token cannot pin thousands of sockets.
const DefaultMaxSocketsPerUser = 10

// Hub routes events to the live subscriptions of this process. Offering
// never blocks: it appends to a subscription's queue under that
// subscription's lock, so one slow client never slows the others.
type Hub struct {
	seed     maphash.Seed
	shards   [64]hubShard
	maxQueue int
	// maxPerUser bounds one user's subscriptions (checked under the
	// shard lock, so concurrent subscribes cannot overshoot it).
	maxPerUser int
	read       func(ctx context.Context, user string, after int64, limit int) ([]Event, error)
	last       func(ctx context.Context, user string) (int64, error)
}

type hubShard struct {
	mu   sync.RWMutex
	subs map[string]map[*Subscription]struct{}
}

func newHub(store Store, maxQueue, maxPerUser int) *Hub {
	h := &Hub{seed: maphash.MakeSeed(), maxQueue: maxQueue, maxPerUser: maxPerUser, read: store.Events, last: store.LastSeq}
	for i := range h.shards {
		h.shards[i].subs = map[string]map[*Subscription]struct{}{}
	}
	return h
}

func (h *Hub) shard(user string) *hubShard {
	return &h.shards[maphash.String(h.seed, user)%uint64(len(h.shards))]
}

// Subscription is one live connection's view of a user's inbox. Its
// invariant: the frames it hands out have seqs last+1, last+2, … in order;
// a live event that would leave a gap is not queued but makes the next
// Next read the gap from the store.
type Subscription struct {
	hub  *Hub
	user string

	mu         sync.Mutex
	queue      []Frame
	queueBytes int
	lastQueued int64 // highest seq queued or handed out; -1 before init
	catchup    bool  // read the store after lastQueued before trusting the queue
	gen        uint64
	err        error // set once: why the subscription ended
	wake       chan struct{}
	done       chan struct{}
	ended      context.Context // done when the subscription ends (AfterEnd)
	end        context.CancelFunc
}

// Subscribe registers a live subscription for user. With after >= 0 the
// subscription first replays the inbox after that seq; with after < 0 it
// starts at the inbox's current end. Close it when the connection ends.
func (h *Hub) Subscribe(ctx context.Context, user string, after int64) (*Subscription, error) {
	sub := &Subscription{hub: h, user: user, lastQueued: -1,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	sub.ended, sub.end = context.WithCancel(context.Background())
	sh := h.shard(user)
	sh.mu.Lock()
	set := sh.subs[user]
	if set == nil {
		set = map[*Subscription]struct{}{}
		sh.subs[user] = set
	}
	if h.maxPerUser > 0 && len(set) >= h.maxPerUser {
		sh.mu.Unlock()
		sub.end()
		return nil, ErrTooManySockets
	}
	set[sub] = struct{}{}
	sh.mu.Unlock()
	// Registered before reading the start, so an event published meanwhile
	// is either at or before the start, or found by the catch-up read.
	if after < 0 {
		last, err := h.last(ctx, user)
		if err != nil {
			sub.Close()
			return nil, err
		}
		after = last
	}
	sub.mu.Lock()
	if sub.lastQueued < 0 && sub.err == nil {
		sub.lastQueued = after
		sub.catchup = true
	}
	sub.mu.Unlock()
	sub.signal()
	return sub, nil
}

// has reports whether user has a subscription here.
func (h *Hub) has(user string) bool {
	sh := h.shard(user)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.subs[user]) > 0
}

// count is the number of live subscriptions of user in this process.
func (h *Hub) count(user string) int {
	sh := h.shard(user)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.subs[user])
}

// Count is the number of live subscriptions in this process.
func (h *Hub) Count() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, set := range sh.subs {
			n += len(set)
		}
		sh.mu.RUnlock()
	}
	return n
}

// deliver offers events of one user (in seq order) to its subscriptions.
func (h *Hub) deliver(user string, evs ...Event) {
	sh := h.shard(user)
	sh.mu.RLock()
	set := sh.subs[user]
	if len(set) == 0 {
		sh.mu.RUnlock()
		return
	}
	subs := make([]*Subscription, 0, len(set))
	for s := range set {
		subs = append(subs, s)
	}
	sh.mu.RUnlock()
	for _, ev := range evs {
		frame := Frame{Seq: ev.Seq, JSON: encodeEvent(ev)}
		for _, s := range subs {
			s.offer(frame)
		}
	}
}

func encodeEvent(ev Event) []byte {
	b, err := json.Marshal(ev)
	if err != nil { // Data was validated as JSON on the way in
		b, _ = json.Marshal(Event{Seq: ev.Seq, ID: ev.ID, Type: ev.Type, Data: json.RawMessage(`null`), CreatedAt: ev.CreatedAt})
	}
	return b
}

func (h *Hub) remove(sub *Subscription) {
	sh := h.shard(sub.user)
	sh.mu.Lock()
	if set := sh.subs[sub.user]; set != nil {
		delete(set, sub)
		if len(set) == 0 {
			delete(sh.subs, sub.user)
		}
	}
	sh.mu.Unlock()
}

// closeUser ends the user's subscriptions with err.
func (h *Hub) closeUser(user string, err error) {
	sh := h.shard(user)
	sh.mu.RLock()
	subs := make([]*Subscription, 0, len(sh.subs[user]))
	for s := range sh.subs[user] {
		subs = append(subs, s)
	}
	sh.mu.RUnlock()
	for _, s := range subs {
		s.fail(err) // removes s from the shard: outside the lock
	}
}

// closeAll ends every subscription with err.
func (h *Hub) closeAll(err error) {
	var all []*Subscription
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, set := range sh.subs {
			for s := range set {
				all = append(all, s)
			}
		}
		sh.mu.RUnlock()
	}
	for _, s := range all {
		s.fail(err)
	}
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Subscription) offer(f Frame) {
	s.mu.Lock()
	switch {
	case s.err != nil || s.lastQueued < 0 || f.Seq <= s.lastQueued:
		// Closed, not started (its catch-up will read it), or a duplicate.
		s.mu.Unlock()
		return
	case f.Seq > s.lastQueued+1:
		s.catchup = true
	case s.queueBytes+len(f.JSON) > s.hub.maxQueue:
		s.mu.Unlock()
		s.fail(ErrSlowConsumer)
		return
	default:
		s.queue = append(s.queue, f)
		s.queueBytes += len(f.JSON)
		s.lastQueued = f.Seq
	}
	s.mu.Unlock()
	s.signal()
}

// Resume makes the subscription (re)deliver everything after seq after,
// then live events. Frames already handed out by Next are not recalled, so
// a client may see a seq twice around a resume and drops it by seq.
func (s *Subscription) Resume(after int64) {
	if after < 0 {
		after = 0
	}
	s.mu.Lock()
	if s.err == nil {
		s.queue, s.queueBytes = nil, 0
		s.lastQueued = after
		s.catchup = true
		s.gen++
	}
	s.mu.Unlock()
	s.signal()
}

// Next blocks until there are frames to send and returns them in seq
// order. It returns the reason when the subscription ended (ErrSlowConsumer,
// ErrClosed) or ctx's error.
func (s *Subscription) Next(ctx context.Context) ([]Frame, error) {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return nil, err
		}
		if s.catchup && s.lastQueued >= 0 && len(s.queue) == 0 {
			// Frames queued before a gap go first (next branch); then the
			// gap is read from the store, paced by the writer.
			from, gen := s.lastQueued, s.gen
			s.catchup = false
			s.mu.Unlock()
			evs, err := s.hub.read(ctx, s.user, from, catchupPage)
			if err != nil {
				s.mu.Lock()
				s.catchup = true
				s.mu.Unlock()
				return nil, err
			}
			if out := s.merge(from, gen, evs); out != nil {
				return out, nil
			}
			continue
		}
		if len(s.queue) > 0 {
			out := s.queue
			s.queue, s.queueBytes = nil, 0
			s.mu.Unlock()
			return out, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// merge combines a store read of the seqs after from with whatever live
// frames were queued meanwhile (which, by the queue invariant, also start
// at from+1), into one contiguous run.
func (s *Subscription) merge(from int64, gen uint64, evs []Event) []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.gen != gen {
		return nil // resumed meanwhile: its own catch-up is armed
	}
	out := make([]Frame, 0, len(evs)+len(s.queue))
	next := from + 1
	for _, ev := range evs {
		if ev.Seq != next {
			break // cannot happen with a gap-free inbox; re-read later
		}
		out = append(out, Frame{Seq: ev.Seq, JSON: encodeEvent(ev)})
		next++
	}
	for _, f := range s.queue {
		if f.Seq == next {
			out = append(out, f)
			next++
		}
	}
	if next-1 > s.lastQueued {
		s.lastQueued = next - 1
	}
	s.queue, s.queueBytes = nil, 0
	if len(evs) == catchupPage {
		s.catchup = true // more to read
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Done is closed when the subscription ends; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is nil while the subscription is live.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// User is the subscribed user.
func (s *Subscription) User() string { return s.user }

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() { s.fail(ErrClosed) }

func (s *Subscription) fail(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = err
	s.queue, s.queueBytes = nil, 0
	close(s.done)
	s.mu.Unlock()
	s.end()
	s.hub.remove(s)
}

// AfterEnd runs f in its own goroutine once the subscription ends, for
// whatever reason; stop cancels that if it has not started. Unlike a
// goroutine waiting on Done, it costs no stack while the subscription
// lives, which matters with tens of thousands of idle sockets.
func (s *Subscription) AfterEnd(f func()) (stop func() bool) {
	return context.AfterFunc(s.ended, f)
}
