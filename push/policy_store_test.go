package push

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// TestPolicyStoreConformance: the message policy's primitives behave the
// same on SQLite and on MongoDB (FerretDB), including under concurrency.
func TestPolicyStoreConformance(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := testCtx(t)
		s := newStore(t, b)

		t.Run("clinic policy", func(t *testing.T) {
			if _, ok, err := s.ClinicPolicy(ctx, "cl_p"); err != nil || ok {
				t.Fatalf("unset policy: ok=%v err=%v", ok, err)
			}
			for _, p := range []Policy{{QuietFrom: 60, QuietTo: 120, WeeklyBudget: 3}, {QuietFrom: 22 * 60, QuietTo: 8 * 60, WeeklyBudget: 1}} {
				if err := s.PutClinicPolicy(ctx, "cl_p", p, t0); err != nil {
					t.Fatal(err)
				}
				got, ok, err := s.ClinicPolicy(ctx, "cl_p")
				if err != nil || !ok || got != p {
					t.Fatalf("policy = %+v ok=%v err=%v, want %+v", got, ok, err, p)
				}
			}
		})

		t.Run("preferences and opt-outs", func(t *testing.T) {
			if err := s.PutPreferences(ctx, "pt_g", []Preference{{Clinic: "cl_1", Marketing: true, UpdatedAt: t0},
				{Clinic: "cl_1", Card: "cd_kid", Marketing: false, UpdatedAt: t0}, {Clinic: "cl_2", Marketing: false, UpdatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutPreferences(ctx, "pt_g", []Preference{{Clinic: "cl_1", Marketing: false, UpdatedAt: t0.Add(time.Hour)}}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Preferences(ctx, "pt_g")
			if err != nil || len(got) != 3 || got[0].Clinic != "cl_1" || got[0].Card != "" || got[0].Marketing ||
				!got[0].UpdatedAt.Equal(t0.Add(time.Hour)) || got[1].Card != "cd_kid" || got[2].Clinic != "cl_2" {
				t.Fatalf("preferences = %+v, %v", got, err)
			}
			if err := s.PutPreferences(ctx, "pt_g", []Preference{{Clinic: "cl_1", Marketing: true, UpdatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
			users := []string{"pt_g", "pt_other"}
			for _, c := range []struct {
				clinic, card string
				want         bool
			}{{"cl_1", "", false}, {"cl_1", "cd_kid", true}, {"cl_1", "cd_else", false}, {"cl_2", "", true}, {"cl_3", "", false}} {
				out, err := s.OptedOut(ctx, c.clinic, c.card, users)
				if err != nil || out["pt_g"] != c.want || out["pt_other"] {
					t.Fatalf("OptedOut(%s, %q) = %v, %v; want pt_g=%v", c.clinic, c.card, out, err, c.want)
				}
			}
			// More switches off at the clinic than users asked about (the
			// SQLite store then asks per user rather than reading them all).
			for _, u := range []string{"pt_x1", "pt_x2", "pt_x3"} {
				if err := s.PutPreferences(ctx, u, []Preference{{Clinic: "cl_9", Marketing: false, UpdatedAt: t0}}); err != nil {
					t.Fatal(err)
				}
			}
			for _, ask := range [][]string{{"pt_x2"}, {"pt_x2", "pt_other"}, {"pt_x1", "pt_x2", "pt_x3", "pt_other"}} {
				out, err := s.OptedOut(ctx, "cl_9", "", ask)
				want := len(ask)
				if ask[len(ask)-1] == "pt_other" {
					want--
				}
				if err != nil || len(out) != want || out["pt_other"] || !out["pt_x2"] {
					t.Fatalf("OptedOut(cl_9, %v) = %v, %v", ask, out, err)
				}
			}
		})

		t.Run("budget slots", func(t *testing.T) {
			claims := []Claim{{User: "pt_a", Key: "k1"}, {User: "pt_a", Key: "k2"}, {User: "pt_a", Key: "k3"}, {User: "pt_b", Key: "k1"}}
			got, err := s.ClaimSlots(ctx, "cl_b", "2026-W10", 2, claims, t0)
			if err != nil || !slices.Equal(got, []bool{true, true, false, true}) {
				t.Fatalf("claims = %v, %v", got, err)
			}
			// A retry of a message that is in the inbox finds its slot
			// (the push service claims and appends in one unit, so a
			// granted message is there); a new one finds none.
			if _, _, err := s.Append(ctx, "pt_a", "k2", testEvent("news.post", t0)); err != nil {
				t.Fatal(err)
			}
			got, err = s.ClaimSlots(ctx, "cl_b", "2026-W10", 2, []Claim{{User: "pt_a", Key: "k2"}, {User: "pt_a", Key: "k4"}}, t0)
			if err != nil || !slices.Equal(got, []bool{true, false}) {
				t.Fatalf("retry = %v, %v", got, err)
			}
			// Another week and another clinic have their own budgets.
			for _, c := range [][2]string{{"cl_b", "2026-W11"}, {"cl_c", "2026-W10"}} {
				got, err = s.ClaimSlots(ctx, c[0], c[1], 2, []Claim{{User: "pt_a", Key: "k5"}}, t0)
				if err != nil || !got[0] {
					t.Fatalf("%v: %v, %v", c, got, err)
				}
			}
			// Budget 0 grants nothing.
			if got, err = s.ClaimSlots(ctx, "cl_z", "2026-W10", 0, []Claim{{User: "pt_a", Key: "k"}}, t0); err != nil || got[0] {
				t.Fatalf("budget 0: %v, %v", got, err)
			}
		})

		t.Run("budget slots under concurrency", func(t *testing.T) {
			const writers, budget = 6, 3
			var mu sync.Mutex
			granted := 0
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := s.ClaimSlots(ctx, "cl_race", "2026-W10", budget, []Claim{{User: "pt_r", Key: fmt.Sprint("m", w)}}, t0)
					if err != nil {
						t.Error(err)
						return
					}
					if got[0] {
						mu.Lock()
						granted++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if granted != budget {
				t.Fatalf("granted %d of %d racing claims, want %d", granted, writers, budget)
			}
		})

		t.Run("deferred pushes", func(t *testing.T) {
			due := t0.Add(10 * time.Hour)
			var ds []Deferred
			for i := range 5 {
				ds = append(ds, Deferred{User: fmt.Sprint("pt_d", i), Event: Event{ID: fmt.Sprint("ev_", i), Seq: int64(i + 1), Type: "news.post"},
					Key: "news:1", Alert: Alert{Title: "Clinic", Body: "New post"}, Clinic: "cl_d", Class: ClassNews, NotBefore: due})
			}
			if err := s.Defer(ctx, ds); err != nil {
				t.Fatal(err)
			}
			if err := s.Defer(ctx, ds[:2]); err != nil { // a repeat stores nothing twice
				t.Fatal(err)
			}
			if got, err := s.TakeDue(ctx, due.Add(-time.Second), 100); err != nil || len(got) != 0 {
				t.Fatalf("before due: %v, %v", got, err)
			}
			var mu sync.Mutex
			taken := map[string]int{}
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := s.TakeDue(ctx, due, 100)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					defer mu.Unlock()
					for _, d := range got {
						taken[d.User]++
						if d.Event.Seq == 0 || d.Alert.Title != "Clinic" || d.Key != "news:1" || d.Class != ClassNews || !d.NotBefore.Equal(due) {
							t.Errorf("row = %+v", d)
						}
					}
				}()
			}
			wg.Wait()
			if len(taken) != 5 {
				t.Fatalf("taken = %v, want 5 users once each", taken)
			}
			for u, n := range taken {
				if n != 1 {
					t.Fatalf("%s taken %d times", u, n)
				}
			}
		})

		t.Run("tallies and deliveries", func(t *testing.T) {
			for _, tl := range []Tally{{"cl_t", ClassNews, ReasonBudget, "2026-03-01", 2}, {"cl_t", ClassNews, ReasonBudget, "2026-03-02", 3},
				{"cl_t", ClassWinBack, ReasonOptedOut, "2026-03-02", 1}, {"cl_t", ClassNews, ReasonBudget, "2026-03-09", 7},
				{"cl_u", ClassNews, ReasonBudget, "2026-03-02", 9}} {
				if err := s.AddTallies(ctx, []Tally{tl}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Tallies(ctx, "cl_t", "2026-03-01", "2026-03-08")
			want := []Tally{{"cl_t", ClassNews, ReasonBudget, "", 5}, {"cl_t", ClassWinBack, ReasonOptedOut, "", 1}}
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("tallies = %+v, %v; want %+v", got, err, want)
			}
			for range 2 {
				if err := s.AddDeliveries(ctx, map[string]Delivery{"news:1": {Sent: 3, Failed: 1}}); err != nil {
					t.Fatal(err)
				}
			}
			d, err := s.Deliveries(ctx, []string{"news:1", "news:2"})
			if err != nil || d["news:1"] != (Delivery{6, 2}) || d["news:2"] != (Delivery{}) {
				t.Fatalf("deliveries = %+v, %v", d, err)
			}
		})
	})
}
