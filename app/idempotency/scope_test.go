package idempotency_test

import (
	"context"
	"testing"
	"time"

	"carewallet/app/idempotency"
	"carewallet/app/storage/storagetest"
)

func TestDeleteScope(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := open(t, b)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		for _, scope := range []string{"patient:gone", "patient:stays"} {
			_, r, err := idempotency.Claim(ctx, s, scope, "k", "f", now)
			if err != nil {
				t.Fatal(err)
			}
			if err := idempotency.Finish(ctx, s, r, 201, []byte(`{"first_name":"Zinaida"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteScope(ctx, "patient:gone"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "patient:gone", "k"); err == nil {
			t.Fatal("the deleted scope's response is still stored")
		}
		if _, err := s.Get(ctx, "patient:stays", "k"); err != nil {
			t.Fatalf("another scope lost its response: %v", err)
		}
	})
}
