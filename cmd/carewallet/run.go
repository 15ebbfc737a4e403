package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"carewallet/app"
	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

const usage = `usage: carewallet [command]

commands:
  serve                 run the API (the default)
  demo                  fill an empty data directory with a demo clinic, staff and patients
  burn                  run the burn job once (expired lots, burn warnings, birthday bonuses); serve runs it every 5 minutes
  openapi               print the OpenAPI 3 document (what GET /openapi.json serves) and exit
  clinic create         create a clinic and its first manager; prints {"clinic_id","staff_id"}
      --name NAME --timezone ZONE --manager-email EMAIL --manager-password PASSWORD [--manager-name NAME]
  help                  show this text

configuration is read from the environment: see README.md.
`

// run is the whole program: main only wires the signal context and the
// process's environment and streams to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "openapi":
		doc, err := app.OpenAPIDocument()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", doc)
		return err
	case "serve", "demo", "clinic", "burn":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	st, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := buildServices(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	switch cmd {
	case "demo":
		return runDemo(ctx, svc, stdout)
	case "clinic":
		return runClinic(ctx, svc, args, stdout, stderr)
	case "burn":
		rep, err := svc.Wallet.RunBurn(ctx, time.Now())
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(rep)
	}
	return serve(ctx, cfg, st, svc, logger)
}

// services are the domain services built over the stores.
type services struct {
	Identity    *identity.Service
	Push        *push.Service
	Wallet      *wallet.Service
	Referrals   *referrals.Service
	Idempotency idempotency.Store
	Tokens      *app.Tokens
	Logger      *slog.Logger
	closers     []func() error
}

func (s *services) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

func buildServices(ctx context.Context, cfg config, st *stores, logger *slog.Logger) (*services, error) {
	key, err := jwtKey(cfg)
	if err != nil {
		return nil, err
	}
	tokens, err := app.NewTokens(key, time.Now)
	if err != nil {
		return nil, err
	}
	var sms identity.SMS = identity.LogSMS{Logger: logger}
	if cfg.SMSWebhook != "" {
		sms = identity.WebhookSMS{URL: cfg.SMSWebhook}
	} else if cfg.MongoURI != "" {
		logger.Warn("CAREWALLET_SMS_WEBHOOK is not set: sign-in codes go to the log (development only)")
	}
	var sender push.Sender
	if cfg.FCM.Enabled() {
		if sender, err = push.NewFCMSender(ctx, cfg.FCM); err != nil {
			return nil, err
		}
	} else if cfg.MongoURI != "" {
		logger.Warn("no CAREWALLET_FCM_* setting: push notifications are off (the inbox and websockets still work)")
	}
	pollEvery := time.Duration(0)
	if cfg.MongoURI != "" {
		pollEvery = 250 * time.Millisecond // other instances' events reach this one's websockets
	}
	ids := identity.NewService(st.Identity, identity.Options{Now: time.Now, SMS: sms, CodeKey: subkey(key, "codes"), Limits: cfg.SignIn})
	pushes := push.NewService(st.Push, push.Options{Now: time.Now, Sender: sender, Logger: logger, PollInterval: pollEvery})
	wallets := wallet.NewService(st.Wallet, app.ClinicLocations{Identity: ids}, app.WalletNotifier{Push: pushes},
		wallet.Options{Now: time.Now, CodeKey: subkey(key, "wallet-codes"), People: app.WalletPeople{Identity: ids}})
	// Holder details the wallet kept before identity owned them move there
	// once; later starts find nothing to move.
	if n, err := wallets.MoveHolderDetails(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		logger.Info("holder details moved to identity", "records", n)
	}
	refs := referrals.NewService(st.Referrals, app.ReferralWallet{Wallet: wallets}, app.ReferralNotifier{Push: pushes},
		app.ReferralPeople{Identity: ids}, referrals.Options{Now: time.Now})
	return &services{
		Identity:    ids,
		Push:        pushes,
		Wallet:      wallets,
		Referrals:   refs,
		Idempotency: st.Idempotency,
		Tokens:      tokens,
		Logger:      logger,
		closers:     []func() error{pushes.Close},
	}, nil
}

func (s *services) deps(st *stores) app.Deps {
	return app.Deps{
		Identity:    s.Identity,
		Push:        s.Push,
		Wallet:      s.Wallet,
		Referrals:   s.Referrals,
		Idempotency: s.Idempotency,
		Tokens:      s.Tokens,
		Logger:      s.Logger,
		Now:         time.Now,
		Ready:       st.Ping,
	}
}

// burnEvery is how often serve runs the burn job. Every instance runs it:
// each burn is an insert under the deterministic key expire:{lot}, so
// concurrent runs burn each lot once.
const burnEvery = 5 * time.Minute

// serve runs the API until ctx ends (SIGINT/SIGTERM), then stops taking
// connections, lets in-flight requests finish (up to 30 s), stops the
// background jobs, and returns so the deferred closers shut the services
// and then the stores.
func serve(ctx context.Context, cfg config, st *stores, svc *services, logger *slog.Logger) error {
	deps := svc.deps(st)
	deps.ClientIPHeader = cfg.ClientIPHeader
	deps.PublicURL = cfg.PublicURL
	f := app.New(deps)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	var jobs sync.WaitGroup
	jobs.Go(func() {
		if err := svc.Push.Run(jobsCtx); err != nil {
			logger.Error("push workers stopped", "err", err)
		}
	})
	jobs.Go(func() { burnLoop(jobsCtx, svc.Wallet, logger) })
	jobs.Go(func() { rewardLoop(jobsCtx, svc.Referrals, logger) })
	jobs.Go(func() { pruneLoop(jobsCtx, svc.Identity, logger) })
	defer func() { stopJobs(); jobs.Wait() }()
	backend := "sqlite"
	if cfg.MongoURI != "" {
		backend = "mongodb"
	}
	logger.Info("carewallet listening", "addr", ln.Addr().String(), "backend", backend)
	errc := make(chan error, 1)
	go func() { errc <- f.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	if err := f.ShutdownWithTimeout(30 * time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-errc
	logger.Info("stopped")
	return nil
}

// pruneLoop drops the sign-in limits' ended windows every hour.
func pruneLoop(ctx context.Context, ids *identity.Service, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := ids.PruneLimits(ctx); err != nil && ctx.Err() == nil {
			logger.Error("prune sign-in limits", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rewardEvery is how often serve runs the referral reward job. Every
// instance runs it: each reward is keyed ref:{receipt}:{level}, so
// concurrent runs pay once. Receipts recorded through the API are
// rewarded at once; the job pays what a crash or an error left behind.
const rewardEvery = time.Minute

func rewardLoop(ctx context.Context, r *referrals.Service, logger *slog.Logger) {
	t := time.NewTicker(rewardEvery)
	defer t.Stop()
	for {
		rep, err := r.RunRewards(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Error("referral reward job", "err", err)
		case rep.Rewards+rep.Clawbacks > 0:
			logger.Info("referral reward job", "rewards", rep.Rewards, "points", rep.Points, "clawbacks", rep.Clawbacks)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func burnLoop(ctx context.Context, w *wallet.Service, logger *slog.Logger) {
	t := time.NewTicker(burnEvery)
	defer t.Stop()
	for {
		rep, err := w.RunBurn(ctx, time.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Error("burn job", "err", err)
		case rep.Lots+rep.Warned+rep.Birthdays > 0:
			logger.Info("burn job", "lots", rep.Lots, "points", rep.Points, "warned", rep.Warned, "birthdays", rep.Birthdays)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func runClinic(ctx context.Context, svc *services, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(`usage: carewallet clinic create --name NAME --timezone ZONE --manager-email EMAIL --manager-password PASSWORD`)
	}
	fs := flag.NewFlagSet("clinic create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "clinic name")
	tz := fs.String("timezone", "", "IANA time zone, e.g. Europe/Moscow")
	email := fs.String("manager-email", "", "the first manager's email")
	password := fs.String("manager-password", "", "the first manager's password (at least 10 bytes)")
	mname := fs.String("manager-name", "", "the first manager's name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("clinic create: unexpected argument %q", fs.Arg(0))
	}
	if *email == "" || *password == "" {
		return errors.New("clinic create: --manager-email and --manager-password are required")
	}
	c, err := svc.Identity.CreateClinic(ctx, *name, *tz)
	if err != nil {
		return fmt.Errorf("clinic create: %w", err)
	}
	st, err := svc.Identity.AddStaff(ctx, identity.NewStaff{ClinicID: c.ID, Email: *email, Password: *password,
		Name: *mname, Role: identity.RoleManager})
	if err != nil {
		return fmt.Errorf("clinic create: clinic %s was created but its manager was not: %w", c.ID, err)
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"clinic_id": c.ID, "staff_id": st.ID})
}
