package push

import (
	"context"
	"encoding/json"
	"testing"

	"carewallet/app/storage/storagetest"
)

// PublishEach writes each user their own payload under one key; a replay
// (a restart of the sender) writes nothing, and a user listed twice gets
// one event.
func TestPublishEachOwnPayloadOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		svc := NewService(newStore(t, b), Options{})
		defer svc.Close()
		users := []string{"pt_a", "pt_b", "pt_a"}
		data := []json.RawMessage{json.RawMessage(`{"text":"Hi A"}`), json.RawMessage(`{"text":"Hi B"}`), json.RawMessage(`{"text":"Hi A2"}`)}
		d := Draft{Key: "care:reminder:cl:2026-12-05", Type: "care.message", Class: ClassReminder, Clinic: "cl"}
		for range 2 {
			errs, err := svc.PublishEach(ctx, users, data, d)
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
		if _, err := svc.PublishEach(ctx, users, data[:1], d); err == nil {
			t.Fatal("mismatched payloads accepted")
		}
	})
}
