package wallet

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"carewallet/app/storage/storagetest"
)

// TestBurnRepairsLostLotIndex: on MongoDB a crash between committing an
// entry and caching its lot leaves the lot out of the burn index; the
// burn job rebuilds it from the ledger, so those points still burn.
func TestBurnRepairsLostLotIndex(t *testing.T) {
	e := newEnv(t, storagetest.Backend{Name: "mongo", Mongo: storagetest.Mongo(t)})
	ms := e.store.(*MongoStore)
	e.setupClinic(t, "cl_1", testProgram())
	r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", PatientID: "pt_1", BirthDate: "1990-04-20"}))
	must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r.CardID, e.notes.cardCode(t, "pt_1", r.CardID)))
	rr := must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: r.CardID, ReceiptID: "R1",
		Lines: []Line{{Service: "CONS-01", Amount: 200000}}}))
	if rr.Entry == nil || len(rr.Entry.Lots) != 1 {
		t.Fatalf("receipt entry: %+v", rr.Entry)
	}
	lot := rr.Entry.Lots[0].LotID

	// The crash: the cashback entry stands, its lot never reached the cache.
	if _, err := ms.lots.DeleteOne(ctx, bson.M{"_id": lot}); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.entries.UpdateOne(ctx, bson.M{"card_id": r.CardID, "seq": rr.Entry.Seq}, bson.M{"$set": bson.M{"lots_pending": true}}); err != nil {
		t.Fatal(err)
	}

	var burnsAt time.Time
	for _, l := range must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", r.CardID, "", 0)).Lots {
		if l.LotID == lot {
			burnsAt = l.BurnsAt
		}
	}
	e.clock.Set(burnsAt.Add(time.Hour))
	rep := must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now()))
	if rep.Repaired != 1 {
		t.Fatalf("repaired %d cards, want 1", rep.Repaired)
	}
	v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", r.CardID))
	for _, l := range must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", r.CardID, "", 0)).Lots {
		if l.LotID == lot {
			t.Fatalf("the lost lot did not burn: %+v", l)
		}
	}
	if bal := checkLedger(t, e.store, r.CardID); bal != v.Balance {
		t.Fatalf("ledger %d, view %d", bal, v.Balance)
	}
	if again := must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now())); again.Repaired != 0 || again.Lots != 0 {
		t.Fatalf("second run: %+v", again)
	}
}
