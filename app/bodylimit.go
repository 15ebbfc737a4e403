package app

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Request bodies have two limits.
//
// maxBody is what a route accepts (64 KiB; every JSON body of the API fits
// in far less). A body over it is still read to its end — the server stays
// in step with the client — and answered 413 by limitBody, and the
// connection stays open. Answering while the client is still writing and
// then closing would make the kernel reset the connection over the unread
// bytes, and the client would see "connection reset" instead of the 413.
//
// readCap is the most the server reads of any body (fasthttp's own limit).
// A body over it is refused before it is read; drainOverCap then reads and
// discards what the client still sends — at most drainBytes, for at most
// drainTime — before the 413 goes out and the connection closes, so a
// client that writes its whole body first still reads the answer.
const (
	maxBody    = 64 << 10
	readCap    = 4 << 20
	drainBytes = 32 << 20
	drainTime  = 5 * time.Second
	// drainIdle ends a drain once the client has been silent this long:
	// it has sent its body and is waiting for the answer.
	drainIdle = 250 * time.Millisecond
)

// maxPostBody is what a news post may send: its image (at most 2 MiB)
// base64-encoded in the JSON, and the text.
const maxPostBody = 3 << 20

// maxImportBody is what a price-list import (POST /v1/clinic/services.csv)
// may send.
const maxImportBody = 2 << 20

// maxProfileBody is what PUT /v1/clinic/profile may send: the logo (at
// most 512 KiB) base64-encoded in the JSON, and the text.
const maxProfileBody = 1 << 20

// bodyLimit is the most the request's route accepts: maxPostBody for a
// news post and its edits, maxProfileBody for the clinic's profile,
// maxImportBody for a price list, maxBody elsewhere.
func bodyLimit(c *fiber.Ctx) int {
	p, m := c.Path(), c.Method()
	switch {
	case (m == fiber.MethodPost && p == "/v1/clinic/news") ||
		(m == fiber.MethodPatch && strings.HasPrefix(p, "/v1/clinic/news/")):
		return maxPostBody
	case m == fiber.MethodPut && p == "/v1/clinic/profile":
		return maxProfileBody
	case m == fiber.MethodPost && p == "/v1/clinic/services.csv":
		return maxImportBody
	}
	return maxBody
}

// tooLarge is the 413 of a body over limit: the message states the limit
// of the route it was sent to.
func tooLarge(limit int) *apiError {
	size := fmt.Sprintf("%d KiB", limit>>10)
	if limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", limit>>20)
	}
	return &apiError{Status: 413, Code: "body_too_large", Message: "request body is larger than " + size}
}

// limitBody refuses a body over the route's limit with a 413.
func limitBody(c *fiber.Ctx) error {
	if limit := bodyLimit(c); len(c.Request().Body()) > limit {
		return tooLarge(limit)
	}
	return c.Next()
}

// drainOverCap reads and discards the rest of a body that fasthttp refused
// for exceeding readCap, bounded in bytes and time (see readCap). It runs
// on the connection's own goroutine, before the 413 is written.
func drainOverCap(c *fiber.Ctx) {
	conn := c.Context().Conn()
	if conn == nil {
		return
	}
	remaining := int64(c.Request().Header.ContentLength())
	if remaining <= 0 || remaining > drainBytes {
		// Chunked (length unknown) or too large to be worth reading: the
		// client may see a reset, as it would from any server.
		remaining = drainBytes
	}
	deadline := time.Now().Add(drainTime)
	buf := make([]byte, 32<<10)
	for remaining > 0 {
		// fasthttp has already buffered the head of the body, so the last
		// few KiB of remaining never arrive: an idle gap ends the drain.
		next := time.Now().Add(drainIdle)
		if next.After(deadline) {
			next = deadline
		}
		if err := conn.SetReadDeadline(next); err != nil {
			return
		}
		n, err := conn.Read(buf[:min(int64(len(buf)), remaining)])
		remaining -= int64(n)
		if err == io.EOF || (err != nil && n == 0) {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
}
