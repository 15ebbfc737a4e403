package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"carewallet/app/storage"
)

const benchProgram = `{"point_value":100,"levels":[{"name":"Base","min_spend":0,"cashback_bp":500}],
"max_share_bp":10000,"welcome_bonus":{"points":100000,"burn_days":365},"cashback_burn_days":365,"burn_warning_days":14}`

// walletFixture is a clinic with a program, an admin, and patients with
// cards, set up through the API.
type walletFixture struct {
	admin    string
	cards    []string
	patients []string // tokens, parallel to cards
	seen     []int64  // per card: the inbox seq its app has read up to
}

func setupWallet(addr string, o options, dir string, sink *smsSink, nCards int) (*walletFixture, error) {
	ids, err := clinicCreate(o, dir, "boss@bench.test", "manager-password")
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st, err := call(addr, "POST", "/v1/staff/login", "", map[string]string{"email": "boss@bench.test", "password": "manager-password"}, &tok); err != nil || st != 200 {
		return nil, fmt.Errorf("manager login: %d %v", st, err)
	}
	if st, err := call(addr, "PUT", "/v1/clinic/program", tok.AccessToken, json.RawMessage(benchProgram), nil); err != nil || st != 200 {
		return nil, fmt.Errorf("program: %d %v", st, err)
	}
	f := &walletFixture{admin: tok.AccessToken}
	f.cards, f.patients, f.seen = make([]string, nCards), make([]string, nCards), make([]int64, nCards)
	var wg sync.WaitGroup
	errs := make(chan error, nCards)
	sem := make(chan struct{}, 16)
	for i := range nCards {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			phone := fmt.Sprintf("+7900%07d", i)
			pt, err := patientToken(addr, sink, phone)
			if err != nil {
				errs <- err
				return
			}
			var card struct {
				ID string `json:"card_id"`
			}
			if st, err := call(addr, "POST", "/v1/me/cards", pt, map[string]string{"clinic_id": ids["clinic_id"]}, &card); err != nil || st != 201 {
				errs <- fmt.Errorf("join: %d %v", st, err)
				return
			}
			f.cards[i], f.patients[i] = card.ID, pt
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return f, nil
}

// benchWallet measures receipts/s, spend+confirm pairs/s and card
// reads/s through the API, beside raw single-row SQLite inserts on the
// same core.
func benchWallet(ctx context.Context, o options, out io.Writer) error {
	cw, dir, sink, err := startCarewallet(o)
	if err != nil {
		return err
	}
	defer cw.stop()
	// Enough cards that the run does not pile thousands of open lots onto
	// a few of them (each receipt's cashback is a lot until it burns).
	nCards := max(o.conns, o.cards)
	f, err := setupWallet(cw.addr, o, dir, sink, nCards)
	if err != nil {
		return err
	}
	var seq atomic.Int64
	receipt := func(w, i int, req *fasthttp.Request) {
		n := seq.Add(1)
		req.SetRequestURI("http://" + cw.addr + "/v1/clinic/receipts")
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+f.admin)
		req.Header.SetContentType("application/json")
		req.SetBodyString(fmt.Sprintf(`{"card_id":%q,"receipt_id":"B-%d","lines":[{"service":"CONS-01","amount":100000}]}`,
			f.cards[int(n)%len(f.cards)], n))
	}
	read := func(w, i int, req *fasthttp.Request) {
		k := (w*7919 + i) % len(f.cards)
		req.SetRequestURI("http://" + cw.addr + "/v1/cards/" + f.cards[k])
		req.Header.Set("Authorization", "Bearer "+f.patients[k])
	}
	names := []string{"raw SQLite insert (1 row)", "POST /v1/clinic/receipts", "spend + confirm (pair)", "GET /v1/cards/{id}"}
	compare(ctx, out, o, names, func(n string) result {
		switch n {
		case names[0]:
			return rawInserts(ctx, o)
		case names[1]:
			return drive(ctx, cw.addr, o.conns, o.duration, receipt, 200)
		case names[2]:
			return spendPairs(ctx, cw.addr, o, f, &seq)
		}
		return drive(ctx, cw.addr, o.conns, o.duration, read, 200)
	})
	return nil
}

// spendPairs runs closed-loop workers, each on its own card, doing the
// whole bonus-payment flow: POST /v1/clinic/spends, the patient's app
// reading the code from its inbox (GET /v1/me/events), and POST
// /v1/clinic/spends/{id}/confirm. A pair's latency is the three together.
func spendPairs(ctx context.Context, addr string, o options, f *walletFixture, seq *atomic.Int64) result {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var errs atomic.Int64
	lats := make([][]time.Duration, o.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.conns {
		wg.Go(func() {
			k := w % len(f.cards)
			card, pt, after := f.cards[k], f.patients[k], &f.seen[k]
			for ctx.Err() == nil {
				t := time.Now()
				if err := onePair(addr, f.admin, card, pt, seq.Add(1), after); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, "spend pair:", err)
					}
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	return summarize(lats, int(errs.Load()), time.Since(start))
}

func onePair(addr, admin, card, patient string, n int64, after *int64) error {
	var sp struct {
		SpendID string `json:"spend_id"`
	}
	body := map[string]any{"card_id": card, "receipt_id": fmt.Sprintf("P-%d", n),
		"lines": []map[string]any{{"service": "CONS-01", "amount": 1000}}, "points": 1}
	if st, err := call(addr, "POST", "/v1/clinic/spends", admin, body, &sp); err != nil || st != 201 {
		return fmt.Errorf("spend: %d %v", st, err)
	}
	var evs struct {
		Events []struct {
			Seq  int64           `json:"seq"`
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"events"`
	}
	if st, err := call(addr, "GET", fmt.Sprintf("/v1/me/events?after=%d&limit=100", *after), patient, nil, &evs); err != nil || st != 200 {
		return fmt.Errorf("events: %d %v", st, err)
	}
	code := ""
	for _, e := range evs.Events {
		*after = max(*after, e.Seq)
		var d struct {
			Code    string `json:"code"`
			SpendID string `json:"spend_id"`
		}
		if e.Type == "wallet.spend_code" && json.Unmarshal(e.Data, &d) == nil && d.SpendID == sp.SpendID {
			code = d.Code
		}
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if st, err := call(addr, "POST", "/v1/clinic/spends/"+sp.SpendID+"/confirm", admin, map[string]string{"code": code}, &e); err != nil || st != 200 {
		return fmt.Errorf("confirm: %d %v %s %s (code found: %v)", st, err, e.Error.Code, e.Error.Message, code != "")
	}
	return nil
}

// rawInserts is the floor: single-row INSERTs into a fresh SQLite file
// with carewallet's pragmas and writer, from o.conns goroutines, in a
// child process pinned to the server CPU.
func rawInserts(ctx context.Context, o options) result {
	self, _ := os.Executable()
	cmd := pinned(o.serverCPU, self, "-c", fmt.Sprint(o.conns), "-d", o.duration.String(), "sqlite-insert")
	b, err := cmd.Output()
	var r result
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "raw inserts:", err)
	}
	return r
}

// sqliteInsert is the child of rawInserts.
func sqliteInsert(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "loadbench-raw-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := storage.OpenSQLite(ctx, filepath.Join(dir, "raw.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v INTEGER NOT NULL)`); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var n atomic.Int64
	lats := make([][]time.Duration, o.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := n.Add(1)
				t := time.Now()
				_, err := db.Writer().ExecContext(context.Background(), `INSERT INTO t (k, v) VALUES (?, ?)`, fmt.Sprintf("key-%d", k), k)
				if err != nil && err != sql.ErrConnDone {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	return json.NewEncoder(out).Encode(summarize(lats, 0, time.Since(start)))
}
