package referrals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// fakeWallet is a hand-written Wallet: cards, keyed postings and a list
// of receipt facts, under one mutex. failKey makes the first Credit of
// that key fail, as a crash between a reward's record and its credit.
type fakeWallet struct {
	mu      sync.Mutex
	cards   map[string]*Card
	posted  map[string]int64 // card|key → points
	facts   []ReceiptFact
	failKey string
	sorted  []string // card ids, for Cardholders
}

func newFakeWallet() *fakeWallet {
	return &fakeWallet{cards: map[string]*Card{}, posted: map[string]int64{}}
}

func (w *fakeWallet) Join(_ context.Context, patientID, clinicID string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := "card-" + patientID
	if w.cards[id] == nil {
		w.cards[id] = &Card{ID: id, ClinicID: clinicID, PatientID: patientID, Own: true, Active: true, PointValue: 100}
	}
	return id, nil
}

func (w *fakeWallet) Card(_ context.Context, id string) (*Card, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.cards[id]; c != nil {
		cc := *c
		return &cc, nil
	}
	return nil, ErrNotFound
}

func (w *fakeWallet) PatientCard(ctx context.Context, patientID, id string) (*Card, error) {
	c, err := w.Card(ctx, id)
	if err != nil || c.PatientID != patientID {
		return nil, ErrNotFound
	}
	return c, nil
}

func (w *fakeWallet) OwnCard(ctx context.Context, clinicID, patientID string) (*Card, error) {
	return w.Card(ctx, "card-"+patientID)
}

func (w *fakeWallet) Credit(_ context.Context, c Credit) (*Posted, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.Key == w.failKey {
		w.failKey = ""
		return nil, errors.New("the process stopped")
	}
	k := c.CardID + "|" + c.Key
	if _, ok := w.posted[k]; ok {
		return &Posted{Points: w.posted[k], Replayed: true}, nil
	}
	w.posted[k] = c.Points
	return &Posted{Points: c.Points}, nil
}

// CreditAll credits one at a time and stops at the first failure, as a
// process that stopped in the middle.
func (w *fakeWallet) CreditAll(ctx context.Context, cs []Credit) ([]CreditResult, error) {
	out := make([]CreditResult, len(cs))
	for i, c := range cs {
		p, err := w.Credit(ctx, c)
		if err != nil {
			return nil, err
		}
		out[i].Posted = p
	}
	return out, nil
}

func (w *fakeWallet) Reclaim(_ context.Context, c Credit) (*Posted, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := c.CardID + "|" + c.Key
	if _, ok := w.posted[k]; ok {
		return &Posted{Points: w.posted[k], Replayed: true}, nil
	}
	w.posted[k] = -c.Points
	return &Posted{Points: -c.Points}, nil
}

func (w *fakeWallet) Receipts(_ context.Context, clinicID string, from time.Time, after string, limit int) ([]ReceiptFact, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ReceiptFact
	for _, f := range w.facts {
		if f.ClinicID == clinicID && !f.At.Before(from) {
			out = append(out, f)
		}
	}
	return out, "", nil
}

// Cardholders pages the own active cards of the clinic in card id order
// (sorted once per set of cards, so the fake costs little beside the
// store in BenchmarkReport); Paid > 0 marks the patients who paid.
func (w *fakeWallet) Cardholders(_ context.Context, clinicID, after string, limit int) ([]Cardholder, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sorted) != len(w.cards) {
		w.sorted = make([]string, 0, len(w.cards))
		for id := range w.cards {
			w.sorted = append(w.sorted, id)
		}
		sort.Strings(w.sorted)
	}
	i := sort.SearchStrings(w.sorted, after)
	if i < len(w.sorted) && w.sorted[i] == after {
		i++
	}
	var out []Cardholder
	next := ""
	for ; i < len(w.sorted); i++ {
		c := w.cards[w.sorted[i]]
		if c.ClinicID != clinicID || !c.Own || !c.Active {
			continue
		}
		if len(out) == limit {
			next = out[len(out)-1].CardID
			break
		}
		out = append(out, Cardholder{PatientID: c.PatientID, CardID: c.ID, Paid: c.Paid > 0})
	}
	return out, next, nil
}

// earned is the sum of a card's postings.
func (w *fakeWallet) earned(card string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for k, v := range w.posted {
		if strings.HasPrefix(k, card+"|ref:") {
			n += v
		}
	}
	return n
}

type fakePeople struct{}

func (fakePeople) Name(_ context.Context, id string) (string, string, error) {
	return "Anna", "Ivanova", nil
}
func (fakePeople) SamePhone(_ context.Context, a, b string) (bool, error)   { return a == b, nil }
func (fakePeople) ClinicName(context.Context, string) (string, error)       { return "Smile Dental", nil }
func (fakePeople) Location(context.Context, string) (*time.Location, error) { return time.UTC, nil }

type fakeNotifier struct{}

func (fakeNotifier) Notify(context.Context, string, Notification) error { return nil }

type fixture struct {
	s     *Service
	w     *fakeWallet
	clock time.Time
}

func newFixture(t testing.TB, st Store, p ProgramRequest) *fixture {
	t.Helper()
	f := &fixture{w: newFakeWallet(), clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	f.s = NewService(st, f.w, fakeNotifier{}, fakePeople{}, Options{Now: func() time.Time { return f.clock }})
	if _, err := f.s.PutProgram(context.Background(), "c1", "m1", p); err != nil {
		t.Fatal(err)
	}
	f.clock = f.clock.Add(time.Second)
	return f
}

// join makes patient join with the code of referrer's card ("" : by
// themselves) and returns the card.
func (f *fixture) join(t testing.TB, patient, referrer string) string {
	t.Helper()
	ctx := context.Background()
	if referrer == "" {
		id, _ := f.w.Join(ctx, patient, "c1")
		return id
	}
	c, err := f.s.CardCode(ctx, referrer, "card-"+referrer)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.s.Join(ctx, patient, "", c.Code)
	if err != nil {
		t.Fatal(err)
	}
	return res.CardID
}

func (f *fixture) receipt(patient, id string, paid int64) *ReceiptFact {
	f.clock = f.clock.Add(time.Minute)
	r := ReceiptFact{Kind: FactReceipt, ClinicID: "c1", CardID: "card-" + patient, PatientID: patient, ReceiptID: id,
		Key: "cashback:" + id, Paid: paid, PointValue: 100, At: f.clock}
	f.w.mu.Lock()
	f.w.facts = append(f.w.facts, r)
	f.w.mu.Unlock()
	return &r
}

var testProgram = ProgramRequest{Enabled: true, RefereeBonus: Bonus{Points: 300, BurnDays: 60}, ReferrerBonus: Points{Points: 100},
	Levels: []Level{{700}, {200}, {100}}, RewardOn: RewardFirstPaidVisit, MinPaid: 100_000, StaffRewardBP: 60}

// TestCrashBetweenRewardAndCredit: the level 2 reward is recorded but
// its credit never happened (the process stopped); the job pays it, and
// nothing twice, on both stores.
func TestCrashBetweenRewardAndCredit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, openStore(t, b), testProgram)
		f.join(t, "a", "")
		f.join(t, "b", "a")
		f.join(t, "c", "b")
		f.join(t, "d", "c")
		f.w.failKey = "ref:R1:2"
		if err := f.s.HandleFact(ctx, f.receipt("d", "R1", 1_000_000), nil); err == nil {
			t.Fatal("the crash was not reported")
		}
		if f.w.earned("card-c") != 800 || f.w.earned("card-b") != 0 {
			t.Fatalf("before the job: c %d, b %d", f.w.earned("card-c"), f.w.earned("card-b"))
		}
		for range 3 {
			if _, err := f.s.RunRewards(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for card, want := range map[string]int64{"card-a": 100, "card-b": 200, "card-c": 800, "card-d": 0} {
			if got := f.w.earned(card); got != want {
				t.Errorf("%s earned %d, want %d", card, got, want)
			}
		}
	})
}

// TestEveryPaidVisit: every receipt within window_days of joining pays,
// later ones do not.
func TestEveryPaidVisit(t *testing.T) {
	p := testProgram
	p.RewardOn, p.WindowDays, p.ReferrerBonus.Points = RewardEveryPaidVisit, 30, 0
	ctx := context.Background()
	f := newFixture(t, openStore(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}), p)
	f.join(t, "a", "")
	f.join(t, "b", "a")
	for i, paid := range []int64{1_000_000, 500_000, 50_000} { // the last is below min_paid
		if err := f.s.HandleFact(ctx, f.receipt("b", fmt.Sprint("R", i), paid), nil); err != nil {
			t.Fatal(err)
		}
	}
	f.clock = f.clock.AddDate(0, 0, 31)
	if err := f.s.HandleFact(ctx, f.receipt("b", "R-late", 1_000_000), nil); err != nil {
		t.Fatal(err)
	}
	if got := f.w.earned("card-a"); got != 700+350 {
		t.Fatalf("a earned %d, want 1050", got)
	}
}

// TestSharedDeviceHolds: a new patient on a device other accounts used is
// held (not refused: the other account is not the referrer).
func TestSharedDeviceHolds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openStore(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}), testProgram)
	f.join(t, "a", "")
	for _, p := range []string{"x", "b"} {
		if err := f.s.SawDevice(ctx, p, "tablet-at-the-desk"); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := f.s.CardCode(ctx, "a", "card-a")
	res, err := f.s.Join(ctx, "b", "", c.Code)
	if err != nil || res.Status != RewardHeld || res.RefereeBonus != 0 {
		t.Fatalf("join: %+v %v", res, err)
	}
	l, _ := f.s.store.Link(ctx, "c1", "b")
	if len(l.Checks) != 1 || l.Checks[0].Rule != RuleSharedDevice {
		t.Fatalf("checks: %+v", l.Checks)
	}
	if err := f.s.HandleFact(ctx, f.receipt("b", "R1", 1_000_000), nil); err != nil {
		t.Fatal(err)
	}
	if got := f.w.earned("card-a"); got != 0 {
		t.Fatalf("held reward paid: %d", got)
	}
	if _, err := f.s.Decide(ctx, "c1", "m1", l.ID, false, "fraud ring"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RunRewards(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.w.earned("card-a"); got != 0 {
		t.Fatalf("rejected reward paid: %d", got)
	}
}

// BenchmarkReport is the referral report over a clinic of 100,000
// patients in a tree 8 levels deep, every one a cardholder
// (CAREWALLET_REPORT_BENCH_N scales it; the tree is built once, before
// the timer). The wallet is the fake: the wallet's own page of
// cardholders on SQLite is wallet's BenchmarkCardholders.
func BenchmarkReport(b *testing.B) {
	n := 100_000
	if v := getenvInt("CAREWALLET_REPORT_BENCH_N"); v > 0 {
		n = v
	}
	ctx := context.Background()
	st := openStore(b, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(b)})
	f := newFixture(b, st, testProgram)
	// Level sizes grow ×~4: 1, 4, 16, … capped so the total is n.
	var prev []string
	made := 0
	for depth := 1; depth <= 8 && made < n; depth++ {
		size := 1
		for range depth - 1 {
			size *= 4
		}
		if depth == 8 {
			size = n - made
		}
		size = min(size, n-made)
		cur := make([]string, size)
		for i := range size {
			id := fmt.Sprintf("p%d_%d", depth, i)
			cur[i] = id
			made++
			// every patient holds a card; a third of them paid
			c := &Card{ID: "card-" + id, ClinicID: "c1", PatientID: id, Own: true, Active: true, PointValue: 100}
			if i%3 == 0 {
				c.Paid = 1000
			}
			f.w.cards[c.ID] = c
			if depth == 1 {
				continue
			}
			ref := prev[i%len(prev)]
			l := &Link{ID: fmt.Sprintf("rf_%07d", made), ClinicID: "c1", RefereeID: id, ReferrerID: ref, ReferrerCard: "card-" + ref,
				Depth: depth, Ancestors: []string{ref}, Checks: []Check{}, Created: f.clock}
			if err := st.InsertLink(ctx, l); err != nil {
				b.Fatal(err)
			}
			if i%3 == 0 {
				if err := st.InsertVisit(ctx, &Visit{ClinicID: "c1", RefereeID: id, ReceiptID: "R" + id}); err != nil {
					b.Fatal(err)
				}
			}
		}
		prev = cur
	}
	b.ResetTimer()
	for range b.N {
		rep, err := f.s.Report(ctx, "c1", "", 50)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Depths) != 8 || rep.Depths[7].Patients+rep.Depths[0].Patients < 2 {
			b.Fatalf("depths %+v", rep.Depths)
		}
	}
}

func getenvInt(name string) int {
	var n int
	fmt.Sscan(os.Getenv(name), &n)
	return n
}

// TestConcurrentJoins: a patient entering two friends' codes at once from
// two devices ends up under one referrer, with one referee bonus, on
// both stores.
func TestConcurrentJoins(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, openStore(t, b), testProgram)
		f.join(t, "a", "")
		f.join(t, "b", "")
		ca, _ := f.s.CardCode(ctx, "a", "card-a")
		cb, _ := f.s.CardCode(ctx, "b", "card-b")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := map[string]int{}
		for i := range 8 {
			code := ca.Code
			if i%2 == 1 {
				code = cb.Code
			}
			wg.Go(func() {
				_, err := f.s.Join(ctx, "n", "", code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins[code]++
				case !errors.Is(err, ErrAlreadyReferred):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("joined under %d referrers: %v", len(wins), wins)
		}
		l, err := f.s.store.Link(ctx, "c1", "n")
		if err != nil || wins[l.Code] == 0 {
			t.Fatalf("link %+v %v, wins %v", l, err, wins)
		}
		f.w.mu.Lock()
		defer f.w.mu.Unlock()
		if len(f.w.posted) != 1 || f.w.posted["card-n|referee:"+l.ID] != 300 {
			t.Fatalf("postings: %v", f.w.posted)
		}
	})
}

// TestApprovedHeldPays: a held referral approved by a manager gets its
// referee bonus and the rewards recorded while held, once.
func TestApprovedHeldPays(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openStore(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}), testProgram)
	f.join(t, "a", "")
	for _, p := range []string{"x", "b"} {
		if err := f.s.SawDevice(ctx, p, "shared"); err != nil {
			t.Fatal(err)
		}
	}
	f.join(t, "b", "a")
	if err := f.s.HandleFact(ctx, f.receipt("b", "R1", 1_000_000), nil); err != nil {
		t.Fatal(err)
	}
	l, _ := f.s.store.Link(ctx, "c1", "b")
	for range 2 {
		if _, err := f.s.Decide(ctx, "c1", "m1", l.ID, true, "known family"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.Decide(ctx, "c1", "m1", l.ID, false, "no"); !errors.Is(err, ErrDecided) {
		t.Fatalf("a second, other decision: %v", err)
	}
	if got := f.w.earned("card-a"); got != 800 {
		t.Fatalf("a earned %d, want 800", got)
	}
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	if f.w.posted["card-b|referee:"+l.ID] != 300 {
		t.Fatalf("referee bonus: %v", f.w.posted)
	}
}
