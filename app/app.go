// Package app is carewallet's HTTP API: the Fiber application, its route
// table (routes.go lists the whole API and feeds the OpenAPI document),
// JWT authentication, strict JSON input and the one table that maps
// domain errors to statuses and codes. Domain rules live in the domain
// packages; handlers only translate between HTTP and them.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// Deps are the services the API is built from. Optional services may be
// nil, and then their routes answer 503.
type Deps struct {
	Identity  *identity.Service
	Wallet    *wallet.Service
	Push      *push.Service
	Referrals *referrals.Service
	News      *news.Service
	// Care runs the care scenarios, appointments and visit ratings.
	Care        *care.Service
	Idempotency idempotency.Store
	Tokens      *Tokens
	Logger      *slog.Logger
	Now         func() time.Time
	// Ready reports whether every store answers; /readyz calls it.
	Ready func(ctx context.Context) error
	// PublicURL is the public base address of the API (referral links:
	// {PublicURL}/r/{code}).
	PublicURL string
	// ClientIPHeader names the header a trusted proxy sets to the client's
	// address (see clientIP); "" uses the connection's address.
	ClientIPHeader string
	// CORSOrigins are the exact origins (https://app.example.com) that get
	// CORS answers; none: no CORS header is ever sent.
	CORSOrigins []string
	// Metrics records requests and store errors; nil records nothing.
	Metrics *Metrics
	// ExportSections are sections of the data export (GET /v1/me/export,
	// GET /v1/clinic/patients/{id}/export) beyond the built-in ones, for
	// packages wired in later (care: ratings, appointments).
	ExportSections []ExportSection
	// Scrub runs after a patient is erased, to push the erased bytes out
	// of the database files (SQLite: storage.SQLite.Scrub); nil: nothing.
	Scrub func(ctx context.Context) error
}

// server holds the dependencies the handlers close over.
type server struct {
	Deps
	routes []route
	doc    map[string]any // the OpenAPI document
	// patterns are the Fiber route patterns of the API, the only values
	// the route label of the request metrics takes (and routeUnmatched).
	patterns map[string]bool
}

func (s *server) serveOpenAPI(c *fiber.Ctx) error { return c.JSON(s.doc) }

// New builds the Fiber application with every route registered.
func New(d Deps) *fiber.App {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.PublicURL == "" {
		d.PublicURL = "http://localhost:8080"
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
	f.Use(s.accessLog)
	if mw := cors(d.CORSOrigins); mw != nil {
		f.Use(mw)
	}
	f.Use(securityHeaders, cleanPath, limitBody)
	r := &router{f: f, s: s}
	s.register(r)
	registerConsole(f)
	s.routes = r.routes
	s.patterns = map[string]bool{"/openapi.json": true}
	for _, rt := range s.routes {
		s.patterns[fiberPath(rt.Path)] = true
	}
	s.doc = openAPI(s.routes)
	f.Use(noRoute)
	return f
}

var errNoRoute = errors.New("no such route")

// noRoute answers what no route matched: a path that another method
// serves is a 405 whose Allow header lists the methods that do (Fiber
// fills it in as it looks), anything else a 404.
func noRoute(c *fiber.Ctx) error {
	if err := c.Next(); !errors.Is(err, fiber.ErrMethodNotAllowed) {
		return errNoRoute
	}
	allow := string(c.Response().Header.Peek(fiber.HeaderAllow))
	return &apiError{Status: 405, Code: "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed on this path; allowed: %s", c.Method(), allow)}
}

// OpenAPIDocument is the OpenAPI 3 document GET /openapi.json serves, as
// indented JSON. It needs no services: the route table alone makes it.
func OpenAPIDocument() ([]byte, error) {
	s := &server{Deps: Deps{Now: time.Now, Logger: slog.Default()}}
	r := &router{f: fiber.New(fiber.Config{DisableStartupMessage: true}), s: s}
	s.register(r)
	return json.MarshalIndent(openAPI(r.routes), "", "  ")
}

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
	if s.Metrics != nil {
		route := c.Route().Path
		if !s.patterns[route] {
			route = routeUnmatched
		}
		s.Metrics.request(metricMethod(c.Method()), route, status, time.Since(start))
	}
	if status >= 500 || s.Logger.Enabled(c.UserContext(), slog.LevelDebug) {
		s.Logger.Info("request", "method", c.Method(), "route", c.Route().Path, "status", status,
			"duration_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// metricMethod keeps the method label to the methods HTTP defines. It
// returns constants: c.Method() points into a buffer fasthttp reuses for
// the next request, and a label value is kept for the process's life.
func metricMethod(m string) string {
	for _, known := range [...]string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut,
		fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions} {
		if m == known {
			return known
		}
	}
	return "other"
}
