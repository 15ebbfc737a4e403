package wallet

import (
	"context"
	"errors"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestAwardAll: several awards to several cards go in together, each once
// per key (a replay returns the entry, marked Replayed); a refused one
// (a card that does not exist, a bad kind) is reported in its result and
// the others still post. Both stores.
func TestAwardAll(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "c1", testProgram())
		a, c := e.joined(t, "p1", "c1"), e.joined(t, "p2", "c1") // 500 welcome points each
		rs := []AwardRequest{
			{CardID: a.ID, Kind: KindReferral, Key: "ref:R1:1", Points: 800},
			{CardID: "cd_nobody", Kind: KindReferral, Key: "ref:R1:2", Points: 200},
			{CardID: c.ID, Kind: KindReferral, Key: "ref:R1:3", Points: 100},
			{CardID: c.ID, Kind: KindCashback, Key: "ref:R1:4", Points: 1},
		}
		for round := range 2 {
			res, err := e.svc.AwardAll(ctx, rs)
			if err != nil || len(res) != 4 {
				t.Fatalf("round %d: %+v %v", round, res, err)
			}
			if res[0].Err != nil || res[0].Entry.Amount != 800 || res[0].Entry.Replayed != (round == 1) ||
				res[2].Err != nil || res[2].Entry.Amount != 100 || res[2].Entry.Replayed != (round == 1) {
				t.Fatalf("round %d: %+v", round, res)
			}
			if !errors.Is(res[1].Err, ErrNotFound) || !errors.Is(res[3].Err, ErrInvalid) {
				t.Fatalf("round %d refusals: %v, %v", round, res[1].Err, res[3].Err)
			}
		}
		if bal := checkLedger(t, e.store, a.ID); bal != 1300 {
			t.Fatalf("balance of a: %d", bal)
		}
		if bal := checkLedger(t, e.store, c.ID); bal != 600 {
			t.Fatalf("balance of c: %d", bal)
		}
	})
}
