package wallet

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

type lotDoc struct {
	ID        string `bson:"_id"`
	CardID    string `bson:"card_id"`
	ClinicID  string `bson:"clinic_id"`
	Kind      string `bson:"kind"`
	Points    int64  `bson:"points"`
	Remaining int64  `bson:"remaining"`
	BurnsAt   int64  `bson:"burns_at"`
	WarnAt    int64  `bson:"warn_at"`
	Warned    bool   `bson:"warned"`
	Seq       int64  `bson:"seq"`
}

func (d lotDoc) lot() Lot {
	return Lot{ID: d.ID, CardID: d.CardID, ClinicID: d.ClinicID, Kind: d.Kind, Points: d.Points, Remaining: d.Remaining,
		BurnsAt: storage.FromNanos(d.BurnsAt), WarnAt: storage.FromNanos(d.WarnAt), Seq: d.Seq}
}

// cacheLots writes the lots an entry touched into the cache: the new lot
// is inserted, the others get their remainder (and credited points) from
// the state after the entry (remainder 0 when the lot was emptied).
func (s *MongoStore) cacheLots(ctx context.Context, e *Entry, next *State) error {
	rem, pts := map[string]int64{}, map[string]int64{}
	for _, l := range next.Lots {
		rem[l.ID], pts[l.ID] = l.Remaining, l.Points
	}
	if l := e.NewLot; l != nil {
		err := s.insert(ctx, s.lots, lotDoc{ID: l.ID, CardID: e.CardID, ClinicID: e.ClinicID, Kind: l.Kind, Points: l.Points,
			Remaining: rem[l.ID], BurnsAt: storage.Nanos(l.BurnsAt), WarnAt: storage.Nanos(l.WarnAt), Seq: e.Seq})
		if err != nil && !errors.Is(err, errDuplicate) {
			return err
		}
	}
	for _, d := range e.Lots {
		if e.NewLot != nil && d.LotID == e.NewLot.ID {
			continue
		}
		set := bson.M{"remaining": rem[d.LotID]}
		if p, ok := pts[d.LotID]; ok {
			set["points"] = p
		}
		if _, err := s.lots.UpdateOne(ctx, bson.M{"_id": d.LotID}, bson.M{"$set": set}); err != nil {
			return err
		}
	}
	return nil
}

// RepairLots rebuilds the lot cache of the cards whose entries were
// committed but whose lots were not cached (a crash or an error between
// the two writes) before olderThan, and clears their pending marks.
func (s *MongoStore) RepairLots(ctx context.Context, olderThan time.Time, limit int) (int, error) {
	docs, err := findAll[entryDoc](ctx, s.entries, bson.M{"lots_pending": true, "created": bson.M{"$lt": storage.Nanos(olderThan)}},
		options.Find().SetLimit(int64(limit)))
	if err != nil {
		return 0, err
	}
	synced := map[string]bool{}
	for _, d := range docs {
		if !synced[d.CardID] {
			if err := s.SyncLots(ctx, d.CardID); err != nil {
				return 0, err
			}
			synced[d.CardID] = true
		}
		if _, err := s.entries.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$unset": bson.M{"lots_pending": ""}}); err != nil {
			return 0, err
		}
	}
	return len(synced), nil
}

// SyncLots rewrites the card's cached lots from its head entry's state:
// open lots get their remainder (inserted if missing), cached lots no
// longer open get 0.
func (s *MongoStore) SyncLots(ctx context.Context, cardID string) error {
	st, err := s.State(ctx, cardID)
	if err != nil {
		return err
	}
	open := map[string]bool{}
	for _, l := range st.Lots {
		open[l.ID] = true
		_, err := s.lots.UpdateOne(ctx, bson.M{"_id": l.ID}, bson.M{"$set": bson.M{"remaining": l.Remaining},
			"$setOnInsert": bson.M{"card_id": cardID, "clinic_id": l.ClinicID, "kind": l.Kind, "points": l.Points,
				"burns_at": storage.Nanos(l.BurnsAt), "warn_at": storage.Nanos(l.WarnAt), "warned": false, "seq": l.Seq}},
			options.UpdateOne().SetUpsert(true))
		if err != nil {
			return err
		}
	}
	cached, err := findAll[lotDoc](ctx, s.lots, bson.M{"card_id": cardID, "remaining": bson.M{"$gt": 0}})
	if err != nil {
		return err
	}
	for _, d := range cached {
		if !open[d.ID] {
			if _, err := s.lots.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"remaining": 0}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *MongoStore) findLots(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) ([]Lot, error) {
	docs, err := findAll[lotDoc](ctx, s.lots, filter, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]Lot, len(docs))
	for i, d := range docs {
		out[i] = d.lot()
	}
	return out, nil
}

func (s *MongoStore) DueLots(ctx context.Context, before time.Time, limit int) ([]Lot, error) {
	return s.findLots(ctx, bson.M{"remaining": bson.M{"$gt": 0}, "burns_at": bson.M{"$lte": storage.Nanos(before)}},
		options.Find().SetSort(bson.D{{Key: "burns_at", Value: 1}, {Key: "card_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) WarnLots(ctx context.Context, now time.Time, limit int) ([]Lot, error) {
	return s.findLots(ctx, bson.M{"remaining": bson.M{"$gt": 0}, "warned": false, "warn_at": bson.M{"$lte": storage.Nanos(now)},
		"burns_at": bson.M{"$gt": storage.Nanos(now)}}, options.Find().SetSort(bson.D{{Key: "card_id", Value: 1}, {Key: "burns_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) MarkWarned(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.lots.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}}, bson.M{"$set": bson.M{"warned": true}})
	return err
}
