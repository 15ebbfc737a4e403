package push

import (
	"context"
	"encoding/json"
	"fmt"
)

// Amender changes stored events in place: what a later fact says about an
// event already delivered (a withdrawn news post stays in the inbox,
// marked withdrawn). The events keep their id and seq; nothing is
// delivered or pushed again, so a client sees the change when it next
// reads its inbox.
type Amender interface {
	// AmendEvents merges fields (a JSON object, RFC 7396 merge patch of
	// top-level fields) into the data of every event stored under key,
	// whatever its user, and reports how many events it changed.
	// Applying the same fields again changes nothing.
	AmendEvents(ctx context.Context, key string, fields json.RawMessage) (int64, error)
}

// Amend sets fields in the data of every event published with key, for
// all users (e.g. {"withdrawn": true} on the news.post events of a
// withdrawn post). It is idempotent, so a retry after a failure is safe.
func (s *Service) Amend(ctx context.Context, key string, fields map[string]any) (int64, error) {
	if key == "" || len(key) > MaxKeyLen {
		return 0, fmt.Errorf("%w: amend needs a key of 1..%d characters", ErrInvalidDraft, MaxKeyLen)
	}
	if len(fields) == 0 {
		return 0, fmt.Errorf("%w: amend needs fields", ErrInvalidDraft)
	}
	patch, err := json.Marshal(fields)
	if err != nil {
		return 0, fmt.Errorf("%w: amend fields: %v", ErrInvalidDraft, err)
	}
	return s.store.AmendEvents(ctx, key, patch)
}
