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
