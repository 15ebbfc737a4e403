// Command fakefcm runs a local emulator of the FCM HTTP v1 API for
// development, tests and benchmarks. Point carewallet at it with
//
//	go run ./cmd/fakefcm -addr 127.0.0.1:9099 &
//	CAREWALLET_FCM_PROJECT=demo CAREWALLET_FCM_ENDPOINT=http://127.0.0.1:9099 carewallet serve
//
// and read what was sent with GET http://127.0.0.1:9099/messages?token=...
// Every flag can also be set by the environment variable in brackets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"carewallet/push/pushtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fakefcm:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakefcm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envFloat := func(name string) float64 {
		f, _ := strconv.ParseFloat(getenv(name), 64)
		return f
	}
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(getenv(name)); err == nil {
			return n
		}
		return def
	}
	var cfg pushtest.Config
	addr := fs.String("addr", env("FAKEFCM_ADDR", "127.0.0.1:9099"), "listen address [FAKEFCM_ADDR]")
	fs.StringVar(&cfg.Project, "project", getenv("FAKEFCM_PROJECT"), "accept only this project id; empty accepts any [FAKEFCM_PROJECT]")
	fs.Float64Var(&cfg.UnregisteredRate, "unregistered-rate", envFloat("FAKEFCM_UNREGISTERED_RATE"), "fraction of sends answered 404 UNREGISTERED [FAKEFCM_UNREGISTERED_RATE]")
	fs.Float64Var(&cfg.Rate429, "rate-429", envFloat("FAKEFCM_RATE_429"), "fraction answered 429 QUOTA_EXCEEDED [FAKEFCM_RATE_429]")
	fs.Float64Var(&cfg.Rate500, "rate-500", envFloat("FAKEFCM_RATE_500"), "fraction answered 500 INTERNAL [FAKEFCM_RATE_500]")
	fs.Float64Var(&cfg.Rate503, "rate-503", envFloat("FAKEFCM_RATE_503"), "fraction answered 503 UNAVAILABLE [FAKEFCM_RATE_503]")
	retryAfter := fs.Int("retry-after", envInt("FAKEFCM_RETRY_AFTER", 1), "Retry-After seconds sent with 429 and 503 [FAKEFCM_RETRY_AFTER]")
	fs.IntVar(&cfg.QuotaPerMinute, "quota-per-minute", envInt("FAKEFCM_QUOTA_PER_MINUTE", 0), "sends allowed per minute, 0 = unlimited [FAKEFCM_QUOTA_PER_MINUTE]")
	fs.IntVar(&cfg.MaxRecorded, "max-recorded", envInt("FAKEFCM_MAX_RECORDED", 100_000), "messages kept for GET /messages; -1 keeps none [FAKEFCM_MAX_RECORDED]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, r := range []float64{cfg.UnregisteredRate, cfg.Rate429, cfg.Rate500, cfg.Rate503} {
		if r < 0 || r > 1 {
			return errors.New("rates must be between 0 and 1")
		}
	}
	if cfg.UnregisteredRate+cfg.Rate429+cfg.Rate500+cfg.Rate503 > 1 {
		return errors.New("rates add up to more than 1")
	}
	cfg.RetryAfter = time.Duration(*retryAfter) * time.Second

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: pushtest.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	log.Info("fakefcm listening", "addr", ln.Addr().String(), "endpoint", "http://"+ln.Addr().String(),
		"unregistered_rate", cfg.UnregisteredRate, "rate_429", cfg.Rate429, "rate_500", cfg.Rate500,
		"rate_503", cfg.Rate503, "quota_per_minute", cfg.QuotaPerMinute)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
