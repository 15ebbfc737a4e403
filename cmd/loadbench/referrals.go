package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// benchReferralProgram pays three levels and the enrolling staff member
// on a friend's first paid visit, with no monthly cap and no velocity
// hold, so that every referral receipt of the run really pays all four.
const benchReferralProgram = `{"enabled": true, "referee_bonus": {"points": 300, "burn_days": 60},
"referrer_bonus": {"points": 100}, "levels": [{"rate_bp": 700}, {"rate_bp": 200}, {"rate_bp": 100}],
"reward_on": "first_paid_visit", "min_paid": 100000, "reward_burn_days": 365, "staff_reward_bp": 60,
"max_rewarded_per_month": 0, "max_joins_per_day": 100000}`

// referralFixture is a clinic with a loyalty and a referral program, the
// chain A ← B ← C, patients whose card reception issued and who joined
// with C's code (each one's first paid receipt pays C, B, A and the
// receptionist), and patients with plain cards.
type referralFixture struct {
	admin    string
	manager  string
	referees []string // cards
	plain    []string // cards
}

// benchReferrals measures, through HTTP against the real binary, a
// patient's first paid receipt that pays three referral levels and a
// staff enrolment reward beside a plain receipt (a card with no
// referrer), the two alternating round by round. Each referral receipt
// uses up one referee: a round is -n receipts, not a duration.
func benchReferrals(ctx context.Context, o options, out io.Writer) error {
	cw, dir, sink, err := startCarewallet(o)
	if err != nil {
		return err
	}
	defer cw.stop()
	n := o.perRound
	o.roundSize = fmt.Sprintf("%d receipts", n)
	start := time.Now()
	f, err := setupReferrals(cw.addr, o, dir, sink, n*o.rounds, max(o.conns, 50))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "set up %d referees and %d plain cards in %s\n", len(f.referees), len(f.plain), time.Since(start).Round(time.Second))
	receipt := func(card, id string, req *fasthttp.Request) {
		req.SetRequestURI("http://" + cw.addr + "/v1/clinic/receipts")
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+f.admin)
		req.Header.SetContentType("application/json")
		req.SetBodyString(fmt.Sprintf(`{"card_id":%q,"receipt_id":%q,"lines":[{"service":"CONS-01","amount":1000000}]}`, card, id))
	}
	var nextRef, nextPlain atomic.Int64
	names := []string{"plain receipt", "referral first receipt"}
	compare(ctx, out, o, names, func(name string) result {
		if name == names[0] {
			return driveN(ctx, cw.addr, o.conns, n, func(req *fasthttp.Request) {
				k := nextPlain.Add(1) - 1
				receipt(f.plain[int(k)%len(f.plain)], fmt.Sprintf("P-%d", k), req)
			}, 200)
		}
		return driveN(ctx, cw.addr, o.conns, n, func(req *fasthttp.Request) {
			k := nextRef.Add(1) - 1
			receipt(f.referees[k], fmt.Sprintf("F-%d", k), req)
		}, 200)
	})
	// Every referral receipt paid its three levels and the staff reward
	// (level 0): a run that paid nothing would time nothing.
	var rep struct {
		Rewards []struct {
			Level   int   `json:"level"`
			Rewards int64 `json:"rewards"`
		} `json:"rewards"`
	}
	if st, err := call(cw.addr, "GET", "/v1/clinic/reports/referrals", f.manager, nil, &rep); err != nil || st != 200 {
		return fmt.Errorf("referral report: %d %v", st, err)
	}
	sent := nextRef.Load()
	paid := map[int]int64{}
	for _, r := range rep.Rewards {
		paid[r.Level] = r.Rewards
	}
	fmt.Fprintf(out, "\nrewards recorded per level for %d referral receipts: staff %d, level 1 %d, level 2 %d, level 3 %d\n",
		sent, paid[0], paid[1], paid[2], paid[3])
	for l := 0; l <= 3; l++ {
		if paid[l] != sent {
			return fmt.Errorf("level %d: %d rewards for %d referral receipts", l, paid[l], sent)
		}
	}
	return nil
}

func setupReferrals(addr string, o options, dir string, sink *smsSink, nRef, nPlain int) (*referralFixture, error) {
	ids, err := clinicCreate(o, dir, "boss@bench.test", "manager-password")
	if err != nil {
		return nil, err
	}
	f := &referralFixture{}
	if f.manager, err = staffToken(addr, "boss@bench.test", "manager-password"); err != nil {
		return nil, err
	}
	steps := []struct {
		method, path string
		body         any
		want         int
	}{
		{"PUT", "/v1/clinic/program", json.RawMessage(benchProgram), 200},
		{"PUT", "/v1/clinic/referral-program", json.RawMessage(benchReferralProgram), 200},
		{"POST", "/v1/clinic/staff", map[string]string{"email": "desk@bench.test", "password": "reception-pass", "role": "admin", "name": "Desk"}, 201},
	}
	for _, s := range steps {
		if _, err := expect(addr, s.method, s.path, f.manager, s.body, nil, s.want); err != nil {
			return nil, err
		}
	}
	if f.admin, err = staffToken(addr, "desk@bench.test", "reception-pass"); err != nil {
		return nil, err
	}
	// The chain A ← B ← C, each joining from the app with the previous
	// one's code.
	code := ""
	for i := range 3 {
		pt, err := patientToken(addr, sink, fmt.Sprintf("+7901000000%d", i))
		if err != nil {
			return nil, err
		}
		var card struct {
			ID string `json:"card_id"`
		}
		if i == 0 {
			_, err = expect(addr, "POST", "/v1/me/cards", pt, map[string]string{"clinic_id": ids["clinic_id"]}, &card, 201)
		} else {
			_, err = expect(addr, "POST", "/v1/me/referral", pt, map[string]string{"code": code}, &card, 201)
		}
		if err != nil {
			return nil, err
		}
		var ref struct {
			Code string `json:"code"`
		}
		if _, err := expect(addr, "GET", "/v1/cards/"+card.ID+"/referral", pt, nil, &ref, 200); err != nil {
			return nil, err
		}
		code = ref.Code
	}
	f.referees, f.plain = make([]string, nRef), make([]string, nPlain)
	var wg sync.WaitGroup
	errs := make(chan error, nRef+nPlain)
	sem := make(chan struct{}, 16)
	for i := range nRef + nPlain {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			if i < nRef {
				f.referees[i], err = referee(addr, sink, f.admin, fmt.Sprintf("+7902%07d", i), code)
			} else {
				var pt string
				phone := fmt.Sprintf("+7903%07d", i)
				if pt, err = patientToken(addr, sink, phone); err == nil {
					var card struct {
						ID string `json:"card_id"`
					}
					_, err = expect(addr, "POST", "/v1/me/cards", pt, map[string]string{"clinic_id": ids["clinic_id"]}, &card, 201)
					f.plain[i-nRef] = card.ID
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return f, nil
}

// referee is a new patient whose card reception issues (so the
// receptionist enrolled them), confirmed with the code their app
// received, who then enters a friend's code in the app.
func referee(addr string, sink *smsSink, admin, phone, code string) (string, error) {
	pt, err := patientToken(addr, sink, phone)
	if err != nil {
		return "", err
	}
	var card struct {
		ID string `json:"card_id"`
	}
	if _, err := expect(addr, "POST", "/v1/clinic/cards", admin, map[string]string{"phone": phone}, &card, 201); err != nil {
		return "", err
	}
	var evs struct {
		Events []struct {
			Type string `json:"type"`
			Data struct {
				Code   string `json:"code"`
				CardID string `json:"card_id"`
			} `json:"data"`
		} `json:"events"`
	}
	if _, err := expect(addr, "GET", "/v1/me/events?limit=100", pt, nil, &evs, 200); err != nil {
		return "", err
	}
	confirm := ""
	for _, e := range evs.Events {
		if e.Data.CardID == card.ID && e.Data.Code != "" {
			confirm = e.Data.Code
		}
	}
	if _, err := expect(addr, "POST", "/v1/clinic/cards/"+card.ID+"/confirm", admin, map[string]string{"code": confirm}, nil, 200); err != nil {
		return "", err
	}
	if _, err := expect(addr, "POST", "/v1/me/referral", pt, map[string]string{"code": code}, nil, 201); err != nil {
		return "", err
	}
	return card.ID, nil
}

// expect is call with the status it must answer.
func expect(addr, method, path, token string, body, out any, want int) (int, error) {
	st, err := call(addr, method, path, token, body, out)
	if err == nil && st != want {
		err = fmt.Errorf("%s %s: status %d, want %d", method, path, st, want)
	}
	return st, err
}

func staffToken(addr, email, password string) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := expect(addr, "POST", "/v1/staff/login", "", map[string]string{"email": email, "password": password}, &tok, 200); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}
