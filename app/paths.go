package app

import (
	"bytes"

	"github.com/gofiber/fiber/v2"
)

// cleanPath refuses request paths that would mean something other than
// what they say once normalised: dot segments, plain or percent-encoded
// (/v1/me/../clinic, /v1/%2e%2e/clinic), and backslashes. Routes are
// matched case-sensitively (fiber.Config.CaseSensitive).
func cleanPath(c *fiber.Ctx) error {
	p := c.Request().URI().PathOriginal()
	if i := bytes.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if bytes.IndexByte(p, '\\') >= 0 || bytes.Contains(bytes.ToLower(p), []byte("%5c")) || hasDotSegment(p) {
		return &apiError{Status: 400, Code: "invalid_path", Message: "the path must not contain . or .. segments or backslashes"}
	}
	return c.Next()
}

// hasDotSegment reports a segment that is . or .. as sent or once
// decoded (%2e; %2f splits segments when fasthttp decodes it).
func hasDotSegment(p []byte) bool {
	lower := bytes.ToLower(p)
	lower = bytes.ReplaceAll(lower, []byte("%2e"), []byte("."))
	lower = bytes.ReplaceAll(lower, []byte("%2f"), []byte("/"))
	for _, seg := range bytes.Split(lower, []byte("/")) {
		if bytes.Equal(seg, []byte(".")) || bytes.Equal(seg, []byte("..")) {
			return true
		}
	}
	return false
}
