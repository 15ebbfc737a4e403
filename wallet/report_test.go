package wallet

import (
	"errors"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

func TestRefundAndReports(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", StaffID: "st_a", PatientID: "pt_1"}))
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r.CardID, e.notes.cardCode(t, "pt_1", r.CardID)))
		card := r.CardID
		e.joined(t, "pt_2", "cl_1")
		lines := []Line{{Service: "CONS-01", Amount: 1000000}, {Service: "LAB-01", Amount: 200000}}
		// Pay 200 points (of the 500 welcome) then record the receipt.
		sp := must[*SpendResult](t)(e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", StaffID: "st_a", CardID: card, ReceiptID: "R1", Lines: lines, Points: 200}))
		must[*SpendResult](t)(e.svc.ConfirmSpend(ctx, "cl_1", sp.SpendID, e.notes.spendCode(t, "pt_1", sp.SpendID)))
		rr := must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", StaffID: "st_a", CardID: card, ReceiptID: "R1", Lines: lines}))
		// Paid money: 10,000.00 - 200.00 on CONS (5% = 490) + 2,000.00 LAB (5% = 100).
		if rr.Points != 590 {
			t.Fatalf("cashback %d", rr.Points)
		}
		// Refund the consultation line: its cashback back, its points returned.
		ref := must[*RefundResult](t)(e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_1", StaffID: "st_a", ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01"}}}))
		if ref.Reversed != 490 || ref.Returned != 200 || ref.Uncollected != 0 {
			t.Fatalf("refund %+v", ref)
		}
		again := must[*RefundResult](t)(e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_1", StaffID: "st_a", ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01"}}}))
		if again.Reversed != 490 || again.Returned != 200 || len(again.Entries) != 2 || again.Entries[0].Seq != ref.Entries[0].Seq {
			t.Fatalf("replayed refund %+v", again)
		}
		// The rest of the receipt; then nothing is left.
		rest := must[*RefundResult](t)(e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_1", ReceiptID: "R1"}))
		if rest.Reversed != 100 || rest.Returned != 0 {
			t.Fatalf("rest %+v", rest)
		}
		if _, err := e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_1", ReceiptID: "R1", IdempotencyKey: "k2"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("refund past the receipt: %v", err)
		}
		if bal := checkLedger(t, e.store, card); bal != 500 {
			t.Fatalf("balance %d", bal)
		}
		v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", card))
		if v.Level.PaidSpend != 0 {
			t.Fatalf("paid spend after full refund %d", v.Level.PaidSpend)
		}
		// Adjustment with a reason, booking bonus once.
		must[*Entry](t)(e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_1", StaffID: "st_mgr", CardID: card, Points: 42, Reason: "Goodwill for waiting"}))
		if _, err := e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_1", CardID: card, Points: 42}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("no reason: %v", err)
		}
		b1 := must[*Entry](t)(e.svc.Booking(ctx, BookingRequest{ClinicID: "cl_1", PatientID: "pt_1", BookingID: "BK-1"}))
		b2 := must[*Entry](t)(e.svc.Booking(ctx, BookingRequest{ClinicID: "cl_1", CardID: card, BookingID: "BK-1"}))
		if b1.Seq != b2.Seq || b1.Amount != 100 {
			t.Fatalf("booking %+v %+v", b1, b2)
		}
		// Journal: filters and paging.
		all := must[*JournalPage](t)(e.svc.Journal(ctx, JournalFilter{ClinicID: "cl_1", PatientID: "pt_1"}))
		var seen []Entry
		after := ""
		for {
			p := must[*JournalPage](t)(e.svc.Journal(ctx, JournalFilter{ClinicID: "cl_1", PatientID: "pt_1", After: after, Limit: 3}))
			seen = append(seen, p.Rows...)
			if p.Next == "" {
				break
			}
			after = p.Next
		}
		if len(seen) != len(all.Rows) || len(seen) != 8 {
			t.Fatalf("paged %d rows, all %d", len(seen), len(all.Rows))
		}
		adj := must[*JournalPage](t)(e.svc.Journal(ctx, JournalFilter{ClinicID: "cl_1", Kind: KindAdjustment, Reason: "goodwill"}))
		if len(adj.Rows) != 1 || adj.Rows[0].Reason != "Goodwill for waiting" {
			t.Fatalf("adjustments %+v", adj.Rows)
		}
		if _, err := e.svc.Journal(ctx, JournalFilter{ClinicID: "cl_1", After: "%%%"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
		future := must[*JournalPage](t)(e.svc.Journal(ctx, JournalFilter{ClinicID: "cl_1", From: t0.Add(time.Hour)}))
		if len(future.Rows) != 0 {
			t.Fatalf("date filter let %d rows through", len(future.Rows))
		}
		byStaff := must[[]StaffCards](t)(e.svc.CardsByStaff(ctx, "cl_1", time.Time{}, time.Time{}))
		if len(byStaff) != 1 || byStaff[0] != (StaffCards{StaffID: "st_a", Cards: 1}) {
			t.Fatalf("by staff %+v", byStaff)
		}
		cards := must[*CardsPage](t)(e.svc.CardsIssued(ctx, "cl_1", time.Time{}, time.Time{}, "", 1))
		if len(cards.Rows) != 1 || cards.Next == "" {
			t.Fatalf("cards page %+v", cards)
		}
		cards2 := must[*CardsPage](t)(e.svc.CardsIssued(ctx, "cl_1", time.Time{}, time.Time{}, cards.Next, 1))
		if len(cards2.Rows) != 1 || cards2.Rows[0].ID == cards.Rows[0].ID || cards2.Next != "" {
			t.Fatalf("cards page 2 %+v", cards2)
		}
		tot := must[*Totals](t)(e.svc.Totals(ctx, "cl_1", time.Time{}, time.Time{}))
		// pt_1 holds 642 (500 + 42 + 100), pt_2 its 500 welcome.
		if tot.Outstanding != 1142 || tot.Spent != 200 || tot.Reversed != 590 {
			t.Fatalf("totals %+v", tot)
		}
	})
}

func TestProgramVersionsAndLevels(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		p := testProgram()
		p.Levels, p.CashbackBP = nil, 500
		e.setupClinic(t, "cl_1", p)
		card := e.joined(t, "pt_1", "cl_1").ID
		must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: card, ReceiptID: "R1",
			Lines: []Line{{Service: "CONS-01", Amount: 16000000}}}))
		if v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", card)); v.Level != nil {
			t.Fatalf("level without levels: %+v", v.Level)
		}
		// Enabling levels re-evaluates the card from its history.
		q := testProgram()
		saved := must[*Program](t)(e.svc.PutProgram(ctx, "cl_1", "st_mgr", q))
		if saved.Version != 2 {
			t.Fatalf("version %d", saved.Version)
		}
		v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", card))
		if v.Level == nil || v.Level.Name != "VIP" || v.Level.PaidSpend != 16000000 {
			t.Fatalf("level %+v", v.Level)
		}
		bad := testProgram()
		bad.MaxShareBP = 20000
		_, err := e.svc.PutProgram(ctx, "cl_1", "st_mgr", bad)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "max_share_bp" || !errors.Is(err, ErrInvalidProgram) {
			t.Fatalf("invalid program: %v", err)
		}
		if cur := must[*Program](t)(e.svc.Program(ctx, "cl_1")); cur.Version != 2 {
			t.Fatalf("current version %d", cur.Version)
		}
	})
}
