package push

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// AmendEvents reads the key's events and rewrites each one's data with
// the fields merged in, guarded by the data it read: a concurrent amend
// of the same event makes this one skip it, and the other's result
// already has these fields or gets them on a retry.
func (s *MongoStore) AmendEvents(ctx context.Context, key string, fields json.RawMessage) (int64, error) {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(fields, &patch); err != nil {
		return 0, fmt.Errorf("push: amend events: %w", err)
	}
	cur, err := s.events.Find(ctx, bson.D{{Key: "k", Value: key}}, options.Find().SetProjection(bson.M{"d": 1}))
	if err != nil {
		return 0, storage.Errors{Context: "push: amend events"}.Map(err)
	}
	var docs []eventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, storage.Errors{Context: "push: amend events"}.Map(err)
	}
	var n int64
	for _, d := range docs {
		data := map[string]json.RawMessage{}
		if d.Data != "" && d.Data != "null" {
			if err := json.Unmarshal([]byte(d.Data), &data); err != nil {
				continue // not an object: nothing to amend
			}
		}
		same := true
		for k, v := range patch {
			if old, ok := data[k]; !ok || string(old) != string(v) {
				same = false
			}
		}
		if same {
			continue
		}
		maps.Copy(data, patch)
		b, err := json.Marshal(data)
		if err != nil {
			return n, fmt.Errorf("push: amend events: %w", err)
		}
		res, err := s.events.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "d", Value: d.Data}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "d", Value: string(b)}}}})
		if err != nil {
			return n, storage.Errors{Context: "push: amend events"}.Map(err)
		}
		n += res.ModifiedCount
	}
	return n, nil
}
