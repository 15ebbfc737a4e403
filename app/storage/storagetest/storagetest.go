// Package storagetest gives tests real databases: a fresh SQLite file in a
// temp dir, and a fresh MongoDB database on an embedded FerretDB (SQLite
// backend) started once per test binary, or on the server named by
// CAREWALLET_TEST_MONGO_URI. Only test binaries import it, so FerretDB never
// reaches the production binary.
package storagetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/storage"
)

// Backend is one real database for a conformance test: exactly one of
// SQLite and Mongo is set.
type Backend struct {
	Name   string
	SQLite *storage.SQLite
	Mongo  *mongo.Database
}

// Each runs fn as a subtest on a fresh SQLite database and on a fresh
// MongoDB database, so one suite proves both adapters.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, Backend{Name: "sqlite", SQLite: SQLite(t)})
	})
	t.Run("mongo", func(t *testing.T) {
		fn(t, Backend{Name: "mongo", Mongo: Mongo(t)})
	})
}

// Open opens a package's store on b with the package's two constructors,
// so no package writes its own opener. It opens the store twice, checking
// that a second start (another instance, a restart) migrates nothing and
// fails on nothing, and returns the first as S, the package's Store
// interface, which both constructors' results must implement:
//
//	s := storagetest.Open[push.Store](t, b, push.NewSQLiteStore, push.NewMongoStore)
func Open[S, L, M any](t testing.TB, b Backend,
	openSQLite func(context.Context, *storage.SQLite) (L, error),
	openMongo func(context.Context, *mongo.Database) (M, error)) S {
	t.Helper()
	ctx := context.Background()
	var store any
	for i := range 2 {
		var s any
		var err error
		if b.SQLite != nil {
			s, err = openSQLite(ctx, b.SQLite)
		} else {
			s, err = openMongo(ctx, b.Mongo)
		}
		if err != nil {
			t.Fatalf("open %s store (start %d): %v", b.Name, i+1, err)
		}
		if i == 0 {
			store = s
		}
	}
	st, ok := store.(S)
	if !ok {
		var want *S
		t.Fatalf("%T does not implement %T", store, want)
	}
	return st
}

// SQLite opens a fresh database file that is removed after the test.
func SQLite(t testing.TB) *storage.SQLite {
	t.Helper()
	db, err := storage.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "carewallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var (
	serverOnce sync.Once
	serverURI  string
	serverErr  error
	dbSeq      atomic.Int64
)

// MongoURI is the address of the server the Mongo tests use, starting the
// embedded FerretDB on first use.
func MongoURI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("CAREWALLET_TEST_MONGO_URI"); uri != "" {
		return uri
	}
	serverOnce.Do(func() { serverURI, serverErr = startFerret() })
	if serverErr != nil {
		t.Fatalf("embedded FerretDB: %v", serverErr)
	}
	return serverURI
}

// startFerret runs FerretDB for the rest of the test binary's life; its
// data directory is removed when the process exits only by the OS temp
// cleaner, so it is kept small (each test drops its database).
func startFerret() (string, error) {
	dir, err := os.MkdirTemp("", "carewallet-ferret-")
	if err != nil {
		return "", err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:  "sqlite",
		// FerretDB's default busy timeout (10 s) is shorter than a
		// write can queue behind the concurrency tests on a loaded
		// 2-core machine; SQLITE_BUSY would surface as a 5xx there.
		SQLiteURL: "file:" + dir + "/?_pragma=busy_timeout(120000)",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return "", err
	}
	go f.Run(context.Background())
	return f.MongoDBURI(), nil
}

// Mongo returns a fresh, empty database on the test server, dropped after
// the test, with its own client.
func Mongo(t testing.TB) *mongo.Database {
	t.Helper()
	client := MongoClient(t)
	name := fmt.Sprintf("cwtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	db := client.Database(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}

// MongoClient connects a new client to the test server, disconnected after
// the test. Two clients stand for two app instances.
func MongoClient(t testing.TB) *mongo.Client {
	t.Helper()
	client, err := storage.ConnectMongo(context.Background(), MongoURI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}
