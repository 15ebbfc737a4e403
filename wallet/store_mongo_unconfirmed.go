package wallet

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func (s *MongoStore) UnconfirmedCards(ctx context.Context, clinicID string) ([]Card, error) {
	return s.findCards(ctx, bson.M{"clinic_id": clinicID, "status": StatusUnconfirmed}, byCreated)
}
