// Package problem holds the two error shapes that every package may return
// and the HTTP layer maps without knowing the package: a bad input that
// names its field, and a refusal that says when to try again. A new domain
// package returns these (wrapping its own sentinel as Kind) and needs no
// case of its own in app's error table.
//
// It is a leaf: it imports nothing of ours.
package problem

import (
	"fmt"
	"time"
)

// Invalid is a bad request that names the field at fault, in one notation
// across the API: JSON field names joined by dots, array elements by index
// (lines[0].amount). Kind is the package's sentinel it wraps (for example
// wallet.ErrInvalidProgram), which chooses the error code; nil means the
// generic invalid_input.
type Invalid struct {
	Field   string
	Message string
	Kind    error
}

// Error is "field: message" (or the message alone when no field applies).
func (e *Invalid) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Unwrap returns Kind, so errors.Is(err, pkg.ErrInvalid) holds.
func (e *Invalid) Unwrap() error { return e.Kind }

// Invalidf builds an Invalid of kind with a formatted message.
func Invalidf(kind error, field, format string, args ...any) *Invalid {
	return &Invalid{Field: field, Message: fmt.Sprintf(format, args...), Kind: kind}
}

// Limited says a limit was hit and when the caller may try again. Message
// names the limit in words a person can act on ("at most 5 codes per phone
// in 15 minutes"); Kind, when set, is the package's sentinel and chooses
// the error code (nil: rate_limited).
type Limited struct {
	Message    string
	RetryAfter time.Duration
	Kind       error
}

func (e *Limited) Error() string {
	return fmt.Sprintf("%s; retry in %s", e.Message, e.RetryAfter.Round(time.Second))
}

// Unwrap returns Kind.
func (e *Limited) Unwrap() error { return e.Kind }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1:
// the value of a Retry-After header.
func (e *Limited) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}
