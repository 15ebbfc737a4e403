package idempotency_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"carewallet/app/idempotency"
	"carewallet/app/storage/storagetest"
)

func open(t *testing.T, b storagetest.Backend) idempotency.Store {
	t.Helper()
	ctx := context.Background()
	var s idempotency.Store
	var err error
	if b.SQLite != nil {
		s, err = idempotency.NewSQLiteStore(ctx, b.SQLite)
	} else {
		s, err = idempotency.NewMongoStore(ctx, b.Mongo)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestClaimLifecycle(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := open(t, b)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		claim := func(scope, fp string, at time.Time) (idempotency.Outcome, idempotency.Record) {
			t.Helper()
			o, r, err := idempotency.Claim(ctx, s, scope, "k", fp, at)
			if err != nil {
				t.Fatal(err)
			}
			return o, r
		}
		o, mine := claim("clinic:a", "f1", now)
		if o != idempotency.Proceed {
			t.Fatalf("first claim: outcome %v", o)
		}
		if o, _ := claim("clinic:a", "f1", now); o != idempotency.InProgress {
			t.Fatalf("same request while the first runs: %v; want InProgress", o)
		}
		if o, _ := claim("clinic:a", "f2", now); o != idempotency.Mismatch {
			t.Fatalf("other body while the first runs: %v; want Mismatch", o)
		}
		if o, _ := claim("clinic:b", "f1", now); o != idempotency.Proceed {
			t.Fatalf("another scope: %v; want Proceed", o)
		}
		if err := idempotency.Finish(ctx, s, mine, 201, []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
		o, r := claim("clinic:a", "f1", now.Add(time.Hour))
		if o != idempotency.Replay || r.Status != 201 || string(r.Body) != `{"a":1}` {
			t.Fatalf("replay: %v %+v", o, r)
		}
		if o, _ := claim("clinic:a", "f2", now.Add(time.Hour)); o != idempotency.Mismatch {
			t.Fatalf("other body after: %v; want Mismatch", o)
		}

		// A released claim lets the next request run.
		_, c := claim("clinic:c", "f1", now)
		if err := idempotency.Release(ctx, s, c); err != nil {
			t.Fatal(err)
		}
		if o, _ := claim("clinic:c", "f1", now); o != idempotency.Proceed {
			t.Fatalf("after release: %v; want Proceed", o)
		}

		// A claim whose owner died is taken over once stale, and the dead
		// owner can no longer finish it.
		_, dead := claim("clinic:d", "f1", now)
		if o, _ := claim("clinic:d", "f1", now.Add(idempotency.StaleAfter-time.Second)); o != idempotency.InProgress {
			t.Fatalf("before stale: %v", o)
		}
		o, heir := claim("clinic:d", "f1", now.Add(idempotency.StaleAfter+time.Second))
		if o != idempotency.Proceed {
			t.Fatalf("stale claim: %v; want Proceed", o)
		}
		if err := idempotency.Finish(ctx, s, dead, 500, []byte(`dead`)); err != nil {
			t.Fatal(err)
		}
		if err := idempotency.Finish(ctx, s, heir, 200, []byte(`heir`)); err != nil {
			t.Fatal(err)
		}
		if _, r := claim("clinic:d", "f1", now.Add(time.Hour)); r.Status != 200 || string(r.Body) != "heir" {
			t.Fatalf("after takeover: %+v; want the heir's response", r)
		}
	})
}

// TestConcurrentClaims: of many concurrent requests with one key exactly
// one proceeds, whatever their bodies.
func TestConcurrentClaims(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := open(t, b)
		now := time.Now().UTC()
		var mu sync.Mutex
		count := map[idempotency.Outcome]int{}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fp := "same"
				if i%2 == 1 {
					fp = "other"
				}
				o, _, err := idempotency.Claim(ctx, s, "clinic:a", "k", fp, now)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				count[o]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if count[idempotency.Proceed] != 1 || count[idempotency.Replay] != 0 ||
			count[idempotency.InProgress]+count[idempotency.Mismatch] != 19 {
			t.Fatalf("outcomes %v; want exactly one Proceed", count)
		}
	})
}
