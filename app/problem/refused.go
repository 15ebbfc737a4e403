package problem

import "fmt"

// Refused is a request refused for a reason a person can act on, other
// than a bad field or a rate limit: a limit of the program, the state of
// an object ("at most 500 points can be paid on this receipt", "the card
// is already active"). Message is shown as is; Kind, the package's
// sentinel, chooses the status and code in app's error table.
type Refused struct {
	Message string
	Kind    error
}

func (e *Refused) Error() string { return e.Message }

// Unwrap returns Kind, so errors.Is(err, pkg.ErrLimitExceeded) holds.
func (e *Refused) Unwrap() error { return e.Kind }

// Refusef builds a Refused of kind with a formatted message.
func Refusef(kind error, format string, args ...any) *Refused {
	return &Refused{Message: fmt.Sprintf(format, args...), Kind: kind}
}
