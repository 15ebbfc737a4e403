package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carewallet/app/storage"
	"carewallet/wallet"
)

// TestBackupUnderLoad: `carewallet backup FILE` taken while receipts
// stream in through the HTTP API writes an owner-only database that opens,
// passes SQLite's integrity check, holds every receipt acknowledged before
// it started, and satisfies every ledger invariant on every card: entries
// numbered 1..n, balance = sum of entries = sum of the open lots'
// remainders.
func TestBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"CAREWALLET_DATA": dir}
	if err := run(context.Background(), []string{"demo"}, env(vars), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	base, stop, _ := serveUntilCancel(t, vars)
	defer stop()
	_, staff := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": demoAdminEmail, "password": demoAdminPassword})
	tok, _ := staff["access_token"].(string)
	var cards []string
	for _, p := range demoPatients {
		v := getJSON(t, base+"/v1/clinic/cards/lookup?phone="+url.QueryEscape(p.phone), tok)
		list, _ := v["cards"].([]any)
		var own []string // Anna also guards her daughter's card
		for _, c := range list {
			if m := c.(map[string]any); m["guardian"] != true {
				own = append(own, m["card_id"].(string))
			}
		}
		if len(own) != 1 {
			t.Fatalf("lookup %s: %v", p.phone, v)
		}
		cards = append(cards, own[0])
	}

	var acked atomic.Int64
	stopStream := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopStream:
					return
				default:
				}
				res, out := postJSON(t, base+"/v1/clinic/receipts", tok, map[string]any{"card_id": cards[(w+i)%len(cards)],
					"receipt_id": fmt.Sprintf("BK-%d-%d", w, i), "lines": []map[string]any{{"service": "CONS-01", "amount": 10000 + i}},
					"paid_with_points": 0})
				if res.StatusCode != 200 {
					t.Errorf("receipt: %d %v", res.StatusCode, out)
					return
				}
				acked.Add(1)
			}
		})
	}
	for acked.Load() < 20 {
		if t.Failed() {
			t.FailNow()
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := acked.Load()
	file := filepath.Join(t.TempDir(), "backup.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", file}, env(vars), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	after := acked.Load()
	close(stopStream)
	wg.Wait()
	if after == before {
		t.Log("no receipt completed while the backup ran")
	}
	if !strings.Contains(out.String(), file) {
		t.Errorf("backup printed %q", out.String())
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	// A second backup to the same file is refused and leaves it alone.
	if err := run(context.Background(), []string{"backup", file}, env(vars), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}

	ctx := context.Background()
	db, err := storage.OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.Read.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	st, err := wallet.NewSQLiteStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var receipts int64
	for _, card := range cards {
		receipts += checkCardLedger(t, st, card)
	}
	// Each demo card starts with the welcome bonus and one receipt.
	receipts -= int64(2 * len(cards))
	if receipts < before {
		t.Fatalf("backup holds %d streamed receipts; %d were acknowledged before it started", receipts, before)
	}
	t.Logf("receipts acknowledged before the backup %d, in it %d, by its end %d", before, receipts, after)
}

// checkCardLedger mirrors wallet's checkLedger through the public Store:
// entries are numbered 1..n, each balance_after is the running sum, each
// entry's lot deltas add up to its amount and never drive a lot below
// zero, and the card's balance equals the entries' sum and the open lots'
// remainders. It returns the number of entries.
func checkCardLedger(t *testing.T, st wallet.Store, cardID string) int64 {
	t.Helper()
	ctx := context.Background()
	es, err := st.Entries(ctx, cardID, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var bal int64
	lots := map[string]int64{}
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("card %s: entry %d has seq %d", cardID, i+1, e.Seq)
		}
		bal += e.Amount
		if e.BalanceAfter != bal || bal < 0 {
			t.Fatalf("card %s: entry %d balance_after %d, running sum %d", cardID, e.Seq, e.BalanceAfter, bal)
		}
		var sum int64
		for _, d := range e.Lots {
			lots[d.LotID] += d.Delta
			sum += d.Delta
			if lots[d.LotID] < 0 {
				t.Fatalf("card %s: entry %d drives lot %s negative", cardID, e.Seq, d.LotID)
			}
		}
		if sum != e.Amount {
			t.Fatalf("card %s: entry %d lot deltas %d != amount %d", cardID, e.Seq, sum, e.Amount)
		}
	}
	state, err := st.State(ctx, cardID)
	if err != nil {
		t.Fatal(err)
	}
	var lotSum, stateSum int64
	for _, r := range lots {
		lotSum += r
	}
	for _, l := range state.Lots {
		stateSum += l.Remaining
		if l.Remaining != lots[l.ID] {
			t.Fatalf("card %s: lot %s remaining %d, entries say %d", cardID, l.ID, l.Remaining, lots[l.ID])
		}
	}
	if lotSum != bal || stateSum != bal || state.Balance != bal {
		t.Fatalf("card %s: entries sum %d, lots from entries %d, open lots %d, balance %d", cardID, bal, lotSum, stateSum, state.Balance)
	}
	return int64(len(es))
}

func TestBackupRefusals(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{map[string]string{"CAREWALLET_DATA": t.TempDir()}, []string{"backup"}, "usage"},
		{map[string]string{"CAREWALLET_DATA": t.TempDir()}, []string{"backup", filepath.Join(t.TempDir(), "x.db")}, "no database"},
		{map[string]string{"CAREWALLET_MONGO_URI": "mongodb://127.0.0.1:1", "CAREWALLET_JWT_KEY_FILE": "/k"},
			[]string{"backup", filepath.Join(t.TempDir(), "x.db")}, "mongodump"},
	} {
		err := run(context.Background(), tc.args, env(tc.vars), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.args, err, tc.want)
		}
	}
}
