package wallet

import (
	"slices"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestCardholders: the patients holding their own active card at a
// clinic, page by page, each with whether they ever paid money on a
// receipt there — a receipt refunded since still counts; a dependant's
// card, a pending card and another clinic's cards are not in it.
func TestCardholders(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		e.setupClinic(t, "cl_2", testProgram())
		e.joined(t, "pt_ann", "cl_1")
		bob := e.joined(t, "pt_bob", "cl_1")
		carl := e.joined(t, "pt_carl", "cl_1")
		other := e.joined(t, "pt_other", "cl_2")
		r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a",
			GuardianID: "pt_mum", FirstName: "Petya", LastName: "Ivanov", BirthDate: "2018-03-10"}))
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r.CardID, e.notes.cardCode(t, "pt_mum", r.CardID)))
		must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a",
			PatientID: "pt_pending", FirstName: "Pen", LastName: "Ding", BirthDate: "1990-01-01"}))
		for _, x := range []struct{ clinic, card, receipt string }{
			{"cl_1", bob.ID, "R-1"}, {"cl_1", carl.ID, "R-2"}, {"cl_1", r.CardID, "R-3"}, {"cl_2", other.ID, "R-4"}} {
			if _, err := e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: x.clinic, StaffID: "st_a", CardID: x.card, ReceiptID: x.receipt,
				Lines: []Line{{Service: "CONS-01", Amount: 100_000}}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_1", StaffID: "st_a", ReceiptID: "R-2", IdempotencyKey: "f1",
			Lines: []Line{{Service: "CONS-01", Amount: 100_000}}}); err != nil {
			t.Fatal(err)
		}

		var got []string
		after := ""
		for pages := 0; ; pages++ {
			hs, next, err := e.svc.Cardholders(ctx, "cl_1", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hs {
				got = append(got, h.PatientID+map[bool]string{true: ":paid", false: ""}[h.Paid])
			}
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			after = next
		}
		slices.Sort(got)
		if want := []string{"pt_ann", "pt_bob:paid", "pt_carl:paid"}; !slices.Equal(got, want) {
			t.Fatalf("cardholders %v, want %v", got, want)
		}
		if _, _, err := e.svc.Cardholders(ctx, "cl_1", "", MaxCardholdersPage+1); err == nil {
			t.Fatal("an oversized page was accepted")
		}
		if _, _, err := e.svc.Cardholders(ctx, "cl_1", "garbage!", 10); err == nil {
			t.Fatal("a bad cursor was accepted")
		}
	})
}
