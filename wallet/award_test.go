package wallet

import (
	"context"
	"errors"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestAwardReclaim: awards of another package's kinds post once per key;
// a reclaim never takes more than the card holds (the rest is recorded
// as uncollected); receipt facts give the money paid and refunded. Both
// stores.
func TestAwardReclaim(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "c1", testProgram())
		card := e.joined(t, "p1", "c1") // 500 welcome points
		if _, err := e.svc.Award(ctx, AwardRequest{CardID: card.ID, Kind: KindCashback, Key: "x", Points: 1}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a cashback award: %v", err)
		}
		for round := range 2 {
			en, err := e.svc.Award(ctx, AwardRequest{CardID: card.ID, Kind: KindReferral, Key: "ref:R1:1", Points: 800, Details: map[string]any{"level": 1}})
			if err != nil || en.Amount != 800 || en.Replayed != (round == 1) {
				t.Fatalf("award, round %d: %+v %v", round, en, err)
			}
		}
		en, err := e.svc.Reclaim(ctx, ReclaimRequest{CardID: card.ID, Kind: KindReferral, Key: "ref:R1:1:back:f1", Points: 2000})
		if err != nil || en.Amount != -1300 || en.BalanceAfter != 0 {
			t.Fatalf("reclaim: %+v %v", en, err)
		}
		if bal := checkLedger(t, e.store, card.ID); bal != 0 {
			t.Fatalf("balance %d", bal)
		}
		f, err := e.svc.CardFacts(ctx, card.ID)
		if err != nil || !f.Own || !f.Active || f.PointValue != 100 || f.Paid != 0 {
			t.Fatalf("facts: %+v %v", f, err)
		}
		if _, err := e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "c1", CardID: card.ID, ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01", Amount: 1_000_000}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Refund(ctx, RefundRequest{ClinicID: "c1", ReceiptID: "R1", Lines: []Line{{Service: "CONS-01", Amount: 250_000}}}); err != nil {
			t.Fatal(err)
		}
		facts, next, err := e.svc.ReceiptFacts(ctx, "c1", t0, "", 10)
		if err != nil || next != "" || len(facts) != 2 || facts[0].Paid != 1_000_000 || facts[1].Kind != KindRefund || facts[1].Reduced != 250_000 {
			t.Fatalf("facts: %+v %q %v", facts, next, err)
		}
	})
}

// TestAwardClosedCard: once the card is no longer active, an award
// already posted under its key is still its answer (a replay), and a new
// one is refused. Both stores.
func TestAwardClosedCard(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "c1", testProgram())
		card := e.joined(t, "p1", "c1")
		req := AwardRequest{CardID: card.ID, Kind: KindReferral, Key: "ref:R1:1", Points: 800}
		if _, err := e.svc.Award(ctx, req); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ErasePatient(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		en, err := e.svc.Award(ctx, req)
		if err != nil || !en.Replayed || en.Amount != 800 {
			t.Fatalf("replay on a closed card: %+v %v", en, err)
		}
		req.Key = "ref:R2:1"
		if _, err := e.svc.Award(ctx, req); !errors.Is(err, ErrCardNotActive) {
			t.Fatalf("a new award on a closed card: %v", err)
		}
	})
}
