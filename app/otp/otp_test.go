package otp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carewallet/app/otp"
)

// memStore is a hand-written Store: unique keys in a set, counts per
// challenge or window key, under one mutex.
type memStore struct {
	mu    sync.Mutex
	taken map[string]bool
	count map[string]int
}

func newMem() *memStore { return &memStore{taken: map[string]bool{}, count: map[string]int{}} }

func (m *memStore) insert(unique, counter string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.taken[unique] {
		return fmt.Errorf("insert %s: %w", unique, otp.ErrTaken)
	}
	m.taken[unique] = true
	m.count[counter]++
	return nil
}

func (m *memStore) counted(counter string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count[counter], nil
}

func (m *memStore) Attempts(_ context.Context, id string) (int, error) { return m.counted("a:" + id) }

func (m *memStore) InsertAttempt(_ context.Context, id string, n int, _ time.Time) error {
	return m.insert(fmt.Sprintf("a:%s:%d", id, n), "a:"+id)
}

func (m *memStore) MarkUsed(_ context.Context, id string, _ time.Time) error {
	return m.insert("u:"+id, "u:"+id)
}

func (m *memStore) Slots(_ context.Context, key string) (int, error) { return m.counted("s:" + key) }

func (m *memStore) InsertSlot(_ context.Context, key string, n int, _ time.Time) error {
	return m.insert(fmt.Sprintf("s:%s:%d", key, n), "s:"+key)
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestCodeIsBoundAndSingleUse(t *testing.T) {
	ctx := context.Background()
	codes := otp.New([]byte("k"), nil)
	ch, code, err := codes.Issue("ch_1", "+79990001111", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != otp.Digits || !ch.ExpiresAt.Equal(t0.Add(otp.Lifetime)) {
		t.Fatalf("code %q expires %v", code, ch.ExpiresAt)
	}
	if bytes.Contains(ch.Hash, []byte(code)) {
		t.Fatal("the hash holds the code")
	}
	st := newMem()
	if err := codes.Check(ctx, st, ch, "+79990002222", code, t0); !errors.Is(err, otp.ErrWrongCode) {
		t.Fatalf("other binding: %v", err)
	}
	if err := otp.New([]byte("other key"), nil).Check(ctx, st, ch, "+79990001111", code, t0); !errors.Is(err, otp.ErrWrongCode) {
		t.Fatalf("other key: %v", err)
	}
	if err := codes.Check(ctx, st, ch, "+79990001111", code, t0.Add(otp.Lifetime)); !errors.Is(err, otp.ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	if err := codes.Check(ctx, st, ch, "+79990001111", code, t0.Add(time.Minute)); err != nil {
		t.Fatalf("right code: %v", err)
	}
	if err := codes.Check(ctx, st, ch, "+79990001111", code, t0.Add(time.Minute)); !errors.Is(err, otp.ErrUsed) {
		t.Fatalf("second use: %v", err)
	}
	if long, _, _ := codes.Issue("ch_2", "x", t0, time.Hour); !long.ExpiresAt.Equal(t0.Add(otp.Lifetime)) {
		t.Fatalf("a ttl over Lifetime was kept: %v", long.ExpiresAt)
	}
}

// TestConcurrentGuessesTakeAtMostTheCap fires 100 concurrent wrong codes
// and the right one at a challenge: at most MaxAttempts are compared.
func TestConcurrentGuessesTakeAtMostTheCap(t *testing.T) {
	ctx := context.Background()
	codes := otp.New([]byte("k"), nil)
	ch, code, err := codes.Issue("ch_1", "b", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	st := newMem()
	var compared, refused atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			switch err := codes.Check(ctx, st, ch, "b", wrong, t0); {
			case errors.Is(err, otp.ErrWrongCode):
				compared.Add(1)
			case errors.Is(err, otp.ErrTooManyAttempts):
				refused.Add(1)
			default:
				t.Errorf("check: %v", err)
			}
		})
	}
	wg.Wait()
	if compared.Load() != otp.MaxAttempts || refused.Load() != 100-otp.MaxAttempts {
		t.Fatalf("compared %d, refused %d; want %d and %d", compared.Load(), refused.Load(), otp.MaxAttempts, 100-otp.MaxAttempts)
	}
	if err := codes.Check(ctx, st, ch, "b", code, t0); !errors.Is(err, otp.ErrTooManyAttempts) {
		t.Fatalf("right code after the cap: %v", err)
	}
	if spent, err := otp.Spent(ctx, st, ch, t0); err != nil || !spent {
		t.Fatalf("Spent = %v, %v", spent, err)
	}
}

func TestCodesAreUniform(t *testing.T) {
	codes := otp.New([]byte("k"), nil)
	var first [10]int
	for i := range 2000 {
		_, code, err := codes.Issue(fmt.Sprint("ch_", i), "b", t0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != 6 {
			t.Fatalf("code %q", code)
		}
		first[code[0]-'0']++
	}
	for d, n := range first {
		if n < 100 || n > 320 { // 200 expected; bounds far beyond chance
			t.Fatalf("first digit %d seen %d times in 2000 codes", d, n)
		}
	}
}

func TestTakeCountsAtMostMaxPerWindow(t *testing.T) {
	ctx := context.Background()
	st := newMem()
	limits := []otp.Limit{{Max: 3, Per: time.Minute}, {Max: 7, Per: time.Hour}}
	now := t0.Add(30 * time.Second)
	var taken, refused atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			r, err := otp.Take(ctx, st, "k", now, limits...)
			switch {
			case err != nil:
				t.Errorf("take: %v", err)
			case r.Refused():
				refused.Add(1)
			default:
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if taken.Load() != 3 || refused.Load() != 47 {
		t.Fatalf("taken %d, refused %d; want 3 and 47", taken.Load(), refused.Load())
	}
	r, err := otp.Take(ctx, st, "k", now, limits...)
	if err != nil || r.Limit.Per != time.Minute || r.RetryAfter != 30*time.Second {
		t.Fatalf("refusal %+v, %v; want the minute limit, 30s", r, err)
	}
	// Refusals by the minute did not count in the hour: the next minute
	// takes three more, the one after one (3+3+1 = 7), then the hour
	// refuses until it ends.
	for i, want := range []int{3, 1, 0} {
		got := 0
		for range 5 {
			r, err := otp.Take(ctx, st, "k", now.Add(time.Duration(i+1)*time.Minute), limits...)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Refused() {
				got++
			}
		}
		if got != want {
			t.Fatalf("minute %d: %d taken, want %d", i+1, got, want)
		}
	}
	r, err = otp.Take(ctx, st, "k", now.Add(4*time.Minute), limits...)
	if err != nil || r.Limit.Per != time.Hour || r.RetryAfter != 55*time.Minute+30*time.Second {
		t.Fatalf("after 7 in the hour: %+v, %v; want the hour limit, 55m30s", r, err)
	}
	if r, err := otp.Take(ctx, st, "k", now.Add(time.Hour), limits...); err != nil || r.Refused() {
		t.Fatalf("next hour: %+v, %v", r, err)
	}
	if r, err := otp.Take(ctx, st, "k", now, otp.Limit{}); err != nil || r.Refused() {
		t.Fatalf("no limit: %+v, %v", r, err)
	}
}
