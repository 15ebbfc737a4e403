package push

import (
	"context"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

func TestEraseUser(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		for _, u := range []string{"pt_gone", "pt_stays"} {
			if _, _, err := s.Append(ctx, u, "", testEvent("x.t", t0)); err != nil {
				t.Fatal(err)
			}
			if err := s.PutDevice(ctx, u, "sess", Device{Token: "tok-" + u, Platform: "android", AppVersion: "1", Locale: "ru"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.PutTicket(ctx, "h-"+u, u, "sess", t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		about := testEvent("chat.message", t0)
		about.Data = []byte(`{"patient_id":"pt_gone","text":"secret"}`)
		other := testEvent("chat.message", t0)
		other.Data = []byte(`{"patient_id":"pt_stays","text":"kept"}`)
		for _, ev := range []Event{about, other} {
			if _, _, err := s.Append(ctx, "mgr", "", ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.(Eraser).RedactEvents(ctx, "chat.message", "patient_id", "pt_gone"); err != nil {
			t.Fatal(err)
		}
		mgr, err := s.Events(ctx, "mgr", 0, 10)
		if err != nil || len(mgr) != 2 || string(mgr[0].Data) != RedactedData || string(mgr[1].Data) != `{"patient_id":"pt_stays","text":"kept"}` {
			t.Fatalf("manager's inbox after redaction: %+v %v", mgr, err)
		}
		for range 2 { // idempotent
			if err := s.(Eraser).EraseUser(ctx, "pt_gone"); err != nil {
				t.Fatal(err)
			}
		}
		for u, want := range map[string]int{"pt_gone": 0, "pt_stays": 1} {
			evs, err := s.Events(ctx, u, 0, 10)
			if err != nil || len(evs) != want {
				t.Fatalf("%s events %v %v", u, evs, err)
			}
			ds, err := s.Devices(ctx, []string{u})
			if err != nil || len(ds) != want {
				t.Fatalf("%s devices %v %v", u, ds, err)
			}
			if _, _, err := s.TakeTicket(ctx, "h-"+u, t0); (err == nil) != (want == 1) {
				t.Fatalf("%s ticket: %v", u, err)
			}
		}
	})
}
