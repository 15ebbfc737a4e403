package app

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"carewallet/referrals"
	"carewallet/wallet"
)

// BenchmarkReferralReceipt compares, in one run and alternating, a
// patient's first paid receipt that pays three referral levels and a
// staff enrolment reward with a plain receipt (a card with no referrer,
// issued from the app), both through the HTTP handler chain on SQLite.
// It reports each one's time per receipt and plain/referral: the
// referral receipt's throughput as a share of the plain one's (target
// ≥ 0.5); plain/referral-cpu is the same ratio of the CPU time the
// benchmark's thread spent (Linux), steadier on a shared machine. Run with a fixed count, e.g. -benchtime 300x: each iteration
// needs a new referred patient, made before the timer starts.
func BenchmarkReferralReceipt(b *testing.B) {
	t := &testing.T{}
	ta := newTestApp(t)
	ta.t = t
	ctx := context.Background()
	cl := ta.referralClinic("Bench", "bench.test")
	// Every referee joins the same day under one referrer: no velocity
	// hold and no monthly cap, so every referral receipt really pays its
	// three levels (with the example program's limits most of them were
	// held, and the benchmark timed records that paid nothing).
	ta.must(200, "PUT", "/v1/clinic/referral-program", cl.manager, strings.Replace(exampleReferralProgram,
		`"max_rewarded_per_month": 20`, `"max_rewarded_per_month": 0, "max_joins_per_day": 100000`, 1))
	desk := ta.deskID("bench.test")
	// The chain A ← B ← C; every new patient joins with C's code on a
	// card reception issued.
	pid, tok, v := ta.joinCard(cl, "+79020000001")
	code := ta.codeOf(member{pid, tok, v.ID})
	for i := 2; i <= 3; i++ {
		m, _ := ta.joinWith(fmt.Sprintf("+7902000000%d", i), "Chain", code)
		code = ta.codeOf(m)
	}
	_, _, plain := ta.joinCard(cl, "+79020000009")
	referees := make([]string, b.N)
	for i := range b.N {
		p, err := ta.deps.Identity.EnsurePatient(ctx, fmt.Sprintf("+7903%07d", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ta.deps.Wallet.IssueCard(ctx, wallet.IssueCardRequest{ClinicID: cl.id, StaffID: desk, PatientID: p.ID}); err != nil {
			b.Fatal(err)
		}
		res, err := ta.deps.Referrals.Join(ctx, p.ID, cl.id, code)
		if err != nil {
			b.Fatal(err)
		}
		referees[i] = res.CardID
	}
	h := ta.f.Handler()
	var ctxPlain, ctxRef fasthttp.RequestCtx
	receipt := func(fc *fasthttp.RequestCtx, card, id string) (time.Duration, time.Duration) {
		fc.Request.Reset()
		fc.Response.Reset()
		fc.Request.SetRequestURI("/v1/clinic/receipts")
		fc.Request.Header.SetMethod("POST")
		fc.Request.Header.SetContentType("application/json")
		fc.Request.Header.Set("Authorization", "Bearer "+cl.admin)
		fc.Request.SetBodyString(fmt.Sprintf(`{"card_id":%q,"receipt_id":%q,"lines":[{"service":"CONS-01","amount":1000000}]}`, card, id))
		cpu, start := threadCPU(), time.Now()
		h(fc)
		d, c := time.Since(start), threadCPU()-cpu
		// The service's clock moves on as a real one would: ledger,
		// lot and inbox indexes that lead with a time see the order
		// production gives them, not every row at one instant.
		ta.clock.add(d)
		if fc.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
		}
		return d, c
	}
	// The handler runs on this goroutine: locked to its thread, the
	// thread's CPU time is the receipts' own work, which other processes
	// on a shared machine disturb far less than the wall time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var tPlain, tRef, cPlain, cRef time.Duration
	b.ResetTimer()
	for i := range b.N {
		d, c := receipt(&ctxPlain, plain.ID, fmt.Sprintf("P-%d", i))
		tPlain, cPlain = tPlain+d, cPlain+c
		d, c = receipt(&ctxRef, referees[i], fmt.Sprintf("F-%d", i))
		tRef, cRef = tRef+d, cRef+c
	}
	b.StopTimer()
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "plain-ns/receipt")
	b.ReportMetric(float64(tRef.Nanoseconds())/float64(b.N), "referral-ns/receipt")
	b.ReportMetric(float64(tPlain)/float64(tRef), "plain/referral")
	if cRef > 0 {
		b.ReportMetric(float64(cPlain)/float64(cRef), "plain/referral-cpu")
	}
	// Every referral receipt paid its three levels and the staff reward.
	acct, err := ta.deps.Referrals.StaffAccount(ctx, cl.id, desk)
	if err != nil || acct.Patients != int64(b.N) {
		b.Fatalf("staff rewards: %+v %v", acct, err)
	}
	rs, err := refStoreOf(t, ta).ClinicRewards(ctx, cl.id)
	if err != nil {
		b.Fatal(err)
	}
	paid := map[int]int{}
	for _, r := range rs {
		if r.Status == referrals.RewardCredited {
			paid[r.Level]++
		}
	}
	for l := 0; l <= 3; l++ {
		if paid[l] != b.N {
			b.Fatalf("level %d: %d credited rewards for %d receipts", l, paid[l], b.N)
		}
	}
}
