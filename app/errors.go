package app

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
	"carewallet/app/problem"
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// apiError is an error with its HTTP status and stable code.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
	// NextAllowedAt: when a refused news post may be published (weekly_limit).
	NextAllowedAt *time.Time
}

func (e *apiError) Error() string { return e.Message }

func badRequest(msg string) error { return &apiError{Status: 400, Code: "invalid_input", Message: msg} }

// errorTable maps domain sentinel errors to statuses and codes. Anything
// not here (or an *apiError / typed error below) is a 500 "internal",
// logged once.
var errorTable = []errorRow{
	{identity.ErrNotFound, 404, "not_found"},
	{identity.ErrInvalidPhone, 400, "invalid_phone"},
	{identity.ErrInvalidCode, 401, "invalid_code"},
	{identity.ErrTooManyAttempts, 429, "too_many_attempts"},
	{identity.ErrEmailTaken, 409, "email_taken"},
	{identity.ErrBadCredentials, 401, "bad_credentials"},
	{identity.ErrTokenReused, 401, "token_reused"},
	{identity.ErrSessionRevoked, 401, "session_revoked"},
	{identity.ErrSMSUnavailable, 503, "sms_unavailable"},

	{push.ErrInvalidDevice, 400, "invalid_device"},
	{push.ErrInvalidDraft, 400, "invalid_input"},
	{push.ErrNotFound, 404, "not_found"},
	{push.ErrInvalidTicket, 401, "invalid_ticket"},
	{push.ErrClosed, 503, "shutting_down"},
	{push.ErrTooManySockets, 429, "too_many_sockets"},

	{wallet.ErrNotFound, 404, "not_found"},
	{wallet.ErrCardExists, 409, "card_exists"},
	{wallet.ErrCardNotActive, 409, "card_not_active"},
	{wallet.ErrCardUnconfirmed, 409, "card_unconfirmed"},
	{wallet.ErrNothingToConfirm, 409, "nothing_to_confirm"},
	{wallet.ErrInsufficientPoints, 422, "insufficient_points"},
	{wallet.ErrLimitExceeded, 422, "limit_exceeded"},
	{wallet.ErrIdempotencyConflict, 422, "idempotency_conflict"},
	{wallet.ErrInvalidCode, 422, "invalid_code"},
	{wallet.ErrCodeExpired, 410, "code_expired"},
	{wallet.ErrCodeUsed, 409, "code_used"},
	{wallet.ErrCardActive, 409, "card_active"},
	{wallet.ErrTooManyAttempts, 429, "too_many_attempts"},
	{wallet.ErrLastGuardian, 409, "last_guardian"},
	{wallet.ErrConflict, 409, "conflict"},
	{wallet.ErrInvalidProgram, 400, "invalid_program"},
	{wallet.ErrInvalid, 400, "invalid_input"},
	{wallet.ErrTooYoung, 409, "too_young"},
	{wallet.ErrHandedOver, 409, "handed_over"},
	{wallet.ErrSoleGuardian, 409, "sole_guardian"},

	{referrals.ErrNotFound, 404, "not_found"},
	{referrals.ErrInvalid, 400, "invalid_input"},
	{referrals.ErrInvalidProgram, 400, "invalid_referral_program"},
	{referrals.ErrUnknownCode, 404, "unknown_referral_code"},
	{referrals.ErrDisabled, 409, "referrals_disabled"},
	{referrals.ErrSelfReferral, 422, "self_referral"},
	{referrals.ErrAlreadyReferred, 409, "already_referred"},
	{referrals.ErrNotNewPatient, 409, "not_new_patient"},
	{referrals.ErrNotOwnCard, 409, "not_own_card"},
	{referrals.ErrTooManyCodes, 429, "too_many_codes"},
	{referrals.ErrDecided, 409, "already_decided"},
	{referrals.ErrNotHeld, 409, "not_held"},
	{referrals.ErrInsufficientRewards, 422, "insufficient_rewards"},
	{news.ErrInvalid, 400, "invalid_input"},
	{news.ErrNotFound, 404, "not_found"},
	{news.ErrWeeklyLimit, 409, "weekly_limit"},
	{news.ErrPublished, 409, "already_published"},
	{news.ErrWithdrawn, 409, "withdrawn"},
	{news.ErrNoPoll, 404, "no_poll"},
	{news.ErrPollClosed, 409, "poll_closed"},
	{news.ErrVoted, 409, "already_voted"},
	{news.ErrNotVoted, 403, "vote_first"},
	{news.ErrThreadClosed, 409, "chat_closed"},
	{news.ErrRateLimited, 429, "rate_limited"},

	{care.ErrInvalid, 400, "invalid_input"},
	{care.ErrNotFound, 404, "not_found"},
	{care.ErrRated, 409, "already_rated"},
	{care.ErrNotVisited, 409, "visit_not_done"},
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// NextAllowedAt is set with weekly_limit.
	NextAllowedAt *time.Time `json:"next_allowed_at,omitempty"`
}

// classify turns any error into the response the client sees.
func classify(err error) (e *apiError, retryAfter int) {
	var ae *apiError
	var inv *problem.Invalid
	var lim *problem.Limited
	var ref *problem.Refused
	var fe *fiber.Error
	var wl *news.WeeklyLimitError
	switch {
	case errors.As(err, &ae):
		return ae, 0
	case errors.As(err, &wl):
		return &apiError{Status: 409, Code: "weekly_limit", Message: messageOf(wl), NextAllowedAt: &wl.NextAllowedAt}, 0
	case errors.As(err, &inv):
		// The kind's row in the table names the code (invalid_program);
		// the status is always 400.
		code := "invalid_input"
		if row, ok := lookup(inv.Kind); ok && row.status == 400 {
			code = row.code
		}
		return &apiError{Status: 400, Code: code, Message: inv.Error(), Field: inv.Field}, 0
	case errors.As(err, &lim):
		code := "rate_limited"
		if row, ok := lookup(lim.Kind); ok && row.status == 429 {
			code = row.code
		}
		return &apiError{Status: 429, Code: code, Message: lim.Error()}, lim.RetryAfterSeconds()
	case errors.As(err, &ref):
		// The kind's row names status and code; the message is the
		// refusal's own, which says what limit or state stands in the way.
		if row, ok := lookup(ref.Kind); ok {
			return &apiError{Status: row.status, Code: row.code, Message: ref.Message}, 0
		}
	case errors.Is(err, errNoRoute):
		return &apiError{Status: 404, Code: "not_found", Message: "no such route"}, 0
	case errors.As(err, &fe):
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			return &apiError{Status: 413, Code: "body_too_large", Message: fmt.Sprintf("request body is larger than %d KiB", maxBody>>10)}, 0
		case fiber.StatusNotFound:
			return &apiError{Status: 404, Code: "not_found", Message: "no such route"}, 0
		case fiber.StatusMethodNotAllowed:
			return &apiError{Status: 405, Code: "method_not_allowed", Message: "method not allowed"}, 0
		}
		if fe.Code < 500 {
			return &apiError{Status: fe.Code, Code: "invalid_request", Message: fe.Message}, 0
		}
	}
	if row, ok := lookup(err); ok {
		return &apiError{Status: row.status, Code: row.code, Message: messageOf(row.err)}, 0
	}
	return nil, 0
}

type errorRow = struct {
	err    error
	status int
	code   string
}

// lookup finds err's row in the error table.
func lookup(err error) (errorRow, bool) {
	if err == nil {
		return errorRow{}, false
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			return row, true
		}
	}
	return errorRow{}, false
}

// messageOf is the sentinel's text without its "package: " prefix.
func messageOf(err error) string {
	m := err.Error()
	for i := 0; i < len(m)-1; i++ {
		if m[i] == ':' && m[i+1] == ' ' {
			return m[i+2:]
		}
	}
	return m
}

// handleError writes the error body. It is Fiber's ErrorHandler, and the
// access-log middleware calls it so the logged status is the final one.
func (s *server) handleError(c *fiber.Ctx, err error) error {
	if errors.Is(err, fiber.ErrRequestEntityTooLarge) {
		if len(c.Request().Body()) <= maxBody {
			// fasthttp refused the body unread (over readCap): let the
			// client finish writing it, so it reads this answer and not a
			// reset.
			drainOverCap(c)
		}
		err = tooLarge(bodyLimit(c)) // the limit of this route
	}
	e, retry := classify(err)
	if e == nil {
		s.Metrics.StoreError("request", err)
		s.Logger.Error("unhandled error", "method", c.Method(), "route", c.Route().Path, "err", err)
		e = &apiError{Status: 500, Code: "internal", Message: "internal error"}
	}
	if retry > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retry))
	}
	return c.Status(e.Status).JSON(errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field, NextAllowedAt: e.NextAllowedAt}})
}
