package push

import (
	"errors"
	"sync"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestSocketsPerUserCap: however many subscribe at once, one user holds at
// most MaxSocketsPerUser live subscriptions; others are unaffected, and a
// closed one frees its place.
func TestSocketsPerUserCap(t *testing.T) {
	ctx := testCtx(t)
	svc := NewService(newStore(t, storagetest.Backend{SQLite: storagetest.SQLite(t)}), Options{MaxSocketsPerUser: 3})
	var mu sync.Mutex
	var subs []*Subscription
	refused := 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub, err := svc.Subscribe(ctx, "pt_a", -1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrTooManySockets):
				refused++
			case err != nil:
				t.Error(err)
			default:
				subs = append(subs, sub)
			}
		}()
	}
	wg.Wait()
	if len(subs) != 3 || refused != 47 || svc.Sockets("pt_a") != 3 || !svc.SocketsFull("pt_a") {
		t.Fatalf("50 concurrent subscribes: %d live, %d refused, %d counted; want 3, 47, 3", len(subs), refused, svc.Sockets("pt_a"))
	}
	other, err := svc.Subscribe(ctx, "pt_b", -1)
	if err != nil {
		t.Fatalf("another user: %v", err)
	}
	other.Close()
	subs[0].Close()
	sub, err := svc.Subscribe(ctx, "pt_a", -1)
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	sub.Close()
	for _, s := range subs[1:] {
		s.Close()
	}
}
