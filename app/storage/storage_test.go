package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
	"carewallet/app/storage/storagetest"
)

func TestMigrateAppliesEachVersionOnce(t *testing.T) {
	db := storagetest.SQLite(t)
	ctx := context.Background()
	v1 := []string{`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE)`}
	if err := storage.Migrate(ctx, db.Write, "x", v1); err != nil {
		t.Fatal(err)
	}
	// Re-running must not re-apply version 1 (it would fail: table exists).
	v2 := append(v1, `ALTER TABLE t ADD COLUMN extra TEXT`)
	if err := storage.Migrate(ctx, db.Write, "x", v2); err != nil {
		t.Fatal(err)
	}
	if err := storage.Migrate(ctx, db.Write, "x", v2); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM schema_migrations WHERE component = 'x'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("applied versions = %d, want 2", n)
	}
	// A failing migration leaves nothing half-applied.
	bad := append(v2, `CREATE TABLE u (a)`, `NOT SQL`)
	if err := storage.Migrate(ctx, db.Write, "x", bad); err == nil {
		t.Fatal("broken migration succeeded")
	}
	if _, err := db.Write.Exec(`INSERT INTO u (a) VALUES (1)`); err != nil {
		t.Fatalf("version 3 should have been applied before version 4 failed: %v", err)
	}
}

func TestIsDuplicate(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		db := storagetest.SQLite(t)
		if _, err := db.Write.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, u TEXT UNIQUE)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.Exec(`INSERT INTO t VALUES ('a', 'x')`); err != nil {
			t.Fatal(err)
		}
		_, err := db.Write.Exec(`INSERT INTO t VALUES ('a', 'y')`)
		if !storage.IsDuplicate(err) {
			t.Fatalf("primary key clash: IsDuplicate(%v) = false", err)
		}
		_, err = db.Write.Exec(`INSERT INTO t VALUES ('b', 'x')`)
		if !storage.IsDuplicate(err) {
			t.Fatalf("unique clash: IsDuplicate(%v) = false", err)
		}
		_, err = db.Write.Exec(`INSERT INTO nope VALUES (1)`)
		if err == nil || storage.IsDuplicate(err) {
			t.Fatalf("missing table: IsDuplicate(%v) = true", err)
		}
	})
	t.Run("mongo", func(t *testing.T) {
		db := storagetest.Mongo(t)
		c := db.Collection("t")
		if err := storage.EnsureIndexes(ctx, c, mongo.IndexModel{
			Keys: bson.D{{Key: "u", Value: 1}}, Options: options.Index().SetUnique(true),
		}); err != nil {
			t.Fatal(err)
		}
		// A second start (another instance) must not re-create it.
		for range 2 {
			if err := storage.EnsureIndexes(ctx, c,
				mongo.IndexModel{Keys: bson.D{{Key: "u", Value: 1}}, Options: options.Index().SetUnique(true)},
				mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1}}},
				mongo.IndexModel{Keys: bson.D{{Key: "c", Value: 1}}, Options: options.Index().SetName("by_c")},
			); err != nil {
				t.Fatal(err)
			}
		}
		specs, err := c.Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, sp := range specs {
			names[sp.Name] = true
		}
		for _, want := range []string{"_id_", "u_1", "a_1_b_-1", "by_c"} {
			if !names[want] {
				t.Fatalf("index %s missing; have %v", want, names)
			}
		}
		if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "u", Value: "x"}}); err != nil {
			t.Fatal(err)
		}
		_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: "b"}, {Key: "u", Value: "x"}})
		if !storage.IsDuplicate(err) {
			t.Fatalf("unique clash: IsDuplicate(%v) = false", err)
		}
		_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "u", Value: "z"}})
		if !storage.IsDuplicate(err) {
			t.Fatalf("_id clash: IsDuplicate(%v) = false", err)
		}
	})
}

func TestCachedQueriers(t *testing.T) {
	db := storagetest.SQLite(t)
	ctx := context.Background()
	w := db.Writer()
	if _, err := w.ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := w.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, fmt.Sprint("k", i), i); err != nil {
			t.Fatal(err)
		}
	}
	// A transaction sees its own writes, first with statements it has
	// never seen (prepared after it) and then with cached ones; an error
	// rolls it back.
	var n int
	for round := range 2 {
		errRollback := errors.New("roll back")
		err := db.Tx(ctx, func(q storage.Querier) error {
			if _, err := q.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, "in-tx", 10); err != nil {
				return err
			}
			if err := q.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE v >= ?`, 0).Scan(&n); err != nil || n != 4 {
				t.Fatalf("round %d, inside the transaction: %d, %v", round, n, err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if err := db.Tx(ctx, func(q storage.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, "k3", 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if keys := column(t, db, `SELECT k FROM kv ORDER BY v`); fmt.Sprint(keys) != "[k0 k1 k2 k3]" {
		t.Fatalf("after rollback: %v", keys)
	}
	// A bad statement reports its error rather than panicking.
	if err := db.Reader().QueryRowContext(ctx, `SELECT nope FROM kv`).Scan(&n); err == nil {
		t.Fatal("bad SQL succeeded")
	}
	if _, err := db.Writer().ExecContext(ctx, `INSERT INTO kv VALUES ('k0', 1)`); !storage.IsDuplicate(err) {
		t.Fatalf("duplicate through the cache: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	db := storagetest.SQLite(t)
	for _, tc := range []struct {
		name  string
		q     storage.Querier
		query string
		want  string
	}{
		{"writer journal", db.Writer(), `PRAGMA journal_mode`, "wal"},
		{"writer cache", db.Writer(), `PRAGMA cache_size`, "-65536"},
		{"reader cache", db.Reader(), `PRAGMA cache_size`, "-16384"},
		{"reader read-only", db.Reader(), `PRAGMA query_only`, "1"},
		{"writer foreign keys", db.Writer(), `PRAGMA foreign_keys`, "1"},
	} {
		var got string
		if err := tc.q.QueryRowContext(context.Background(), tc.query).Scan(&got); err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// TestAtomic: statements of any store whose context carries an Atomic
// transaction run in it (reads see its writes), a store's own Tx and a
// nested Atomic join it, an error rolls everything back, and AfterCommit
// waits for the commit.
func TestAtomic(t *testing.T) {
	db := storagetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.Writer().ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	count := func(ctx context.Context) int {
		var n int
		if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM kv`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	put := func(ctx context.Context, k string) error {
		_, err := db.Writer().ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, 1)`, k)
		return err
	}
	var ran []string
	errBoom := errors.New("boom")
	for round := range 2 { // the second round runs on statements prepared after the first
		ran = nil
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if err := put(ctx, "a"); err != nil {
				return err
			}
			storage.AfterCommit(ctx, func() { ran = append(ran, "a") })
			// A reader with the transaction's context sees its write; one
			// without it does not.
			if n := count(ctx); n != 1 {
				t.Fatalf("round %d: the transaction reads %d rows", round, n)
			}
			if n := count(context.Background()); n != 0 {
				t.Fatalf("round %d: another reader sees %d uncommitted rows", round, n)
			}
			// A duplicate key fails its statement, not the transaction.
			if err := put(ctx, "a"); !storage.IsDuplicate(err) {
				t.Fatalf("round %d: duplicate: %v", round, err)
			}
			if err := db.Tx(ctx, func(q storage.Querier) error {
				_, err := q.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ('c', 1)`)
				return err
			}); err != nil {
				return err
			}
			if err := db.Atomic(ctx, func(ctx context.Context) error {
				storage.AfterCommit(ctx, func() { ran = append(ran, "b") })
				if !storage.InAtomic(ctx) {
					t.Fatal("a nested Atomic is not in the unit")
				}
				return put(ctx, "b")
			}); err != nil {
				return err
			}
			if len(ran) != 0 {
				t.Fatalf("round %d: AfterCommit ran before the commit: %v", round, ran)
			}
			if round == 0 {
				return errBoom // all of it rolls back
			}
			return nil
		})
		if round == 0 {
			if !errors.Is(err, errBoom) || count(ctx) != 0 || len(ran) != 0 {
				t.Fatalf("rolled back: %v, %d rows, ran %v", err, count(ctx), ran)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if keys := column(t, db, `SELECT k FROM kv ORDER BY k`); fmt.Sprint(keys) != "[a b c]" || fmt.Sprint(ran) != "[a b]" {
		t.Fatalf("committed %v, after commit %v", keys, ran)
	}
	// A context kept after its Atomic returned uses the plain handles,
	// and AfterCommit without a transaction runs at once.
	var kept context.Context
	if err := db.Atomic(ctx, func(ctx context.Context) error { kept = ctx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := put(kept, "d"); err != nil {
		t.Fatal(err)
	}
	now := false
	storage.AfterCommit(kept, func() { now = true })
	if !now || count(ctx) != 4 || storage.InAtomic(kept) {
		t.Fatalf("after Atomic: ran %v, %d rows", now, count(ctx))
	}
}

// column reads a one-column query's strings through the read pool.
func column(t *testing.T, db *storage.SQLite, query string) []string {
	t.Helper()
	rows, err := db.Reader().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}
