package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/wallet"
)

func logoPNG(t *testing.T, side int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, side, side))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var smileProfile = map[string]any{"name": "Smile Dental", "address": "Moscow, Tverskaya 1", "phone": "+7 495 123-45-67",
	"site": "https://smile.example", "hours": "Mon–Fri 9–21\nSat 10–18", "about": "Family dentistry"}

func withLogo(p map[string]any, logo []byte) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		out[k] = v
	}
	out["logo"] = base64.StdEncoding.EncodeToString(logo)
	return out
}

// TestClinicProfileHTTP: managers set the profile; bad input (text, site,
// phone, a file that is not an image, an oversized logo) writes nothing;
// the logo is served with its type and caching; patients read the
// profile with the program's rules in numbers and words.
func TestClinicProfileHTTP(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	_, tok := ta.patient("+79993000001")

	var p clinicProfile
	ta.must(200, "GET", "/v1/clinic/profile", cl.admin, nil).decode(t, &p)
	if p.Name != "Smile" || p.LogoURL != "" || p.UpdatedAt != nil {
		t.Fatalf("profile before any edit: %+v", p)
	}
	ta.must(403, "PUT", "/v1/clinic/profile", cl.admin, smileProfile)
	ta.must(403, "PUT", "/v1/clinic/profile", tok, smileProfile)
	for field, body := range map[string]any{
		"site":    map[string]any{"name": "X", "site": "javascript:alert(1)"},
		"phone":   map[string]any{"name": "X", "phone": "ring us"},
		"address": map[string]any{"name": "X", "address": "line\nbreak"},
		"about":   map[string]any{"name": "X", "about": strings.Repeat("a", 2001)},
		"name":    map[string]any{"name": "  "},
		"logo":    withLogo(map[string]any{"name": "X"}, []byte("\x89PNG\r\n\x1a\n-- not an image --")),
	} {
		r := ta.must(400, "PUT", "/v1/clinic/profile", cl.manager, body)
		var e errorBody
		r.decode(t, &e)
		if e.Error.Field != field {
			t.Errorf("%s: error %+v", field, e.Error)
		}
	}
	big := append(logoPNG(t, 8), make([]byte, 512<<10)...)
	if r := ta.must(400, "PUT", "/v1/clinic/profile", cl.manager, withLogo(map[string]any{"name": "X"}, big)); !strings.Contains(string(r.Body), "at most 524288 bytes") {
		t.Fatalf("oversized logo: %s", r.Body)
	}
	both := withLogo(map[string]any{"name": "X", "remove_logo": true}, logoPNG(t, 8))
	ta.must(400, "PUT", "/v1/clinic/profile", cl.manager, both)
	ta.must(200, "GET", "/v1/clinic/profile", cl.admin, nil).decode(t, &p)
	if p.Name != "Smile" || p.UpdatedAt != nil {
		t.Fatalf("a refused edit wrote: %+v", p)
	}

	logo := logoPNG(t, 64)
	ta.must(200, "PUT", "/v1/clinic/profile", cl.manager, withLogo(smileProfile, logo)).decode(t, &p)
	if p.Name != "Smile Dental" || p.Phone != "+74951234567" || p.Hours != "Mon–Fri 9–21\nSat 10–18" || p.UpdatedAt == nil ||
		!strings.HasPrefix(p.LogoURL, "http://localhost:8080/v1/clinics/"+cl.id+"/logo?v=") {
		t.Fatalf("profile: %+v", p)
	}
	path := strings.TrimPrefix(p.LogoURL, "http://localhost:8080")
	r := ta.must(200, "GET", path, "", nil)
	if !bytes.Equal(r.Body, logo) || r.Header.Get("Content-Type") != "image/png" ||
		r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.Header.Get("ETag") == "" {
		t.Fatalf("logo: %d bytes, headers %v", len(r.Body), r.Header)
	}
	if r := ta.must(200, "GET", "/v1/clinics/"+cl.id+"/logo", "", nil); r.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("unversioned logo cached: %v", r.Header)
	}
	// Leaving the logo out keeps it.
	ta.must(200, "PUT", "/v1/clinic/profile", cl.manager, smileProfile).decode(t, &p)
	if !strings.HasSuffix(p.LogoURL, path[strings.Index(path, "?"):]) {
		t.Fatalf("logo lost by an edit without one: %+v", p)
	}

	// The patient's view: profile, rules, referral offer.
	var info clinicInfo
	ta.must(200, "GET", "/v1/clinics/"+cl.id, tok, nil).decode(t, &info)
	if info.Name != "Smile Dental" || info.Address != "Moscow, Tverskaya 1" || info.LogoURL != p.LogoURL {
		t.Fatalf("clinic info: %+v", info.clinicProfile)
	}
	ru := info.Rules
	if len(ru.Cashback) != 2 || ru.Cashback[1].Level != "VIP" || ru.Cashback[1].MinSpend != 15000000 || ru.Cashback[1].CashbackBP != 1000 ||
		!strings.Contains(ru.Cashback[1].Words.EN, "once you have paid RUB 150,000 in total") || ru.Cashback[1].Words.RU == "" {
		t.Errorf("cashback: %+v", ru.Cashback)
	}
	if len(ru.Services) != 3 || ru.Services[2].Service != "LAB-01" || ru.Services[2].PayWithPoints || *ru.Services[1].Points != 50 {
		t.Errorf("services: %+v", ru.Services)
	}
	if ru.MaxShareBP != 5000 || ru.ShareWords.EN != "Points can pay up to 50% of a bill" || ru.ShareWords.RU != "Баллами можно оплатить до 50 % счёта" {
		t.Errorf("share: %d %+v", ru.MaxShareBP, ru.ShareWords)
	}
	if len(ru.Bonuses) != 3 || ru.Bonuses[0].Kind != "welcome" || ru.Bonuses[0].Points != 500 || ru.Bonuses[0].BurnDays != 30 ||
		ru.Bonuses[0].Words.EN != "500 points for joining the program; they burn after 30 days" {
		t.Errorf("bonuses: %+v", ru.Bonuses)
	}
	if info.Referral == nil || !info.Referral.Enabled || info.Referral.RefereeBonus.Points != 300 || info.Referral.RatesBP[0] != 700 ||
		!strings.Contains(info.Referral.EN, "you get 100 points and 7% of what they pay") {
		t.Errorf("referral offer: %+v", info.Referral)
	}
	ta.must(404, "GET", "/v1/clinics/cl_missing", tok, nil)
	ta.must(403, "GET", "/v1/clinics/"+cl.id, cl.admin, nil)
	ta.must(401, "GET", "/v1/clinics/"+cl.id, "", nil)

	// remove_logo drops it.
	p = clinicProfile{}
	ta.must(200, "PUT", "/v1/clinic/profile", cl.manager, map[string]any{"name": "Smile Dental", "remove_logo": true}).decode(t, &p)
	if p.LogoURL != "" {
		t.Fatalf("logo after remove_logo: %q", p.LogoURL)
	}
	ta.must(404, "GET", path, "", nil)
}

// TestCardsCarryTheirClinic: every card the patient reads names its
// clinic and its logo.
func TestCardsCarryTheirClinic(t *testing.T) {
	ta := newTestApp(t)
	a := ta.clinicWithProgram("Smile", "smile.test")
	b := ta.clinicWithProgram("Bright", "bright.test")
	ta.must(200, "PUT", "/v1/clinic/profile", a.manager, withLogo(smileProfile, logoPNG(t, 8)))
	_, tok := ta.patient("+79993000002")
	var ca, cb cardWithClinic
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": a.id}).decode(t, &ca)
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": b.id}).decode(t, &cb)
	if ca.ClinicName != "Smile Dental" || ca.ClinicLogoURL == "" || cb.ClinicName != "Bright" || cb.ClinicLogoURL != "" {
		t.Fatalf("join answers: %+v / %+v", ca.clinicOfCard, cb.clinicOfCard)
	}
	var mine cardsResponse
	ta.must(200, "GET", "/v1/me/cards", tok, nil).decode(t, &mine)
	names := map[string]string{}
	for _, c := range mine.Cards {
		names[c.ID] = c.ClinicName
		if c.ConfirmURL != "" {
			t.Errorf("active card with a confirm action: %+v", c)
		}
	}
	if len(mine.Cards) != 2 || names[ca.ID] != "Smile Dental" || names[cb.ID] != "Bright" {
		t.Fatalf("my cards: %+v", mine.Cards)
	}
	var one cardWithClinic
	ta.must(200, "GET", "/v1/cards/"+ca.ID, tok, nil).decode(t, &one)
	if one.ClinicName != "Smile Dental" || one.ClinicLogoURL != ca.ClinicLogoURL || one.Balance != 500 {
		t.Fatalf("card: %+v", one)
	}
}

// TestJoinByCode: the clinic's code is stable, its QR and page point to
// it, and a patient joins by it (typed loosely, with a referral code too).
func TestJoinByCode(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	other := ta.clinicWithProgram("Other", "other.test")
	var jc, again, theirs joinCodeResponse
	ta.must(200, "GET", "/v1/clinic/join-code", cl.admin, nil).decode(t, &jc)
	ta.must(200, "GET", "/v1/clinic/join-code", cl.manager, nil).decode(t, &again)
	ta.must(200, "GET", "/v1/clinic/join-code", other.admin, nil).decode(t, &theirs)
	if len(jc.Code) != 6 || again.Code != jc.Code || theirs.Code == jc.Code || jc.Link != "http://localhost:8080/j/"+jc.Code ||
		jc.QRURL != "http://localhost:8080/v1/clinic/join-qr.png" {
		t.Fatalf("join codes: %+v %+v %+v", jc, again, theirs)
	}
	r := ta.must(200, "GET", "/v1/clinic/join-qr.png", cl.admin, nil)
	if _, err := png.Decode(bytes.NewReader(r.Body)); err != nil || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR: %v %v", err, r.Header)
	}
	_, ptok := ta.patient("+79993000003")
	ta.must(403, "GET", "/v1/clinic/join-code", ptok, nil)

	page := ta.must(200, "GET", "/j/"+strings.ToLower(jc.Code), "", nil)
	body := string(page.Body)
	if !strings.Contains(body, "<h1>Smile</h1>") || !strings.Contains(body, jc.Code) || strings.Contains(body, "<script") ||
		!strings.Contains(body, "Install the CareWallet app") || !strings.Contains(body, "Установите приложение") ||
		!strings.Contains(page.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("page: %v\n%s", page.Header, body)
	}
	if r := ta.must(404, "GET", "/j/ZZZZZZ", "", nil); r.errorCode(t) != "unknown_join_code" {
		t.Fatalf("unknown code page: %s", r.Body)
	}

	ta.must(400, "POST", "/v1/me/cards", ptok, map[string]string{"clinic_id": cl.id, "join_code": jc.Code})
	ta.must(400, "POST", "/v1/me/cards", ptok, map[string]string{})
	if r := ta.must(404, "POST", "/v1/me/cards", ptok, map[string]string{"join_code": "ZZZZZZ"}); r.errorCode(t) != "unknown_join_code" {
		t.Fatalf("unknown code: %s", r.Body)
	}
	var mine cardsResponse
	ta.must(200, "GET", "/v1/me/cards", ptok, nil).decode(t, &mine)
	if len(mine.Cards) != 0 {
		t.Fatalf("refused joins made cards: %+v", mine.Cards)
	}
	typed := jc.Code[:3] + "-" + strings.ToLower(jc.Code[3:])
	var v cardWithClinic
	ta.must(201, "POST", "/v1/me/cards", ptok, map[string]string{"join_code": typed}).decode(t, &v)
	if v.ClinicID != cl.id || v.ClinicName != "Smile" || v.Status != wallet.StatusActive || v.Balance != 500 {
		t.Fatalf("joined by code: %+v", v)
	}

	// A friend joins by the clinic's code and the patient's referral code.
	var ref referralResponse
	ta.must(200, "GET", "/v1/cards/"+v.ID+"/referral", ptok, nil).decode(t, &ref)
	_, ftok := ta.patient("+79993000004")
	var fv cardWithClinic
	ta.must(201, "POST", "/v1/me/cards", ftok, map[string]string{"join_code": jc.Code, "referral_code": ref.Code}).decode(t, &fv)
	if fv.ClinicID != cl.id || fv.Balance != 500+300 || fv.ClinicName != "Smile" {
		t.Fatalf("joined by code with a referral code: %+v", fv)
	}
}

// TestUnconfirmedCards: a card registered at reception for a patient
// without the app earns on receipts, refuses spending, holds its burn
// warnings and its staff member's credit, and shows apart in the
// reports; once the patient confirms it in the app it is an ordinary
// card whose points kept their burn dates.
func TestUnconfirmedCards(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	desk := ta.deskID("smile.test")
	const phone = "+79993000005"

	ta.must(400, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"guardian_phone": phone, "first_name": "Kid", "last_name": "X",
		"birth_date": "2020-01-01", "unconfirmed": true})
	var res wallet.IssueCardResult
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"phone": phone, "first_name": "Anna", "unconfirmed": true}).decode(t, &res)
	if res.Status != wallet.StatusUnconfirmed || res.CodeExpiresAt != nil {
		t.Fatalf("registered: %+v", res)
	}
	card := res.CardID
	if r := ta.must(409, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"phone": phone, "unconfirmed": true}); r.errorCode(t) != "card_exists" {
		t.Fatalf("second registration: %s", r.Body)
	}
	ta.must(409, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"phone": phone})

	// It earns; it cannot be spent from; its staff member is not credited yet.
	var rr wallet.ReceiptResult
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(card, "R-1", 1_000_000)).decode(t, &rr)
	if rr.Points != 500 || rr.Balance != 500 {
		t.Fatalf("receipt on an unconfirmed card: %+v", rr)
	}
	spend := map[string]any{"card_id": card, "receipt_id": "R-2", "lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "points": 100}
	if r := ta.must(409, "POST", "/v1/clinic/spends", cl.admin, spend); r.errorCode(t) != "card_unconfirmed" {
		t.Fatalf("spend from an unconfirmed card: %s", r.Body)
	}
	var acct staffRewardsResponse
	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.manager, nil).decode(t, &acct)
	if acct.Earned != 0 {
		t.Fatalf("staff credited before confirmation: %+v", acct.StaffAccount)
	}
	var byStaff staffCardsResponse
	ta.must(200, "GET", "/v1/clinic/reports/cards-by-staff", cl.manager, nil).decode(t, &byStaff)
	if len(byStaff.Rows) != 0 {
		t.Fatalf("cards by staff before confirmation: %+v", byStaff.Rows)
	}
	var tot wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &tot)
	if tot.Unconfirmed == nil || tot.Unconfirmed.Cards != 1 || tot.Unconfirmed.Points != 500 || tot.Outstanding != 500 {
		t.Fatalf("totals: %+v %+v", tot, tot.Unconfirmed)
	}
	var rows wallet.CardsPage
	ta.must(200, "GET", "/v1/clinic/reports/cards", cl.manager, nil).decode(t, &rows)
	if len(rows.Rows) != 1 || rows.Rows[0].Status != wallet.StatusUnconfirmed {
		t.Fatalf("cards report: %+v", rows.Rows)
	}

	// The warning time of the receipt's points comes (365-day points,
	// warned 14 days before): nothing is sent while unconfirmed.
	var lotsBefore wallet.LotsPage
	ta.must(200, "GET", "/v1/clinic/cards/"+card+"/lots", cl.admin, nil).decode(t, &lotsBefore)
	ta.clock.add(355 * 24 * time.Hour)
	if _, err := ta.deps.Wallet.RunBurn(context.Background(), ta.clock.now()); err != nil {
		t.Fatal(err)
	}
	cl.manager = ta.staffLogin("boss@smile.test", "manager-password").AccessToken
	cl.admin = ta.staffLogin("desk@smile.test", "reception-pass").AccessToken
	pid, tok := ta.patient(phone)
	if n := ta.countEvents(pid, wallet.NoteBurnWarning); n != 0 {
		t.Fatalf("%d burn warnings for an unconfirmed card", n)
	}

	// The patient sees it with a confirm action; another patient cannot confirm it.
	var mine cardsResponse
	ta.must(200, "GET", "/v1/me/cards", tok, nil).decode(t, &mine)
	if len(mine.Cards) != 1 || mine.Cards[0].Status != wallet.StatusUnconfirmed || mine.Cards[0].ClinicName != "Smile" ||
		mine.Cards[0].ConfirmURL != "http://localhost:8080/v1/me/cards/"+card+"/confirm" || mine.Cards[0].Balance != 500 {
		t.Fatalf("my cards: %+v", mine.Cards)
	}
	_, stranger := ta.patient("+79993000006")
	ta.must(404, "POST", "/v1/me/cards/"+card+"/confirm", stranger, nil)

	// Two confirmations at once: one card, one welcome bonus, one warning.
	var wg sync.WaitGroup
	views := make([]cardWithClinic, 2)
	for i := range views {
		wg.Go(func() { ta.must(200, "POST", "/v1/me/cards/"+card+"/confirm", tok, nil).decode(t, &views[i]) })
	}
	wg.Wait()
	for _, v := range views {
		if v.Status != wallet.StatusActive || v.ConfirmURL != "" || v.ClinicName != "Smile" {
			t.Fatalf("confirmed: %+v", v)
		}
	}
	var v cardWithClinic
	ta.must(200, "POST", "/v1/me/cards/"+card+"/confirm", tok, nil).decode(t, &v) // a retry answers the card
	if v.Balance != 500+500 {
		t.Fatalf("balance after confirmation %d, want the receipt's 500 and one welcome bonus of 500", v.Balance)
	}
	if n := ta.countEvents(pid, wallet.NoteBurnWarning); n != 1 {
		t.Fatalf("%d burn warnings after confirmation, want 1", n)
	}
	var lotsAfter wallet.LotsPage
	ta.must(200, "GET", "/v1/cards/"+card+"/lots", tok, nil).decode(t, &lotsAfter)
	kept := false
	for _, l := range lotsAfter.Lots {
		if l.Kind == wallet.KindCashback && l.BurnsAt.Equal(lotsBefore.Lots[0].BurnsAt) {
			kept = true
		}
	}
	if !kept {
		t.Fatalf("the receipt's points lost their burn date: before %+v, after %+v", lotsBefore.Lots, lotsAfter.Lots)
	}

	// The staff member is credited now (0.6% of 10,000 roubles), once.
	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.manager, nil).decode(t, &acct)
	if acct.Earned != 60 || acct.Patients != 1 {
		t.Fatalf("staff credit after confirmation: %+v", acct.StaffAccount)
	}
	ta.must(200, "GET", "/v1/clinic/reports/cards-by-staff", cl.manager, nil).decode(t, &byStaff)
	if len(byStaff.Rows) != 1 || byStaff.Rows[0].StaffID != desk || byStaff.Rows[0].Cards != 1 {
		t.Fatalf("cards by staff after confirmation: %+v", byStaff.Rows)
	}
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &tot)
	if tot.Unconfirmed.Cards != 0 || tot.Unconfirmed.Points != 0 {
		t.Fatalf("totals after confirmation: %+v", tot.Unconfirmed)
	}
	// Spending works now.
	ta.must(201, "POST", "/v1/clinic/spends", cl.admin, spend)

	// A pending card (issued with a code) is not confirmed from the app.
	const phone2 = "+79993000007"
	pid2, tok2 := ta.patient(phone2)
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"phone": phone2}).decode(t, &res)
	if r := ta.must(409, "POST", "/v1/me/cards/"+res.CardID+"/confirm", tok2, nil); r.errorCode(t) != "nothing_to_confirm" {
		t.Fatalf("confirming a pending card: %s", r.Body)
	}
	_ = pid2
}

// TestUnconfirmedCardJoinConfirms: joining the clinic from the app
// confirms the card reception registered for the patient's phone.
func TestUnconfirmedCardJoinConfirms(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	var res wallet.IssueCardResult
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"phone": "+79993000008", "unconfirmed": true}).decode(t, &res)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(res.CardID, "R-1", 200_000))
	_, tok := ta.patient("+79993000008")
	var v cardWithClinic
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
	if v.ID != res.CardID || v.Status != wallet.StatusActive || v.Balance != 100+500 {
		t.Fatalf("join over an unconfirmed card: %+v", v)
	}
}
