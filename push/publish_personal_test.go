package push

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// PublishPersonal writes each user their own payload under one key; a replay
// (a restart of the sender) writes nothing, and a user listed twice gets
// one event.
func TestPublishPersonalOwnPayloadOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		svc := NewService(newStore(t, b), Options{})
		defer svc.Close()
		users := []string{"pt_a", "pt_b", "pt_a"}
		data := []json.RawMessage{json.RawMessage(`{"text":"Hi A"}`), json.RawMessage(`{"text":"Hi B"}`), json.RawMessage(`{"text":"Hi A2"}`)}
		d := Draft{Key: "care:reminder:cl:2026-12-05", Type: "care.message", Class: ClassReminder, Clinic: "cl"}
		for range 2 {
			errs, err := svc.PublishPersonal(ctx, users, data, d)
			if err != nil || len(errs) != 3 {
				t.Fatalf("publish each: %v %v", errs, err)
			}
		}
		for user, want := range map[string]string{"pt_a": `{"text":"Hi A"}`, "pt_b": `{"text":"Hi B"}`} {
			evs, err := svc.Events(ctx, user, 0, 10)
			if err != nil || len(evs) != 1 || string(evs[0].Data) != want {
				t.Fatalf("%s: %d events %v, want one with %s", user, len(evs), err, want)
			}
		}
		if _, err := svc.PublishPersonal(ctx, users, data[:1], d); err == nil {
			t.Fatal("mismatched payloads accepted")
		}
	})
}

// PublishPersonal is under the message policy like PublishMany: with a
// weekly budget of 1, a second care message the same week is skipped for
// that user (a *SkippedError in its slot, nothing written) while a user
// with budget left gets it.
func TestPublishPersonalUnderBudget(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) // a Wednesday
		svc := NewService(newStore(t, b), Options{Now: func() time.Time { return now }})
		defer svc.Close()
		if err := svc.SetClinicPolicy(ctx, "cl", Policy{QuietFrom: 0, QuietTo: 0, WeeklyBudget: 1}); err != nil {
			t.Fatal(err)
		}
		first := Draft{Key: "care:reminder:a1", Type: "care.message", Class: ClassReminder, Clinic: "cl"}
		if errs, err := svc.PublishPersonal(ctx, []string{"pt_a"}, []json.RawMessage{json.RawMessage(`{"text":"one"}`)}, first); err != nil || errs[0] != nil {
			t.Fatalf("first message: %v %v", errs, err)
		}
		second := Draft{Key: "care:win_back:a2", Type: "care.message", Class: ClassWinBack, Clinic: "cl"}
		errs, err := svc.PublishPersonal(ctx, []string{"pt_a", "pt_b"},
			[]json.RawMessage{json.RawMessage(`{"text":"two"}`), json.RawMessage(`{"text":"hello b"}`)}, second)
		if err != nil {
			t.Fatal(err)
		}
		var se *SkippedError
		if !errors.As(errs[0], &se) || se.Reason != ReasonBudget || errs[1] != nil {
			t.Fatalf("second message: errs %v, want pt_a skipped for the budget and pt_b sent", errs)
		}
		if evs, _ := svc.Events(ctx, "pt_a", 0, 10); len(evs) != 1 {
			t.Fatalf("pt_a has %d events, want 1 (the skipped one is not written)", len(evs))
		}
		if evs, _ := svc.Events(ctx, "pt_b", 0, 10); len(evs) != 1 {
			t.Fatalf("pt_b has %d events, want 1", len(evs))
		}
	})
}

// PublishPersonalAlerts (a receipt's referral rewards: a few users in one
// statement) writes each user their own payload at their next seq, leaves
// a user who already has the key alone, writes nothing on a replay, and
// wakes each one with their own alert.
func TestPublishPersonalAlertsFewUsers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		h := newPolicyHarness(t, newStore(t, b), &fakeClock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)})
		for _, u := range []string{"pt_a", "pt_b", "pt_c"} {
			h.device(u)
		}
		// pt_a has an older event; pt_c already has this key.
		if _, err := h.svc.Publish(ctx, "pt_a", Draft{Type: "x.old"}); err != nil {
			t.Fatal(err)
		}
		d := Draft{Key: "ref:R1", Type: "referral.reward", Class: ClassService}
		if _, err := h.svc.Publish(ctx, "pt_c", Draft{Key: "ref:R1", Type: "referral.reward", Data: json.RawMessage(`{"points":1}`)}); err != nil {
			t.Fatal(err)
		}
		users := []string{"pt_a", "pt_b", "pt_c"}
		data := []json.RawMessage{json.RawMessage(`{"points":100}`), json.RawMessage(`{"points":20}`), json.RawMessage(`{"points":10}`)}
		alerts := []Alert{{Title: "A", Body: "100"}, {Title: "B", Body: "20"}, {Title: "C", Body: "10"}}
		for range 2 {
			errs, err := h.svc.PublishPersonalAlerts(ctx, users, data, alerts, d)
			if err != nil || len(errs) != 3 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
				t.Fatalf("publish: %v %v", errs, err)
			}
		}
		for user, want := range map[string][]string{"pt_a": {`{}`, `{"points":100}`}, "pt_b": {`{"points":20}`}, "pt_c": {`{"points":1}`}} {
			evs, err := h.svc.Events(ctx, user, 0, 10)
			if err != nil || len(evs) != len(want) {
				t.Fatalf("%s: %d events %v, want %d", user, len(evs), err, len(want))
			}
			for i, ev := range evs {
				if string(ev.Data) != want[i] || ev.Seq != int64(i+1) {
					t.Fatalf("%s: event %d is seq %d %s, want seq %d %s", user, i, ev.Seq, ev.Data, i+1, want[i])
				}
			}
		}
		h.flush(h.svc)
		h.rec.mu.Lock()
		got := map[string][]string{}
		for _, m := range h.rec.msgs {
			got[m.Token] = append(got[m.Token], m.Alert.Title+" "+m.Alert.Body)
		}
		h.rec.mu.Unlock()
		if len(got["tok-pt_a"]) != 1 || got["tok-pt_a"][0] != "A 100" || len(got["tok-pt_b"]) != 1 || got["tok-pt_b"][0] != "B 20" || len(got["tok-pt_c"]) != 0 {
			t.Fatalf("alerts: %v", got)
		}
		if _, err := h.svc.PublishPersonalAlerts(ctx, users, data, alerts[:2], d); err == nil {
			t.Fatal("mismatched alerts accepted")
		}
	})
}
