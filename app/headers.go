package app

import "github.com/gofiber/fiber/v2"

// securityHeaders sets what every response carries: no caching (API
// answers hold tokens, codes and personal data — a handler serving public,
// unchanging content sets its own Cache-Control), no MIME sniffing, and no
// referrer leaking a path. Set before the handler runs, so a handler may
// override them.
func securityHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Next()
}
