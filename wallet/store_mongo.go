package wallet

import (
	"context"
	"encoding/json"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// MongoStore is the scale-out adapter, correct without multi-document
// transactions and without atomic conditional updates (FerretDB has
// neither): every invariant is a unique insert.
//
// A ledger entry document carries the card's whole state after it (its
// balance, paid spend and open lots), so the entry inserted at (card,
// seq+1) is the commit and the truth; a lost race on seq re-reads the head
// and retries. The lots collection is a cache for the burn job's
// burns_at index, written after the commit and rebuildable from the head
// entry (SyncLots); it can only be stale-high (lots only shrink), and the
// burn job checks every candidate against the head before burning it.
type MongoStore struct {
	db                                                           *mongo.Database
	programs, dependants, guardians, cards, challenges, attempts *mongo.Collection
	spends, receipts, receiptCards, entries, lots, codes, slots  *mongo.Collection
	grants                                                       *mongo.Collection
}

// mongoMigrations are the wallet's MongoDB layout changes
// (storage.MigrateMongo); each is idempotent.
var mongoMigrations = []storage.MongoMigration{migrateGrants}

// NewMongoStore creates the collections' unique indexes.
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	c := func(n string) *mongo.Collection { return db.Collection("wallet_" + n) }
	s := &MongoStore{db: db, programs: c("programs"), dependants: c("dependants"), guardians: c("guardians"),
		cards: c("cards"), challenges: c("challenges"), attempts: c("attempts"), spends: c("spends"),
		receipts: c("receipts"), receiptCards: c("receipt_cards"), slots: c("slots"), entries: c("entries"), lots: c("lots"), codes: c("card_codes"),
		grants: c("grants")}
	if err := storage.MigrateMongo(ctx, db, "wallet", mongoMigrations); err != nil {
		return nil, err
	}
	name := func(keys bson.D) string {
		n := "w"
		for _, k := range keys {
			n += "_" + k.Key
		}
		return n
	}
	uniq := func(keys bson.D) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetUnique(true).SetName(name(keys))}
	}
	idx := func(keys bson.D) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetName(name(keys))}
	}
	for _, x := range []struct {
		c *mongo.Collection
		m []mongo.IndexModel
	}{
		{s.guardians, []mongo.IndexModel{uniq(bson.D{{Key: "dependant_id", Value: 1}, {Key: "guardian_id", Value: 1}}),
			idx(bson.D{{Key: "guardian_id", Value: 1}})}},
		{s.cards, []mongo.IndexModel{uniq(bson.D{{Key: "clinic_id", Value: 1}, {Key: "holder_key", Value: 1}, {Key: "slot", Value: 1}}),
			idx(bson.D{{Key: "patient_id", Value: 1}}), idx(bson.D{{Key: "dependant_id", Value: 1}}),
			idx(bson.D{{Key: "birth_md", Value: 1}, {Key: "_id", Value: 1}}), idx(bson.D{{Key: "clinic_id", Value: 1}, {Key: "created", Value: 1}})}},
		{s.spends, []mongo.IndexModel{uniq(bson.D{{Key: "clinic_id", Value: 1}, {Key: "receipt_id", Value: 1}, {Key: "slot", Value: 1}})}},
		{s.entries, []mongo.IndexModel{uniq(bson.D{{Key: "card_id", Value: 1}, {Key: "key", Value: 1}}),
			uniq(bson.D{{Key: "card_id", Value: 1}, {Key: "seq", Value: 1}}),
			idx(bson.D{{Key: "clinic_id", Value: 1}, {Key: "created", Value: 1}}),
			idx(bson.D{{Key: "lots_pending", Value: 1}, {Key: "created", Value: 1}})}},
		{s.grants, []mongo.IndexModel{uniq(bson.D{{Key: "clinic_id", Value: 1}, {Key: "dependant_id", Value: 1}, {Key: "guardian_id", Value: 1}}),
			idx(bson.D{{Key: "guardian_id", Value: 1}})}},
		{s.slots, []mongo.IndexModel{idx(bson.D{{Key: "key", Value: 1}})}},
		{s.lots, []mongo.IndexModel{idx(bson.D{{Key: "burns_at", Value: 1}}), idx(bson.D{{Key: "warn_at", Value: 1}})}},
	} {
		// Create only the missing ones: FerretDB v1.24 fails on a
		// createIndexes that names existing compound indexes.
		specs, err := x.c.Indexes().ListSpecifications(ctx)
		if err != nil {
			return nil, fmt.Errorf("wallet: list indexes of %s: %w", x.c.Name(), err)
		}
		have := map[string]bool{}
		for _, sp := range specs {
			have[sp.Name] = true
		}
		var missing []mongo.IndexModel
		for _, m := range x.m {
			if n := name(m.Keys.(bson.D)); !have[n] {
				missing = append(missing, m)
			}
		}
		if err := storage.EnsureIndexes(ctx, x.c, missing...); err != nil {
			return nil, err
		}
	}
	if err := ensureRightsIndexes(ctx, db); err != nil {
		return nil, fmt.Errorf("wallet: rights indexes: %w", err)
	}
	return s, nil
}

func (s *MongoStore) insert(ctx context.Context, c *mongo.Collection, doc any) error {
	_, err := c.InsertOne(ctx, doc)
	return dbErr.Map(err)
}

// bodyDoc stores a record as JSON beside the fields it is queried by.
type bodyDoc struct {
	Body string `bson:"body"`
}

func (s *MongoStore) findBody(ctx context.Context, c *mongo.Collection, filter any, v any, opts ...options.Lister[options.FindOneOptions]) error {
	var d bodyDoc
	if err := c.FindOne(ctx, filter, opts...).Decode(&d); err != nil {
		return dbErr.Map(err)
	}
	return json.Unmarshal([]byte(d.Body), v)
}

func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

var _ Store = (*MongoStore)(nil)
