package push

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// EraseUser deletes the user's documents, collection by collection; a
// retry finishes what an error left.
func (s *MongoStore) EraseUser(ctx context.Context, user string) error {
	for _, c := range []*mongo.Collection{s.events, s.devices, s.tickets, s.failures} {
		if _, err := c.DeleteMany(ctx, bson.M{"u": user}); err != nil {
			return err
		}
	}
	return nil
}
