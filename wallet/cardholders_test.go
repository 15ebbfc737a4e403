package wallet

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"carewallet/app/storage"
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

// BenchmarkCardholders walks a clinic of 100,000 own cards, a third of
// them paid (CAREWALLET_REPORT_BENCH_N scales it), a page of
// MaxCardholdersPage at a time, on SQLite: the wallet's part of the
// referral report (referrals' BenchmarkReport is the rest).
func BenchmarkCardholders(b *testing.B) {
	n := 100_000
	var v int
	if _, err := fmt.Sscan(os.Getenv("CAREWALLET_REPORT_BENCH_N"), &v); err == nil && v > 0 {
		n = v
	}
	db := storagetest.SQLite(b)
	e := newEnv(b, storagetest.Backend{Name: "sqlite", SQLite: db})
	err := db.Tx(ctx, func(q storage.Querier) error {
		for i := range n {
			id := fmt.Sprintf("cd_%07d", i)
			if _, err := q.ExecContext(ctx, `INSERT INTO wallet_cards (id, clinic_id, patient_id, holder_key, dependant_id, slot,
				status, issued_by, created, birth_md, challenge_id, holder) VALUES (?, 'cl_1', ?, ?, '', 0, 'active', '', ?, '', '', '{}')`,
				id, fmt.Sprintf("pt_%d", i), fmt.Sprintf("self:pt_%d", i), int64(i+1)); err != nil {
				return err
			}
			if i%3 == 0 {
				if _, err := q.ExecContext(ctx, `INSERT INTO wallet_entries (card_id, seq, key, kind, amount, balance_after, paid_after,
					clinic_id, patient_id, staff_id, receipt_id, reason, created, fingerprint, lots, details)
					VALUES (?, 1, 'r', 'cashback', 10, 10, 1000, 'cl_1', ?, '', 'R', '', ?, '', '[]', '{}')`,
					id, fmt.Sprintf("pt_%d", i), int64(i+1)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		rows, paid := 0, 0
		for after := ""; ; {
			hs, next, err := e.svc.Cardholders(ctx, "cl_1", after, MaxCardholdersPage)
			if err != nil {
				b.Fatal(err)
			}
			for _, h := range hs {
				rows++
				if h.Paid {
					paid++
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		if rows != n || paid != (n+2)/3 {
			b.Fatalf("%d cardholders, %d paid", rows, paid)
		}
	}
}
