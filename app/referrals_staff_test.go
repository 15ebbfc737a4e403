package app

import (
	"bytes"
	"context"
	"encoding/csv"
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

// TestReferralReport: the tree per depth, rewards per level, top
// referrers and held referrals.
func TestReferralReport(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.referralClinic("Smile", "smile.test")
	_, _, _, d, _ := ta.chain(cl)
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receiptBody(d.card, "R-1", 1_000_000))
	var rep referrals.Report
	ta.must(200, "GET", "/v1/clinic/reports/referrals", cl.manager, nil).decode(t, &rep)
	if len(rep.Depths) != 4 || rep.Depths[0].Patients != 1 || rep.Depths[3].Depth != 4 || rep.Depths[3].Paid != 1 || rep.Depths[1].NotYet != 1 {
		t.Fatalf("depths: %+v", rep.Depths)
	}
	if len(rep.Rewards) != 3 || rep.Rewards[0].Level != 1 || rep.Rewards[0].Points != 800 {
		t.Fatalf("rewards: %+v", rep.Rewards)
	}
	if len(rep.TopReferrers) != 3 || rep.TopReferrers[0].Name == "" {
		t.Fatalf("top: %+v", rep.TopReferrers)
	}
	r := ta.must(200, "GET", "/v1/clinic/reports/referrals?format=csv", cl.manager, nil)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 1+4+3+3 || rows[1][0] != "depth" {
		t.Fatalf("CSV: %q %v", r.Body, err)
	}
	ta.must(403, "GET", "/v1/clinic/reports/referrals", cl.admin, nil)
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
