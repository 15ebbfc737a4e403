package push

import (
	"context"
	"errors"
	"fmt"
)

// ErrErased ends the websockets of a deleted account.
var ErrErased = errors.New("push: the account was deleted")

// Eraser is what deleting a user needs from a store: every record of the
// user (inbox events, devices, websocket tickets, delivery failures,
// marketing preferences, budget slots and deferred pushes) removed.
// Idempotent.
type Eraser interface {
	EraseUser(ctx context.Context, user string) error
	// RedactEvents replaces, in every inbox, the data of the events of
	// type typ whose data has field (a top-level string) equal to value
	// with RedactedData. It scans the events of that type.
	RedactEvents(ctx context.Context, typ, field, value string) error
	// ForgetCardPreferences removes every user's preference for the card
	// (a dependant's card handed over to its holder). Idempotent.
	ForgetCardPreferences(ctx context.Context, card string) error
}

// RedactedData replaces the data of a redacted event.
const RedactedData = `{"redacted":true}`

// RedactAbout redacts other users' inbox events of type typ that are
// about a deleted user (their data's field holds the user's id), such as
// the chat messages a patient wrote, copied to the managers' inboxes.
func (s *Service) RedactAbout(ctx context.Context, typ, field, user string) error {
	e, ok := s.store.(Eraser)
	if !ok {
		return fmt.Errorf("push: redact: the store cannot redact")
	}
	if err := e.RedactEvents(ctx, typ, field, user); err != nil {
		return fmt.Errorf("push: redact: %w", err)
	}
	return nil
}

// EraseUser removes everything push keeps about a user (DELETE /v1/me):
// the inbox, the devices and their tokens, tickets, failure records, the
// marketing preferences, the budget slots and the deferred pushes (whose
// alerts may name the person). The user's websockets on this instance
// are closed at once (ErrErased), before and after the rows go, so none
// keeps streaming to the deleted account.
func (s *Service) EraseUser(ctx context.Context, user string) error {
	e, ok := s.store.(Eraser)
	if !ok {
		return fmt.Errorf("push: erase: the store cannot erase")
	}
	s.CloseUser(user)
	if err := e.EraseUser(ctx, user); err != nil {
		return fmt.Errorf("push: erase: %w", err)
	}
	s.CloseUser(user)
	return nil
}

// CloseUser ends the user's live subscriptions on this instance with
// ErrErased (their websockets close with "account deleted"). Sockets on
// other instances end at their next heartbeat, when the session check
// finds the sessions gone.
func (s *Service) CloseUser(user string) { s.hub.closeUser(user, ErrErased) }

// ForgetCard removes the users' preferences for one card: a guardian's
// switch for a dependant's card does not follow the card to its holder at
// a handover.
func (s *Service) ForgetCard(ctx context.Context, card string) error {
	e, ok := s.store.(Eraser)
	if !ok {
		return fmt.Errorf("push: forget card: the store cannot erase")
	}
	if err := e.ForgetCardPreferences(ctx, card); err != nil {
		return fmt.Errorf("push: forget card: %w", err)
	}
	return nil
}

// UserDevices lists a user's devices (the data export).
func (s *Service) UserDevices(ctx context.Context, user string) ([]UserDevice, error) {
	return s.store.Devices(ctx, []string{user})
}
