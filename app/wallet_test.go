package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carewallet/wallet"
)

// The issue's example program.
const exampleProgram = `{"point_value": 100,
 "levels": [{"name": "Base", "min_spend": 0, "cashback_bp": 500},
            {"name": "VIP", "min_spend": 15000000, "cashback_bp": 1000}],
 "service_overrides": [{"service": "IMPL-01", "cashback_bp": 300}, {"service": "CHECK-01", "points": 50}],
 "excluded_services": ["LAB-01"],
 "max_share_bp": 5000,
 "welcome_bonus": {"points": 500, "burn_days": 30},
 "booking_bonus": {"points": 100, "burn_days": 14},
 "birthday_bonus": {"points": 300, "burn_days": 14},
 "cashback_burn_days": 365,
 "burn_warning_days": 14}`

type clinicFixture struct {
	id      string
	manager string // token
	admin   string // token
}

func (ta *testApp) clinicWithProgram(name, domain string) clinicFixture {
	ta.t.Helper()
	c, m := ta.newClinic(name, "boss@"+domain)
	ta.must(200, "PUT", "/v1/clinic/program", m.AccessToken, exampleProgram)
	ta.must(201, "POST", "/v1/clinic/staff", m.AccessToken, map[string]string{
		"email": "desk@" + domain, "password": "reception-pass", "role": "admin", "name": "Desk"})
	return clinicFixture{id: c.ID, manager: m.AccessToken, admin: ta.staffLogin("desk@"+domain, "reception-pass").AccessToken}
}

// issueConfirmed issues a card at reception and confirms it with the code
// the patient's app received; returns the card id.
func (ta *testApp) issueConfirmed(cl clinicFixture, body map[string]string, codeTo string) string {
	ta.t.Helper()
	var res wallet.IssueCardResult
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, body).decode(ta.t, &res)
	if res.Status != wallet.StatusPending {
		ta.t.Fatalf("issued card status %q", res.Status)
	}
	code := ta.eventCode(codeTo, wallet.NoteCardCode)
	ta.must(200, "POST", "/v1/clinic/cards/"+res.CardID+"/confirm", cl.admin, map[string]string{"code": code}).decode(ta.t, &res)
	if res.Status != wallet.StatusActive {
		ta.t.Fatalf("confirmed card status %q", res.Status)
	}
	return res.CardID
}

func TestProgramAndJoin(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	ta.must(403, "PUT", "/v1/clinic/program", cl.admin, exampleProgram)
	r := ta.mustRaw(400, "PUT", "/v1/clinic/program", cl.manager, `{"point_value": 100, "max_share_bp": 20000}`)
	if r.errorCode(t) != "invalid_program" {
		t.Fatalf("invalid program: %s", r.Body)
	}
	var p wallet.Program
	ta.must(200, "GET", "/v1/clinic/program", cl.manager, nil).decode(t, &p)
	if p.MaxShareBP != 5000 || len(p.Levels) != 2 || p.WelcomeBonus.Points != 500 {
		t.Fatalf("program after a refused update: %+v", p)
	}

	pid, tok := ta.patient("+79991000001")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
	if v.Status != wallet.StatusActive || v.Balance != 500 || len(v.Burns) != 1 || v.Burns[0].Points != 500 || v.NextBurn == nil || v.NextBurn.Points != 500 {
		t.Fatalf("joined card: %+v", v)
	}
	if v.PatientID != pid {
		t.Fatalf("card patient %s, want %s", v.PatientID, pid)
	}
	// Joining again is idempotent: the same card, no second welcome bonus.
	var again wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &again)
	if again.ID != v.ID || again.Balance != 500 {
		t.Fatalf("second join: %+v", again)
	}
	ta.must(404, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": "cl_nope"})
	var mine cardsResponse
	ta.must(200, "GET", "/v1/me/cards", tok, nil).decode(t, &mine)
	if len(mine.Cards) != 1 || mine.Cards[0].Balance != 500 {
		t.Fatalf("my cards: %+v", mine)
	}
	ev := ta.lastEvent(pid, wallet.NotePointsEarned)
	if !strings.Contains(string(ev.Data), `"points":500`) {
		t.Fatalf("welcome event: %s", ev.Data)
	}
}

func TestReceptionCardsAndDependants(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	momID, momTok := ta.patient("+79991000002")
	strangerID, strangerTok := ta.patient("+79991000003")
	_ = strangerID

	// A wrong code posts nothing; the right one activates.
	var res wallet.IssueCardResult
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, map[string]string{
		"phone": "8 (999) 100-00-02", "first_name": "Olga", "last_name": "Petrova", "birth_date": "1988-03-04"}).decode(t, &res)
	code := ta.eventCode(momID, wallet.NoteCardCode)
	ev := ta.lastEvent(momID, wallet.NoteCardCode)
	if bytes.Contains(ev.Data, []byte("Olga")) {
		t.Fatalf("card code event carries personal data: %s", ev.Data)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	ta.must(422, "POST", "/v1/clinic/cards/"+res.CardID+"/confirm", cl.admin, map[string]string{"code": wrong})
	ta.must(200, "POST", "/v1/clinic/cards/"+res.CardID+"/confirm", cl.admin, map[string]string{"code": code})
	own := res.CardID

	// A dependant's card: the code goes to the guardian, the card lives in
	// the guardian's app, its points are separate.
	child := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991000002", "first_name": "Masha",
		"last_name": "Petrova", "birth_date": "2018-06-01"}, momID)
	var mine cardsResponse
	ta.must(200, "GET", "/v1/me/cards", momTok, nil).decode(t, &mine)
	if len(mine.Cards) != 2 {
		t.Fatalf("guardian sees %d cards, want own + child", len(mine.Cards))
	}
	var cv wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+child, momTok, nil).decode(t, &cv)
	if cv.Holder.Kind != wallet.HolderDependant || cv.Holder.FirstName != "Masha" || cv.Balance != 500 {
		t.Fatalf("child card: %+v", cv)
	}
	// Another family sees neither card.
	for _, id := range []string{own, child} {
		ta.must(404, "GET", "/v1/cards/"+id, strangerTok, nil)
		ta.must(404, "GET", "/v1/cards/"+id+"/history", strangerTok, nil)
		ta.must(404, "GET", "/v1/cards/"+id+"/code", strangerTok, nil)
	}
	// Reception finds them by phone.
	var lr lookupResponse
	ta.must(200, "GET", "/v1/clinic/cards/lookup?phone=%2B79991000002", cl.admin, nil).decode(t, &lr)
	if len(lr.Cards) != 2 {
		t.Fatalf("lookup by phone: %+v", lr)
	}
	ta.must(400, "POST", "/v1/clinic/cards", cl.admin, map[string]string{"first_name": "No", "last_name": "Phone", "birth_date": "2000-01-01"})
	ta.must(400, "POST", "/v1/clinic/cards", cl.admin, map[string]string{"phone": "12", "first_name": "Bad", "last_name": "Phone", "birth_date": "2000-01-01"})
}

func TestReceiptsSpendsAndIsolation(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	other := ta.clinicWithProgram("Other", "other.test")
	pid, tok := ta.patient("+79991000004")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
	card := v.ID

	receipt := map[string]any{"card_id": card, "receipt_id": "R-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 1000000}, {"service": "LAB-01", "amount": 200000}}, "paid_with_points": 0}
	var rr wallet.ReceiptResult
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receipt, "Idempotency-Key", "rk-1").decode(t, &rr)
	if rr.Points != 600 || rr.Balance != 1100 { // 5% of 12,000.00 roubles = 600 points
		t.Fatalf("receipt: %+v", rr)
	}
	// Replays: one entry; the header's replay is marked; another body is 422.
	r := ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receipt, "Idempotency-Key", "rk-1")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay with the same Idempotency-Key not marked")
	}
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receipt)
	changed := map[string]any{"card_id": card, "receipt_id": "R-1", "lines": []map[string]any{{"service": "CONS-01", "amount": 5}}}
	if r := ta.must(422, "POST", "/v1/clinic/receipts", cl.admin, changed); r.errorCode(t) != "idempotency_conflict" {
		t.Fatalf("same receipt, other body: %s", r.Body)
	}
	ta.must(422, "POST", "/v1/clinic/receipts", cl.admin, changed, "Idempotency-Key", "rk-1")
	ta.must(200, "GET", "/v1/cards/"+card, tok, nil).decode(t, &v)
	if v.Balance != 1100 {
		t.Fatalf("balance after replays %d, want 1100", v.Balance)
	}

	// Clinic 2's staff cannot touch clinic 1's card, receipt or spend.
	ta.must(404, "GET", "/v1/clinic/cards/"+card, other.admin, nil)
	ta.must(404, "POST", "/v1/clinic/receipts", other.admin, map[string]any{"card_id": card, "receipt_id": "X-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 100}}})
	ta.must(404, "POST", "/v1/clinic/receipts/R-1/refund", other.admin, nil)

	// A bonus payment: limits, code by push, one posting.
	spendBody := map[string]any{"card_id": card, "receipt_id": "R-2", "lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "points": 600}
	if r := ta.must(422, "POST", "/v1/clinic/spends", cl.admin, spendBody); r.errorCode(t) != "limit_exceeded" {
		t.Fatalf("over max share: %s", r.Body) // 50% of 1,000.00 roubles is 500 points
	}
	spendBody["points"] = 400
	var sr wallet.SpendResult
	ta.must(201, "POST", "/v1/clinic/spends", cl.admin, spendBody).decode(t, &sr)
	if sr.Status != wallet.SpendAwaiting || sr.MaxPoints != 500 {
		t.Fatalf("spend: %+v", sr)
	}
	code := ta.eventCode(pid, wallet.NoteSpendCode)
	ta.must(404, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", other.admin, map[string]string{"code": code})
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	ta.must(422, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", cl.admin, map[string]string{"code": wrong})
	ta.must(200, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", cl.admin, map[string]string{"code": code}, "Idempotency-Key", "c-1").decode(t, &sr)
	if sr.Status != wallet.SpendConfirmed {
		t.Fatalf("confirmed: %+v", sr)
	}
	r = ta.must(200, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", cl.admin, map[string]string{"code": code}, "Idempotency-Key", "c-1")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("confirm replay not served from the first response")
	}
	if r := ta.must(409, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", cl.admin, map[string]string{"code": code}); r.errorCode(t) != "code_used" {
		t.Fatalf("second confirm: %s", r.Body)
	}
	ta.must(200, "GET", "/v1/cards/"+card, tok, nil).decode(t, &v)
	if v.Balance != 700 {
		t.Fatalf("balance after the spend %d, want 700", v.Balance)
	}

	// The paid receipt of the same number earns on the money paid only.
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card, "receipt_id": "R-2",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "paid_with_points": 400}).decode(t, &rr)
	if rr.Points != 30 { // 5% of the 600.00 roubles paid in money
		t.Fatalf("cashback on a part-points receipt: %+v", rr)
	}

	// Whole refund of R-2: cashback taken back, spent points returned.
	var ref wallet.RefundResult
	ta.must(200, "POST", "/v1/clinic/receipts/R-2/refund", cl.admin, nil, "Idempotency-Key", "ref-1").decode(t, &ref)
	if ref.Reversed != 30 || ref.Returned != 400 {
		t.Fatalf("refund: %+v", ref)
	}
	ta.must(200, "GET", "/v1/cards/"+card, tok, nil).decode(t, &v)
	if v.Balance != 1100 {
		t.Fatalf("balance after refund %d, want 1100", v.Balance)
	}

	// History explains itself; pages with an opaque cursor.
	var h wallet.HistoryPage
	ta.must(200, "GET", "/v1/cards/"+card+"/history?limit=2", tok, nil).decode(t, &h)
	if len(h.Entries) != 2 || h.Next == "" {
		t.Fatalf("history page 1: %+v", h)
	}
	var h2 wallet.HistoryPage
	ta.must(200, "GET", "/v1/cards/"+card+"/history?limit=100&after="+h.Next, tok, nil).decode(t, &h2)
	if len(h2.Entries) != 4 { // welcome, cashback, spend, cashback, refund, refund_spend
		t.Fatalf("history page 2 has %d entries, want 4", len(h2.Entries))
	}
	ta.must(400, "GET", "/v1/cards/"+card+"/history?limit=0", tok, nil)
}

func TestQRCodeLookup(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	other := ta.clinicWithProgram("Other", "other.test")
	_, tok := ta.patient("+79991000005")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
	var code wallet.CardCode
	ta.must(200, "GET", "/v1/cards/"+v.ID+"/code", tok, nil).decode(t, &code)
	var lr lookupResponse
	ta.must(200, "GET", "/v1/clinic/cards/lookup?code="+code.Code, cl.admin, nil).decode(t, &lr)
	if lr.Card == nil || lr.Card.ID != v.ID {
		t.Fatalf("lookup by code: %+v", lr)
	}
	ta.must(404, "GET", "/v1/clinic/cards/lookup?code="+code.Code, other.admin, nil)
	ta.clock.add(code.ExpiresAt.Sub(ta.clock.now()))
	ta.must(404, "GET", "/v1/clinic/cards/lookup?code="+code.Code, cl.admin, nil)

	r := ta.must(200, "GET", "/v1/cards/"+v.ID+"/qr.png", tok, nil)
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("qr.png: %v %v", err, img)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("a QR code may be cached")
	}
}

func TestReports(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, _ := ta.patient("+79991000006")
	card := ta.issueConfirmed(cl, map[string]string{"phone": "+79991000006", "first_name": "Ivan", "last_name": "Ivanov", "birth_date": "1970-01-01"}, pid)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card, "receipt_id": "R-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 1000000}}})
	ta.must(200, "POST", "/v1/clinic/adjustments", cl.manager, map[string]any{"card_id": card, "points": -100, "reason": "duplicate visit"},
		"Idempotency-Key", "adj-1")
	ta.must(403, "POST", "/v1/clinic/adjustments", cl.admin, map[string]any{"card_id": card, "points": 5, "reason": "x"})
	ta.must(403, "GET", "/v1/clinic/reports/totals", cl.admin, nil)

	var tot wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &tot)
	if tot.Issued != 1000 || tot.Outstanding != 900 {
		t.Fatalf("totals: %+v", tot)
	}
	var j wallet.JournalPage
	ta.must(200, "GET", "/v1/clinic/reports/journal?operation=adjustment&reason=duplicate", cl.manager, nil).decode(t, &j)
	if len(j.Rows) != 1 || j.Rows[0].Amount != -100 {
		t.Fatalf("journal by reason: %+v", j)
	}
	ta.must(200, "GET", "/v1/clinic/reports/journal?patient=%2B79991000006", cl.manager, nil).decode(t, &j)
	if len(j.Rows) != 3 {
		t.Fatalf("journal by patient phone: %d rows, want 3", len(j.Rows))
	}
	r := ta.must(200, "GET", "/v1/clinic/reports/journal?format=csv", cl.manager, nil)
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][4] != "operation" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("journal csv: %v %q", err, r.Body)
	}
	var bs staffCardsResponse
	ta.must(200, "GET", "/v1/clinic/reports/cards-by-staff?from=2000-01-01", cl.manager, nil).decode(t, &bs)
	if len(bs.Rows) != 1 || bs.Rows[0].Cards != 1 {
		t.Fatalf("cards by staff: %+v", bs)
	}
	ta.must(400, "GET", "/v1/clinic/reports/cards?from=yesterday", cl.manager, nil)
	ta.mustRaw(400, "GET", "/v1/clinic/reports/totals?format=xml", cl.manager, nil)
}

// TestConcurrentSpendsHTTP: 1,000 concurrent spend+confirm pairs of one
// point on a 500-point card through the API: exactly 500 post, the
// balance ends at 0, and nothing answers 5xx.
func TestConcurrentSpendsHTTP(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, tok := ta.patient("+79991000007")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
	n := 1000
	if testing.Short() {
		n = 200
	}
	type spend struct{ id, code string }
	spends := make([]spend, n)
	for i := range spends { // created one by one: each code is read from the inbox
		var sr wallet.SpendResult
		ta.must(201, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": fmt.Sprintf("S-%d", i),
			"lines": []map[string]any{{"service": "CONS-01", "amount": 1000}}, "points": 1}).decode(t, &sr)
		spends[i] = spend{sr.SpendID, ta.eventCode(pid, wallet.NoteSpendCode)}
	}
	var posted, refused atomic.Int64
	var wg sync.WaitGroup
	for _, sp := range spends {
		wg.Go(func() {
			r := ta.do("POST", "/v1/clinic/spends/"+sp.id+"/confirm", cl.admin, map[string]string{"code": sp.code})
			switch {
			case r.Status == 200:
				posted.Add(1)
			case r.Status == 422 && strings.Contains(string(r.Body), "insufficient_points"):
				refused.Add(1)
			default:
				t.Errorf("confirm: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	want := int64(min(n, 500))
	if posted.Load() != want || refused.Load() != int64(n)-want {
		t.Fatalf("posted %d, refused %d; want %d and %d", posted.Load(), refused.Load(), want, int64(n)-want)
	}
	ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil).decode(t, &v)
	if v.Balance != 500-want {
		t.Fatalf("balance %d, want %d", v.Balance, 500-want)
	}
}

// TestIssueBadInputCreatesNoAccount: reception's requests that fail
// validation leave no patient account behind for the phone they named;
// a second guardian added at reception sees the child's card.
func TestIssueBadInputCreatesNoAccount(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	noAccount := func(phone string) {
		t.Helper()
		if p, err := ta.deps.Identity.PatientByPhone(context.Background(), phone); err == nil {
			t.Fatalf("a failed request created account %s for %s", p.ID, phone)
		}
	}
	r := ta.must(400, "POST", "/v1/clinic/cards", cl.admin, map[string]string{
		"guardian_phone": "+79991000041", "first_name": "Masha", "last_name": "Petrova", "birth_date": "2099-01-01"})
	if r.errorCode(t) != "invalid_input" {
		t.Fatalf("future birth date: %s", r.Body)
	}
	noAccount("+79991000041")
	ta.must(400, "POST", "/v1/clinic/cards", cl.admin, map[string]string{"guardian_phone": "+79991000042", "first_name": "Masha"})
	noAccount("+79991000042")
	ta.must(404, "POST", "/v1/clinic/cards/cd_nope/guardians", cl.admin, map[string]string{"phone": "+79991000043"})
	noAccount("+79991000043")

	momID, _ := ta.patient("+79991000044")
	child := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991000044", "first_name": "Masha",
		"last_name": "Petrova", "birth_date": "2018-06-01"}, momID)
	own := ta.issueConfirmed(cl, map[string]string{"phone": "+79991000044", "first_name": "Olga",
		"last_name": "Petrova", "birth_date": "1988-03-04"}, momID)
	ta.must(400, "POST", "/v1/clinic/cards/"+own+"/guardians", cl.admin, map[string]string{"phone": "+79991000045"})
	noAccount("+79991000045")

	ta.must(204, "POST", "/v1/clinic/cards/"+child+"/guardians", cl.admin, map[string]string{"phone": "+79991000046"})
	_, dadTok := ta.patient("+79991000046")
	var cv wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+child, dadTok, nil).decode(t, &cv)
	if cv.Holder.FirstName != "Masha" {
		t.Fatalf("second guardian's view: %+v", cv)
	}
	ta.must(404, "GET", "/v1/cards/"+own, dadTok, nil)
}

// joinCard signs a patient in and joins them to the clinic; returns the
// patient's id, token and card.
func (ta *testApp) joinCard(cl clinicFixture, phone string) (string, string, wallet.CardView) {
	ta.t.Helper()
	pid, tok := ta.patient(phone)
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(ta.t, &v)
	return pid, tok, v
}

// TestHistoryPageSize: one page-size rule for every wallet list. A limit
// up to the documented maximum is honoured (it used to turn 600 into 100),
// the default is the documented one, and over the maximum is a 400 naming
// the parameter.
func TestHistoryPageSize(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, tok, v := ta.joinCard(cl, "+79991000077")
	const receipts = 120
	for i := range receipts {
		ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": fmt.Sprintf("P-%d", i),
			"lines": []map[string]any{{"service": "CONS-01", "amount": 10000}}})
	}
	const entries = receipts + 1 // and the welcome bonus
	for _, path := range []string{"/v1/cards/" + v.ID + "/history", "/v1/clinic/cards/" + v.ID + "/history"} {
		token := tok
		if strings.HasPrefix(path, "/v1/clinic/") {
			token = cl.admin
		}
		var h wallet.HistoryPage
		ta.must(200, "GET", path+"?limit=600", token, nil).decode(t, &h)
		if len(h.Entries) != entries || h.Next != "" {
			t.Fatalf("%s?limit=600: %d entries (next %q), want all %d", path, len(h.Entries), h.Next, entries)
		}
		ta.must(200, "GET", path, token, nil).decode(t, &h)
		if len(h.Entries) != wallet.DefaultPageSize || h.Next == "" {
			t.Fatalf("%s: %d entries (next %q), want the default %d and a cursor", path, len(h.Entries), h.Next, wallet.DefaultPageSize)
		}
		ta.must(200, "GET", fmt.Sprintf("%s?limit=%d", path, wallet.MaxPageSize), token, nil)
		r := ta.must(400, "GET", fmt.Sprintf("%s?limit=%d", path, wallet.MaxPageSize+1), token, nil)
		var body struct {
			Error struct{ Field string } `json:"error"`
		}
		r.decode(t, &body)
		if body.Error.Field != "limit" {
			t.Fatalf("%s over the maximum: %s", path, r.Body)
		}
	}
	var j wallet.JournalPage
	ta.must(200, "GET", "/v1/clinic/reports/journal?limit=600", cl.manager, nil).decode(t, &j)
	if len(j.Rows) != entries {
		t.Fatalf("journal?limit=600: %d rows, want %d", len(j.Rows), entries)
	}
	ta.must(400, "GET", fmt.Sprintf("/v1/clinic/reports/journal?limit=%d", wallet.MaxPageSize+1), cl.manager, nil)
}

// TestCardBurnCalendarHTTP: the card view carries a burn calendar (no lot
// list, so its size does not grow with the card's history); same-day
// receipts join one lot; the lots page with ?after= for the patient and
// for staff of the clinic only.
func TestCardBurnCalendarHTTP(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	other := ta.clinicWithProgram("Other", "other.test")
	_, tok, v := ta.joinCard(cl, "+79991000078")
	for i := range 3 {
		ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": fmt.Sprintf("C-%d", i),
			"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}})
	}
	r := ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil)
	var raw map[string]any
	r.decode(t, &raw)
	if _, ok := raw["lots"]; ok {
		t.Fatalf("the card view lists lots: %s", r.Body)
	}
	r.decode(t, &v)
	// The welcome bonus (30 days) and three receipts' cashback (365 days).
	if len(v.Burns) != 2 || v.Burns[0].Points != 500 || v.Burns[1].Points != 150 || v.Burns[0].Date == "" || *v.NextBurn != v.Burns[0] {
		t.Fatalf("burn calendar %+v, next %+v", v.Burns, v.NextBurn)
	}
	for _, path := range []string{"/v1/cards/" + v.ID + "/lots", "/v1/clinic/cards/" + v.ID + "/lots"} {
		token := tok
		if strings.HasPrefix(path, "/v1/clinic/") {
			token = cl.admin
		}
		var p1, p2 wallet.LotsPage
		ta.must(200, "GET", path+"?limit=1", token, nil).decode(t, &p1)
		if len(p1.Lots) != 1 || p1.Next == "" || p1.Lots[0].Remaining != 500 {
			t.Fatalf("%s page 1: %+v", path, p1)
		}
		ta.must(200, "GET", path+"?limit=1&after="+p1.Next, token, nil).decode(t, &p2)
		if len(p2.Lots) != 1 || p2.Next != "" || p2.Lots[0].Points != 150 || p2.Lots[0].Remaining != 150 {
			t.Fatalf("%s page 2: %+v", path, p2)
		}
		ta.must(400, "GET", path+"?after=not-a-cursor", token, nil)
	}
	ta.must(404, "GET", "/v1/clinic/cards/"+v.ID+"/lots", other.admin, nil)
	_, stranger := ta.patient("+79991000079")
	ta.must(404, "GET", "/v1/cards/"+v.ID+"/lots", stranger, nil)
}

// TestReceiptBelongsToOneCard: a spend and a receipt with one receipt_id
// on two cards cannot both be accepted (one used to earn full cashback on
// money the other paid in points): the second is a 409 and writes nothing.
func TestReceiptBelongsToOneCard(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	cPid, cTok, cv := ta.joinCard(cl, "+79991000081")
	_, bTok, bv := ta.joinCard(cl, "+79991000082")
	c, b := cv.ID, bv.ID
	lines := []map[string]any{{"service": "CONS-01", "amount": 100000}}
	balance := func(tok, id string) int64 {
		var v wallet.CardView
		ta.must(200, "GET", "/v1/cards/"+id, tok, nil).decode(t, &v)
		return v.Balance
	}
	spend := func(receipt string) wallet.SpendResult {
		var sr wallet.SpendResult
		ta.must(201, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": c, "receipt_id": receipt, "lines": lines, "points": 100}).decode(t, &sr)
		return sr
	}
	confirm := func(sr wallet.SpendResult, want int) resp {
		return ta.must(want, "POST", "/v1/clinic/spends/"+sr.SpendID+"/confirm", cl.admin,
			map[string]string{"code": ta.eventCode(cPid, wallet.NoteSpendCode)})
	}
	receipt := func(cardID, receipt string, want int) resp {
		return ta.must(want, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": cardID, "receipt_id": receipt, "lines": lines})
	}

	// A confirmed spend on C, then the receipt on B: refused, nothing written.
	confirm(spend("XC-1"), 200)
	if r := receipt(b, "XC-1", 409); r.errorCode(t) != "conflict" {
		t.Fatalf("receipt on another card: %s", r.Body)
	}
	if got := balance(bTok, b); got != 500 {
		t.Fatalf("B's balance %d after a refused receipt, want 500", got)
	}
	receipt(c, "XC-1", 200) // C's own receipt is still recorded

	// A receipt on B, then a spend on C for it: refused at once.
	receipt(b, "XB-2", 200)
	if r := ta.must(409, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": c, "receipt_id": "XB-2", "lines": lines, "points": 100}); r.errorCode(t) != "conflict" {
		t.Fatalf("spend on another card: %s", r.Body)
	}

	// A spend awaiting its code on C, the receipt recorded on B: the
	// receipt is B's, so the code no longer posts anything on C.
	before := balance(cTok, c)
	sr := spend("XD-3")
	receipt(b, "XD-3", 200)
	if r := confirm(sr, 409); r.errorCode(t) != "conflict" {
		t.Fatalf("confirming a spend of B's receipt on C: %s", r.Body)
	}
	if got := balance(cTok, c); got != before {
		t.Fatalf("C's balance %d after a refused confirmation, want %d", got, before)
	}
}

// TestSpendCodeGuessingCapped: new spends give new codes, but the wrong
// codes of one card are capped per hour across all of them: the 20th locks
// the card's spends, so even the right code is refused (429 with
// Retry-After) until the hour ends; the patient is told; nothing is posted.
func TestSpendCodeGuessingCapped(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, tok, v := ta.joinCard(cl, "+79991000083")
	spend := func(receipt string) (string, string) {
		var sr wallet.SpendResult
		ta.must(201, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": receipt,
			"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "points": 10}).decode(t, &sr)
		return sr.SpendID, ta.eventCode(pid, wallet.NoteSpendCode)
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "111111"
		}
		return "000000"
	}
	rightID, rightCode := spend("G-3") // awaiting its code while the guessing goes on
	wrongs := 0
	for _, receipt := range []string{"G-1", "G-2"} {
		id, code := spend(receipt)
		for range 10 {
			status := 422 // invalid_code, until the wrong code that fills the hour
			if wrongs++; wrongs == wallet.SpendCodeMax {
				status = 429
			}
			ta.must(status, "POST", "/v1/clinic/spends/"+id+"/confirm", cl.admin, map[string]string{"code": wrong(code)})
		}
	}
	if wrongs != wallet.SpendCodeMax {
		t.Fatalf("%d wrong codes, the limit is %d", wrongs, wallet.SpendCodeMax)
	}
	r := ta.must(429, "POST", "/v1/clinic/spends/"+rightID+"/confirm", cl.admin, map[string]string{"code": rightCode})
	if r.errorCode(t) != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right code after the limit: %s (Retry-After %q)", r.Body, r.Header.Get("Retry-After"))
	}
	r = ta.must(429, "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": "G-9",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "points": 10})
	if r.errorCode(t) != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a new spend on a locked card: %s", r.Body)
	}
	var locked wallet.SpendLockedData
	if err := json.Unmarshal(ta.lastEvent(pid, wallet.NoteSpendLocked).Data, &locked); err != nil || locked.CardID != v.ID {
		t.Fatalf("lock event: %+v, %v", locked, err)
	}
	// The clinic's managers are alerted in their own inbox, read through
	// the API; reception is not.
	var boss clinicResponse
	ta.must(200, "GET", "/v1/clinic", cl.manager, nil).decode(t, &boss)
	var inbox eventsResponse
	ta.must(200, "GET", "/v1/me/events?after=0", cl.manager, nil).decode(t, &inbox)
	alerts := 0
	for _, ev := range inbox.Events {
		var d wallet.SpendLockedData
		if ev.Type == wallet.NoteSpendLockedStaff && json.Unmarshal(ev.Data, &d) == nil && d.CardID == v.ID {
			alerts++
		}
	}
	if alerts != 1 {
		t.Fatalf("manager %s got %d lock alerts, want 1: %+v", boss.Me.ID, alerts, inbox.Events)
	}
	ta.must(200, "GET", "/v1/me/events?after=0", cl.admin, nil).decode(t, &inbox)
	for _, ev := range inbox.Events {
		if ev.Type == wallet.NoteSpendLockedStaff {
			t.Fatalf("reception got the managers' alert: %+v", ev)
		}
	}
	ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil).decode(t, &v)
	if v.Balance != 500 {
		t.Fatalf("balance %d after refused confirmations, want 500", v.Balance)
	}
	// The next hour the card's spends work again.
	ta.clock.add(time.Hour)
	cl.admin = ta.staffLogin("desk@smile.test", "reception-pass").AccessToken // the old token lived 15 minutes
	id, code := spend("G-4")
	ta.must(200, "POST", "/v1/clinic/spends/"+id+"/confirm", cl.admin, map[string]string{"code": code})
}
