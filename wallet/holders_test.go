package wallet

import (
	"slices"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestHolders: a clinic's audience is the accounts holding its active
// cards — own cards, the guardian whose app holds a child's card and the
// child's other guardians — page by page; pending cards and other clinics'
// cards are not in it.
func TestHolders(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		e.setupClinic(t, "cl_2", testProgram())
		e.joined(t, "pt_ann", "cl_1")
		bob := e.joined(t, "pt_bob", "cl_1")
		e.joined(t, "pt_other", "cl_2")
		r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a",
			GuardianID: "pt_mum", FirstName: "Petya", LastName: "Ivanov", BirthDate: "2018-03-10"}))
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r.CardID, e.notes.cardCode(t, "pt_mum", r.CardID)))
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_a", r.CardID, "pt_dad"); err != nil {
			t.Fatal(err)
		}
		// The same child at clinic 2, with a guardian added there only:
		// not in clinic 1's audience.
		r2 := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_2", StaffID: "st_b",
			GuardianID: "pt_mum", FirstName: "Petya", LastName: "Ivanov", BirthDate: "2018-03-10"}))
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_2", r2.CardID, e.notes.cardCode(t, "pt_mum", r2.CardID)))
		if err := e.svc.AddGuardian(ctx, "cl_2", "st_b", r2.CardID, "pt_aunt"); err != nil {
			t.Fatal(err)
		}
		// Issued, never confirmed: pending, not an audience yet.
		must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a",
			PatientID: "pt_pending", FirstName: "Pen", LastName: "Ding", BirthDate: "1990-01-01"}))

		var got []string
		after := ""
		for pages := 0; ; pages++ {
			ids, next, err := e.svc.Holders(ctx, "cl_1", "", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids...)
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			after = next
		}
		slices.Sort(got)
		if want := []string{"pt_ann", "pt_bob", "pt_dad", "pt_mum"}; !slices.Equal(got, want) {
			t.Fatalf("holders %v, want %v", got, want)
		}
		// By level: Bob spends 150,000.00 and reaches VIP.
		if _, err := e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", StaffID: "st_a", CardID: bob.ID, ReceiptID: "R-VIP",
			Lines: []Line{{Service: "CONS-01", Amount: 15_000_000}}}); err != nil {
			t.Fatal(err)
		}
		if ids, _, err := e.svc.Holders(ctx, "cl_1", "VIP", "", 100); err != nil || !slices.Equal(ids, []string{"pt_bob"}) {
			t.Fatalf("VIP holders %v %v", ids, err)
		}
		if ids, _, err := e.svc.Holders(ctx, "cl_1", "Base", "", 100); err != nil || len(ids) != 3 {
			t.Fatalf("Base holders %v %v", ids, err)
		}
		if _, _, err := e.svc.Holders(ctx, "cl_1", "Gold", "", 100); err == nil {
			t.Fatal("an unknown level was accepted")
		}
	})
}
