package wallet

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// Cardholders reads a page of own active cards in (created, _id) order,
// then which of them have an entry with paid_after above zero (the
// card's cumulative paid spend: some receipt was paid with money).
func (s *MongoStore) Cardholders(ctx context.Context, clinicID string, after cardCursor, limit int) ([]Cardholder, error) {
	filter := bson.M{"clinic_id": clinicID, "dependant_id": "", "status": StatusActive}
	if !after.Created.IsZero() {
		t := storage.Nanos(after.Created)
		filter["$or"] = bson.A{bson.M{"created": bson.M{"$gt": t}}, bson.M{"created": t, "_id": bson.M{"$gt": after.ID}}}
	}
	docs, err := findAll[cardDoc](ctx, s.cards, filter, options.Find().
		SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.M{"patient_id": 1, "created": 1}))
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	paid, err := findAll[entryDoc](ctx, s.entries, bson.M{"card_id": bson.M{"$in": ids}, "paid_after": bson.M{"$gt": 0}},
		options.Find().SetProjection(bson.M{"card_id": 1}))
	if err != nil {
		return nil, err
	}
	has := make(map[string]bool, len(paid))
	for _, e := range paid {
		has[e.CardID] = true
	}
	out := make([]Cardholder, len(docs))
	for i, d := range docs {
		out[i] = Cardholder{PatientID: d.PatientID, CardID: d.ID, Paid: has[d.ID], created: storage.FromNanos(d.Created)}
	}
	return out, nil
}
