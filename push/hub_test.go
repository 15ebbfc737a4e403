package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// client stands for an app: it applies frames whose seq is last+1, ignores
// older ones (a resume may repeat frames already written) and fails on a gap.
type client struct {
	t    *testing.T
	last int64
	got  []Event
}

func (c *client) apply(frames []Frame) {
	c.t.Helper()
	for _, f := range frames {
		var ev Event
		if err := json.Unmarshal(f.JSON, &ev); err != nil {
			c.t.Fatal(err)
		}
		if ev.Seq != f.Seq {
			c.t.Fatalf("frame seq %d carries event seq %d", f.Seq, ev.Seq)
		}
		switch {
		case ev.Seq <= c.last:
			continue
		case ev.Seq != c.last+1:
			c.t.Fatalf("gap: got seq %d after %d", ev.Seq, c.last)
		}
		c.last = ev.Seq
		c.got = append(c.got, ev)
	}
}

// until reads frames until the client has seen seq want.
func (c *client) until(ctx context.Context, sub *Subscription, want int64) {
	c.t.Helper()
	for c.last < want {
		frames, err := sub.Next(ctx)
		if err != nil {
			c.t.Fatalf("Next at seq %d (want %d): %v", c.last, want, err)
		}
		c.apply(frames)
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	// A generous bound so a bug fails the test instead of hanging it; no
	// assertion depends on it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func publishN(t *testing.T, svc *Service, user string, n int) {
	t.Helper()
	for i := range n {
		if _, err := svc.Publish(context.Background(), user, Draft{Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResumeAfterOfflineEvents: 200 events published while the client is
// offline are replayed exactly and in order on resume; then, over random
// disconnects with events published while connected and while away, the
// client's final state equals the inbox.
func TestResumeAfterOfflineEvents(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := testCtx(t)
		svc := NewService(newStore(t, b), Options{})
		defer svc.Close()
		offline := 200
		rounds := 12
		if b.Mongo != nil {
			offline, rounds = 60, 4 // keep FerretDB data small
		}
		c := &client{t: t}
		// Connected, then gone.
		sub, err := svc.Subscribe(ctx, "pt_r", -1)
		if err != nil {
			t.Fatal(err)
		}
		publishN(t, svc, "pt_r", 3)
		c.until(ctx, sub, 3)
		sub.Close()

		publishN(t, svc, "pt_r", offline)
		sub, err = svc.Subscribe(ctx, "pt_r", -1)
		if err != nil {
			t.Fatal(err)
		}
		sub.Resume(c.last)
		c.until(ctx, sub, int64(3+offline))
		wantSeqs(t, seqs(c.got), 1, int64(3+offline))

		rng := rand.New(rand.NewPCG(1, 2))
		total := int64(3 + offline)
		for range rounds {
			// Publish while connected, concurrently with reading, then
			// disconnect at a random point, publish while away, come back.
			n := 1 + rng.IntN(20)
			done := make(chan struct{})
			go func() {
				defer close(done)
				publishN(t, svc, "pt_r", n)
			}()
			stopAt := c.last + int64(rng.IntN(n+1))
			c.until(ctx, sub, stopAt)
			<-done
			total += int64(n)
			sub.Close()
			away := rng.IntN(30)
			publishN(t, svc, "pt_r", away)
			total += int64(away)
			sub, err = svc.Subscribe(ctx, "pt_r", c.last) // resume at subscribe time
			if err != nil {
				t.Fatal(err)
			}
			c.until(ctx, sub, total)
		}
		sub.Close()
		inbox, err := svc.Events(ctx, "pt_r", 0, MaxEventsPage)
		if err != nil {
			t.Fatal(err)
		}
		if len(inbox) != len(c.got) {
			t.Fatalf("client has %d events, inbox %d", len(c.got), len(inbox))
		}
		for i := range inbox {
			if inbox[i].ID != c.got[i].ID || inbox[i].Seq != c.got[i].Seq || string(inbox[i].Data) != string(c.got[i].Data) {
				t.Fatalf("event %d: client %+v, inbox %+v", i, c.got[i], inbox[i])
			}
		}
	})
}

// TestLiveOrderUnderConcurrentPublishers: several goroutines publish to one
// user while two subscriptions read; both see 1..N in order.
func TestLiveOrderUnderConcurrentPublishers(t *testing.T) {
	ctx := testCtx(t)
	svc := NewService(newStore(t, storagetest.Backend{SQLite: storagetest.SQLite(t)}), Options{})
	defer svc.Close()
	subs := make([]*Subscription, 2)
	for i := range subs {
		s, err := svc.Subscribe(ctx, "pt_o", 0)
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	const writers, each = 8, 25
	errs := make(chan error, writers)
	for range writers {
		go func() {
			for range each {
				if _, err := svc.Publish(ctx, "pt_o", Draft{Type: "t"}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for _, s := range subs {
		c := &client{t: t}
		c.until(ctx, s, writers*each)
		wantSeqs(t, seqs(c.got), 1, writers*each)
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSlowConsumerIsDropped: a subscription whose writer never takes
// frames is ended with ErrSlowConsumer once its queue would pass the limit;
// another subscription of the same user keeps receiving everything.
func TestSlowConsumerIsDropped(t *testing.T) {
	ctx := testCtx(t)
	svc := NewService(newStore(t, storagetest.Backend{SQLite: storagetest.SQLite(t)}), Options{MaxQueueBytes: 64 << 10})
	defer svc.Close()
	slow, err := svc.Subscribe(ctx, "pt_s", -1)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := svc.Subscribe(ctx, "pt_s", -1)
	if err != nil {
		t.Fatal(err)
	}
	// Let both finish their initial (empty) catch-up so live frames queue.
	for _, s := range []*Subscription{slow, fast} {
		s.mu.Lock()
		s.catchup = false
		s.mu.Unlock()
	}
	payload := json.RawMessage(`{"pad":"` + strings.Repeat("x", 4000) + `"}`)
	fc := &client{t: t}
	n := 0
	for slow.Err() == nil {
		n++
		if n > 100 {
			t.Fatal("slow subscription was never dropped")
		}
		if _, err := svc.Publish(ctx, "pt_s", Draft{Type: "t", Data: payload}); err != nil {
			t.Fatal(err)
		}
		fc.until(ctx, fast, int64(n))
	}
	if !errors.Is(slow.Err(), ErrSlowConsumer) {
		t.Fatalf("slow.Err() = %v", slow.Err())
	}
	if _, err := slow.Next(ctx); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Next after drop: %v", err)
	}
	if n*4000 < 60<<10 {
		t.Fatalf("dropped after only %d frames", n)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("Done not closed")
	}
	if fast.Err() != nil {
		t.Fatal(fast.Err())
	}
}

// TestSubscribeCyclesLeakNothing: 1,000 subscribe/deliver/close cycles
// leave no subscription registered and no goroutine behind.
func TestSubscribeCyclesLeakNothing(t *testing.T) {
	ctx := testCtx(t)
	svc := NewService(newStore(t, storagetest.Backend{SQLite: storagetest.SQLite(t)}), Options{})
	defer svc.Close()
	before := runtime.NumGoroutine()
	for i := range 1000 {
		sub, err := svc.Subscribe(ctx, fmt.Sprintf("pt_l%d", i%10), -1)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := sub.Next(ctx)
			done <- err
		}()
		sub.Close()
		if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
			t.Fatal(err)
		}
	}
	if n := svc.hub.Count(); n != 0 {
		t.Fatalf("%d subscriptions left", n)
	}
	settleGoroutines(t, before)
}

// settleGoroutines waits (by polling, not by a deadline assertion) until the
// goroutine count is back to at most before, failing after a generous bound.
func settleGoroutines(t *testing.T, before int) {
	t.Helper()
	for range 500 {
		if runtime.NumGoroutine() <= before {
			return
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
}

// TestCrossInstanceDelivery: two services on two MongoDB clients (two app
// instances) share one database; an event published on A reaches a
// subscription on B by polling, in order, with no duplicate.
func TestCrossInstanceDelivery(t *testing.T) {
	ctx := testCtx(t)
	dbA := storagetest.Mongo(t)
	dbB := storagetest.MongoClient(t).Database(dbA.Name())
	stA, err := NewMongoStore(ctx, dbA)
	if err != nil {
		t.Fatal(err)
	}
	stB, err := NewMongoStore(ctx, dbB)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{PollInterval: 100 * time.Millisecond}
	a, b := NewService(stA, opts), NewService(stB, opts)
	for _, s := range []*Service{a, b} {
		go s.Run(ctx)
		defer s.Close()
	}
	subB, err := b.Subscribe(ctx, "pt_x", 0)
	if err != nil {
		t.Fatal(err)
	}
	subA, err := a.Subscribe(ctx, "pt_x", 0)
	if err != nil {
		t.Fatal(err)
	}
	cb, ca := &client{t: t}, &client{t: t}
	// Interleave publishers on both instances.
	for i := range 10 {
		svc := a
		if i%3 == 2 {
			svc = b
		}
		if _, err := svc.Publish(ctx, "pt_x", Draft{Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	cb.until(ctx, subB, 10)
	ca.until(ctx, subA, 10)
	wantSeqs(t, seqs(cb.got), 1, 10)
	wantSeqs(t, seqs(ca.got), 1, 10)
	// A later single event on A reaches B through the poller alone.
	ev, err := a.Publish(ctx, "pt_x", Draft{Type: "late"})
	if err != nil {
		t.Fatal(err)
	}
	cb.until(ctx, subB, ev.Seq)
	if cb.got[len(cb.got)-1].ID != ev.ID {
		t.Fatalf("B got %+v, want %s", cb.got[len(cb.got)-1], ev.ID)
	}
}

// TestCloseUser: a deleted user's subscriptions end at once with
// ErrErased; another user's stay live.
func TestCloseUser(t *testing.T) {
	ctx := testCtx(t)
	svc := NewService(newStore(t, storagetest.Backend{SQLite: storagetest.SQLite(t)}), Options{})
	defer svc.Close()
	var gone []*Subscription
	for range 2 {
		s, err := svc.Subscribe(ctx, "pt_gone", 0)
		if err != nil {
			t.Fatal(err)
		}
		gone = append(gone, s)
	}
	kept, err := svc.Subscribe(ctx, "pt_kept", 0)
	if err != nil {
		t.Fatal(err)
	}
	svc.CloseUser("pt_gone")
	for _, s := range gone {
		if _, err := s.Next(ctx); !errors.Is(err, ErrErased) {
			t.Fatalf("Next after CloseUser: %v", err)
		}
	}
	if svc.Sockets("pt_gone") != 0 || svc.Sockets("pt_kept") != 1 || kept.Err() != nil {
		t.Fatalf("sockets: gone %d, kept %d (%v)", svc.Sockets("pt_gone"), svc.Sockets("pt_kept"), kept.Err())
	}
}
