package wallet

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

var ctx = context.Background()

func TestCardLifecycle(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())

		// Reception issues a pending card; the code goes to the app.
		res := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a",
			PatientID: "pt_1", FirstName: "Anna", LastName: "Ivanova", BirthDate: "1990-05-01"}))
		if res.Status != StatusPending {
			t.Fatalf("status %s", res.Status)
		}
		if _, err := e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a", PatientID: "pt_1"}); !errors.Is(err, ErrCardExists) {
			t.Fatalf("second issue: %v, want ErrCardExists", err)
		}
		code := e.notes.cardCode(t, "pt_1", res.CardID)
		for _, n := range e.notes.all("pt_1") {
			if containsStr(n.AlertTitle+n.AlertBody, code) {
				t.Fatal("code in alert text")
			}
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if _, err := e.svc.ConfirmCard(ctx, "cl_1", res.CardID, wrong); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("wrong code: %v", err)
		}
		if _, err := e.svc.ConfirmCard(ctx, "cl_2", res.CardID, code); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other clinic confirm: %v", err)
		}
		ok := must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", res.CardID, code))
		if ok.Status != StatusActive {
			t.Fatalf("status %s", ok.Status)
		}
		if _, err := e.svc.ConfirmCard(ctx, "cl_1", res.CardID, code); !errors.Is(err, ErrCardActive) {
			t.Fatalf("reused code: %v", err)
		}
		v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", res.CardID))
		if v.Balance != 500 || v.Available != 500 || v.Level == nil || v.Level.Name != "Base" || v.NextBurn == nil {
			t.Fatalf("view %+v", v)
		}
		// Welcome: earned 10 March (MSK), 30 days: usable through 9 April.
		if v.NextBurn.Date != "2026-04-09" || v.NextBurn.Points != 500 {
			t.Fatalf("next burn %+v", v.NextBurn)
		}
		// Joining from the app returns the same card, no second bonus.
		j := e.joined(t, "pt_1", "cl_1")
		if j.ID != res.CardID || j.Balance != 500 {
			t.Fatalf("join gave %s balance %d", j.ID, j.Balance)
		}
		checkLedger(t, e.store, res.CardID)
	})
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestPendingCardLapses(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		issue := func() *IssueCardResult {
			t.Helper()
			return must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a", PatientID: "pt_1"}))
		}
		// 10 wrong codes lapse it; the 11th attempt is refused.
		r1 := issue()
		code := e.notes.cardCode(t, "pt_1", r1.CardID)
		wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)
		for i := range 10 {
			if _, err := e.svc.ConfirmCard(ctx, "cl_1", r1.CardID, wrong); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		if _, err := e.svc.ConfirmCard(ctx, "cl_1", r1.CardID, code); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("11th attempt: %v", err)
		}
		// Lapsed: can be issued again.
		r2 := issue()
		// 10 minutes lapse it too.
		e.clock.Advance(10 * time.Minute)
		if _, err := e.svc.ConfirmCard(ctx, "cl_1", r2.CardID, e.notes.cardCode(t, "pt_1", r2.CardID)); !errors.Is(err, ErrCodeExpired) {
			t.Fatalf("expired: %v", err)
		}
		r3 := issue()
		if r3.CardID == r2.CardID {
			t.Fatal("same card")
		}
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r3.CardID, e.notes.cardCode(t, "pt_1", r3.CardID)))
		cards := must[[]CardSummary](t)(e.svc.MyCards(ctx, "pt_1"))
		if len(cards) != 1 || cards[0].ID != r3.CardID || cards[0].Status != StatusActive {
			t.Fatalf("my cards %+v", cards)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestDependantsAndAccess(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		// A child's card in mum's app; codes go to mum.
		r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a",
			GuardianID: "pt_mum", FirstName: "Petya", LastName: "Ivanov", BirthDate: "2018-03-10"}))
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r.CardID, e.notes.cardCode(t, "pt_mum", r.CardID)))
		// Dad becomes a guardian too; he can read it, codes still go to mum.
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_a", r.CardID, "pt_dad"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_a", r.CardID, "pt_dad"); err != nil {
			t.Fatalf("adding twice: %v", err)
		}
		for _, p := range []string{"pt_mum", "pt_dad"} {
			if _, err := e.svc.Card(ctx, p, r.CardID); err != nil {
				t.Fatalf("%s reads child's card: %v", p, err)
			}
			cs := must[[]CardSummary](t)(e.svc.MyCards(ctx, p))
			if len(cs) != 1 || cs[0].ID != r.CardID || !cs[0].Guardian {
				t.Fatalf("%s cards %+v", p, cs)
			}
		}
		// Mum's own card is separate.
		own := e.joined(t, "pt_mum", "cl_1")
		if own.ID == r.CardID || own.Balance != 500 {
			t.Fatalf("own card %+v", own)
		}
		// Another family sees nothing.
		other := e.joined(t, "pt_other", "cl_1")
		if _, err := e.svc.Card(ctx, "pt_other", r.CardID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other family reads child's card: %v", err)
		}
		if _, err := e.svc.History(ctx, "pt_other", own.ID, "", 10); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other family reads history: %v", err)
		}
		if _, err := e.svc.CardCode(ctx, "pt_other", r.CardID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other family gets QR code: %v", err)
		}
		if _, err := e.svc.Card(ctx, "pt_mum", other.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("mum reads other's card: %v", err)
		}
		// Clinic 2 can touch nothing of clinic 1.
		qr := must[*CardCode](t)(e.svc.CardCode(ctx, "pt_mum", own.ID))
		if v, err := e.svc.LookupCode(ctx, "cl_1", qr.Code); err != nil || v.ID != own.ID {
			t.Fatalf("lookup: %v", err)
		}
		if _, err := e.svc.LookupCode(ctx, "cl_2", qr.Code); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 resolves QR: %v", err)
		}
		if _, err := e.svc.StaffCard(ctx, "cl_2", own.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 reads card: %v", err)
		}
		if _, err := e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_2", CardID: own.ID, ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01", Amount: 100000}}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 receipt: %v", err)
		}
		must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: own.ID, ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01", Amount: 100000}}}))
		if _, err := e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_2", ReceiptID: "R1"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 refund: %v", err)
		}
		sp := must[*SpendResult](t)(e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: own.ID, ReceiptID: "R2",
			Lines: []Line{{Service: "CONS-01", Amount: 100000}}, Points: 10}))
		if _, err := e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_2", CardID: own.ID, ReceiptID: "R2",
			Lines: []Line{{Service: "CONS-01", Amount: 100000}}, Points: 10}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 spend: %v", err)
		}
		if _, err := e.svc.ConfirmSpend(ctx, "cl_2", sp.SpendID, e.notes.spendCode(t, "pt_mum", sp.SpendID)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 confirms spend: %v", err)
		}
		if _, err := e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_2", CardID: own.ID, Points: 5, Reason: "x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("clinic 2 adjusts: %v", err)
		}
		if cs := must[[]CardSummary](t)(e.svc.LookupPatient(ctx, "cl_2", "pt_mum")); len(cs) != 0 {
			t.Fatalf("clinic 2 lookup by patient: %+v", cs)
		}
		if j := must[*JournalPage](t)(e.svc.Journal(ctx, JournalFilter{ClinicID: "cl_2"})); len(j.Rows) != 0 {
			t.Fatalf("clinic 2 journal has %d rows", len(j.Rows))
		}
	})
}
