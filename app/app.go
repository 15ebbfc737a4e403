// Package app is carewallet's HTTP API: the Fiber application, its route
// table (routes.go lists the whole API and feeds the OpenAPI document),
// JWT authentication, strict JSON input and the one table that maps
// domain errors to statuses and codes. Domain rules live in the domain
// packages; handlers only translate between HTTP and them.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/push"
	"carewallet/wallet"
)

// Deps are the services the API is built from. Optional services may be
// nil, and then their routes answer 503.
type Deps struct {
	Identity    *identity.Service
	Wallet      *wallet.Service
	Push        *push.Service
	News        *news.Service
	Idempotency idempotency.Store
	Tokens      *Tokens
	Logger      *slog.Logger
	Now         func() time.Time
	// Ready reports whether every store answers; /readyz calls it.
	Ready func(ctx context.Context) error
	// ClientIPHeader names the header a trusted proxy sets to the client's
	// address (see clientIP); "" uses the connection's address.
	ClientIPHeader string
}

// server holds the dependencies the handlers close over.
type server struct {
	Deps
	routes []route
}

// New builds the Fiber application with every route registered.
func New(d Deps) *fiber.App {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &server{Deps: d}
	f := fiber.New(fiber.Config{
		AppName:               "carewallet",
		BodyLimit:             readCap, // limitBody applies maxBody: see bodylimit.go
		DisableStartupMessage: true,
		// /V1/ME is not /v1/me: routes match exactly as sent.
		CaseSensitive: true,
		ErrorHandler:  s.handleError,
		ReadTimeout:   30 * time.Second,
		WriteTimeout:  30 * time.Second,
		IdleTimeout:   120 * time.Second,
		// fasthttp's 4 KiB default: room for headers with a JWT, and a
		// hijacked websocket keeps this buffer for its whole life.
		ReadBufferSize: 4 << 10,
		// Return the read buffer to the pool once a request is read, so
		// idle keep-alive connections and websockets (which would keep it
		// for their whole life) hold none: 4 KiB per socket.
		ReduceMemoryUsage: true,
	})
	f.Use(s.accessLog, securityHeaders, cleanPath, limitBody)
	r := &router{f: f, s: s}
	s.register(r)
	s.routes = r.routes
	doc := openAPI(s.routes)
	f.Get("/openapi.json", func(c *fiber.Ctx) error { return c.JSON(doc) })
	f.Use(func(c *fiber.Ctx) error { return errNoRoute })
	return f
}

var errNoRoute = errors.New("no such route")

// accessLog logs one line per request: the route pattern, never the path
// or query, which can carry tokens, tickets or phone numbers.
func (s *server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	if status >= 500 || s.Logger.Enabled(c.UserContext(), slog.LevelDebug) {
		s.Logger.Info("request", "method", c.Method(), "route", c.Route().Path, "status", status,
			"duration_ms", time.Since(start).Milliseconds())
	}
	return nil
}
