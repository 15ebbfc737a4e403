package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// recorder is a Sender that accepts everything and remembers it.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
}

func (r *recorder) SendEach(_ context.Context, msgs []Message) ([]Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msgs...)
	return make([]Result, len(msgs)), nil
}

func (r *recorder) count(token string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m.Token == token {
			n++
		}
	}
	return n
}

type zoneMap map[string]*time.Location

func (z zoneMap) Location(_ context.Context, clinic string) (*time.Location, error) {
	if l, ok := z[clinic]; ok {
		return l, nil
	}
	return nil, errors.New("no such clinic")
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// policyHarness is a push service over store with a recording sender and
// one worker (jobs are sent in the order they were queued, so a control
// message sent last proves everything before it was handled).
type policyHarness struct {
	t     *testing.T
	store Store
	clock *fakeClock
	rec   *recorder
	svc   *Service
	seq   int
}

var vladivostok = func() *time.Location {
	l, err := time.LoadLocation("Asia/Vladivostok")
	if err != nil {
		panic(err)
	}
	return l
}()

func newPolicyHarness(t *testing.T, store Store, clock *fakeClock) *policyHarness {
	t.Helper()
	h := &policyHarness{t: t, store: store, clock: clock, rec: &recorder{}}
	h.svc = h.start()
	return h
}

// start builds and runs a service over the harness's store (a "restart"
// is a second call).
func (h *policyHarness) start() *Service {
	svc := NewService(h.store, Options{Now: h.clock.now, Sender: h.rec, PushWorkers: 1,
		DeferInterval: time.Hour, // tests call SendDue themselves
		Zones:         zoneMap{"cl_v": vladivostok, "cl_u": time.UTC}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-done; svc.Close() })
	return svc
}

func (h *policyHarness) device(user string) {
	h.t.Helper()
	if err := h.svc.RegisterDevice(context.Background(), user, "s", Device{Token: "tok-" + user, Platform: "android"}); err != nil {
		h.t.Fatal(err)
	}
}

// flush waits until every push queued so far was handed to the sender:
// it sends a service message to a control device and waits for it.
func (h *policyHarness) flush(svc *Service) {
	h.t.Helper()
	h.seq++
	before := h.rec.count("tok-pt_ctl")
	if err := svc.RegisterDevice(context.Background(), "pt_ctl", "s", Device{Token: "tok-pt_ctl", Platform: "android"}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := svc.Publish(context.Background(), "pt_ctl", Draft{Type: "x.ctl", Alert: &Alert{Title: "ctl"}}); err != nil {
		h.t.Fatal(err)
	}
	for range 4000 {
		if h.rec.count("tok-pt_ctl") > before {
			return
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatal("control push never arrived")
}

func draft(clinic string, class Class, key string) Draft {
	return Draft{Key: key, Type: "x." + class.String(), Data: json.RawMessage(`{}`), Clinic: clinic, Class: class,
		Alert: &Alert{Title: "Clinic", Body: "A message"}}
}

// TestQuietHoursDeferAndSend: in Vladivostok (UTC+10, no DST) at 22:30
// local the inbox event is written at once and the push waits for 09:00
// local (23:00 UTC); a restart before then loses nothing, and the push
// is sent once even with two instances sending due pushes.
func TestQuietHoursDeferAndSend(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := testCtx(t)
		clock := &fakeClock{t: time.Date(2026, 12, 3, 12, 30, 0, 0, time.UTC)} // 22:30 in Vladivostok
		h := newPolicyHarness(t, newStore(t, b), clock)
		h.device("pt_a")
		ev, err := h.svc.Publish(ctx, "pt_a", draft("cl_v", ClassNews, "news:q"))
		if err != nil || ev.Seq != 1 {
			t.Fatalf("publish: %+v, %v", ev, err)
		}
		h.flush(h.svc)
		if n := h.rec.count("tok-pt_a"); n != 0 {
			t.Fatalf("%d pushes during quiet hours", n)
		}
		if st := h.svc.Stats(); st.Deferred != 1 {
			t.Fatalf("stats = %+v", st)
		}
		// Restart before the morning: a new instance over the same store.
		h.svc.Close()
		h.svc = h.start()
		second := h.start()
		clock.set(time.Date(2026, 12, 3, 22, 59, 0, 0, time.UTC)) // 08:59 local
		if n, err := h.svc.SendDue(ctx); err != nil || n != 0 {
			t.Fatalf("08:59: sent %d, %v", n, err)
		}
		clock.set(time.Date(2026, 12, 3, 23, 0, 0, 0, time.UTC)) // 09:00 local
		n1, err1 := h.svc.SendDue(ctx)
		n2, err2 := second.SendDue(ctx)
		if err1 != nil || err2 != nil || n1+n2 != 1 {
			t.Fatalf("09:00: sent %d+%d, %v %v", n1, n2, err1, err2)
		}
		h.flush(h.svc)
		h.flush(second)
		if n := h.rec.count("tok-pt_a"); n != 1 {
			t.Fatalf("%d pushes after quiet hours, want 1", n)
		}
		if n, _ := h.svc.SendDue(ctx); n != 0 {
			t.Fatalf("sent again: %d", n)
		}
		// In the day the push goes at once.
		clock.set(time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)) // 12:00 local
		if _, err := h.svc.Publish(ctx, "pt_a", draft("cl_v", ClassReminder, "care:r")); err != nil {
			t.Fatal(err)
		}
		h.flush(h.svc)
		if n := h.rec.count("tok-pt_a"); n != 2 {
			t.Fatalf("%d pushes, want 2", n)
		}
		got, err := h.svc.Tallies(ctx, "cl_v", "2026-12-03", "2026-12-04")
		if err != nil || len(got) != 1 || got[0].Reason != ReasonDeferred || got[0].N != 1 || got[0].Class != ClassNews {
			t.Fatalf("tallies = %+v, %v", got, err)
		}
	})
}

func TestQuietUntil(t *testing.T) {
	p := DefaultPolicy()
	at := func(h, m int) time.Time { return time.Date(2026, 12, 3, h, m, 0, 0, vladivostok) }
	for _, c := range []struct {
		t     time.Time
		quiet bool
		until time.Time
	}{
		{at(20, 59), false, time.Time{}},
		{at(21, 0), true, at(9, 0).AddDate(0, 0, 1)},
		{at(23, 59), true, at(9, 0).AddDate(0, 0, 1)},
		{at(0, 0), true, at(9, 0)},
		{at(8, 59), true, at(9, 0)},
		{at(9, 0), false, time.Time{}},
	} {
		until, quiet := p.QuietUntil(c.t, vladivostok)
		if quiet != c.quiet || !until.Equal(c.until) {
			t.Errorf("%s: quiet=%v until %s; want %v %s", c.t, quiet, until, c.quiet, c.until)
		}
	}
	day := Policy{QuietFrom: 13 * 60, QuietTo: 14 * 60}
	if until, quiet := day.QuietUntil(at(13, 30), vladivostok); !quiet || !until.Equal(at(14, 0)) {
		t.Errorf("daytime quiet: %v %s", quiet, until)
	}
	if _, quiet := (Policy{QuietFrom: 600, QuietTo: 600}).QuietUntil(at(10, 0), vladivostok); quiet {
		t.Error("equal bounds mean no quiet hours")
	}
}

// TestBudgetPriorityAndExemptions: with a budget of 2, a burn warning, a
// news post and a win-back due together, PublishEach skips the win-back
// (no inbox event, a *SkippedError) whatever order they come in; codes and
// chat are not counted; a retry of a published message is not skipped.
func TestBudgetPriorityAndExemptions(t *testing.T) {
	ctx := testCtx(t)
	clock := &fakeClock{t: time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)} // 12:00 in Vladivostok
	h := newPolicyHarness(t, newStore(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}), clock)
	h.device("pt_a")
	_, errs := h.svc.PublishEach(ctx, []Outgoing{
		{"pt_a", draft("cl_v", ClassWinBack, "care:wb")},
		{"pt_a", draft("cl_v", ClassNews, "news:1")},
		{"pt_a", draft("cl_v", ClassCode, "code:1")},
		{"pt_a", draft("cl_v", ClassBurnWarning, "burnwarn:1")},
		{"pt_a", draft("cl_v", ClassChat, "chat:1")},
	})
	var skipped *SkippedError
	if !errors.As(errs[0], &skipped) || skipped.Reason != ReasonBudget || !errors.Is(errs[0], ErrSkipped) {
		t.Fatalf("win-back: %v, want skipped for the budget", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	evs, _ := h.svc.Events(ctx, "pt_a", 0, 10)
	if len(evs) != 4 {
		t.Fatalf("%d inbox events, want 4", len(evs))
	}
	for _, ev := range evs {
		if ev.Type == "x.win_back" {
			t.Fatal("the skipped win-back is in the inbox")
		}
	}
	// A retry of the news post keeps its slot; a new news post is skipped.
	if _, err := h.svc.Publish(ctx, "pt_a", draft("cl_v", ClassNews, "news:1")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, err := h.svc.Publish(ctx, "pt_a", draft("cl_v", ClassNews, "news:2")); !errors.Is(err, ErrSkipped) {
		t.Fatalf("third message: %v", err)
	}
	// The budget is per clinic-local week: Monday 00:00 in Vladivostok
	// (Sunday 14:00 UTC) opens a new one.
	clock.set(time.Date(2026, 12, 6, 13, 59, 0, 0, time.UTC))
	if _, err := h.svc.Publish(ctx, "pt_a", draft("cl_v", ClassNews, "news:3")); !errors.Is(err, ErrSkipped) {
		t.Fatalf("Sunday 23:59 local: %v", err)
	}
	clock.set(time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC))
	if _, err := h.svc.Publish(ctx, "pt_a", draft("cl_v", ClassNews, "news:4")); err != nil {
		t.Fatalf("Monday 00:00 local: %v", err)
	}
	// A message without a clinic is not under the policy.
	if _, err := h.svc.Publish(ctx, "pt_a", draft("", ClassWinBack, "care:x")); err != nil {
		t.Fatal(err)
	}
	if st := h.svc.Stats(); st.SkippedBudget != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestBudgetTwoPublishersRacing: two instances fanning out different
// messages to the same patients at once never exceed the budget.
func TestBudgetTwoPublishersRacing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := testCtx(t)
		clock := &fakeClock{t: time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)}
		store := newStore(t, b)
		h := newPolicyHarness(t, store, clock)
		other := h.start()
		if err := h.svc.SetClinicPolicy(ctx, "cl_u", Policy{WeeklyBudget: 1}); err != nil {
			t.Fatal(err)
		}
		users := []string{"pt_1", "pt_2", "pt_3", "pt_4"}
		reps := make([]Report, 4)
		var wg sync.WaitGroup
		for i, svc := range []*Service{h.svc, other, h.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				reps[i], err = svc.PublishManyReport(ctx, users, draft("cl_u", ClassNews, fmt.Sprint("news:", i)))
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		published, skipped := 0, 0
		for _, r := range reps {
			published += r.Published
			skipped += len(r.Skipped[ReasonBudget])
		}
		if published != len(users) || skipped != 3*len(users) {
			t.Fatalf("published %d, skipped %d: %+v", published, skipped, reps)
		}
		for _, u := range users {
			if evs, _ := h.svc.Events(ctx, u, 0, 10); len(evs) != 1 {
				t.Fatalf("%s has %d events, want 1", u, len(evs))
			}
		}
	})
}

// TestOptOuts: a patient who switched marketing off gets news in the inbox
// without a push; a guardian's switch for a dependant's card holds back
// messages about that card only; burn warnings always push.
func TestOptOuts(t *testing.T) {
	ctx := testCtx(t)
	clock := &fakeClock{t: time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)}
	h := newPolicyHarness(t, newStore(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}), clock)
	if err := h.svc.SetClinicPolicy(ctx, "cl_u", Policy{WeeklyBudget: 10}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"pt_on", "pt_off", "pt_g"} {
		h.device(u)
	}
	if err := h.svc.SetPreferences(ctx, "pt_off", []Preference{{Clinic: "cl_u", Marketing: false}}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetPreferences(ctx, "pt_g", []Preference{{Clinic: "cl_u", Card: "cd_kid", Marketing: false}}); err != nil {
		t.Fatal(err)
	}
	rep, err := h.svc.PublishManyReport(ctx, []string{"pt_on", "pt_off", "pt_g"}, draft("cl_u", ClassNews, "news:1"))
	if err != nil || rep.Published != 3 || rep.OptedOut != 1 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	kid := draft("cl_u", ClassReminder, "care:kid")
	kid.Card = "cd_kid"
	if _, err := h.svc.Publish(ctx, "pt_g", kid); err != nil {
		t.Fatal(err)
	}
	own := draft("cl_u", ClassReminder, "care:own")
	own.Card = "cd_own"
	if _, err := h.svc.Publish(ctx, "pt_g", own); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Publish(ctx, "pt_off", draft("cl_u", ClassBurnWarning, "burnwarn:1")); err != nil {
		t.Fatal(err)
	}
	h.flush(h.svc)
	for tok, want := range map[string]int{"tok-pt_on": 1, "tok-pt_off": 1, "tok-pt_g": 2} {
		if n := h.rec.count(tok); n != want {
			t.Errorf("%s: %d pushes, want %d", tok, n, want)
		}
	}
	for u, want := range map[string]int{"pt_on": 1, "pt_off": 2, "pt_g": 3} {
		if evs, _ := h.svc.Events(ctx, u, 0, 10); len(evs) != want {
			t.Errorf("%s: %d events, want %d", u, len(evs), want)
		}
	}
	if st := h.svc.Stats(); st.OptedOut != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, c := range []struct {
		p     Policy
		field string
	}{{Policy{QuietFrom: -1}, "quiet_from"}, {Policy{QuietFrom: 1440}, "quiet_from"}, {Policy{QuietTo: 1440}, "quiet_to"},
		{Policy{WeeklyBudget: -1}, "weekly_budget"}, {Policy{WeeklyBudget: MaxWeeklyBudget + 1}, "weekly_budget"}} {
		err := c.p.Validate()
		if err == nil || !errors.Is(err, ErrInvalidPolicy) || err.Error()[:len(c.field)] != c.field {
			t.Errorf("%+v: %v, want an error on %s", c.p, err, c.field)
		}
	}
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}
