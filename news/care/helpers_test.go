package care

import (
	"context"
	"fmt"
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
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// inbox is a fake push: a note with a key is stored once per user, as
// push's unique (user, key) does; skip makes the policy skip a scenario.
type inbox struct {
	mu     sync.Mutex
	notes  map[string][]Note
	keys   map[string]bool
	skip   map[string]string // scenario → policy reason
	fail   int               // this many publishes fail
	writes int
}

func newInbox() *inbox {
	return &inbox{notes: map[string][]Note{}, keys: map[string]bool{}, skip: map[string]string{}}
}

func (b *inbox) Publish(ctx context.Context, user string, n Note) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail > 0 {
		b.fail--
		return fmt.Errorf("inbox down")
	}
	if r, ok := b.skip[n.Scenario]; ok {
		return &SkipError{Reason: r}
	}
	if n.Key != "" {
		if b.keys[user+"|"+n.Key] {
			return nil
		}
		b.keys[user+"|"+n.Key] = true
	}
	b.writes++
	b.notes[user] = append(b.notes[user], n)
	return nil
}

// sent lists the scenarios of the care messages user received.
func (b *inbox) sent(user string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, n := range b.notes[user] {
		if n.Type == NoteMessage {
			out = append(out, n.Scenario)
		}
	}
	return out
}

func (b *inbox) last(user string) Note {
	b.mu.Lock()
	defer b.mu.Unlock()
	ns := b.notes[user]
	if len(ns) == 0 {
		return Note{}
	}
	return ns[len(ns)-1]
}

type people struct {
	mu      sync.Mutex
	p       map[string]Person
	clinics map[string][]string
}

func (p *people) Person(ctx context.Context, id string) (Person, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if x, ok := p.p[id]; ok {
		return x, nil
	}
	return Person{ID: id, FirstName: "Anna"}, nil
}

func (p *people) BornOn(ctx context.Context, mds []string, after string, limit int) ([]Person, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Person
	for _, x := range p.p {
		if x.BirthDate == "" || x.ID <= after {
			continue
		}
		for _, md := range mds {
			if x.BirthDate[5:] == md {
				out = append(out, x)
			}
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (p *people) Clinics(ctx context.Context, id string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clinics[id], nil
}

func (p *people) put(x Person, clinics ...string) {
	p.mu.Lock()
	p.p[x.ID] = x
	p.clinics[x.ID] = clinics
	p.mu.Unlock()
}

type clinics map[string]Clinic

func (c clinics) Clinic(ctx context.Context, id string) (Clinic, error) {
	if x, ok := c[id]; ok {
		return x, nil
	}
	return Clinic{}, ErrNotFound
}

var vladivostok = mustZone("Asia/Vladivostok")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

type chatFake struct {
	mu   sync.Mutex
	msgs []string
}

func (c *chatFake) PatientWrites(ctx context.Context, clinicID, patientID, text string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, text)
	return "th_" + patientID, nil
}

type managers []string

func (m managers) Managers(ctx context.Context, clinicID string) ([]string, error) { return m, nil }

// fixture is a service over a real store with fakes around it; the clinic
// "cl_v" is in Vladivostok (UTC+10, no DST) and "cl_u" in UTC.
type fixture struct {
	t      *testing.T
	store  Store
	svc    *Service
	clock  *clock
	inbox  *inbox
	people *people
	chat   *chatFake
}

func newFixture(t *testing.T, store Store, start time.Time) *fixture {
	t.Helper()
	f := &fixture{t: t, store: store, clock: &clock{t: start}, inbox: newInbox(),
		people: &people{p: map[string]Person{}, clinics: map[string][]string{}}, chat: &chatFake{}}
	f.svc = f.newService()
	for _, c := range []string{"cl_v", "cl_u"} {
		for _, sc := range Scenarios {
			on := true
			if _, err := f.svc.UpdateScenario(context.Background(), c, sc, ScenarioUpdate{Enabled: &on}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

// newService is another instance over the same store (a restart, or a
// second process).
func (f *fixture) newService() *Service {
	return NewService(f.store, Options{Now: f.clock.now, Inbox: f.inbox, Patients: f.people,
		Clinics:  clinics{"cl_v": {Name: "Smile", Location: vladivostok}, "cl_u": {Name: "Dent", Location: time.UTC}},
		Managers: managers{"st_m1", "st_m2"}, Chat: f.chat, PushConfigured: true, Batch: 50})
}

func sqliteFixture(t *testing.T, start time.Time) *fixture {
	t.Helper()
	b := storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}
	return newFixture(t, storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore), start)
}

// vlat is a Vladivostok wall-clock time.
func vlat(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, vladivostok).UTC()
}

func (f *fixture) put(ext, patient string, startsAt time.Time, status string, services ...string) *Appointment {
	f.t.Helper()
	return f.putIn("cl_v", ext, patient, startsAt, status, services...)
}

func (f *fixture) putIn(clinic, ext, patient string, startsAt time.Time, status string, services ...string) *Appointment {
	f.t.Helper()
	a, _, err := f.svc.PutAppointment(context.Background(), Upsert{ClinicID: clinic, ExternalID: ext, PatientID: patient,
		AppointmentRequest: AppointmentRequest{StartsAt: startsAt, Doctor: "Dr Ivanova", Services: services, Status: status}})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) tick() TickReport {
	f.t.Helper()
	rep, err := f.svc.Tick(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// at moves the clock to t and ticks.
func (f *fixture) at(t time.Time) TickReport {
	f.t.Helper()
	f.clock.set(t)
	return f.tick()
}

func (f *fixture) msg(key string) *Message {
	f.t.Helper()
	m, err := f.store.Message(context.Background(), key)
	if err != nil {
		f.t.Fatalf("message %s: %v", key, err)
	}
	return m
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
