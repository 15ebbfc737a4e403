package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"carewallet/wallet"
)

// TestEveryBalanceChangeIsAnEvent (issue 9): after a receipt, a spend, a
// refund, an adjustment either way and a burn, the newest balance event in
// the card's app inbox carries the balance GET /v1/cards/{id} shows, so an
// open app never shows a stale one.
func TestEveryBalanceChangeIsAnEvent(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, tok, v := ta.joinCard(cl, "+79991000095")
	line := []map[string]any{{"service": "CONS-01", "amount": 100000}}

	check := func(step string, wantType string) {
		t.Helper()
		var cv wallet.CardView
		ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil).decode(t, &cv)
		evs, err := ta.deps.Push.Events(context.Background(), pid, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var last *wallet.PointsData
		lastType := ""
		for _, ev := range evs {
			if ev.Type != wallet.NotePointsEarned && ev.Type != wallet.NoteBalance {
				continue
			}
			var d wallet.PointsData
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d.CardID == v.ID {
				last, lastType = &d, ev.Type
			}
		}
		if last == nil || last.Balance != cv.Balance || lastType != wantType {
			t.Fatalf("after %s: newest balance event %s %+v, card balance %d", step, lastType, last, cv.Balance)
		}
	}
	check("joining", wallet.NotePointsEarned)

	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": "B-1", "lines": line, "paid_with_points": 0})
	check("a receipt", wallet.NotePointsEarned)

	var sr wallet.SpendResult
	ta.must(201, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": "B-2", "lines": line, "points": 300}).decode(t, &sr)
	ta.must(200, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", cl.admin, map[string]string{"code": ta.eventCode(pid, wallet.NoteSpendCode)})
	check("a spend", wallet.NoteBalance)

	ta.must(200, "POST", "/v1/clinic/receipts/B-1/refund", cl.admin, map[string]any{"lines": []map[string]any{{"service": "CONS-01", "amount": 50000}}})
	check("a refund", wallet.NoteBalance)

	ta.must(200, "POST", "/v1/clinic/adjustments", cl.manager, map[string]any{"card_id": v.ID, "points": -10, "reason": "duplicate visit"})
	check("an adjustment down", wallet.NoteBalance)
	ta.must(200, "POST", "/v1/clinic/adjustments", cl.manager, map[string]any{"card_id": v.ID, "points": 20, "reason": "apology"})
	check("an adjustment up", wallet.NotePointsEarned)

	// The welcome bonus burns after 30 days.
	ta.clock.add(32 * 24 * time.Hour)
	tok = ta.signInPatient("+79991000095").AccessToken
	rep, err := ta.deps.Wallet.RunBurn(context.Background(), ta.clock.now())
	if err != nil || rep.Lots == 0 {
		t.Fatalf("burn: %+v %v", rep, err)
	}
	check("a burn", wallet.NoteBalance)
}
