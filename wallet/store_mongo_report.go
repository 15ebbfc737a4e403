package wallet

import (
	"context"
	"regexp"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

func createdRange(filter bson.M, from, to time.Time) {
	r := bson.M{}
	if !from.IsZero() {
		r["$gte"] = storage.Nanos(from)
	}
	if !to.IsZero() {
		r["$lt"] = storage.Nanos(to)
	}
	if len(r) > 0 {
		filter["created"] = r
	}
}

func (s *MongoStore) Journal(ctx context.Context, f JournalFilter, cards []string, after journalCursor, limit int) ([]Entry, error) {
	filter := bson.M{"clinic_id": f.ClinicID}
	if len(cards) > 0 {
		filter["card_id"] = bson.M{"$in": cards}
	}
	if f.Kind != "" {
		filter["kind"] = f.Kind
	}
	if f.Reason != "" {
		filter["reason"] = bson.M{"$regex": regexp.QuoteMeta(f.Reason), "$options": "i"}
	}
	createdRange(filter, f.From, f.To)
	if !after.Created.IsZero() {
		t := storage.Nanos(after.Created)
		filter["$or"] = bson.A{
			bson.M{"created": bson.M{"$gt": t}},
			bson.M{"created": t, "card_id": bson.M{"$gt": after.CardID}},
			bson.M{"created": t, "card_id": after.CardID, "seq": bson.M{"$gt": after.Seq}},
		}
	}
	return s.findEntries(ctx, filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "card_id", Value: 1},
		{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after cardCursor, limit int) ([]Card, error) {
	filter := bson.M{"clinic_id": clinicID}
	createdRange(filter, from, to)
	if !after.Created.IsZero() {
		t := storage.Nanos(after.Created)
		filter["$or"] = bson.A{bson.M{"created": bson.M{"$gt": t}}, bson.M{"created": t, "_id": bson.M{"$gt": after.ID}}}
	}
	return s.findCards(ctx, filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// CardsByStaff groups in the client: FerretDB's aggregation support is
// partial and the rows are few.
func (s *MongoStore) CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error) {
	filter := bson.M{"clinic_id": clinicID, "issued_by": bson.M{"$ne": ""}, "status": bson.M{"$ne": StatusUnconfirmed}}
	createdRange(filter, from, to)
	docs, err := findAll[cardDoc](ctx, s.cards, filter, options.Find().SetProjection(bson.M{"issued_by": 1}))
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, d := range docs {
		counts[d.IssuedBy]++
	}
	var out []StaffCards
	for k, v := range counts {
		out = append(out, StaffCards{StaffID: k, Cards: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StaffID < out[j].StaffID })
	return out, nil
}

func (s *MongoStore) SumByKind(ctx context.Context, clinicID string, from, to time.Time) (map[string]int64, error) {
	filter := bson.M{"clinic_id": clinicID}
	createdRange(filter, from, to)
	cur, err := s.entries.Find(ctx, filter, options.Find().SetProjection(bson.M{"kind": 1, "amount": 1}))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	out := map[string]int64{}
	for cur.Next(ctx) {
		var d struct {
			Kind   string `bson:"kind"`
			Amount int64  `bson:"amount"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		k := d.Kind
		if d.Amount < 0 {
			k += "-"
		}
		out[k] += d.Amount
	}
	return out, cur.Err()
}
