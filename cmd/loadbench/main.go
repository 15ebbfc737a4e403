// Command loadbench measures carewallet over HTTP on this machine: it
// starts the real binary (pinned to one core with taskset) on a fresh
// SQLite data directory, a bare Fiber handler as the baseline on the same
// core, and drives both from its own process in alternating rounds, so a
// noisy machine shows up as spread between rounds instead of as a bias.
// It reports requests/s and p50/p99 latency per round and the medians.
//
//	go build -o /tmp/carewallet ./cmd/carewallet && go build -o /tmp/loadbench ./cmd/loadbench
//	taskset -c 1 /tmp/loadbench -carewallet /tmp/carewallet -server-cpu 0 me
//	taskset -c 1 /tmp/loadbench -carewallet /tmp/carewallet -server-cpu 0 wallet
//
// All traffic stays on 127.0.0.1; every run is bounded by -d × -rounds.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type options struct {
	binary    string
	serverCPU string
	conns     int
	duration  time.Duration
	rounds    int
	cards     int
	perRound  int
	roundSize string // "" : a round lasts duration
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.binary, "carewallet", "carewallet", "path to the carewallet binary")
	fs.StringVar(&o.serverCPU, "server-cpu", "0", "CPU list for the servers (taskset -c); empty: no pinning")
	fs.IntVar(&o.conns, "c", 64, "concurrent connections")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "duration of one round")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per target (alternating)")
	fs.IntVar(&o.cards, "cards", 2000, "wallet: patients with a card, set up through the API")
	fs.IntVar(&o.perRound, "n", 1000, "referrals: receipts per round (each referral receipt needs its own referee, set up through the API)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: loadbench [flags] me|wallet|referrals|bare-server|sqlite-insert\n\nscenarios:\n  me           GET /v1/me with a valid patient token, beside a bare Fiber handler\n  wallet       receipts, spend+confirm pairs and card reads, beside raw SQLite inserts\n  referrals    a first paid receipt paying three referral levels and a staff reward, beside a plain receipt\n  bare-server  (internal) serve the bare Fiber baseline on -addr\n\nflags:")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:0", "bare-server: listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.conns < 1 || o.rounds < 1 || o.perRound < 1 || o.duration <= 0 || o.duration > 10*time.Minute {
		return fmt.Errorf("-c, -n, -rounds must be ≥ 1 and -d between 0 and 10m")
	}
	switch fs.Arg(0) {
	case "bare-server":
		return serveBare(ctx, *addr)
	case "me":
		return benchMe(ctx, o, out)
	case "wallet":
		return benchWallet(ctx, o, out)
	case "referrals":
		return benchReferrals(ctx, o, out)
	case "sqlite-insert":
		return sqliteInsert(ctx, o, out)
	}
	fs.Usage()
	return fmt.Errorf("unknown scenario %q", fs.Arg(0))
}
