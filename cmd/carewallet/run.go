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
	"time"

	"carewallet/app"
	"carewallet/app/identity"
)

const usage = `usage: carewallet [command]

commands:
  serve                 run the API (the default)
  demo                  fill an empty data directory with a demo clinic, staff and patients
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
	case "serve", "demo", "clinic":
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
	}
	return serve(ctx, cfg, st, svc, logger)
}

// services are the domain services built over the stores.
type services struct {
	Identity *identity.Service
	Tokens   *app.Tokens
	Logger   *slog.Logger
	closers  []func() error
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
	return &services{
		Identity: identity.NewService(st.Identity, identity.Options{Now: time.Now, SMS: sms, CodeKey: subkey(key, "codes")}),
		Tokens:   tokens,
		Logger:   logger,
	}, nil
}

func (s *services) deps(st *stores) app.Deps {
	return app.Deps{
		Identity: s.Identity,
		Tokens:   s.Tokens,
		Logger:   s.Logger,
		Now:      time.Now,
		Ready:    st.Ping,
	}
}

// serve runs the API until ctx ends (SIGINT/SIGTERM), then stops taking
// connections, lets in-flight requests finish (up to 30 s), and returns so
// the deferred closers shut the services and then the stores.
func serve(ctx context.Context, cfg config, st *stores, svc *services, logger *slog.Logger) error {
	f := app.New(svc.deps(st))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
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
