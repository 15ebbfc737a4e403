package wallet

import (
	"errors"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// TestUnconfirmedCard proves the unconfirmed card's rules on both stores:
// it earns, it refuses spending, its burn warnings wait (and are sent
// once after confirmation), the reports count it apart, and concurrent
// confirmations confirm once.
func TestUnconfirmedCard(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		p := testProgram()
		e.setupClinic(t, "cl_1", p)
		r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_desk", PatientID: "pt_1", Unconfirmed: true}))
		if r.Status != StatusUnconfirmed || r.CodeExpiresAt != nil || len(e.notes.all("pt_1")) != 0 {
			t.Fatalf("registered %+v, notes %+v", r, e.notes.all("pt_1"))
		}
		if _, err := e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", PatientID: "pt_1"}); !errors.Is(err, ErrCardExists) {
			t.Fatalf("a second card beside an unconfirmed one: %v", err)
		}
		if _, err := e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", GuardianID: "pt_1", FirstName: "K", LastName: "X",
			BirthDate: "2020-01-01", Unconfirmed: true}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("an unconfirmed dependant's card: %v", err)
		}
		rr := must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: r.CardID, ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01", Amount: 1_000_000}}}))
		if rr.Points != 500 {
			t.Fatalf("receipt: %+v", rr)
		}
		_, err := e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: r.CardID, ReceiptID: "R2",
			Lines: []Line{{Service: "CONS-01", Amount: 100_000}}, Points: 100})
		if !errors.Is(err, ErrCardUnconfirmed) {
			t.Fatalf("spend from an unconfirmed card: %v", err)
		}
		if _, err := e.svc.CardCode(ctx, "pt_1", r.CardID); err == nil {
			t.Fatal("an unconfirmed card shows a code at reception")
		}
		tot := must[*Totals](t)(e.svc.Totals(ctx, "cl_1", time.Time{}, time.Time{}))
		if tot.Unconfirmed.Cards != 1 || tot.Unconfirmed.Points != 500 {
			t.Fatalf("totals: %+v", tot.Unconfirmed)
		}
		if rows := must[[]StaffCards](t)(e.svc.CardsByStaff(ctx, "cl_1", time.Time{}, time.Time{})); len(rows) != 0 {
			t.Fatalf("cards by staff before confirmation: %+v", rows)
		}
		lots := must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", r.CardID, "", 0)).Lots

		// The warning falls due while unconfirmed: held, and the lot is
		// not offered again to the job.
		e.clock.Set(lots[0].BurnsAt.Add(-time.Duration(p.BurnWarningDays)*24*time.Hour + time.Hour))
		rep := must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now()))
		if rep.Warned != 0 || len(e.warnings(t)) != 0 {
			t.Fatalf("warned an unconfirmed card: %+v", rep)
		}
		if due := must[[]Lot](t)(e.store.WarnLots(ctx, e.clock.Now(), 100)); len(due) != 0 {
			t.Fatalf("held lots still due for the job: %+v", due)
		}

		var wg sync.WaitGroup
		confirmed := make([]bool, 4)
		for i := range confirmed {
			wg.Go(func() {
				v, c, err := e.svc.ConfirmOwn(ctx, "pt_1", r.CardID)
				if err != nil || v.Status != StatusActive {
					t.Errorf("confirm: %+v %v", v, err)
				}
				confirmed[i] = c
			})
		}
		wg.Wait()
		if _, _, err := e.svc.ConfirmOwn(ctx, "pt_2", r.CardID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another patient confirms: %v", err)
		}
		v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", r.CardID))
		if v.Balance != 500+p.WelcomeBonus.Points || checkLedger(t, e.store, r.CardID) != v.Balance {
			t.Fatalf("balance %d after confirmations", v.Balance)
		}
		if ws := e.warnings(t); len(ws) != 1 || ws[0].Points != 500 {
			t.Fatalf("warnings after confirmation: %+v", ws)
		}
		after := must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", r.CardID, "", 0)).Lots
		found := false
		for _, l := range after {
			found = found || (l.LotID == lots[0].LotID && l.BurnsAt.Equal(lots[0].BurnsAt))
		}
		if !found {
			t.Fatalf("the earned lot changed: %+v → %+v", lots, after)
		}
		tot = must[*Totals](t)(e.svc.Totals(ctx, "cl_1", time.Time{}, time.Time{}))
		if tot.Unconfirmed.Cards != 0 || tot.Unconfirmed.Points != 0 {
			t.Fatalf("totals after confirmation: %+v", tot.Unconfirmed)
		}
		if rows := must[[]StaffCards](t)(e.svc.CardsByStaff(ctx, "cl_1", time.Time{}, time.Time{})); len(rows) != 1 || rows[0].Cards != 1 {
			t.Fatalf("cards by staff after confirmation: %+v", rows)
		}
		facts := must[[]ReceiptFact](t)(e.svc.CardReceiptFacts(ctx, r.CardID))
		if len(facts) != 1 || facts[0].ReceiptID != "R1" || facts[0].Paid != 1_000_000 {
			t.Fatalf("receipt facts: %+v", facts)
		}
		if f := must[*CardFacts](t)(e.svc.CardFacts(ctx, r.CardID)); !f.Active || f.Unconfirmed {
			t.Fatalf("facts after confirmation: %+v", f)
		}
	})
}
