package wallet

import (
	"errors"

	"carewallet/app/problem"
)

// Sentinel errors. Every error the Service returns wraps one of these (or a
// *ValidationError, which wraps ErrInvalid) with %w and context, so the HTTP
// layer maps them with errors.Is:
//
//	ErrInvalid, *ValidationError   400 (bad input; Field names the field)
//	ErrInvalidProgram              400/422 (program fails validation)
//	ErrNotFound                    404 (also: not yours / other clinic's)
//	ErrCardExists                  409 (an active or pending card already exists)
//	ErrCardNotActive               409 (pending or lapsed card)
//	ErrInsufficientPoints          409/422
//	ErrLimitExceeded               422 (max share, excluded services, cap)
//	ErrIdempotencyConflict         422 (same key, different body)
//	ErrInvalidCode                 422 (wrong code; an attempt was used)
//	ErrCodeExpired                 410/422
//	ErrCodeUsed                    409 (already confirmed: nothing posted)
//	ErrTooManyAttempts             429/422 (10 attempts used)
//	ErrConflict                    409 (lost a race that cannot be retried)
var (
	ErrInvalid             = errors.New("wallet: invalid request")
	ErrNotFound            = errors.New("wallet: not found")
	ErrCardExists          = errors.New("wallet: card already exists")
	ErrCardNotActive       = errors.New("wallet: card not active")
	ErrInsufficientPoints  = errors.New("wallet: insufficient points")
	ErrLimitExceeded       = errors.New("wallet: limit exceeded")
	ErrIdempotencyConflict = errors.New("wallet: idempotency key reused with a different request")
	ErrInvalidCode         = errors.New("wallet: invalid code")
	ErrCodeExpired         = errors.New("wallet: code expired")
	ErrCodeUsed            = errors.New("wallet: code already used")
	ErrTooManyAttempts     = errors.New("wallet: too many attempts")
	ErrInvalidProgram      = errors.New("wallet: invalid program")
	ErrConflict            = errors.New("wallet: conflict")
)

// errDuplicate is what a Store returns when a unique key is already taken:
// the signal that another writer got there first.
var errDuplicate = errors.New("wallet: duplicate key")

// ValidationError names the request field that is wrong (the shared
// shape). It wraps ErrInvalid, or ErrInvalidProgram for program fields.
type ValidationError = problem.Invalid

func invalid(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalid, field, format, args...)
}

func invalidProgram(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalidProgram, field, format, args...)
}
