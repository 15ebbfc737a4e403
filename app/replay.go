package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/idempotency"
)

const maxIdempotencyKey = 200

// replayable runs a point-moving handler under the Idempotency-Key
// contract: the key is claimed before the handler runs, so of concurrent
// requests with one key exactly one runs (the others get 409
// request_in_progress, or 422 with another body); a replay with the same
// key and body gets the first response (with Idempotent-Replayed: true);
// the same key with another body is 422.
// Without the header the request runs as is (the domain is idempotent on
// its natural keys anyway). Conflicts (409), rate limits and server errors
// are not stored: they say nothing final about the request.
func (s *server) replayable(c *fiber.Ctx) error {
	key := c.Get("Idempotency-Key")
	if key == "" || s.Idempotency == nil {
		return c.Next()
	}
	if len(key) > maxIdempotencyKey || !printable(key) {
		return &apiError{Status: 400, Code: "invalid_input", Message: "Idempotency-Key must be 1 to 200 printable ASCII characters", Field: "Idempotency-Key"}
	}
	p := principal(c)
	scope := "patient:" + p.ID
	if p.ClinicID != "" {
		scope = "clinic:" + p.ClinicID
	}
	rkey := c.Method() + " " + c.Route().Path + " " + key
	sum := sha256.New()
	sum.Write([]byte(c.Method() + " " + c.Path() + "\x00"))
	sum.Write(bytes.TrimSpace(c.Body()))
	fp := hex.EncodeToString(sum.Sum(nil))
	ctx := c.UserContext()

	outcome, rec, err := idempotency.Claim(ctx, s.Idempotency, scope, rkey, fp, s.Now().UTC())
	if err != nil {
		return err
	}
	switch outcome {
	case idempotency.Mismatch:
		return &apiError{Status: 422, Code: "idempotency_conflict", Message: "this Idempotency-Key was used with a different request"}
	case idempotency.InProgress:
		c.Set(fiber.HeaderRetryAfter, "1")
		return &apiError{Status: 409, Code: "request_in_progress", Message: "a request with this Idempotency-Key is still being processed; retry to get its response"}
	case idempotency.Replay:
		c.Set("Idempotent-Replayed", "true")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Status(rec.Status).Send(rec.Body)
	}

	if err := c.Next(); err != nil {
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	if status >= 500 || status == 409 || status == 429 {
		// Nothing final: free the key so a retry runs.
		if err := idempotency.Release(ctx, s.Idempotency, rec); err != nil {
			s.Logger.Error("idempotency: release key", "route", c.Route().Path, "err", err)
		}
		return nil
	}
	if err := idempotency.Finish(ctx, s.Idempotency, rec, status, bytes.Clone(c.Response().Body())); err != nil {
		// The operation is done and its answer is on its way: failing the
		// request now would report an error for a success. Until the claim
		// goes stale a replay is told the request is in progress; after
		// that it runs again, and the domain's own keys make that harmless.
		s.Logger.Error("idempotency: store response", "route", c.Route().Path, "err", err)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
