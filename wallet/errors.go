package wallet

import (
	"errors"

	"carewallet/app/problem"
)

// Sentinel errors. Every error the Service returns wraps one of these (or a
// *ValidationError, which wraps ErrInvalid or ErrInvalidProgram) with %w
// and context. What each means to a client (status and code) is decided
// by one table, app's errorTable, and nowhere else; the meanings:
//
//	ErrInvalid, *ValidationError   bad input; Field names the field
//	ErrInvalidProgram              the program fails validation
//	ErrNotFound                    missing, or not yours / another clinic's
//	ErrCardExists                  an active or pending card already exists
//	ErrCardNotActive               pending or lapsed card
//	ErrInsufficientPoints          fewer usable points than asked
//	ErrLimitExceeded               max share, excluded services, cap
//	ErrIdempotencyConflict         same key, different body
//	ErrInvalidCode                 wrong code; an attempt was used
//	ErrCodeExpired                 the code's lifetime is over
//	ErrCodeUsed                    already confirmed: nothing posted
//	ErrCardActive                  confirming a card that is active
//	ErrTooManyAttempts             the code's attempts are used up
//	ErrConflict                    lost a race that cannot be retried
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
	ErrCardActive          = errors.New("wallet: the card is already active")
	ErrTooManyAttempts     = errors.New("wallet: too many attempts")
	ErrInvalidProgram      = errors.New("wallet: invalid program")
	ErrConflict            = errors.New("wallet: conflict")
)

// errDuplicate is what a Store returns when a unique key is already taken:
// the signal that another writer got there first.
var errDuplicate = errors.New("wallet: duplicate key")

// refused is a refusal of kind whose message a person can act on (the
// limit or state that stands in the way), shown to the client as is.
func refused(kind error, format string, args ...any) error {
	return problem.Refusef(kind, format, args...)
}

// ValidationError names the request field that is wrong (the shared
// shape). It wraps ErrInvalid, or ErrInvalidProgram for program fields.
type ValidationError = problem.Invalid

func invalid(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalid, field, format, args...)
}

func invalidProgram(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalidProgram, field, format, args...)
}
