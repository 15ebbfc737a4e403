package push

import (
	"context"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// EraseUser deletes the user's documents, collection by collection; a
// retry finishes what an error left.
func (s *MongoStore) EraseUser(ctx context.Context, user string) error {
	for _, c := range []*mongo.Collection{s.events, s.devices, s.tickets, s.failures, s.prefs, s.slots, s.deferred} {
		if _, err := c.DeleteMany(ctx, bson.M{"u": user}); err != nil {
			return err
		}
	}
	return nil
}

// RedactEvents matches the stored JSON text of the data (d) for
// "field":"value", as the encoder writes it.
func (s *MongoStore) RedactEvents(ctx context.Context, typ, field, value string) error {
	re := regexp.QuoteMeta(`"` + field + `":"` + value + `"`)
	_, err := s.events.UpdateMany(ctx, bson.M{"t": typ, "d": bson.M{"$regex": re}}, bson.M{"$set": bson.M{"d": RedactedData}})
	return err
}

func (s *MongoStore) ForgetCardPreferences(ctx context.Context, card string) error {
	if card == "" {
		return nil // '' is every clinic-wide switch, never a card
	}
	_, err := s.prefs.DeleteMany(ctx, bson.M{"card": card})
	return err
}
