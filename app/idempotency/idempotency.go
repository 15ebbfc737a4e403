// Package idempotency remembers the responses of requests sent with an
// Idempotency-Key header, so a replay gets the first response back and the
// same key with another body is refused.
//
// It is a cache of outcomes, not the guard against double effects: every
// operation that moves points is already idempotent in its domain package
// on a natural unique key (the receipt, the spend, the booking). Two
// concurrent first requests with one key may both reach the domain, which
// applies the effect once; the first response stored wins (unique key),
// and every later replay returns it.
package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/storage"
)

// ErrNotFound means no response is stored under the key.
var ErrNotFound = errors.New("idempotency: not found")

// Record is a stored response.
type Record struct {
	Scope       string // who: "clinic:{id}" or "patient:{id}"
	Key         string // route + the client's Idempotency-Key
	Fingerprint string // hash of method, path and body
	Status      int
	Body        []byte
	CreatedAt   time.Time
}

// Store keeps records; Put of an existing (scope, key) keeps the first.
type Store interface {
	Get(ctx context.Context, scope, key string) (Record, error)
	Put(ctx context.Context, r Record) error
}

var sqliteMigrations = []string{`CREATE TABLE idempotency (
	scope       TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status      INTEGER NOT NULL,
	body        BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (scope, key))`}

// SQLiteStore keeps records in the embedded database.
type SQLiteStore struct{ db *storage.SQLite }

// NewSQLiteStore migrates the table and returns the store.
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "idempotency", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

func (s *SQLiteStore) Get(ctx context.Context, scope, key string) (Record, error) {
	r := Record{Scope: scope, Key: key}
	var at int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT fingerprint, status, body, created_at FROM idempotency WHERE scope = ? AND key = ?`,
		scope, key).Scan(&r.Fingerprint, &r.Status, &r.Body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("idempotency: %w", err)
	}
	r.CreatedAt = time.Unix(0, at).UTC()
	return r, nil
}

func (s *SQLiteStore) Put(ctx context.Context, r Record) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING`,
		r.Scope, r.Key, r.Fingerprint, r.Status, r.Body, r.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

// MongoStore keeps records in MongoDB under a deterministic _id.
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
	Status      int       `bson:"status"`
	Body        []byte    `bson:"body"`
	CreatedAt   time.Time `bson:"created_at"`
}

func docID(scope, key string) string { return scope + "\x00" + key }

func (s *MongoStore) Get(ctx context.Context, scope, key string) (Record, error) {
	var d doc
	err := s.c.FindOne(ctx, bson.M{"_id": docID(scope, key)}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("idempotency: %w", err)
	}
	return Record{Scope: d.Scope, Key: d.Key, Fingerprint: d.Fingerprint, Status: d.Status, Body: d.Body, CreatedAt: d.CreatedAt.UTC()}, nil
}

func (s *MongoStore) Put(ctx context.Context, r Record) error {
	_, err := s.c.InsertOne(ctx, doc{ID: docID(r.Scope, r.Key), Scope: r.Scope, Key: r.Key, Fingerprint: r.Fingerprint,
		Status: r.Status, Body: r.Body, CreatedAt: r.CreatedAt})
	if err != nil && !storage.IsDuplicate(err) {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}
