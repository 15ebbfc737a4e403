package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"

	"carewallet/referrals"
)

// deskID is the id of the clinic's reception account (desk@domain).
func (ta *testApp) deskID(domain string) string {
	ta.t.Helper()
	st, err := ta.deps.Identity.StaffByEmail(context.Background(), "desk@"+domain)
	if err != nil {
		ta.t.Fatal(err)
	}
	return st.ID
}

// TestStaffEnrolmentRewards: the staff member who issued a card (or whose
// code the patient entered) earns staff_reward_bp of every paid receipt;
// a refund claws it back; payouts never exceed the balance and replay.
func TestStaffEnrolmentRewards(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	desk := ta.deskID("smile.test")
	pid, _ := ta.patient("+79990000001")
	card := ta.issueConfirmed(cl, map[string]string{"phone": "+79990000001"}, pid)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(card, "R-1", 1_000_000))
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(card, "R-2", 500_000))

	// A patient who joins from the app with the desk's code.
	var acct staffRewardsResponse
	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.admin, nil).decode(t, &acct)
	m, res := ta.joinWith("+79990000002", "Boris", acct.Code)
	if res.Status != "joined" || res.RefereeBonus != 300 {
		t.Fatalf("join with a staff code: %+v", res)
	}
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(m.card, "R-3", 2_000_000))
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(m.card, "R-3", 2_000_000)) // replay

	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.manager, nil).decode(t, &acct)
	if acct.Earned != 60+30+120 || acct.Balance != 210 || acct.Patients != 2 { // 0.6% of 10,000, 5,000 and 20,000 roubles
		t.Fatalf("staff account: %+v", acct.StaffAccount)
	}
	// Another staff member cannot see it; a patient cannot.
	ta.must(201, "POST", "/v1/clinic/staff", cl.manager, map[string]string{"email": "desk2@smile.test", "password": "reception-pass", "role": "admin", "name": "Desk 2"})
	other := ta.staffLogin("desk2@smile.test", "reception-pass").AccessToken
	ta.must(403, "GET", "/v1/clinic/staff/"+desk+"/rewards", other, nil)
	ta.must(403, "POST", "/v1/clinic/staff/"+desk+"/payouts", cl.admin, map[string]any{"points": 1})

	// The refund of R-1 claws back its 60.
	ta.must(200, "POST", "/v1/clinic/receipts/R-1/refund", cl.admin, nil)
	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.admin, nil).decode(t, &acct)
	if acct.Balance != 150 || acct.ClawedBack != 60 {
		t.Fatalf("after the refund: %+v", acct.StaffAccount)
	}
	if r := ta.must(422, "POST", "/v1/clinic/staff/"+desk+"/payouts", cl.manager, map[string]any{"points": 151, "note": "cash"}); r.errorCode(t) != "insufficient_rewards" {
		t.Fatalf("over the balance: %s", r.Body)
	}
	var p referrals.Payout
	ta.must(201, "POST", "/v1/clinic/staff/"+desk+"/payouts", cl.manager, map[string]any{"points": 100, "note": "cash"}, "Idempotency-Key", "pay-1").decode(t, &p)
	ta.must(201, "POST", "/v1/clinic/staff/"+desk+"/payouts", cl.manager, map[string]any{"points": 100, "note": "cash"}, "Idempotency-Key", "pay-1")
	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.admin, nil).decode(t, &acct)
	if acct.Balance != 50 || acct.PaidOut != 100 {
		t.Fatalf("after the payout: %+v", acct.StaffAccount)
	}

	// The staff report, JSON and CSV.
	var rep staffRewardsReport
	ta.must(200, "GET", "/v1/clinic/reports/staff-rewards", cl.manager, nil).decode(t, &rep)
	if len(rep.Rows) != 1 || rep.Rows[0].StaffID != desk || rep.Rows[0].Enrolled != 2 || rep.Rows[0].Points != 210 || rep.Rows[0].PaidOut != 100 {
		t.Fatalf("staff report: %+v", rep.Rows)
	}
	r := ta.must(200, "GET", "/v1/clinic/reports/staff-rewards?format=csv", cl.manager, nil)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != desk {
		t.Fatalf("staff report CSV: %q %v", r.Body, err)
	}
}

// TestReferralReport: the tree per depth over every cardholder (depth
// 1: whoever came by themselves, not only those who brought someone),
// paid counting any paid receipt (not only a rewarded first visit),
// rewards per level, top referrers.
func TestReferralReport(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	_, b, _, d, e := ta.chain(cl)
	// F: a card issued at reception, never paid.
	fid, _ := ta.patient("+79990000006")
	ta.issueConfirmed(cl, map[string]string{"phone": "+79990000006"}, fid)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(d.card, "R-1", 1_000_000))
	// Below min_paid: no reward, no first visit, but paid receipts all
	// the same — E (no referrer) and B (depth 2).
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(e.card, "R-2", 50_000))
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(b.card, "R-3", 50_000))
	var rep referrals.Report
	ta.must(200, "GET", "/v1/clinic/reports/referrals", cl.manager, nil).decode(t, &rep)
	want := []referrals.DepthRow{
		{Depth: 1, Patients: 3, Paid: 1, NotYet: 2}, // A, E (paid), F
		{Depth: 2, Patients: 1, Paid: 1},            // B
		{Depth: 3, Patients: 1, NotYet: 1},          // C
		{Depth: 4, Patients: 1, Paid: 1},            // D
	}
	if !slices.Equal(rep.Depths, want) {
		t.Fatalf("depths: %+v, want %+v", rep.Depths, want)
	}
	if len(rep.Rewards) != 3 || rep.Rewards[0].Level != 1 || rep.Rewards[0].Points != 800 {
		t.Fatalf("rewards: %+v", rep.Rewards)
	}
	if len(rep.TopReferrers) != 3 || rep.TopReferrers[0].Name == "" {
		t.Fatalf("top: %+v", rep.TopReferrers)
	}
	r := ta.must(200, "GET", "/v1/clinic/reports/referrals?format=csv", cl.manager, nil)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 1+4+3+3 || rows[1][0] != "depth" || rows[1][2] != "3" || rows[1][3] != "1" {
		t.Fatalf("CSV: %q %v", r.Body, err)
	}
	ta.must(403, "GET", "/v1/clinic/reports/referrals", cl.admin, nil)
}

// TestReferralReportPages: the held referrals of the report and the rows
// of the staff-rewards report page by ?after=&limit= (the wallet's rule:
// over 1000 is a 400 naming limit); CSV has every row.
func TestReferralReportPages(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager,
		strings.Replace(exampleReferralProgram, `"max_rewarded_per_month": 20`, `"max_joins_per_day": 1`, 1))
	pid, tok, v := ta.joinCard(cl, "+79990000001")
	code := ta.codeOf(member{pid, tok, v.ID})
	ta.joinWith("+79990000002", "Boris", code) // the first today: joined
	for i := 3; i <= 5; i++ {                  // the next ones: held
		if _, res := ta.joinWith(fmt.Sprintf("+7999000000%d", i), "Held", code); res.Status != referrals.StatusHeld {
			t.Fatalf("join %d: %+v", i, res)
		}
	}
	var p1, p2 referrals.Report
	ta.must(200, "GET", "/v1/clinic/reports/referrals?limit=2", cl.manager, nil).decode(t, &p1)
	if len(p1.Held) != 2 || p1.Next == "" {
		t.Fatalf("first page: %+v", p1)
	}
	ta.must(200, "GET", "/v1/clinic/reports/referrals?limit=2&after="+p1.Next, cl.manager, nil).decode(t, &p2)
	if len(p2.Held) != 1 || p2.Next != "" || p2.Held[0].ID == p1.Held[0].ID || p2.Held[0].ID == p1.Held[1].ID {
		t.Fatalf("second page: %+v", p2)
	}
	if len(p2.Depths) != 2 || p2.Depths[1].Patients != 4 {
		t.Fatalf("every page has the whole tree: %+v", p2.Depths)
	}
	r := ta.must(200, "GET", "/v1/clinic/reports/referrals?format=csv&limit=1", cl.manager, nil)
	if n := strings.Count(string(r.Body), "\n\"held\","); n != 3 {
		t.Fatalf("CSV held rows: %d in %q", n, r.Body)
	}
	// Decided, the last one no longer waits: two fit one page, no next.
	ta.must(200, "POST", "/v1/clinic/referrals/"+p2.Held[0].ID+"/reject", cl.manager, map[string]string{"reason": "a ring"})
	var p3 referrals.Report
	ta.must(200, "GET", "/v1/clinic/reports/referrals?limit=2", cl.manager, nil).decode(t, &p3)
	if len(p3.Held) != 2 || p3.Next != "" {
		t.Fatalf("after a decision: %+v", p3)
	}
	for _, path := range []string{"/v1/clinic/reports/referrals", "/v1/clinic/reports/staff-rewards"} {
		if r := ta.doRaw("GET", path+"?limit=1001", cl.manager, nil); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"limit"`) {
			t.Fatalf("%s over the page maximum: %d %s", path, r.Status, r.Body)
		}
		if r := ta.doRaw("GET", path+"?after=nonsense", cl.manager, nil); r.Status != 400 {
			t.Fatalf("%s with a bad cursor: %d %s", path, r.Status, r.Body)
		}
	}

	// Two staff members who issued cards: one row each, a page each.
	ta.must(201, "POST", "/v1/clinic/staff", cl.manager, map[string]string{"email": "desk2@smile.test", "password": "reception-pass", "role": "admin", "name": "Desk 2"})
	desk2 := clinicFixture{id: cl.id, admin: ta.staffLogin("desk2@smile.test", "reception-pass").AccessToken}
	for i, c := range []clinicFixture{cl, desk2} {
		phone := fmt.Sprintf("+7999100000%d", i)
		id, _ := ta.patient(phone)
		ta.issueConfirmed(c, map[string]string{"phone": phone}, id)
	}
	var s1, s2 staffRewardsReport
	ta.must(200, "GET", "/v1/clinic/reports/staff-rewards?limit=1", cl.manager, nil).decode(t, &s1)
	if len(s1.Rows) != 1 || s1.Next == "" {
		t.Fatalf("staff first page: %+v", s1)
	}
	ta.must(200, "GET", "/v1/clinic/reports/staff-rewards?limit=1&after="+s1.Next, cl.manager, nil).decode(t, &s2)
	if len(s2.Rows) != 1 || s2.Next != "" || s2.Rows[0].StaffID <= s1.Rows[0].StaffID {
		t.Fatalf("staff second page: %+v after %+v", s2, s1)
	}
	r = ta.must(200, "GET", "/v1/clinic/reports/staff-rewards?format=csv&limit=1", cl.manager, nil)
	if rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll(); err != nil || len(rows) != 3 {
		t.Fatalf("staff CSV: %q %v", r.Body, err)
	}
}

// TestStaffOwnAccountEarnsNothing: a staff member who issues a card to
// their own patient account (one sharing a device with their staff
// account) earns no enrolment reward on it.
func TestStaffOwnAccountEarnsNothing(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	desk := ta.deskID("smile.test")
	ta.must(204, "PUT", "/v1/me/devices", cl.admin, map[string]string{"token": "desk-phone", "platform": "android"})
	pid, ptok := ta.patient("+79990000001")
	ta.must(204, "PUT", "/v1/me/devices", ptok, map[string]string{"token": "desk-phone", "platform": "android"})
	card := ta.issueConfirmed(cl, map[string]string{"phone": "+79990000001"}, pid)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(card, "R-1", 1_000_000))
	pid2, _ := ta.patient("+79990000002")
	card2 := ta.issueConfirmed(cl, map[string]string{"phone": "+79990000002"}, pid2)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(card2, "R-2", 1_000_000))
	var acct staffRewardsResponse
	ta.must(200, "GET", "/v1/clinic/staff/"+desk+"/rewards", cl.admin, nil).decode(t, &acct)
	if acct.Earned != 60 || acct.Patients != 1 {
		t.Fatalf("staff account: %+v", acct.StaffAccount)
	}
}
