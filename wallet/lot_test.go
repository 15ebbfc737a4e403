package wallet

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// TestSameDayLots: credits that burn on the same day join one lot (each
// entry names it); lots written the old way (one per receipt) stay valid
// beside it: the calendar sums the day, spends take the soonest-burning
// lots first, the lot list pages over all of them.
func TestSameDayLots(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		p := testProgram()
		p.MaxShareBP = 10000
		e.setupClinic(t, "cl_1", p)
		card := e.joined(t, "pt_1", "cl_1").ID // 500 welcome points, 30 days
		receipt := func(id string) *ReceiptResult {
			return must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: card, ReceiptID: id,
				Lines: []Line{{Service: "CONS-01", Amount: 100000}}}))
		}
		var day0 int64
		var lotID string
		for _, id := range []string{"A1", "A2", "A3"} {
			rr := receipt(id)
			day0 += rr.Points
			if len(rr.Entry.Lots) != 1 || rr.Entry.Lots[0].Delta != rr.Points || (lotID != "" && rr.Entry.Lots[0].LotID != lotID) {
				t.Fatalf("receipt %s touched %+v; want +%d on the day's lot %s", id, rr.Entry.Lots, rr.Points, lotID)
			}
			lotID = rr.Entry.Lots[0].LotID
		}
		lots := must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", card, "", 0)).Lots
		if len(lots) != 2 || lots[1].LotID != lotID || lots[1].Points != day0 || lots[1].Remaining != day0 || lots[1].Kind != KindCashback {
			t.Fatalf("lots %+v; want the welcome lot and one cashback lot of %d", lots, day0)
		}
		// Data of the old code: two more lots burning that same day.
		legacy := []string{e.legacyLot(t, card, 7, lots[1].BurnsAt), e.legacyLot(t, card, 11, lots[1].BurnsAt)}
		e.clock.Advance(24 * time.Hour)
		day1 := receipt("B1").Points

		v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", card))
		want := []int64{500, day0 + 18, day1}
		var got []int64
		for _, bv := range v.Burns {
			got = append(got, bv.Points)
		}
		if !slices.Equal(got, want) || v.NextBurn == nil || *v.NextBurn != v.Burns[0] || v.Available != v.Balance || v.Balance != 500+day0+18+day1 {
			t.Fatalf("view %+v (burns %v); want burns %v", v, got, want)
		}
		if v.Burns[1].Date >= v.Burns[2].Date || v.Burns[0].Date >= v.Burns[1].Date {
			t.Fatalf("calendar not in date order: %+v", v.Burns)
		}

		// The list pages with ?after= in spend order; one page is the same.
		all := must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", card, "", 0)).Lots
		if len(all) != 5 {
			t.Fatalf("lots %+v; want 5", all)
		}
		var paged []LotView
		after := ""
		for range 10 {
			pg := must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", card, after, 2))
			paged = append(paged, pg.Lots...)
			if after = pg.Next; after == "" {
				break
			}
		}
		if !slices.Equal(paged, all) {
			t.Fatalf("paged %+v, want %+v", paged, all)
		}
		if _, err := e.svc.Lots(ctx, "pt_1", card, "", MaxPageSize+1); err == nil {
			t.Fatal("a page over the maximum was served")
		}

		// A spend takes the welcome lot, then the day-0 lots in order.
		sp := must[*SpendResult](t)(e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: card, ReceiptID: "S1",
			Lines: []Line{{Service: "CONS-01", Amount: 10000000}}, Points: 500 + day0 + 10}))
		done := must[*SpendResult](t)(e.svc.ConfirmSpend(ctx, "cl_1", sp.SpendID, e.notes.spendCode(t, "pt_1", sp.SpendID)))
		var took []string
		for _, d := range done.Entry.Lots {
			took = append(took, fmt.Sprintf("%s%d", d.LotID, d.Delta))
		}
		day0Lots := []string{lotID, legacy[0], legacy[1]}
		slices.Sort(day0Lots) // same burn instant: by id
		rest := map[string]int64{lotID: day0, legacy[0]: 7, legacy[1]: 11}
		wantTook := []string{fmt.Sprintf("%s%d", all[0].LotID, -500)}
		left := day0 + 10
		for _, id := range day0Lots {
			d := min(left, rest[id])
			wantTook = append(wantTook, fmt.Sprintf("%s%d", id, -d))
			if left -= d; left == 0 {
				break
			}
		}
		if !slices.Equal(took, wantTook) {
			t.Fatalf("spend took %v, want %v", took, wantTook)
		}
		// Everything burns on its day, the old lots too.
		e.clock.Set(all[len(all)-1].BurnsAt.Add(time.Hour))
		must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now()))
		if bal := checkLedger(t, e.store, card); bal != 0 {
			t.Fatalf("balance after the burns %d", bal)
		}
	})
}

// TestBurnCalendarBounded: the view shows BurnCalendarDays dates however
// many lots the card holds; the rest are in the lot list.
func TestBurnCalendarBounded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		card := e.joined(t, "pt_1", "cl_1").ID
		days := BurnCalendarDays + 3
		for d := range days {
			must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: card, ReceiptID: fmt.Sprintf("R%d", d),
				Lines: []Line{{Service: "CONS-01", Amount: 100000}}}))
			e.clock.Advance(24 * time.Hour)
		}
		v := must[*CardView](t)(e.svc.Card(ctx, "pt_1", card))
		if len(v.Burns) != BurnCalendarDays || v.Available != v.Balance {
			t.Fatalf("view %+v; want %d dates", v, BurnCalendarDays)
		}
		if n := len(must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", card, "", 0)).Lots); n != days+1 {
			t.Fatalf("%d lots, want %d", n, days+1)
		}
		// Past its burn instant, the welcome lot is no longer available
		// (nor in the calendar) until the burn job burns it.
		e.clock.Set(v.Burns[0].BurnsAt)
		v2 := must[*CardView](t)(e.svc.Card(ctx, "pt_1", card))
		if v2.Balance != v.Balance || v2.Available != v.Balance-500 || v2.Burns[0] == v.Burns[0] {
			t.Fatalf("past the first burn: %+v", v2)
		}
		sums := must[[]CardSummary](t)(e.svc.MyCards(ctx, "pt_1"))
		if len(sums) != 1 || sums[0].Balance != v2.Balance || sums[0].Available != v2.Available {
			t.Fatalf("summaries %+v", sums)
		}
	})
}
