package wallet

import (
	"encoding/json"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// TestBurnWarningPerDay: a card's lots that burn on the same day give one
// warning with their sum; lots of another day, another warning; a second
// run sends nothing.
func TestBurnWarningPerDay(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		p := testProgram()
		e.setupClinic(t, "cl_1", p)
		r := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", PatientID: "pt_1", BirthDate: "1990-04-20"}))
		must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", r.CardID, e.notes.cardCode(t, "pt_1", r.CardID)))
		var cashback int64
		for _, id := range []string{"R1", "R2", "R3"} { // one lot: they all burn the same day
			rr := must[*ReceiptResult](t)(e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: r.CardID, ReceiptID: id,
				Lines: []Line{{Service: "CONS-01", Amount: 200000}}}))
			cashback += rr.Points
		}
		lots := must[*LotsPage](t)(e.svc.Lots(ctx, "pt_1", r.CardID, "", 0)).Lots
		if len(lots) != 2 {
			t.Fatalf("lots %+v; want the welcome lot and one cashback lot", lots)
		}
		// Two more lots burning that day, written the way the code before
		// same-day lots did: the warning still sums the day's lots.
		for _, pts := range []int64{7, 11} {
			e.legacyLot(t, r.CardID, pts, lots[1].BurnsAt)
			cashback += pts
		}
		var first, last time.Time // the welcome lot's burn, the cashback lots' burn
		for _, l := range lots {
			if first.IsZero() || l.BurnsAt.Before(first) {
				first = l.BurnsAt
			}
			if l.BurnsAt.After(last) {
				last = l.BurnsAt
			}
		}
		ahead := time.Duration(p.BurnWarningDays) * 24 * time.Hour
		for _, tc := range []struct {
			at     time.Time
			points int64
			lots   int
		}{{first.Add(-ahead), p.WelcomeBonus.Points, 1}, {last.Add(-ahead), cashback, 3}} {
			e.clock.Set(tc.at)
			before := len(e.warnings(t))
			rep := must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now()))
			again := must[*BurnReport](t)(e.svc.RunBurn(ctx, e.clock.Now()))
			ws := e.warnings(t)[before:]
			if rep.Warned != 1 || again.Warned != 0 || len(ws) != 1 {
				t.Fatalf("at %v: warned %d then %d, warnings %+v; want one", tc.at, rep.Warned, again.Warned, ws)
			}
			if w := ws[0]; w.Points != tc.points || len(w.LotIDs) != tc.lots || w.Date == "" {
				t.Fatalf("warning %+v; want %d points over %d lots", w, tc.points, tc.lots)
			}
		}
	})
}

// warnings are the burn warnings sent to pt_1, in order.
func (e *env) warnings(t *testing.T) []BurnWarningData {
	t.Helper()
	var out []BurnWarningData
	for _, n := range e.notes.all("pt_1") {
		if n.Type != NoteBurnWarning {
			continue
		}
		var d BurnWarningData
		raw, _ := json.Marshal(n.Data)
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}
