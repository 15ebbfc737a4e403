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
	"net/http"
	"sync"
	"time"

	"carewallet/app"
	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

const usage = `usage: carewallet [command]

commands:
  serve                 run the API (the default)
  demo                  fill an empty data directory with a demo clinic, staff and patients
  burn                  run the burn job once (expired lots, burn warnings, birthday bonuses); serve runs it every 5 minutes
  backup FILE           copy the embedded database to FILE (a new file) while serve runs; see README for restoring
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
	case "serve", "demo", "clinic", "burn", "backup":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if cmd == "backup" {
		// Opens nothing else: no migrations, no key, no services.
		return runBackup(ctx, cfg, args, stdout)
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
		return runDemo(ctx, cfg, svc, stdout)
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
	News        *news.Service
	Care        *care.Service
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
	pushes := push.NewService(st.Push, push.Options{Now: time.Now, Sender: sender, Logger: logger, PollInterval: pollEvery,
		Zones: app.ClinicLocations{Identity: ids}})
	wallets := wallet.NewService(st.Wallet, app.ClinicLocations{Identity: ids}, app.WalletNotifier{Push: pushes},
		wallet.Options{Now: time.Now, CodeKey: subkey(key, "wallet-codes"), People: app.WalletPeople{Identity: ids},
			Managers: app.WalletManagers{Identity: ids, Push: pushes}})
	// Holder details the wallet kept before identity owned them move there
	// once; later starts find nothing to move.
	if n, err := wallets.MoveHolderDetails(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		logger.Info("holder details moved to identity", "records", n)
	}
	refs := referrals.NewService(st.Referrals, app.ReferralWallet{Wallet: wallets}, app.ReferralNotifier{Push: pushes},
		app.ReferralPeople{Identity: ids}, referrals.Options{Now: time.Now})
	newsSvc := news.NewService(st.News, news.Options{Now: time.Now, Inbox: app.NewsInbox{Push: pushes},
		Audience: app.NewsAudience{Wallet: wallets, Referrals: refs}, Clinics: app.NewsClinics{Identity: ids},
		Staff: app.NewsStaff{Identity: ids}, Bonus: app.NewsBonus{Wallet: wallets}, Pushes: app.NewsPushes{Push: pushes}})
	careSvc := care.NewService(st.Care, care.Options{Now: time.Now, Inbox: app.CareInbox{Push: pushes},
		Patients: app.CarePatients{Identity: ids, Wallet: wallets}, Clinics: app.CareClinics{Identity: ids},
		Managers: app.NewsStaff{Identity: ids}, Chat: app.CareChat{News: newsSvc}, PushConfigured: sender != nil})
	return &services{
		Identity:    ids,
		Push:        pushes,
		Wallet:      wallets,
		Referrals:   refs,
		News:        newsSvc,
		Care:        careSvc,
		Idempotency: st.Idempotency,
		Tokens:      tokens,
		Logger:      logger,
		closers:     []func() error{pushes.Close},
	}, nil
}

func (s *services) deps(st *stores) app.Deps {
	return app.Deps{
		Identity:  s.Identity,
		Push:      s.Push,
		Wallet:    s.Wallet,
		Referrals: s.Referrals,
		News:      s.News,
		Care:      s.Care,
		// The export's care section: appointments and visit ratings.
		ExportSections: []app.ExportSection{app.CareExport{Care: s.Care}},
		Idempotency:    s.Idempotency,
		Tokens:         s.Tokens,
		Logger:         s.Logger,
		Now:            time.Now,
		Ready:          st.Ping,
		Scrub:          st.scrub(),
	}
}

// burnEvery is how often serve runs the burn job. Every instance runs it:
// each burn is an insert under the deterministic key expire:{lot}, so
// concurrent runs burn each lot once.
const burnEvery = 5 * time.Minute

// fanoutEvery is how often serve looks for news posts that are due (a
// scheduled post, or one another instance published); a post published
// on this instance starts at once.
const fanoutEvery = 10 * time.Second

// careEvery is how often serve sends due care messages (the greeting and
// the after-visit texts are due within minutes; an appointment written on
// this instance wakes it at once).
const careEvery = 30 * time.Second

// serve runs the API until ctx ends (SIGINT/SIGTERM), then stops taking
// connections, lets in-flight requests finish (up to 30 s), stops the
// background jobs, and returns so the deferred closers shut the services
// and then the stores.
func serve(ctx context.Context, cfg config, st *stores, svc *services, logger *slog.Logger) error {
	deps := svc.deps(st)
	deps.ClientIPHeader = cfg.ClientIPHeader
	deps.CORSOrigins = cfg.CORSOrigins
	var metrics *app.Metrics
	if cfg.MetricsAddr != "" {
		metrics = app.NewMetrics()
		metrics.WatchPush(svc.Push)
		deps.Metrics = metrics
	}
	deps.PublicURL = cfg.PublicURL
	f := app.New(deps)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if metrics != nil {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, metrics, logger)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
	}
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	var jobs sync.WaitGroup
	jobs.Go(func() {
		if err := svc.Push.Run(jobsCtx); err != nil {
			logger.Error("push workers stopped", "err", err)
		}
	})
	jobs.Go(func() { burnLoop(jobsCtx, svc.Wallet, metrics, logger) })
	jobs.Go(func() { pruneLoop(jobsCtx, svc.Identity, metrics, logger) })
	jobs.Go(func() { rewardLoop(jobsCtx, svc.Referrals, metrics, logger) })
	jobs.Go(func() {
		// Every instance runs it: a page published twice reaches nobody
		// twice (the inbox key news:{post} per recipient).
		svc.News.RunFanout(jobsCtx, fanoutEvery, func(err error) { logger.Error("news fan-out", "err", err) })
	})
	jobs.Go(func() {
		// Every instance runs it: each care message has a deterministic
		// key, in the outbox and in the inbox, so none goes out twice.
		svc.Care.Run(jobsCtx, careEvery, func(err error) { logger.Error("care scheduler", "err", err) })
	})
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
func pruneLoop(ctx context.Context, ids *identity.Service, m *app.Metrics, logger *slog.Logger) {
	every(ctx, "prune_limits", time.Hour, m, func() error {
		_, err := ids.PruneLimits(ctx)
		if err != nil && ctx.Err() == nil {
			logger.Error("prune sign-in limits", "err", err)
		}
		return err
	})
}

// rewardEvery is how often serve runs the referral reward job. Every
// instance runs it: each reward is keyed ref:{receipt}:{level}, so
// concurrent runs pay once. Receipts recorded through the API are
// rewarded at once; the job pays what a crash or an error left behind.
const rewardEvery = time.Minute

func rewardLoop(ctx context.Context, r *referrals.Service, m *app.Metrics, logger *slog.Logger) {
	every(ctx, "referral_rewards", rewardEvery, m, func() error {
		rep, err := r.RunRewards(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			logger.Error("referral reward job", "err", err)
		case rep.Rewards+rep.Clawbacks > 0:
			logger.Info("referral reward job", "rewards", rep.Rewards, "points", rep.Points, "clawbacks", rep.Clawbacks)
		}
		return err
	})
}

func burnLoop(ctx context.Context, w *wallet.Service, m *app.Metrics, logger *slog.Logger) {
	every(ctx, "burn", burnEvery, m, func() error {
		rep, err := w.RunBurn(ctx, time.Now())
		switch {
		case ctx.Err() != nil:
		case err != nil:
			logger.Error("burn job", "err", err)
		case rep.Lots+rep.Warned+rep.Birthdays > 0:
			logger.Info("burn job", "lots", rep.Lots, "points", rep.Points, "warned", rep.Warned, "birthdays", rep.Birthdays)
		}
		return err
	})
}

// every runs job at once and then every interval until ctx ends, and
// records each run (its duration, and its lag: how long after it was due
// it started, which grows when runs take longer than the interval).
func every(ctx context.Context, name string, interval time.Duration, m *app.Metrics, job func() error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	due := time.Now()
	for {
		start := time.Now()
		err := job()
		if ctx.Err() != nil {
			return
		}
		m.ObserveJob(name, due, start, time.Since(start), err)
		select {
		case <-ctx.Done():
			return
		case due = <-t.C:
		}
	}
}

// serveMetrics serves GET /metrics on its own listener (never the API's);
// stop closes it.
func serveMetrics(addr string, m *app.Metrics, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("CAREWALLET_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
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
