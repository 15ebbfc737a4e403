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
			// The message policy's rows: a switch, a budget slot, a push
			// deferred to the end of quiet hours (its alert names the person).
			if err := s.PutPreferences(ctx, u, []Preference{{Clinic: "cl", Marketing: false, UpdatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
			if g, err := s.ClaimSlots(ctx, "cl", "2026-W49", 1, []Claim{{User: u, Key: "k1", Class: ClassNews}}, t0); err != nil || !g[0] {
				t.Fatalf("claim %v %v", g, err)
			}
			if err := s.Defer(ctx, []Deferred{{User: u, Event: Event{ID: "ev-" + u, Seq: 1, Type: "care.message"}, Key: "k1",
				Alert: Alert{Title: "Zinaida", Body: "hello"}, Clinic: "cl", Class: ClassReminder, NotBefore: t0}}); err != nil {
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
			if ps, err := s.Preferences(ctx, u); err != nil || len(ps) != want {
				t.Fatalf("%s preferences %v %v", u, ps, err)
			}
			// A budget of 1 still spent for the user who stays, free again
			// for the erased one.
			g, err := s.ClaimSlots(ctx, "cl", "2026-W49", 1, []Claim{{User: u, Key: "k2", Class: ClassNews}}, t0)
			if err != nil || g[0] != (want == 0) {
				t.Fatalf("%s budget slot after erasure: granted %v %v", u, g, err)
			}
		}
		due, err := s.TakeDue(ctx, t0.Add(time.Hour), 10)
		if err != nil || len(due) != 1 || due[0].User != "pt_stays" {
			t.Fatalf("deferred pushes after erasure %+v %v, want only pt_stays'", due, err)
		}
	})
}

// TestForgetCardPreferences: a handed-over card's switches go, whoever
// set them; the clinic-wide switches and other cards' stay.
func TestForgetCardPreferences(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		for _, u := range []string{"g1", "g2"} {
			if err := s.PutPreferences(ctx, u, []Preference{{Clinic: "cl", UpdatedAt: t0, Marketing: true},
				{Clinic: "cl", Card: "cd_handed", UpdatedAt: t0}, {Clinic: "cl", Card: "cd_other", UpdatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // idempotent
			if err := s.(Eraser).ForgetCardPreferences(ctx, "cd_handed"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.(Eraser).ForgetCardPreferences(ctx, ""); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"g1", "g2"} {
			ps, err := s.Preferences(ctx, u)
			if err != nil || len(ps) != 2 || ps[0].Card != "" || ps[1].Card != "cd_other" {
				t.Fatalf("%s preferences after the handover %+v %v", u, ps, err)
			}
		}
		if out, err := s.OptedOut(ctx, "cl", "cd_handed", []string{"g1", "g2"}); err != nil || len(out) != 0 {
			t.Fatalf("opted out of the handed-over card: %v %v", out, err)
		}
	})
}
