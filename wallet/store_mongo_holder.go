package wallet

import (
	"context"
	"encoding/json"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func (s *MongoStore) LegacyDependants(ctx context.Context, afterID string, limit int) ([]Dependant, error) {
	docs, err := findAll[bodyDoc](ctx, s.dependants, bson.M{"_id": bson.M{"$gt": afterID}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Dependant, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal([]byte(d.Body), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *MongoStore) DeleteLegacyDependant(ctx context.Context, id string) error {
	_, err := s.dependants.DeleteOne(ctx, bson.M{"_id": id})
	return dbErr.Map(err)
}

// DetailedCards scans the cards (once per start: after the move no card
// matches); a holder stored with details has their JSON keys.
func (s *MongoStore) DetailedCards(ctx context.Context, afterID string, limit int) ([]Card, error) {
	return s.findCards(ctx, bson.M{"_id": bson.M{"$gt": afterID}, "$or": bson.A{
		bson.M{"birth_md": bson.M{"$gt": ""}},
		bson.M{"holder": bson.M{"$regex": `"(first_name|last_name|birth_date)"`}},
	}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) ForgetHolderDetails(ctx context.Context, c *Card) error {
	_, err := s.cards.UpdateOne(ctx, bson.M{"_id": c.ID},
		bson.M{"$set": bson.M{"holder": string(mustJSON(c.Holder.stored())), "birth_md": ""}})
	return dbErr.Map(err)
}
