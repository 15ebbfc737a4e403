package push

import (
	"context"
	"encoding/json"
	"fmt"
)

// AmendEvents patches the data of the key's events in one statement;
// json_patch of fields that are already there leaves the text equal, and
// the changed count leaves those rows out.
func (s *SQLiteStore) AmendEvents(ctx context.Context, key string, fields json.RawMessage) (int64, error) {
	res, err := s.db.Writer().ExecContext(ctx, `UPDATE push_events SET data = json_patch(data, ?)
		WHERE ikey = ? AND data IS NOT json_patch(data, ?)`, string(fields), key, string(fields))
	if err != nil {
		return 0, fmt.Errorf("push: amend events: %w", err)
	}
	return res.RowsAffected()
}
