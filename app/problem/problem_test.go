package problem

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var errKind = errors.New("pkg: invalid")

func TestInvalid(t *testing.T) {
	err := fmt.Errorf("context: %w", Invalidf(errKind, "lines[0].amount", "must be positive, not %d", -1))
	var inv *Invalid
	if !errors.As(err, &inv) || inv.Field != "lines[0].amount" {
		t.Fatalf("errors.As: %v", err)
	}
	if !errors.Is(err, errKind) {
		t.Fatal("Invalid does not unwrap to its kind")
	}
	if got := inv.Error(); got != "lines[0].amount: must be positive, not -1" {
		t.Fatalf("Error() = %q", got)
	}
	if got := (&Invalid{Message: "body must be an object"}).Error(); got != "body must be an object" {
		t.Fatalf("no field: %q", got)
	}
}

func TestLimitedRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {10 * time.Minute, 600}} {
		if got := (&Limited{RetryAfter: tc.d}).RetryAfterSeconds(); got != tc.want {
			t.Errorf("RetryAfter %v: %d, want %d", tc.d, got, tc.want)
		}
	}
}
