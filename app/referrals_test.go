package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/referrals"
	"carewallet/wallet"
)

// The issue's example referral program.
const exampleReferralProgram = `{"enabled": true,
 "referee_bonus": {"points": 300, "burn_days": 60},
 "referrer_bonus": {"points": 100},
 "levels": [{"rate_bp": 700}, {"rate_bp": 200}, {"rate_bp": 100}],
 "reward_on": "first_paid_visit",
 "min_paid": 100000,
 "reward_burn_days": 365,
 "staff_reward_bp": 60,
 "max_rewarded_per_month": 20}`

// member is a patient of the test clinic with their own card.
type member struct {
	id, tok, card string
}

func (ta *testApp) referralClinic(name, domain string) clinicFixture {
	ta.t.Helper()
	cl := ta.clinicWithProgram(name, domain)
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager, exampleReferralProgram)
	return cl
}

// named signs a patient in and sets their names.
func (ta *testApp) named(phone, first, last string) (string, string) {
	ta.t.Helper()
	pid, tok := ta.patient(phone)
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": first, "last_name": last})
	return pid, tok
}

func (ta *testApp) codeOf(m member) string {
	ta.t.Helper()
	var r referralResponse
	ta.must(200, "GET", "/v1/cards/"+m.card+"/referral", m.tok, nil).decode(ta.t, &r)
	return r.Code
}

// joinWith signs a new patient in and joins with code.
func (ta *testApp) joinWith(phone, first, code string) (member, referrals.JoinResult) {
	ta.t.Helper()
	ta.clock.add(time.Second) // friends list in joining order
	pid, tok := ta.named(phone, first, "Ivanova")
	var res referrals.JoinResult
	ta.must(201, "POST", "/v1/me/referral", tok, map[string]string{"code": code}).decode(ta.t, &res)
	return member{id: pid, tok: tok, card: res.CardID}, res
}

// kindSum is the sum of a card's entries of one kind.
func (ta *testApp) kindSum(m member, kind string) int64 {
	ta.t.Helper()
	var page wallet.HistoryPage
	ta.must(200, "GET", "/v1/cards/"+m.card+"/history?limit=1000", m.tok, nil).decode(ta.t, &page)
	var n int64
	for _, e := range page.Entries {
		if e.Kind == kind {
			n += e.Amount
		}
	}
	return n
}

func receiptBody(card, id string, amount int64) map[string]any {
	return map[string]any{"card_id": card, "receipt_id": id, "lines": []map[string]any{{"service": "CONS-01", "amount": amount}}}
}

// chain builds A ← B ← C ← D (D joined with C's code, and so on) and an
// outsider E who came by themselves.
func (ta *testApp) chain(cl clinicFixture) (a, b, c, d, e member) {
	ta.t.Helper()
	pid, tok, v := ta.joinCard(cl, "+79990000001")
	a = member{pid, tok, v.ID}
	b, _ = ta.joinWith("+79990000002", "Boris", ta.codeOf(a))
	c, _ = ta.joinWith("+79990000003", "Clara", ta.codeOf(b))
	d, _ = ta.joinWith("+79990000004", "Daria", ta.codeOf(c))
	pid, tok, v = ta.joinCard(cl, "+79990000005")
	e = member{pid, tok, v.ID}
	return
}

func TestReferralProgramHTTP(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	var p referrals.Program
	ta.must(200, "GET", "/v1/clinic/referral-program", cl.manager, nil).decode(t, &p)
	if p.Enabled || p.Version != 0 {
		t.Fatalf("default program: %+v", p)
	}
	r := ta.must(400, "PUT", "/v1/clinic/referral-program", cl.manager, `{"enabled":true,"reward_on":"first_paid_visit","levels":[{"rate_bp":1},{"rate_bp":1},{"rate_bp":1},{"rate_bp":1}]}`)
	if r.errorCode(t) != "invalid_referral_program" || !strings.Contains(string(r.Body), `"field":"levels"`) {
		t.Fatalf("four levels: %s", r.Body)
	}
	ta.mustRaw(400, "PUT", "/v1/clinic/referral-program", cl.manager, `{"enabled":true,"reward_on":"first_paid_visit","surprise":1}`)
	ta.must(403, "PUT", "/v1/clinic/referral-program", cl.admin, exampleReferralProgram)
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager, exampleReferralProgram).decode(t, &p)
	if !p.Enabled || p.Version != 1 || len(p.Levels) != 3 || p.StaffRewardBP != 60 {
		t.Fatalf("stored: %+v", p)
	}
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager, exampleReferralProgram).decode(t, &p)
	if p.Version != 2 {
		t.Fatalf("second version %d", p.Version)
	}
}

// TestReferralChainPaysOnce: D's first paid receipt pays C, B and A their
// rates (C also the referrer bonus) and nobody else; replays, the job and
// later receipts pay nothing more; a refund claws back in proportion.
func TestReferralChainPaysOnce(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	a, b, c, d, e := ta.chain(cl)
	if got := ta.kindSum(d, wallet.KindRefereeBonus); got != 300 {
		t.Fatalf("referee bonus %d, want 300", got)
	}
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(d.card, "R-1", 1_000_000))
	want := map[string]int64{"A": 100, "B": 200, "C": 800, "D": 0, "E": 0} // 1%, 2%, 7% + 100 of 10,000.00 roubles
	check := func(when string) {
		t.Helper()
		for name, m := range map[string]member{"A": a, "B": b, "C": c, "D": d, "E": e} {
			if got := ta.kindSum(m, wallet.KindReferral); got != want[name] {
				t.Fatalf("%s: %s earned %d, want %d", when, name, got, want[name])
			}
		}
	}
	check("first receipt")
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(d.card, "R-1", 1_000_000)) // replay
	for range 2 {
		if _, err := ta.deps.Referrals.RunRewards(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(d.card, "R-2", 2_000_000)) // not the first visit
	check("replays, job runs and a second receipt")

	// The entry explains itself: friend (masked), level, receipt, rate.
	hist := string(ta.must(200, "GET", "/v1/cards/"+c.card+"/history", c.tok, nil).Body)
	for _, want := range []string{`"kind":"referral"`, `"friend":"Daria I."`, `"level":1`, `"receipt_id":"R-1"`, `"rate_bp":700`} {
		if !strings.Contains(hist, want) {
			t.Fatalf("C's history lacks %s: %s", want, hist)
		}
	}
	if strings.Contains(hist, "+7999") {
		t.Fatal("a phone in the history")
	}
	// The push: RU and EN, no name.
	ev := ta.lastEvent(c.id, referrals.NoteReward)
	if !strings.Contains(string(ev.Data), `"points":800`) {
		t.Fatalf("reward event %s", ev.Data)
	}
	// The three levels are told in one batch, each their own amount, once
	// for R-1 despite the replay and the job runs.
	for name, m := range map[string]member{"A": a, "B": b, "C": c} {
		evs, err := ta.deps.Push.Events(context.Background(), m.id, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Type == referrals.NoteReward && strings.Contains(string(e.Data), `"level"`) {
				n++
				if !strings.Contains(string(e.Data), fmt.Sprintf(`"points":%d`, want[name])) {
					t.Fatalf("%s's reward event %s, want %d points", name, e.Data, want[name])
				}
			}
		}
		if n != 1 {
			t.Fatalf("%s got %d reward events for one paying receipt", name, n)
		}
	}

	// Half the receipt refunded: half of each rate part comes back; the
	// referrer bonus stays (still at least min_paid paid).
	ta.must(200, "POST", "/v1/clinic/receipts/R-1/refund", cl.admin, map[string]any{"lines": []map[string]any{{"service": "CONS-01", "amount": 500_000}}})
	want = map[string]int64{"A": 50, "B": 100, "C": 450, "D": 0, "E": 0}
	check("half refunded")
	if _, err := ta.deps.Referrals.RunRewards(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("half refunded, job again")
	ta.must(200, "POST", "/v1/clinic/receipts/R-1/refund", cl.admin, nil) // the rest
	want = map[string]int64{"A": 0, "B": 0, "C": 0, "D": 0, "E": 0}
	check("all refunded")

	// The friends list: every depth, masked names, statuses.
	var page referrals.FriendsPage
	ta.must(200, "GET", "/v1/cards/"+a.card+"/referrals", a.tok, nil).decode(t, &page)
	if len(page.Rows) != 3 || page.Rows[0].Name != "Boris I." || page.Rows[2].Level != 3 || page.Rows[2].Status != referrals.StatusVisited {
		t.Fatalf("A's friends: %+v", page.Rows)
	}
	if strings.Contains(string(ta.must(200, "GET", "/v1/cards/"+a.card+"/referrals?limit=1", a.tok, nil).Body), "+7999") {
		t.Fatal("a phone in the friends list")
	}
	var ref referralResponse
	ta.must(200, "GET", "/v1/cards/"+b.card+"/referral", b.tok, nil).decode(t, &ref)
	if ref.Stats.Joined != 2 || ref.Stats.Visited != 1 || len(ref.Stats.PerLevel) != 2 || !strings.HasSuffix(ref.Link, "/r/"+ref.Code) {
		t.Fatalf("B's referral: %+v", ref)
	}
}

// TestReferralCrashBetweenReceiptAndRewards: a receipt whose rewards were
// never posted (the process stopped right after the wallet's write) is
// paid by the job, once, however many times and instances run it.
func TestReferralCrashBetweenReceiptAndRewards(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	a, b, _, d, _ := ta.chain(cl)
	ctx := context.Background()
	// The wallet's write alone, as if the process stopped before the
	// rewards: the HTTP handler's hook never runs.
	if _, err := ta.deps.Wallet.RecordReceipt(ctx, wallet.ReceiptRequest{ClinicID: cl.id, CardID: d.card, ReceiptID: "R-9",
		Lines: []wallet.Line{{Service: "CONS-01", Amount: 1_000_000}}}); err != nil {
		t.Fatal(err)
	}
	if got := ta.kindSum(a, wallet.KindReferral); got != 0 {
		t.Fatalf("paid before the job: %d", got)
	}
	// A second instance over the same database, and replays.
	other := referrals.NewService(refStoreOf(t, ta), ReferralWallet{ta.deps.Wallet}, ReferralNotifier{ta.deps.Push},
		ReferralPeople{ta.deps.Identity}, referrals.Options{Now: ta.clock.now})
	done := make(chan error, 2)
	for _, svc := range []*referrals.Service{ta.deps.Referrals, other} {
		go func() { _, err := svc.RunRewards(ctx); done <- err }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ta.deps.Referrals.RunRewards(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ta.kindSum(a, wallet.KindReferral); got != 100 {
		t.Fatalf("A after the job: %d, want 100", got)
	}
	if got := ta.kindSum(b, wallet.KindReferral); got != 200 {
		t.Fatalf("B after the job: %d, want 200", got)
	}
}

// TestReferralJoinRefusals: each refusal has its own error and writes
// nothing; wrong codes are capped per patient per hour.
func TestReferralJoinRefusals(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	pid, tok, v := ta.joinCard(cl, "+79990000001")
	a := member{pid, tok, v.ID}
	code := ta.codeOf(a)
	if code2 := ta.codeOf(a); code2 != code || len(code) != referrals.CodeLength || strings.ContainsAny(code, "0O1I") {
		t.Fatalf("codes %q %q", code, code2)
	}
	if r := ta.must(422, "POST", "/v1/me/referral", a.tok, map[string]string{"code": code}); r.errorCode(t) != "self_referral" {
		t.Fatalf("own code: %s", r.Body)
	}
	// A patient who already paid at the clinic is not new.
	_, ptok, pv := ta.joinCard(cl, "+79990000009")
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(pv.ID, "R-P", 100_000))
	if r := ta.must(409, "POST", "/v1/me/referral", ptok, map[string]string{"code": code}); r.errorCode(t) != "not_new_patient" {
		t.Fatalf("paid patient: %s", r.Body)
	}
	// Joined once; a second code is refused, the same one is answered again.
	b, res := ta.joinWith("+79990000002", "Boris", code)
	if res.Status != "joined" || res.RefereeBonus != 300 {
		t.Fatalf("join: %+v", res)
	}
	ta.must(201, "POST", "/v1/me/referral", b.tok, map[string]string{"code": code})
	if got := ta.kindSum(b, wallet.KindRefereeBonus); got != 300 {
		t.Fatalf("bonus after a repeat: %d", got)
	}
	_, _, cv := ta.joinCard(cl, "+79990000003")
	_ = cv
	pc, ctok := ta.patient("+79990000003")
	_ = pc
	var cards cardsResponse
	ta.must(200, "GET", "/v1/me/cards", ctok, nil).decode(t, &cards)
	cm := member{pc, ctok, cards.Cards[0].ID}
	if r := ta.must(409, "POST", "/v1/me/referral", b.tok, map[string]string{"code": ta.codeOf(cm)}); r.errorCode(t) != "already_referred" {
		t.Fatalf("second referrer: %s", r.Body)
	}
	// Wrong codes: 10 an hour are answered, then every code is refused
	// (a right one too) and nothing is written.
	_, ntok := ta.patient("+79990000004")
	for i := range 10 {
		if r := ta.must(404, "POST", "/v1/me/referral", ntok, map[string]string{"code": "ZZZZZZ" + string(rune('2'+i%8))}); r.errorCode(t) != "unknown_referral_code" {
			t.Fatalf("wrong code %d: %s", i, r.Body)
		}
	}
	r := ta.must(429, "POST", "/v1/me/referral", ntok, map[string]string{"code": code})
	if r.errorCode(t) != "too_many_codes" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("11th code: %s", r.Body)
	}
	ta.must(200, "GET", "/v1/me/cards", ntok, nil).decode(t, &cards)
	if len(cards.Cards) != 0 {
		t.Fatalf("refused joins wrote cards: %+v", cards.Cards)
	}
	ta.clock.add(61 * time.Minute)
	_, ntok = ta.patient("+79990000004") // the access tokens expired meanwhile
	cl.admin = ta.staffLogin("desk@smile.test", "reception-pass").AccessToken
	ta.must(201, "POST", "/v1/me/referral", ntok, map[string]string{"code": code})

	// POST /v1/me/cards with referral_code joins the same way.
	_, etok := ta.patient("+79990000005")
	var view wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", etok, map[string]string{"clinic_id": cl.id, "referral_code": strings.ToLower(code)}).decode(t, &view)
	if view.Balance != 500+300 {
		t.Fatalf("welcome + referee bonus: %d", view.Balance)
	}
	// A dependant's card has no code.
	depCard := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79990000005", "first_name": "Kid", "last_name": "Ivanov", "birth_date": "2019-05-01"}, ta.patientIDByPhone("+79990000005"))
	if r := ta.must(409, "GET", "/v1/cards/"+depCard+"/referral", etok, nil); r.errorCode(t) != "not_own_card" {
		t.Fatalf("dependant card: %s", r.Body)
	}
}

// TestReferralPage: the public page shows the clinic, the code and the
// referrer's first name only, with no script.
func TestReferralPage(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile Dental", "smile.test")
	pid, tok := ta.named("+79990000001", "Anna", "Ivanova")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
	code := ta.codeOf(member{pid, tok, v.ID})
	r := ta.must(200, "GET", "/r/"+code, "", nil)
	body := string(r.Body)
	if !strings.Contains(body, "Smile Dental") || !strings.Contains(body, code) || !strings.Contains(body, "Anna") {
		t.Fatalf("page: %s", body)
	}
	if strings.Contains(body, "Ivanova") || strings.Contains(body, "7999") || strings.Contains(strings.ToLower(body), "<script") {
		t.Fatalf("page leaks: %s", body)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("content type %q", r.Header.Get("Content-Type"))
	}
	ta.must(404, "GET", "/r/ZZZZZZZ", "", nil)
	qr := ta.must(200, "GET", "/v1/cards/"+v.ID+"/referral/qr.png", tok, nil)
	if !strings.HasPrefix(string(qr.Body), "\x89PNG") {
		t.Fatal("qr.png is not a PNG")
	}
}

// TestReferralFraud: velocity holds a referral until a manager decides;
// a shared device with the referrer is self-referral; the monthly cap.
func TestReferralFraud(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	prog := strings.Replace(exampleReferralProgram, `"max_rewarded_per_month": 20`, `"max_rewarded_per_month": 1, "max_joins_per_day": 1`, 1)
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager, prog)
	pid, tok, v := ta.joinCard(cl, "+79990000001")
	a := member{pid, tok, v.ID}
	code := ta.codeOf(a)
	b, res := ta.joinWith("+79990000002", "Boris", code)
	if res.Status != "joined" {
		t.Fatalf("first join: %+v", res)
	}
	c, res := ta.joinWith("+79990000003", "Clara", code) // the second today: held
	if res.Status != referrals.StatusHeld || res.RefereeBonus != 0 {
		t.Fatalf("second join: %+v", res)
	}
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(b.card, "R-B", 1_000_000))
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(c.card, "R-C", 1_000_000))
	if got := ta.kindSum(a, wallet.KindReferral); got != 800 {
		t.Fatalf("A earned %d, want 800 (C's reward held)", got)
	}
	var page referrals.FriendsPage
	ta.must(200, "GET", "/v1/cards/"+a.card+"/referrals", a.tok, nil).decode(t, &page)
	if len(page.Rows) != 2 || page.Rows[1].Status != referrals.StatusHeld {
		t.Fatalf("friends: %+v", page.Rows)
	}
	ta.must(400, "POST", "/v1/clinic/referrals/"+page.Rows[1].ID+"/approve", cl.manager, map[string]string{"reason": ""})
	ta.must(403, "POST", "/v1/clinic/referrals/"+page.Rows[1].ID+"/approve", cl.admin, map[string]string{"reason": "checked"})
	ta.must(409, "POST", "/v1/clinic/referrals/"+page.Rows[0].ID+"/approve", cl.manager, map[string]string{"reason": "not held"})
	ta.must(200, "POST", "/v1/clinic/referrals/"+page.Rows[1].ID+"/approve", cl.manager, map[string]string{"reason": "called the patient"})
	if r := ta.must(409, "POST", "/v1/clinic/referrals/"+page.Rows[1].ID+"/reject", cl.manager, map[string]string{"reason": "changed my mind"}); r.errorCode(t) != "already_decided" {
		t.Fatalf("second decision: %s", r.Body)
	}
	// Approved: C's referee bonus is paid; A's reward on C's visit was
	// recorded while held and, approved, meets the monthly cap (1 friend,
	// B's): not paid, however often the approval's work re-runs.
	if got := ta.kindSum(c, wallet.KindRefereeBonus); got != 300 {
		t.Fatalf("C's bonus after approval: %d", got)
	}
	if _, err := ta.deps.Referrals.RunRewards(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ta.kindSum(a, wallet.KindReferral); got != 800 {
		t.Fatalf("A after approval: %d, want 800 (capped)", got)
	}

	// Self-referral by a device the referrer used.
	ta.must(204, "PUT", "/v1/me/devices", a.tok, map[string]string{"token": "device-token-1", "platform": "android"})
	_, dtok := ta.patient("+79990000004")
	ta.must(204, "PUT", "/v1/me/devices", dtok, map[string]string{"token": "device-token-1", "platform": "android"})
	if r := ta.must(422, "POST", "/v1/me/referral", dtok, map[string]string{"code": code}); r.errorCode(t) != "self_referral" {
		t.Fatalf("shared device: %s", r.Body)
	}
}

// TestReferralMonthlyCap: max_rewarded_per_month caps the friends
// rewarded per referrer.
func TestReferralMonthlyCap(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager,
		strings.Replace(exampleReferralProgram, `"max_rewarded_per_month": 20`, `"max_rewarded_per_month": 1`, 1))
	pid, tok, v := ta.joinCard(cl, "+79990000001")
	a := member{pid, tok, v.ID}
	code := ta.codeOf(a)
	b, _ := ta.joinWith("+79990000002", "Boris", code)
	c, _ := ta.joinWith("+79990000003", "Clara", code)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(b.card, "R-B", 1_000_000))
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(c.card, "R-C", 1_000_000))
	if got := ta.kindSum(a, wallet.KindReferral); got != 800 {
		t.Fatalf("A earned %d, want 800 (one friend a month)", got)
	}
}

// refStoreOf opens a second referrals store on the test app's database,
// standing for another instance.
func refStoreOf(t *testing.T, ta *testApp) referrals.Store {
	t.Helper()
	st, err := referrals.NewSQLiteStore(context.Background(), ta.db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReferralRewardsBesideReceipts: referral receipts, whose rewards are
// credited to the referrers' cards in one SQLite unit, run at once with
// receipts on those very cards. A unit holds the only writer connection
// and must not wait for a card lock whose holder waits for that
// connection (a hang fails the test at go test's -timeout, with the
// stacks); every reward and every receipt's cashback arrives once.
func TestReferralRewardsBesideReceipts(t *testing.T) {
	ta := newTestApp(t, func(o *identity.Options) {
		o.Limits = identity.Limits{CodesPerClientHour: 1000, CodesPerMinute: 1000, CodesPerHour: 1000,
			ChecksPerClientHour: 1000, ChecksPerMinute: 1000}
	})
	cl := ta.referralClinic("Smile", "smile.test")
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager, strings.Replace(exampleReferralProgram,
		`"max_rewarded_per_month": 20`, `"max_rewarded_per_month": 0, "max_joins_per_day": 1000`, 1))
	a, b, c, _, _ := ta.chain(cl)
	const friends = 6
	var refs []member
	for i := range friends {
		m, _ := ta.joinWith(fmt.Sprintf("+7999100%04d", i), "Friend", ta.codeOf(c))
		refs = append(refs, m)
	}
	before := map[string]int64{}
	for name, m := range map[string]member{"A": a, "B": b, "C": c} {
		before[name] = ta.kindSum(m, wallet.KindCashback)
	}
	var wg sync.WaitGroup
	statuses := make(chan int, 2*friends)
	for i, f := range refs {
		wg.Go(func() {
			statuses <- ta.doRaw("POST", "/v1/clinic/receipts", cl.admin, receiptBody(f.card, fmt.Sprint("F-", i), 1_000_000)).Status
		})
		own := []member{a, b, c}[i%3]
		wg.Go(func() {
			statuses <- ta.doRaw("POST", "/v1/clinic/receipts", cl.admin, receiptBody(own.card, fmt.Sprint("O-", i), 1_000_000)).Status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("a receipt answered %d", s)
		}
	}
	// Each friend's first paid visit pays C 7% + 100, B 2%, A 1% of
	// 10,000.00 roubles; B's and C's own first receipts are first paid
	// visits too (B pays A 800; C pays B 800 and A 200); each own receipt
	// earns its card's cashback.
	wants := map[string]int64{"A": 100*friends + 800 + 200, "B": 200*friends + 800, "C": 800 * friends}
	for name, m := range map[string]member{"A": a, "B": b, "C": c} {
		want := wants[name]
		if got := ta.kindSum(m, wallet.KindReferral); got != want {
			t.Fatalf("%s earned %d referral points, want %d", name, got, want)
		}
		if got := ta.kindSum(m, wallet.KindCashback) - before[name]; got <= 0 {
			t.Fatalf("%s's own receipts earned %d cashback", name, got)
		}
	}
	if _, err := ta.deps.Referrals.RunRewards(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ta.kindSum(c, wallet.KindReferral); got != 800*friends {
		t.Fatalf("after the job C has %d referral points, want %d", got, 800*friends)
	}
}
