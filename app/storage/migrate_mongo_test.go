package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/storage"
	"carewallet/app/storage/storagetest"
)

func count(t *testing.T, c *mongo.Collection) int64 {
	t.Helper()
	n, err := c.CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRenameCollection(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Mongo(t)
	old := db.Collection("patients")
	if _, err := old.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "_id", Value: "b"}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run finds nothing to rename
		if err := storage.RenameCollection(ctx, db, "patients", "identity_patients"); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db.Collection("identity_patients")); n != 2 {
		t.Fatalf("renamed collection holds %d documents, want 2", n)
	}
	if n := count(t, old); n != 0 {
		t.Fatalf("old collection still holds %d documents", n)
	}

	// A target that already exists (a copy stopped halfway, or a newer
	// instance wrote first) is merged into, each _id once.
	src := db.Collection("sessions")
	dst := db.Collection("identity_sessions")
	if _, err := src.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "s1"}}, bson.D{{Key: "_id", Value: "s2"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "s1"}}, bson.D{{Key: "_id", Value: "s3"}}}); err != nil {
		t.Fatal(err)
	}
	if err := storage.RenameCollection(ctx, db, "sessions", "identity_sessions"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dst); n != 3 {
		t.Fatalf("merged collection holds %d documents, want 3", n)
	}
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == "sessions" || n == "patients" {
			t.Fatalf("old collection %s left behind", n)
		}
	}
}

func TestNanosFields(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Mongo(t)
	c := db.Collection("x")
	at := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	if _, err := c.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "at", Value: at}, {Key: "exp", Value: at.Add(time.Hour)}},
		bson.D{{Key: "_id", Value: 2}, {Key: "at", Value: storage.Nanos(at)}}, // already re-encoded
		bson.D{{Key: "_id", Value: 3}}, // field absent
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := storage.NanosFields(ctx, c, "at", "exp"); err != nil {
			t.Fatal(err)
		}
	}
	var d struct {
		At  int64 `bson:"at"`
		Exp int64 `bson:"exp"`
	}
	for id, want := range map[int][2]time.Time{1: {at, at.Add(time.Hour)}, 2: {at, {}}} {
		d.At, d.Exp = 0, 0
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		if !storage.FromNanos(d.At).Equal(want[0]) || !storage.FromNanos(d.Exp).Equal(want[1]) {
			t.Fatalf("doc %d: at %v exp %v, want %v", id, storage.FromNanos(d.At), storage.FromNanos(d.Exp), want)
		}
	}
	var absent bson.M
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: 3}}).Decode(&absent); err != nil {
		t.Fatal(err)
	}
	if len(absent) != 1 {
		t.Fatalf("a document without the fields changed: %v", absent)
	}
}

func TestMigrateMongoRecordsEachVersion(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Mongo(t)
	runs := map[int]int{}
	step := func(v int) storage.MongoMigration {
		return func(context.Context, *mongo.Database) error { runs[v]++; return nil }
	}
	if err := storage.MigrateMongo(ctx, db, "x", []storage.MongoMigration{step(1)}); err != nil {
		t.Fatal(err)
	}
	if err := storage.MigrateMongo(ctx, db, "x", []storage.MongoMigration{step(1), step(2)}); err != nil {
		t.Fatal(err)
	}
	if runs[1] != 1 || runs[2] != 1 {
		t.Fatalf("runs %v, want each version once", runs)
	}
	// A failed version is not recorded and runs again next time.
	boom := errors.New("boom")
	fail := func(context.Context, *mongo.Database) error { return boom }
	if err := storage.MigrateMongo(ctx, db, "x", []storage.MongoMigration{step(1), step(2), fail}); !errors.Is(err, boom) {
		t.Fatalf("failed migration: %v", err)
	}
	if err := storage.MigrateMongo(ctx, db, "x", []storage.MongoMigration{step(1), step(2), step(3)}); err != nil {
		t.Fatal(err)
	}
	if runs[3] != 1 {
		t.Fatalf("version 3 after a failure ran %d times", runs[3])
	}
}

func TestTimeAndErrors(t *testing.T) {
	if storage.Nanos(time.Time{}) != 0 || !storage.FromNanos(0).IsZero() {
		t.Fatal("the zero time is not stored as 0")
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3*3600))
	if got := storage.FromNanos(storage.Nanos(at)); !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("round trip %v -> %v", at, got)
	}
	notFound, dup := errors.New("not found"), errors.New("dup")
	e := storage.Errors{NotFound: notFound, Duplicate: dup, Context: "pkg: sqlite"}
	if e.Map(nil) != nil || e.Map(mongo.ErrNoDocuments) != notFound {
		t.Fatal("nil or not-found mistranslated")
	}
	other := errors.New("disk")
	if got := e.Map(other); !errors.Is(got, other) || got.Error() != "pkg: sqlite: disk" {
		t.Fatalf("other error: %v", got)
	}
}
