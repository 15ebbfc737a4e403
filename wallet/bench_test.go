package wallet

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// Service-level benchmarks on SQLite (the embedded default). Each reports
// ops/s and the p99 latency of one operation. Reproduce with
//
//	go test -run '^$' -bench . -benchtime 3s ./wallet/
//
// and the 1,000,000-lot burn with CAREWALLET_BURN_BENCH=1 (see BenchmarkBurn).

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration, unit string) {
	slices.Sort(l.d)
	if len(l.d) > 0 {
		b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit)
}

func benchEnv(b *testing.B, cards int) (*env, []string) {
	b.Helper()
	e := newEnv(b, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(b)})
	p := testProgram()
	p.MaxShareBP = 10000
	p.WelcomeBonus = Bonus{Points: 1_000_000, BurnDays: 365}
	e.setupClinic(b, "cl_1", p)
	ids := make([]string, cards)
	for i := range ids {
		ids[i] = e.joined(b, fmt.Sprintf("pt_%d", i), "cl_1").ID
	}
	return e, ids
}

// runParallel runs op from 8 goroutines (4 per CPU) until the benchmark
// ends, timing each call, and reports calls per second as unit.
func runParallel(b *testing.B, unit string, op func(i int64) error) {
	var n atomic.Int64
	var lat latencies
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			t := time.Now()
			if err := op(i); err != nil {
				b.Error(err)
				return
			}
			lat.add(time.Since(t))
		}
	})
	lat.report(b, time.Since(start), unit)
}

func BenchmarkReceipts(b *testing.B) {
	e, cards := benchEnv(b, 100)
	runParallel(b, "receipts/s", func(i int64) error {
		_, err := e.svc.RecordReceipt(context.Background(), ReceiptRequest{ClinicID: "cl_1", StaffID: "st_a",
			CardID: cards[i%int64(len(cards))], ReceiptID: fmt.Sprintf("R%d", i),
			Lines: []Line{{Service: "CONS-01", Amount: 1000000}, {Service: "LAB-01", Amount: 150000}}})
		return err
	})
}

func BenchmarkSpendConfirm(b *testing.B) {
	e, cards := benchEnv(b, 100)
	runParallel(b, "pairs/s", func(i int64) error {
		card := cards[i%int64(len(cards))]
		sp, err := e.svc.CreateSpend(context.Background(), SpendRequest{ClinicID: "cl_1", StaffID: "st_a", CardID: card,
			ReceiptID: fmt.Sprintf("S%d", i), Lines: []Line{{Service: "CONS-01", Amount: 100000}}, Points: 10})
		if err != nil {
			return err
		}
		_, err = e.svc.ConfirmSpend(context.Background(), "cl_1", sp.SpendID, e.notes.spendCode(b, fmt.Sprintf("pt_%d", i%int64(len(cards))), sp.SpendID))
		return err
	})
}

func BenchmarkCardReads(b *testing.B) {
	e, cards := benchEnv(b, 100)
	for i, c := range cards { // some history and lots to read
		for j := range 5 {
			must[*ReceiptResult](b)(e.svc.RecordReceipt(context.Background(), ReceiptRequest{ClinicID: "cl_1", CardID: c,
				ReceiptID: fmt.Sprintf("R%d-%d", i, j), Lines: []Line{{Service: "CONS-01", Amount: 100000}}}))
		}
	}
	runParallel(b, "reads/s", func(i int64) error {
		i %= int64(len(cards))
		_, err := e.svc.Card(context.Background(), fmt.Sprintf("pt_%d", i), cards[i])
		return err
	})
}

// BenchmarkRawInsert is the baseline: one single-row INSERT per
// transaction on the same kind of database, in the same run.
func BenchmarkRawInsert(b *testing.B) {
	db := storagetest.SQLite(b)
	if _, err := db.Write.Exec(`CREATE TABLE raw (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v INTEGER NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := db.Write.Exec(`INSERT INTO raw (k, v) VALUES (?, ?)`, fmt.Sprintf("k%d", i), i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "inserts/s")
}

// BenchmarkBurn burns 1,000,000 lots on 100,000 cards (10 lots each, all
// due) with RunBurn while card reads continue, and reports lots/s. The
// lots are seeded straight into the tables in big transactions (entries
// with their lot rows, as commits would write them). It takes minutes
// and about 1 GB of disk, so it runs only with CAREWALLET_BURN_BENCH=1:
//
//	CAREWALLET_BURN_BENCH=1 go test -run '^$' -bench BenchmarkBurn -benchtime 1x -timeout 60m ./wallet/
//
// CAREWALLET_BURN_CARDS overrides the number of cards;
// CAREWALLET_BURN_READ_RATE paces the concurrent card reads (per second);
// CAREWALLET_BURN_CACHE_MB sets the writer's SQLite page cache.
func BenchmarkBurn(b *testing.B) {
	if os.Getenv("CAREWALLET_BURN_BENCH") == "" {
		b.Skip("set CAREWALLET_BURN_BENCH=1")
	}
	cards := 100_000
	if v := os.Getenv("CAREWALLET_BURN_CARDS"); v != "" {
		fmt.Sscan(v, &cards)
	}
	const perCard = 10
	ctx := context.Background()
	db := storagetest.SQLite(b)
	st, err := NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	if mb := os.Getenv("CAREWALLET_BURN_CACHE_MB"); mb != "" {
		// The writer connection's page cache (SQLite's default is 2 MB; the
		// 1M-lot database is about 1 GB).
		if _, err := db.Write.Exec(`PRAGMA cache_size = -` + mb + `000`); err != nil {
			b.Fatal(err)
		}
	}
	clock := &fakeClock{t: t0}
	svc := NewService(st, fakeClinics{}, &fakeNotifier{}, Options{Now: clock.Now, BurnBatch: 2000})
	seedStart := time.Now()
	ids := make([]string, cards)
	for lo := 0; lo < cards; lo += 5000 {
		tx, err := db.Write.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for c := lo; c < min(lo+5000, cards); c++ {
			id := fmt.Sprintf("cd_bench%07d", c)
			ids[c] = id
			if _, err := tx.Exec(`INSERT INTO wallet_cards (id, clinic_id, patient_id, holder_key, dependant_id, slot, status,
				issued_by, created, birth_md, challenge_id, holder) VALUES (?, 'cl_1', ?, ?, '', 0, 'active', '', ?, '', '', '{"kind":"self"}')`,
				id, fmt.Sprintf("pt_%d", c), "p:"+id, t0.UnixNano()); err != nil {
				b.Fatal(err)
			}
			for j := 1; j <= perCard; j++ {
				lot := fmt.Sprintf("lt_%s_%d", id, j)
				burns := t0.Add(time.Duration(j) * time.Hour).UnixNano()
				if _, err := tx.Exec(`INSERT INTO wallet_entries (`+entryCols+`) VALUES (?, ?, ?, 'adjustment', 100, ?, 0, 'cl_1', ?, '', '', 'seed', ?, 'seed', ?, '')`,
					id, j, fmt.Sprintf("seed:%d", j), 100*j, fmt.Sprintf("pt_%d", c), t0.UnixNano(),
					`[{"lot_id":"`+lot+`","delta":100}]`); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO wallet_lots (id, card_id, clinic_id, kind, points, remaining, burns_at, warn_at, warned, seq)
					VALUES (?, ?, 'cl_1', 'adjustment', 100, 100, ?, ?, 1, ?)`, lot, id, burns, burns, j); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d lots on %d cards in %v", cards*perCard, cards, time.Since(seedStart).Round(time.Second))
	now := t0.Add(24 * time.Hour)
	clock.Set(now)
	// Card reads continue during the burn.
	stop := make(chan struct{})
	var reads atomic.Int64
	// CAREWALLET_BURN_READ_RATE paces the reader (reads/s); unset, it
	// reads flat out and takes about half of a 2-core machine.
	var pace <-chan time.Time
	if v := os.Getenv("CAREWALLET_BURN_READ_RATE"); v != "" {
		var rate int
		if _, err := fmt.Sscan(v, &rate); err != nil || rate <= 0 {
			b.Fatalf("CAREWALLET_BURN_READ_RATE=%q: want reads per second", v)
		}
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		pace = t.C
	}
	var wg sync.WaitGroup
	for r := range 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ; i += 7919 {
				if pace != nil {
					select {
					case <-stop:
						return
					case <-pace:
					}
				}
				select {
				case <-stop:
					return
				default:
				}
				if _, err := svc.StaffCard(ctx, "cl_1", ids[i%cards]); err != nil {
					b.Error(err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	b.ResetTimer()
	start := time.Now()
	rep, err := svc.RunBurn(ctx, now)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Lots != cards*perCard {
		b.Fatalf("burned %d lots, want %d", rep.Lots, cards*perCard)
	}
	b.ReportMetric(float64(rep.Lots)/elapsed.Seconds(), "lots/s")
	b.ReportMetric(float64(reads.Load())/elapsed.Seconds(), "reads/s")
	b.Logf("burned %d lots (%d points) in %v; %d card reads meanwhile", rep.Lots, rep.Points, elapsed.Round(time.Millisecond), reads.Load())
	for _, id := range ids[:min(100, cards)] {
		checkLedger(b, st, id)
	}
}

// BenchmarkLongHistory compares a card with 300 cashback receipts behind
// it with a new card, in one run: reads of GET /v1/cards/{id} and new
// receipts. A loyal patient's card should cost what a new one does, so
// quote the ratios (history / new).
func BenchmarkLongHistory(b *testing.B) {
	for _, history := range []int{0, 300} {
		b.Run(fmt.Sprintf("read/receipts=%d", history), func(b *testing.B) {
			e, cards := longCards(b, history)
			runParallel(b, "reads/s", func(i int64) error {
				i %= int64(len(cards))
				_, err := e.svc.Card(context.Background(), fmt.Sprintf("pt_%d", i), cards[i])
				return err
			})
		})
		b.Run(fmt.Sprintf("receipt/receipts=%d", history), func(b *testing.B) {
			e, cards := longCards(b, history)
			runParallel(b, "receipts/s", func(i int64) error {
				_, err := e.svc.RecordReceipt(context.Background(), ReceiptRequest{ClinicID: "cl_1", StaffID: "st_a",
					CardID: cards[i%int64(len(cards))], ReceiptID: fmt.Sprintf("N%d", i),
					Lines: []Line{{Service: "CONS-01", Amount: 100000}}})
				return err
			})
		})
	}
}

// longCards joins 4 cards and gives each history receipts, one a day (the
// clock moves a day per receipt, as a patient's visits do), then returns
// the clock to the day after the last one.
func longCards(b *testing.B, history int) (*env, []string) {
	b.Helper()
	e, cards := benchEnv(b, 4)
	for d := range history {
		for i, c := range cards {
			must[*ReceiptResult](b)(e.svc.RecordReceipt(context.Background(), ReceiptRequest{ClinicID: "cl_1", CardID: c,
				ReceiptID: fmt.Sprintf("H%d-%d", i, d), Lines: []Line{{Service: "CONS-01", Amount: 100000}}}))
		}
		e.clock.Advance(24 * time.Hour)
	}
	return e, cards
}
