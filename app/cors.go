package app

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// CORS answers for browser clients on other origins. Fiber's cors
// middleware is not used: for an unlisted origin it still answers a
// preflight with 204 and Allow-Methods/Allow-Headers, where an unlisted
// origin must get no CORS header at all.
const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	// corsHeaders are the request headers the API reads.
	corsHeaders = "Authorization, Content-Type, Idempotency-Key"
	// corsExpose are the response headers a web client needs to read.
	corsExpose = "Retry-After, Idempotent-Replayed, Allow"
	// corsMaxAge lets a browser keep a preflight answer for 10 minutes.
	corsMaxAge = "600"
)

// cors returns the middleware for the exact origins listed (scheme, host
// and port as a browser sends them in Origin), or nil when there are none.
// Credentials (cookies) are not allowed across origins: the API takes
// bearer tokens, and the console is served from the API's own origin.
func cors(origins []string) fiber.Handler {
	if len(origins) == 0 {
		return nil
	}
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(o)] = true
	}
	return func(c *fiber.Ctx) error {
		// Every answer depends on Origin, so a cache must not serve one
		// origin's answer to another, whether or not this one is listed.
		c.Vary(fiber.HeaderOrigin)
		origin := c.Get(fiber.HeaderOrigin)
		if origin == "" || !allowed[strings.ToLower(origin)] {
			return c.Next()
		}
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
		if c.Method() != fiber.MethodOptions || c.Get(fiber.HeaderAccessControlRequestMethod) == "" {
			c.Set(fiber.HeaderAccessControlExposeHeaders, corsExpose)
			return c.Next()
		}
		// A preflight: answered here, before authentication, which a
		// browser never sends with it.
		c.Vary(fiber.HeaderAccessControlRequestMethod, fiber.HeaderAccessControlRequestHeaders)
		c.Set(fiber.HeaderAccessControlAllowMethods, corsMethods)
		c.Set(fiber.HeaderAccessControlAllowHeaders, corsHeaders)
		c.Set(fiber.HeaderAccessControlMaxAge, corsMaxAge)
		return c.SendStatus(fiber.StatusNoContent)
	}
}
