package wallet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeClinics gives every clinic a zone (default Europe/Moscow) or an error.
type fakeClinics struct {
	zones map[string]*time.Location
}

func (f fakeClinics) Location(ctx context.Context, clinicID string) (*time.Location, error) {
	if l, ok := f.zones[clinicID]; ok {
		return l, nil
	}
	if clinicID == "cl_missing" {
		return nil, errors.New("no such clinic")
	}
	return time.FixedZone("MSK", 3*3600), nil
}

// fakeNotifier records notifications per patient, idempotent on key.
type fakeNotifier struct {
	mu   sync.Mutex
	seen map[string]bool
	byPt map[string][]Notification
	fail bool
}

func (f *fakeNotifier) Notify(ctx context.Context, patientID string, n Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("notifier down")
	}
	if f.seen == nil {
		f.seen, f.byPt = map[string]bool{}, map[string][]Notification{}
	}
	k := patientID + "\x00" + n.Key
	if f.seen[k] {
		return nil
	}
	f.seen[k] = true
	f.byPt[patientID] = append(f.byPt[patientID], n)
	return nil
}

func (f *fakeNotifier) all(patientID string) []Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Notification(nil), f.byPt[patientID]...)
}

// spendCode returns the code sent for a spend.
func (f *fakeNotifier) spendCode(t testing.TB, patientID, spendID string) string {
	t.Helper()
	for _, n := range f.all(patientID) {
		if d, ok := n.Data.(SpendCodeData); ok && d.SpendID == spendID {
			return d.Code
		}
	}
	t.Fatalf("no code for spend %s sent to %s", spendID, patientID)
	return ""
}

func (f *fakeNotifier) cardCode(t testing.TB, patientID, cardID string) string {
	t.Helper()
	for _, n := range f.all(patientID) {
		if d, ok := n.Data.(CardCodeData); ok && d.CardID == cardID {
			return d.Code
		}
	}
	t.Fatalf("no code for card %s sent to %s", cardID, patientID)
	return ""
}

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type env struct {
	svc    *Service
	store  Store
	clock  *fakeClock
	notes  *fakeNotifier
	people *fakePeople
	b      storagetest.Backend
}

func newStore(t testing.TB, b storagetest.Backend) Store {
	t.Helper()
	ctx := context.Background()
	if b.SQLite != nil {
		s, err := NewSQLiteStore(ctx, b.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s, err := NewMongoStore(ctx, b.Mongo)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEnv(t testing.TB, b storagetest.Backend) *env {
	t.Helper()
	clock := &fakeClock{t: t0}
	notes := &fakeNotifier{}
	st := newStore(t, b)
	people := newFakePeople()
	return &env{svc: NewService(st, fakeClinics{}, notes, Options{Now: clock.Now, CodeKey: testCodeKey, People: people}),
		store: st, clock: clock, notes: notes, people: people, b: b}
}

// second builds another Service on the same database through its own
// connection: a second app instance.
func (e *env) second(t testing.TB) *Service {
	t.Helper()
	var st Store
	if e.b.SQLite != nil {
		st = e.store
	} else {
		db := storagetest.MongoClient(t).Database(e.b.Mongo.Name())
		var err error
		if st, err = NewMongoStore(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
	return NewService(st, fakeClinics{}, e.notes, Options{Now: e.clock.Now, CodeKey: testCodeKey, People: e.people})
}

func i64(v int64) *int64 { return &v }

// testProgram is the example program.
func testProgram() Program {
	return Program{
		PointValue: 100,
		Levels: []Level{{Name: "Base", MinSpend: 0, CashbackBP: 500},
			{Name: "VIP", MinSpend: 15000000, CashbackBP: 1000}},
		ServiceOverrides: []ServiceOverride{{Service: "IMPL-01", CashbackBP: i64(300)}, {Service: "CHECK-01", Points: i64(50)}},
		ExcludedServices: []string{"LAB-01"},
		MaxShareBP:       5000,
		WelcomeBonus:     Bonus{Points: 500, BurnDays: 30},
		BookingBonus:     Bonus{Points: 100, BurnDays: 14},
		BirthdayBonus:    Bonus{Points: 300, BurnDays: 14},
		CashbackBurnDays: 365,
		BurnWarningDays:  14,
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// setupClinic saves the program for clinic.
func (e *env) setupClinic(t testing.TB, clinic string, p Program) {
	t.Helper()
	if _, err := e.svc.PutProgram(context.Background(), clinic, "st_mgr", p); err != nil {
		t.Fatal(err)
	}
}

// joined returns an active card of patient at clinic.
func (e *env) joined(t testing.TB, patient, clinic string) *CardView {
	t.Helper()
	v, err := e.svc.Join(context.Background(), patient, clinic)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkLedger asserts the ledger invariants of a card: seqs 1..n,
// balance_after chains, balance == sum(entries) == sum(lot remainders) as
// derived from the entries' deltas == the store's state, never negative.
func checkLedger(t testing.TB, st Store, cardID string) int64 {
	t.Helper()
	ctx := context.Background()
	es, err := st.Entries(ctx, cardID, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var bal int64
	lots := map[string]int64{}
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i+1, e.Seq)
		}
		bal += e.Amount
		if e.BalanceAfter != bal || bal < 0 {
			t.Fatalf("entry %d balance_after %d, running sum %d", e.Seq, e.BalanceAfter, bal)
		}
		var sum int64
		for _, d := range e.Lots {
			lots[d.LotID] += d.Delta
			sum += d.Delta
			if lots[d.LotID] < 0 {
				t.Fatalf("entry %d drives lot %s negative", e.Seq, d.LotID)
			}
		}
		if sum != e.Amount {
			t.Fatalf("entry %d deltas %d != amount %d", e.Seq, sum, e.Amount)
		}
	}
	var lotSum int64
	for _, r := range lots {
		lotSum += r
	}
	state, err := st.State(ctx, cardID)
	if err != nil {
		t.Fatal(err)
	}
	var stateSum int64
	for _, l := range state.Lots {
		stateSum += l.Remaining
		if l.Remaining != lots[l.ID] {
			t.Fatalf("lot %s: state remaining %d, entries say %d", l.ID, l.Remaining, lots[l.ID])
		}
	}
	if lotSum != bal || stateSum != bal || state.Balance != bal {
		t.Fatalf("balance %d, lots from entries %d, state lots %d, state balance %d", bal, lotSum, stateSum, state.Balance)
	}
	return bal
}

// testCodeKey is the code-hashing key every test instance shares, as the
// instances of one deployment share the server's secret.
var testCodeKey = []byte("wallet-test-code-key-0123456789ab")

// legacyLot credits points to a card in a lot of their own burning at
// burnsAt even when an open lot burns then too, as the code before
// same-day lots did: data such a binary left behind.
func (e *env) legacyLot(t testing.TB, cardID string, points int64, burnsAt time.Time) string {
	t.Helper()
	card := must[*Card](t)(e.store.Card(ctx, cardID))
	id := must[string](t)(e.svc.newID("lt_"))
	key := "legacy:" + id
	res := must[[]CommitResult](t)(commitAll(ctx, e.store, []Commit{{CardID: cardID, Key: key, Fingerprint: key,
		Build: func(st *State, _ []Entry) (*Entry, error) {
			lot := &Lot{ID: id, CardID: cardID, ClinicID: card.ClinicID, Kind: KindCashback, Points: points, Remaining: points,
				BurnsAt: burnsAt, WarnAt: burnsAt.AddDate(0, 0, -14), Seq: st.Seq + 1}
			en := stampEntry(&Entry{Kind: KindCashback, Amount: points, Lots: []LotDelta{{LotID: id, Delta: points}}, NewLot: lot},
				st, card, e.clock.Now())
			en.Key, en.Fingerprint = key, key
			return en, nil
		}}}))
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	return id
}
