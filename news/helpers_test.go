package news

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// inbox is a fake push: it keeps each user's events, and a note with a
// key is stored once per user, as push's unique (user, key) does.
type inbox struct {
	mu       sync.Mutex
	events   map[string][]Note
	keys     map[string]bool
	calls    int
	failNext int             // this many PublishMany calls fail
	after    func(calls int) // runs after each PublishMany
}

func newInbox() *inbox { return &inbox{events: map[string][]Note{}, keys: map[string]bool{}} }

func (b *inbox) Publish(ctx context.Context, user string, n Note) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.put(user, n)
	return nil
}

func (b *inbox) put(user string, n Note) {
	if n.Key != "" {
		if b.keys[user+"|"+n.Key] {
			return
		}
		b.keys[user+"|"+n.Key] = true
	}
	b.events[user] = append(b.events[user], n)
}

func (b *inbox) PublishMany(ctx context.Context, users []string, n Note) error {
	b.mu.Lock()
	b.calls++
	calls := b.calls
	if b.failNext > 0 {
		b.failNext--
		b.mu.Unlock()
		return fmt.Errorf("inbox down")
	}
	for _, u := range users {
		b.put(u, n)
	}
	after := b.after
	b.mu.Unlock()
	if after != nil {
		after(calls)
	}
	return nil
}

func (b *inbox) count(user, typ string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.events[user] {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// audience is a fake wallet: holders per clinic (with repeats, as a
// guardian holding several dependants' cards appears once per card).
type audience struct {
	holders map[string][]string
}

func (a *audience) CheckLevel(ctx context.Context, clinicID, level string) error {
	if _, ok := a.holders[clinicID+"@"+level]; !ok {
		return invalid("level", "no level %q", level)
	}
	return nil
}

// Holders reads holders["clinic@level"] for a level, holders["clinic#N"]
// for a depth.
func (a *audience) Holders(ctx context.Context, clinicID string, seg Segment, after string, limit int) ([]string, string, error) {
	key := clinicID
	switch {
	case seg.Depth > 0:
		key += "#" + strconv.Itoa(seg.Depth)
	case seg.Level != "":
		key += "@" + seg.Level
	}
	all := a.holders[key]
	i := 0
	if after != "" {
		i, _ = strconv.Atoi(after)
	}
	j := min(i+limit, len(all))
	next := ""
	if j < len(all) {
		next = strconv.Itoa(j)
	}
	return all[i:j], next, nil
}

func (a *audience) Clinics(ctx context.Context, patientID string) ([]string, error) {
	var out []string
	for c, hs := range a.holders {
		for _, h := range hs {
			if h == patientID {
				out = append(out, c)
				break
			}
		}
	}
	return out, nil
}

type clinics struct{}

func (clinics) Clinic(ctx context.Context, id string) (Clinic, error) {
	loc, err := time.LoadLocation("Europe/Moscow")
	return Clinic{Name: "Smile Dental", Location: loc}, err
}

// env is a service over a fresh store with fakes around it.
type env struct {
	svc   *Service
	store Store
	inbox *inbox
	aud   *audience
	clock *clock
	b     storagetest.Backend
}

// Wednesday 2026-12-02 12:00 Moscow.
var start = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, b storagetest.Backend) *env {
	t.Helper()
	e := &env{inbox: newInbox(), aud: &audience{holders: map[string][]string{}}, clock: &clock{t: start}, b: b}
	e.store = storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
	e.svc = e.instance(t)
	return e
}

// instance is another service (another app instance) on the same database.
func (e *env) instance(t *testing.T) *Service {
	t.Helper()
	st := storagetest.Open[Store](t, e.b, NewSQLiteStore, NewMongoStore)
	return NewService(st, Options{Now: e.clock.now, Inbox: e.inbox, Audience: e.aud, Clinics: clinics{}, FanoutPage: 7,
		Staff: staffFake{}, Bonus: &bonusFake{}})
}

type staffFake struct{}

func (staffFake) Managers(ctx context.Context, clinicID string) ([]string, error) {
	return []string{"mgr-1-" + clinicID, "mgr-2-" + clinicID}, nil
}

type bonusFake struct {
	mu   sync.Mutex
	keys map[string]BonusCredit
}

func (b *bonusFake) Credit(ctx context.Context, c BonusCredit) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys == nil {
		b.keys = map[string]BonusCredit{}
	}
	b.keys[c.Key] = c
	return nil
}

func draft(title string) Draft { return Draft{Title: title, Body: "Body of " + title} }
