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
