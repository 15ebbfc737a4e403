package app

import (
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/console"
)

// consoleCSP is the console's Content-Security-Policy: its own scripts,
// styles and images only (no inline script or style, no eval), API calls
// and the websocket to its own origin ('self' covers same-origin ws: and
// wss: in CSP Level 3 browsers; Chromium since 71 — the browser tests
// connect the chat socket under this policy), never framed.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// serveConsole serves the embedded console at /console/ (index.html for
// the directory itself). It is not part of the API and not in the
// OpenAPI document; the console calls /v1 like any other client.
func serveConsole(c *fiber.Ctx) error {
	name := strings.TrimPrefix(c.Params("*"), "/")
	if name == "" {
		// Relative module paths need the trailing slash.
		if !strings.HasSuffix(c.Path(), "/") {
			return c.Redirect("/console/", fiber.StatusMovedPermanently)
		}
		name = "index.html"
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".go") {
		return errNoRoute
	}
	if st, err := fs.Stat(console.Files, name); err != nil || st.IsDir() {
		return errNoRoute
	}
	b, err := fs.ReadFile(console.Files, name)
	if err != nil {
		return err
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentSecurityPolicy, consoleCSP)
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	// Revalidate every time: a new binary serves new files at once.
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(b)
}

// registerConsole mounts the console (/console redirects to /console/).
func registerConsole(f *fiber.App) {
	f.Get("/console/*", serveConsole)
}
