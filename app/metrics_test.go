package app

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"carewallet/app/storage/storagetest"
)

// TestMetricsStoreErrors: a real SQLite error counts as a store error,
// wrapped or not, from a request or a job; a rule's error does not.
func TestMetricsStoreErrors(t *testing.T) {
	db := storagetest.SQLite(t)
	_, dbErr := db.Write.ExecContext(context.Background(), "INSERT INTO no_such_table VALUES (1)")
	if dbErr == nil {
		t.Fatal("no database error")
	}
	m := NewMetrics()
	m.StoreError("request", fmt.Errorf("wallet: sqlite: %w", dbErr))
	m.StoreError("request", errors.New("insufficient points"))
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("request")); got != 1 {
		t.Fatalf("request store errors = %v, want 1", got)
	}
	due := time.Now().Add(-3 * time.Second)
	m.ObserveJob("burn", due, due.Add(2*time.Second), time.Second, fmt.Errorf("burn: %w", dbErr))
	m.ObserveJob("burn", due, due, time.Second, nil)
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("job")); got != 1 {
		t.Fatalf("job store errors = %v, want 1", got)
	}
	if e, ok := testutil.ToFloat64(m.jobRuns.WithLabelValues("burn", "error")), testutil.ToFloat64(m.jobRuns.WithLabelValues("burn", "ok")); e != 1 || ok != 1 {
		t.Fatalf("burn runs: error %v, ok %v", e, ok)
	}
	if lag := testutil.ToFloat64(m.jobLag.WithLabelValues("burn")); lag != 0 {
		t.Fatalf("lag of the last (on-time) run = %v", lag)
	}
	var nilMetrics *Metrics
	nilMetrics.StoreError("request", dbErr) // a nil Metrics records nothing and does not panic
}
