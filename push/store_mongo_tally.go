package push

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// The message policy's counters on MongoDB: held-back messages per clinic,
// class, day and reason, and per-key push results, each an $inc on a
// document whose _id is the counter's key.

func (p mongoPolicy) AddTallies(ctx context.Context, ts []Tally) error {
	for _, t := range ts {
		id := join(t.Clinic, t.Day, fmt.Sprint(int(t.Class)), t.Reason)
		if err := inc(ctx, p.tallies, id, bson.D{{Key: "c", Value: t.Clinic}, {Key: "d", Value: t.Day},
			{Key: "cl", Value: int(t.Class)}, {Key: "r", Value: t.Reason}}, bson.D{{Key: "n", Value: t.N}}); err != nil {
			return fmt.Errorf("push: add tallies: %w", err)
		}
	}
	return nil
}

// inc adds to counters of the document id, creating it with set.
func inc(ctx context.Context, c *mongo.Collection, id string, set, incs bson.D) error {
	update := bson.D{{Key: "$inc", Value: incs}}
	if len(set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: set})
	}
	_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
	if storage.IsDuplicate(err) {
		_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update)
	}
	return err
}

func (p mongoPolicy) Tallies(ctx context.Context, clinic, from, to string) ([]Tally, error) {
	cur, err := p.tallies.Find(ctx, bson.D{{Key: "c", Value: clinic},
		{Key: "d", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}})
	if err != nil {
		return nil, fmt.Errorf("push: tallies: %w", err)
	}
	var docs []struct {
		Class  int    `bson:"cl"`
		Reason string `bson:"r"`
		N      int64  `bson:"n"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("push: tallies: %w", err)
	}
	at := map[[2]string]int{}
	var out []Tally
	for _, d := range docs {
		k := [2]string{fmt.Sprint(d.Class), d.Reason}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Tally{Clinic: clinic, Class: Class(d.Class), Reason: d.Reason})
		}
		out[i].N += d.N
	}
	sortTallies(out)
	return out, nil
}

func (p mongoPolicy) AddDeliveries(ctx context.Context, ds map[string]Delivery) error {
	for k, d := range ds {
		if err := inc(ctx, p.deliveries, k, nil, bson.D{{Key: "s", Value: d.Sent}, {Key: "f", Value: d.Failed}}); err != nil {
			return fmt.Errorf("push: add deliveries: %w", err)
		}
	}
	return nil
}

func (p mongoPolicy) Deliveries(ctx context.Context, keys []string) (map[string]Delivery, error) {
	out := map[string]Delivery{}
	for start := 0; start < len(keys); start += mongoChunk {
		chunk := keys[start:min(start+mongoChunk, len(keys))]
		cur, err := p.deliveries.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chunk}}}})
		if err != nil {
			return nil, fmt.Errorf("push: deliveries: %w", err)
		}
		var docs []struct {
			Key    string `bson:"_id"`
			Sent   int64  `bson:"s"`
			Failed int64  `bson:"f"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("push: deliveries: %w", err)
		}
		for _, d := range docs {
			out[d.Key] = Delivery{Sent: d.Sent, Failed: d.Failed}
		}
	}
	return out, nil
}
