package wallet

import (
	"context"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestBalanceEventsPush: every change to a balance reaches the app; a
// spend confirmed at the desk stays in the inbox, a manager's deduction
// and a credit also push (the lock-screen rule in notifyBalance).
func TestBalanceEventsPush(t *testing.T) {
	b := storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)}
	ctx := context.Background()
	e := newEnv(t, b)
	e.setupClinic(t, "cl_1", testProgram())
	v := e.joined(t, "pt_1", "cl_1")
	last := func() Notification {
		ns := e.notes.all("pt_1")
		return ns[len(ns)-1]
	}
	if n := last(); n.Type != NotePointsEarned || n.AlertTitle == "" {
		t.Fatalf("welcome: %+v", n)
	}
	sp := must[*SpendResult](t)(e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: v.ID, ReceiptID: "R-1",
		Lines: []Line{{Service: "CONS-01", Amount: 100000}}, Points: 100}))
	must[*SpendResult](t)(e.svc.ConfirmSpend(ctx, "cl_1", sp.SpendID, e.notes.spendCode(t, "pt_1", sp.SpendID)))
	if n := last(); n.Type != NoteBalance || n.AlertTitle != "" || n.Data.(PointsData).Balance != 400 {
		t.Fatalf("spend: %+v", n)
	}
	must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: v.ID, ReceiptID: "R-1",
		Lines: []Line{{Service: "CONS-01", Amount: 100000}}, PaidWithPoints: 100}))
	must[*RefundResult](t)(e.svc.Refund(ctx, RefundRequest{ClinicID: "cl_1", ReceiptID: "R-1"}))
	ns := e.notes.all("pt_1")
	for _, n := range ns[len(ns)-2:] {
		if n.AlertTitle != "" || n.Data.(PointsData).Kind != KindRefund && n.Data.(PointsData).Kind != KindRefundSpend {
			t.Fatalf("refund at the desk pushed or was not told: %+v", n)
		}
	}
	if n := last(); n.Type != NotePointsEarned || n.Data.(PointsData).Balance != must[*CardView](t)(e.svc.Card(ctx, "pt_1", v.ID)).Balance {
		t.Fatalf("refund: %+v", n)
	}
	v = must[*CardView](t)(e.svc.Card(ctx, "pt_1", v.ID))
	must[*Entry](t)(e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_1", CardID: v.ID, Points: -5, Reason: "typo"}))
	if n := last(); n.Type != NoteBalance || n.AlertTitle == "" || n.Data.(PointsData).Balance != v.Balance-5 {
		t.Fatalf("adjustment: %+v", n)
	}
}
