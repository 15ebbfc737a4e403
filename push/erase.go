package push

import (
	"context"
	"fmt"
)

// Eraser is what deleting a user needs from a store: every record of the
// user (inbox events, devices, websocket tickets, delivery failures)
// removed. Idempotent.
type Eraser interface {
	EraseUser(ctx context.Context, user string) error
	// RedactEvents replaces, in every inbox, the data of the events of
	// type typ whose data has field (a top-level string) equal to value
	// with RedactedData. It scans the events of that type.
	RedactEvents(ctx context.Context, typ, field, value string) error
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
// the inbox, the devices and their tokens, tickets and failure records.
func (s *Service) EraseUser(ctx context.Context, user string) error {
	e, ok := s.store.(Eraser)
	if !ok {
		return fmt.Errorf("push: erase: the store cannot erase")
	}
	if err := e.EraseUser(ctx, user); err != nil {
		return fmt.Errorf("push: erase: %w", err)
	}
	return nil
}

// UserDevices lists a user's devices (the data export).
func (s *Service) UserDevices(ctx context.Context, user string) ([]UserDevice, error) {
	return s.store.Devices(ctx, []string{user})
}
