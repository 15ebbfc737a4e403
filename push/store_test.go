package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// newStore opens the backend's push store.
func newStore(t testing.TB, b storagetest.Backend) Store {
	t.Helper()
	return storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func testEvent(typ string, at time.Time) Event {
	return Event{ID: newID(), Type: typ, Data: json.RawMessage(`{"n":1}`), CreatedAt: at}
}

func seqs(evs []Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func wantSeqs(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	var want []int64
	for s := from; s <= to; s++ {
		want = append(want, s)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("seqs = %v, want %d..%d", got, from, to)
	}
}

func TestStoreConformance(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := newStore(t, b)

		t.Run("append and read", func(t *testing.T) {
			for i := range 5 {
				ev, created, err := s.Append(ctx, "pt_a", "", testEvent("x.t", t0.Add(time.Duration(i)*time.Second)))
				if err != nil || !created || ev.Seq != int64(i+1) {
					t.Fatalf("append %d: %+v created=%v err=%v", i, ev, created, err)
				}
			}
			if _, _, err := s.Append(ctx, "pt_b", "", testEvent("x.t", t0)); err != nil {
				t.Fatal(err)
			}
			evs, err := s.Events(ctx, "pt_a", 2, 2)
			if err != nil {
				t.Fatal(err)
			}
			wantSeqs(t, seqs(evs), 3, 4)
			if string(evs[0].Data) != `{"n":1}` || evs[0].Type != "x.t" || !evs[0].CreatedAt.Equal(t0.Add(2*time.Second)) {
				t.Fatalf("event round trip: %+v", evs[0])
			}
			if last, err := s.LastSeq(ctx, "pt_a"); err != nil || last != 5 {
				t.Fatalf("LastSeq = %d, %v", last, err)
			}
			if last, err := s.LastSeq(ctx, "pt_nobody"); err != nil || last != 0 {
				t.Fatalf("LastSeq(empty) = %d, %v", last, err)
			}
			if evs, err := s.Events(ctx, "pt_nobody", 0, 10); err != nil || len(evs) != 0 {
				t.Fatalf("empty inbox: %v %v", evs, err)
			}
		})

		t.Run("key is idempotent per user", func(t *testing.T) {
			first, created, err := s.Append(ctx, "pt_k", "spend:1:code", testEvent("wallet.spend_code", t0))
			if err != nil || !created {
				t.Fatal(created, err)
			}
			again, created, err := s.Append(ctx, "pt_k", "spend:1:code", testEvent("wallet.spend_code", t0))
			if err != nil || created || again.ID != first.ID || again.Seq != first.Seq {
				t.Fatalf("replay: %+v created=%v err=%v, first %+v", again, created, err, first)
			}
			other, created, err := s.Append(ctx, "pt_k2", "spend:1:code", testEvent("wallet.spend_code", t0))
			if err != nil || !created || other.Seq != 1 {
				t.Fatalf("same key, other user: %+v %v %v", other, created, err)
			}
			if last, _ := s.LastSeq(ctx, "pt_k"); last != 1 {
				t.Fatalf("replay appended: last = %d", last)
			}
		})

		t.Run("append many", func(t *testing.T) {
			users := []string{"pt_m1", "pt_m2", "pt_m3"}
			if _, _, err := s.Append(ctx, "pt_m2", "", testEvent("x", t0)); err != nil {
				t.Fatal(err)
			}
			evs := []Event{testEvent("news", t0), testEvent("news", t0), testEvent("news", t0)}
			res, err := s.AppendMany(ctx, users, "news:7", evs)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []int64{1, 2, 1} {
				if res[i].User != users[i] || !res[i].Created || res[i].Event.Seq != want || res[i].Event.ID != evs[i].ID {
					t.Fatalf("res[%d] = %+v, want seq %d", i, res[i], want)
				}
			}
			// Replay of the same key with one new user: only the new one is created.
			users2 := append(users, "pt_m4")
			evs2 := []Event{testEvent("news", t0), testEvent("news", t0), testEvent("news", t0), testEvent("news", t0)}
			res, err = s.AppendMany(ctx, users2, "news:7", evs2)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if res[i].Created || res[i].Event.ID != evs[i].ID {
					t.Fatalf("replayed res[%d] = %+v", i, res[i])
				}
			}
			if !res[3].Created || res[3].Event.Seq != 1 {
				t.Fatalf("new user: %+v", res[3])
			}
			// Without a key, a user listed twice gets two events.
			res, err = s.AppendMany(ctx, []string{"pt_m5", "pt_m5"}, "", []Event{testEvent("x", t0), testEvent("x", t0)})
			if err != nil || res[0].Event.Seq != 1 || res[1].Event.Seq != 2 {
				t.Fatalf("twice: %+v %v", res, err)
			}
		})

		t.Run("since", func(t *testing.T) {
			late := t0.Add(time.Hour)
			for _, u := range []string{"pt_s1", "pt_s2"} {
				if _, _, err := s.Append(ctx, u, "", testEvent("late", late)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Since(ctx, late, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].User != "pt_s1" || got[1].User != "pt_s2" || got[0].Event.Type != "late" {
				t.Fatalf("Since = %+v", got)
			}
		})

		t.Run("devices", func(t *testing.T) {
			d := Device{Token: "tok-1", Platform: "android", AppVersion: "1.2", Locale: "ru-RU"}
			if err := s.PutDevice(ctx, "pt_d1", "sess-1", d, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.PutDevice(ctx, "pt_d1", "sess-1", d, t0); err != nil { // idempotent
				t.Fatal(err)
			}
			if err := s.PutDevice(ctx, "pt_d1", "sess-2", Device{Token: "tok-2", Platform: "ios"}, t0); err != nil {
				t.Fatal(err)
			}
			devs, err := s.Devices(ctx, []string{"pt_d1"})
			if err != nil || len(devs) != 2 || devs[0].Token != "tok-1" || devs[0].Locale != "ru-RU" || devs[0].Session != "sess-1" {
				t.Fatalf("devices = %+v, %v", devs, err)
			}
			// The token moves to the account that registers it last.
			if err := s.PutDevice(ctx, "pt_d2", "sess-9", d, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			devs, _ = s.Devices(ctx, []string{"pt_d1", "pt_d2"})
			if len(devs) != 2 || devs[0].User != "pt_d1" || devs[0].Token != "tok-2" || devs[1].User != "pt_d2" || devs[1].Token != "tok-1" {
				t.Fatalf("after move: %+v", devs)
			}
			// A user cannot delete another user's token.
			if err := s.DeleteDevice(ctx, "pt_d1", "tok-1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("delete other's token: %v", err)
			}
			if err := s.DeleteDevice(ctx, "pt_d2", "tok-1"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSessionDevices(ctx, "pt_d1", "sess-2"); err != nil {
				t.Fatal(err)
			}
			if devs, _ := s.Devices(ctx, []string{"pt_d1", "pt_d2"}); len(devs) != 0 {
				t.Fatalf("left: %+v", devs)
			}
			for i := range 3 {
				_ = s.PutDevice(ctx, fmt.Sprintf("pt_e%d", i), "s", Device{Token: fmt.Sprintf("t%d", i), Platform: "web"}, t0)
			}
			if err := s.DeleteTokens(ctx, []string{"t0", "t2", "unknown"}); err != nil {
				t.Fatal(err)
			}
			devs, _ = s.Devices(ctx, []string{"pt_e0", "pt_e1", "pt_e2"})
			if len(devs) != 1 || devs[0].Token != "t1" {
				t.Fatalf("after DeleteTokens: %+v", devs)
			}
		})

		t.Run("tickets", func(t *testing.T) {
			if err := s.PutTicket(ctx, "h1", "pt_t", "sess", t0.Add(30*time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := s.PutTicket(ctx, "h2", "pt_t", "sess", t0.Add(30*time.Second)); err != nil {
				t.Fatal(err)
			}
			u, sess, err := s.TakeTicket(ctx, "h1", t0.Add(29*time.Second))
			if err != nil || u != "pt_t" || sess != "sess" {
				t.Fatalf("take = %q %q %v", u, sess, err)
			}
			if _, _, err := s.TakeTicket(ctx, "h1", t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second take: %v", err)
			}
			if _, _, err := s.TakeTicket(ctx, "h2", t0.Add(30*time.Second)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("expired take: %v", err)
			}
			if _, _, err := s.TakeTicket(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown take: %v", err)
			}
		})

		t.Run("failures", func(t *testing.T) {
			fs := []Failure{
				{User: "pt_f", EventID: "ev_1", Token: "t", Reason: "UNREGISTERED: token removed", Attempts: 1, At: t0},
				{User: "pt_f", EventID: "ev_2", Token: "t", Reason: "UNAVAILABLE after 5 attempts", Attempts: 5, At: t0.Add(time.Second)},
			}
			if err := s.RecordFailures(ctx, fs); err != nil {
				t.Fatal(err)
			}
			got, err := s.Failures(ctx, 10)
			if err != nil || len(got) != 2 || got[0].EventID != "ev_2" || got[0].Attempts != 5 || !got[0].At.Equal(fs[1].At) {
				t.Fatalf("failures = %+v, %v", got, err)
			}
		})
	})
}

// TestConcurrentAppendOneUser: N writers on one user's inbox get exactly
// seqs 1..N, on both stores, with no transaction: the unique (user, seq)
// key decides.
func TestConcurrentAppendOneUser(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		n := 100
		if b.Mongo != nil {
			n = 16 // FerretDB scans per query: keep Mongo data small
		}
		svc := NewService(newStore(t, b), Options{})
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, n+4)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Publish(ctx, "pt_c", Draft{Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
				errs <- err
			}()
		}
		// Keyed duplicates racing: exactly one of them is appended.
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Publish(ctx, "pt_c", Draft{Key: "once", Type: "t"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		evs, err := svc.Events(ctx, "pt_c", 0, MaxEventsPage)
		if err != nil {
			t.Fatal(err)
		}
		wantSeqs(t, seqs(evs), 1, int64(n+1))
		ids := map[string]bool{}
		for _, e := range evs {
			if ids[e.ID] {
				t.Fatalf("duplicate id %s", e.ID)
			}
			ids[e.ID] = true
		}
	})
}

// TestTicketRedeemedOnce: concurrent redemptions of one ticket, exactly one
// wins, on both stores.
func TestTicketRedeemedOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		svc := NewService(newStore(t, b), Options{})
		ticket, ttl, err := svc.IssueTicket(ctx, "pt_w", "sess-1")
		if err != nil || ttl != 30*time.Second || !strings.HasPrefix(ticket, "wst_") {
			t.Fatalf("ticket %q %v %v", ticket, ttl, err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, sess, err := svc.RedeemTicket(ctx, ticket)
				if err == nil && u == "pt_w" && sess == "sess-1" {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, ErrInvalidTicket) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d redemptions succeeded", wins)
		}
		if _, _, err := svc.RedeemTicket(ctx, "not-a-ticket"); !errors.Is(err, ErrInvalidTicket) {
			t.Fatal(err)
		}
	})
}
