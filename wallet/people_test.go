package wallet

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// fakePeople stands in for identity: patients' and dependants' details
// by id, shared by a test's service instances.
type fakePeople struct {
	mu sync.Mutex
	m  map[string]Person
	n  int
}

func newFakePeople() *fakePeople { return &fakePeople{m: map[string]Person{}} }

func (f *fakePeople) Person(_ context.Context, id string) (Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.m[id]
	if !ok {
		return Person{}, ErrNotFound
	}
	return p, nil
}

func (f *fakePeople) AddDependant(_ context.Context, first, last, birth string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("dp_%04d", f.n)
	f.m[id] = Person{ID: id, FirstName: first, LastName: last, BirthDate: birth}
	return id, nil
}

func (f *fakePeople) CompleteProfile(_ context.Context, id, first, last, birth string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.m[id]
	p.ID = id
	if p.FirstName == "" {
		p.FirstName = first
	}
	if p.LastName == "" {
		p.LastName = last
	}
	if p.BirthDate == "" {
		p.BirthDate = birth
	}
	f.m[id] = p
	return nil
}

// set replaces a patient's details, as PATCH /v1/me does.
func (f *fakePeople) set(p Person) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[p.ID] = p
}

func (f *fakePeople) BornOn(_ context.Context, mds []string, after string, limit int) ([]Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Person
	for id, p := range f.m {
		if id > after && len(p.BirthDate) == 10 && slices.Contains(mds, p.BirthDate[5:]) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Person) int { return cmpString(a.ID, b.ID) })
	return out[:min(len(out), limit)], nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fakePeople) ImportDependant(_ context.Context, p Person, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[p.ID]; !ok {
		f.m[p.ID] = p
	}
	return nil
}

// TestHolderFollowsPeople: a card shows its holder's details as People
// has them now, and the birthday job reads People's birth date, however
// the card was issued.
func TestHolderFollowsPeople(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		// Joined from the app: no details anywhere yet.
		v := must[*CardView](t)(e.svc.Join(ctx, "pt_app", "cl_1"))
		if v.Holder.FirstName != "" || v.Holder.BirthDate != "" {
			t.Fatalf("holder before any profile: %+v", v.Holder)
		}
		// The patient enters a name and a birth date in the app later.
		today := e.clock.Now().In(time.UTC)
		e.people.set(Person{ID: "pt_app", FirstName: "Olga", LastName: "Smirnova", BirthDate: today.AddDate(-30, 0, 0).Format(time.DateOnly)})
		v = must[*CardView](t)(e.svc.Card(ctx, "pt_app", v.ID))
		if v.Holder.FirstName != "Olga" || v.Holder.LastName != "Smirnova" {
			t.Fatalf("holder after the profile change: %+v", v.Holder)
		}
		rep := must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now()))
		if rep.Birthdays != 1 {
			t.Fatalf("birthday bonus for a card joined from the app: %+v", rep)
		}
		// Stored cards carry ids only.
		if c := must[*Card](t)(e.store.Card(ctx, v.ID)); c.Holder != (Holder{Kind: HolderSelf, PatientID: "pt_app"}) {
			t.Fatalf("stored holder: %+v", c.Holder)
		}
	})
}
