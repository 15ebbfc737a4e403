package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/storage"
)

// MongoStore keeps records in MongoDB under a deterministic _id, which is
// the unique key a claim is inserted against.
type MongoStore struct{ c *mongo.Collection }

// NewMongoStore returns the store (the _id is the unique key).
func NewMongoStore(_ context.Context, db *mongo.Database) (*MongoStore, error) {
	return &MongoStore{c: db.Collection("idempotency")}, nil
}

type doc struct {
	ID          string    `bson:"_id"`
	Scope       string    `bson:"scope"`
	Key         string    `bson:"key"`
	Fingerprint string    `bson:"fingerprint"`
	Token       string    `bson:"token"`
	Status      int       `bson:"status"`
	Body        []byte    `bson:"body"`
	CreatedAt   time.Time `bson:"created_at"`
}

func docID(scope, key string) string { return scope + "\x00" + key }

func (s *MongoStore) Insert(ctx context.Context, r Record) error {
	_, err := s.c.InsertOne(ctx, doc{ID: docID(r.Scope, r.Key), Scope: r.Scope, Key: r.Key, Fingerprint: r.Fingerprint,
		Token: r.Token, Status: r.Status, Body: r.Body, CreatedAt: r.CreatedAt})
	if storage.IsDuplicate(err) {
		return ErrTaken
	}
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

func (s *MongoStore) Get(ctx context.Context, scope, key string) (Record, error) {
	var d doc
	err := s.c.FindOne(ctx, bson.M{"_id": docID(scope, key)}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("idempotency: %w", err)
	}
	return Record{Scope: d.Scope, Key: d.Key, Fingerprint: d.Fingerprint, Token: d.Token, Status: d.Status,
		Body: d.Body, CreatedAt: d.CreatedAt.UTC()}, nil
}

func (s *MongoStore) Complete(ctx context.Context, scope, key, token string, status int, body []byte) error {
	_, err := s.c.UpdateOne(ctx, bson.M{"_id": docID(scope, key), "token": token, "status": 0},
		bson.M{"$set": bson.M{"status": status, "body": body}})
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

func (s *MongoStore) Delete(ctx context.Context, scope, key, token string) error {
	_, err := s.c.DeleteOne(ctx, bson.M{"_id": docID(scope, key), "token": token, "status": 0})
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

func (s *MongoStore) Replace(ctx context.Context, r Record, staleBefore time.Time) (bool, error) {
	res, err := s.c.UpdateOne(ctx,
		bson.M{"_id": docID(r.Scope, r.Key), "status": 0, "created_at": bson.M{"$lt": staleBefore}},
		bson.M{"$set": bson.M{"fingerprint": r.Fingerprint, "token": r.Token, "body": r.Body, "created_at": r.CreatedAt}})
	if err != nil {
		return false, fmt.Errorf("idempotency: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

func (s *MongoStore) DeleteScope(ctx context.Context, scope string) error {
	if _, err := s.c.DeleteMany(ctx, bson.M{"scope": scope}); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}
