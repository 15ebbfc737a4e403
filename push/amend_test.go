package push

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestAmendEvents: amending a key changes the data of that key's events
// for every user, keeps their seq and other fields, leaves other keys and
// key-less events alone, and changes nothing the second time; on both
// stores.
func TestAmendEvents(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		st := newStore(t, b)
		svc := NewService(st, Options{})
		for _, x := range []struct{ user, key string }{{"pt_a", ""}, {"pt_a", "news:p1"}, {"pt_b", "news:p1"}, {"pt_a", "news:p2"}} {
			if _, _, err := st.Append(ctx, x.user, x.key, testEvent("news.post", t0)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := svc.Amend(ctx, "news:p1", map[string]any{"withdrawn": true})
		if err != nil || n != 2 {
			t.Fatalf("amend: %d %v", n, err)
		}
		if n, err := svc.Amend(ctx, "news:p1", map[string]any{"withdrawn": true}); err != nil || n != 0 {
			t.Fatalf("amend again: %d %v", n, err)
		}
		data := func(user string, seq int64) map[string]any {
			t.Helper()
			evs, err := st.Events(ctx, user, seq-1, 1)
			if err != nil || len(evs) != 1 || evs[0].Seq != seq {
				t.Fatalf("%s seq %d: %+v %v", user, seq, evs, err)
			}
			var m map[string]any
			if err := json.Unmarshal(evs[0].Data, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		for _, x := range []struct {
			user      string
			seq       int64
			withdrawn bool
		}{{"pt_a", 1, false}, {"pt_a", 2, true}, {"pt_b", 1, true}, {"pt_a", 3, false}} {
			m := data(x.user, x.seq)
			if m["n"] != float64(1) || (m["withdrawn"] == true) != x.withdrawn {
				t.Fatalf("%s seq %d: %v, want withdrawn %v", x.user, x.seq, m, x.withdrawn)
			}
		}
		if n, err := svc.Amend(ctx, "news:none", map[string]any{"withdrawn": true}); err != nil || n != 0 {
			t.Fatalf("amend of no events: %d %v", n, err)
		}
		for _, bad := range []struct {
			key    string
			fields map[string]any
		}{{"", map[string]any{"x": 1}}, {"news:p1", nil}} {
			if _, err := svc.Amend(ctx, bad.key, bad.fields); !errors.Is(err, ErrInvalidDraft) {
				t.Fatalf("amend %q %v: %v", bad.key, bad.fields, err)
			}
		}
	})
}
