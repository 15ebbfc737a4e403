package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"carewallet/app/idempotency"
	"carewallet/app/storage/storagetest"
)

func TestStore(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		var s idempotency.Store
		var err error
		if b.SQLite != nil {
			s, err = idempotency.NewSQLiteStore(ctx, b.SQLite)
		} else {
			s, err = idempotency.NewMongoStore(ctx, b.Mongo)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "clinic:a", "k"); !errors.Is(err, idempotency.ErrNotFound) {
			t.Fatalf("empty store: %v", err)
		}
		first := idempotency.Record{Scope: "clinic:a", Key: "k", Fingerprint: "f1", Status: 201, Body: []byte(`{"a":1}`),
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		if err := s.Put(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := first
		second.Fingerprint, second.Status, second.Body = "f2", 200, []byte(`{"b":2}`)
		if err := s.Put(ctx, second); err != nil {
			t.Fatalf("second put must keep the first silently: %v", err)
		}
		got, err := s.Get(ctx, "clinic:a", "k")
		if err != nil || got.Fingerprint != "f1" || got.Status != 201 || string(got.Body) != `{"a":1}` || !got.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("got %+v, %v; want the first record", got, err)
		}
		if _, err := s.Get(ctx, "clinic:b", "k"); !errors.Is(err, idempotency.ErrNotFound) {
			t.Fatalf("another scope sees the record: %v", err)
		}
	})
}
