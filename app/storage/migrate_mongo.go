package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoMigration is one version of a component's MongoDB layout: renamed
// collections, re-encoded fields. MongoDB (and FerretDB) run it without a
// transaction, and several instances may start at once, so it must be
// idempotent: running it again, or concurrently, or after a crash halfway,
// leaves the same result. RenameCollection and NanosFields are.
type MongoMigration func(ctx context.Context, db *mongo.Database) error

// MigrateMongo runs the component's migrations that have not been recorded
// yet, in order, recording each in the schema_migrations collection (the
// same name as SQLite's table) once it succeeded. migrations[i] is version
// i+1; released versions are never edited, only appended to. A fresh
// database runs them all on nothing, which costs a few empty reads.
func MigrateMongo(ctx context.Context, db *mongo.Database, component string, migrations []MongoMigration) error {
	done := db.Collection("schema_migrations")
	for i, m := range migrations {
		version := i + 1
		id := fmt.Sprintf("%s:%d", component, version)
		n, err := done.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return fmt.Errorf("storage: migrate %s: %w", component, err)
		}
		if n > 0 {
			continue
		}
		if err := m(ctx, db); err != nil {
			return fmt.Errorf("storage: migrate %s to version %d: %w", component, version, err)
		}
		_, err = done.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "component", Value: component},
			{Key: "version", Value: version}, {Key: "applied_at", Value: Nanos(time.Now())}})
		if err != nil && !IsDuplicate(err) { // a duplicate: another instance ran it too
			return fmt.Errorf("storage: migrate %s to version %d: %w", component, version, err)
		}
	}
	return nil
}

// RenameCollection moves collection from to the name to, keeping its
// documents (and, when the server renames, its indexes; stores re-create
// missing indexes at start-up anyway). Nothing happens when from does not
// exist, so it can run again. When to already exists (a newer instance
// started first, or an earlier copy stopped halfway) or the server cannot
// rename, the documents are copied (an _id already copied is skipped) and
// from is dropped.
func RenameCollection(ctx context.Context, db *mongo.Database, from, to string) error {
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("storage: rename %s: %w", from, err)
	}
	var hasFrom, hasTo bool
	for _, n := range names {
		hasFrom = hasFrom || n == from
		hasTo = hasTo || n == to
	}
	if !hasFrom {
		return nil
	}
	if !hasTo {
		err := db.Client().Database("admin").RunCommand(ctx, bson.D{
			{Key: "renameCollection", Value: db.Name() + "." + from},
			{Key: "to", Value: db.Name() + "." + to}}).Err()
		var ce mongo.CommandError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ce) && ce.Code == 26: // NamespaceNotFound: another instance renamed it
			return nil
		case errors.As(err, &ce) && ce.Code == 48: // NamespaceExists: another instance is renaming: merge
		case errors.As(err, &ce) && (ce.Code == 59 || ce.Code == 115 || ce.Code == 238): // not found / not supported / not implemented
		default:
			return fmt.Errorf("storage: rename %s to %s: %w", from, to, err)
		}
	}
	if err := copyCollection(ctx, db.Collection(from), db.Collection(to)); err != nil {
		return fmt.Errorf("storage: copy %s to %s: %w", from, to, err)
	}
	if err := db.Collection(from).Drop(ctx); err != nil {
		return fmt.Errorf("storage: drop %s: %w", from, err)
	}
	return nil
}

// copyCollection inserts every document of from into to in batches,
// skipping those whose _id is already there.
func copyCollection(ctx context.Context, from, to *mongo.Collection) error {
	cur, err := from.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	batch := make([]any, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := to.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		batch = batch[:0]
		if err == nil || onlyDuplicates(err) {
			return nil
		}
		return err
	}
	for cur.Next(ctx) {
		batch = append(batch, bson.Raw(append([]byte(nil), cur.Current...)))
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	return flush()
}

// onlyDuplicates reports whether every failure of an unordered bulk
// insert was a duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return false
		}
	}
	return true
}

// NanosFields re-encodes the named fields of a collection's documents from
// BSON dates (millisecond precision) to int64 Unix nanoseconds, the one
// encoding every store uses (see Nanos). Only fields still holding a date
// are touched, so it can run again and beside another instance.
func NanosFields(ctx context.Context, coll *mongo.Collection, fields ...string) error {
	for _, f := range fields {
		cur, err := coll.Find(ctx, bson.D{{Key: f, Value: bson.D{{Key: "$type", Value: "date"}}}},
			options.Find().SetProjection(bson.D{{Key: f, Value: 1}}))
		if err != nil {
			return fmt.Errorf("storage: re-encode %s.%s: %w", coll.Name(), f, err)
		}
		for cur.Next(ctx) {
			var d bson.M
			if err := cur.Decode(&d); err != nil {
				cur.Close(ctx)
				return fmt.Errorf("storage: re-encode %s.%s: %w", coll.Name(), f, err)
			}
			dt, ok := d[f].(bson.DateTime)
			if !ok {
				continue
			}
			// The filter names the old value: a document another instance
			// already re-encoded is left alone.
			_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}, {Key: f, Value: dt}},
				bson.D{{Key: "$set", Value: bson.D{{Key: f, Value: Nanos(dt.Time())}}}})
			if err != nil {
				cur.Close(ctx)
				return fmt.Errorf("storage: re-encode %s.%s: %w", coll.Name(), f, err)
			}
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return fmt.Errorf("storage: re-encode %s.%s: %w", coll.Name(), f, err)
		}
	}
	return nil
}
