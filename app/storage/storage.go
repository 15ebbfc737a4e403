// Package storage holds the database plumbing that every domain store
// shares: opening the embedded SQLite file with the right pragmas, running a
// component's versioned migrations (Migrate on SQLite; MigrateMongo,
// RenameCollection and NanosFields on MongoDB), connecting to MongoDB,
// translating errors into a package's sentinels the same way on both
// (Errors: not found, unique-key violation), and the one timestamp
// encoding every store uses (Nanos, FromNanos: Unix nanoseconds, UTC).
// Tables and collections are named after their package (identity_*,
// wallet_*, push_*).
//
// It is a leaf: it imports no carewallet package and knows nothing of HTTP,
// so the domain packages (wallet, push, news, referrals) may import it
// without depending on the app layer. It lives under app/ only because the
// repository's top-level layout is fixed.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is one database file opened twice: Write is a single connection,
// so writers queue in Go instead of spinning on SQLITE_BUSY, and Read is a
// pool that reads concurrently from WAL snapshots. Anything that must see
// its own writes, or reads in order to write, uses Write.
type SQLite struct {
	Write *sql.DB
	Read  *sql.DB
	Path  string

	stmts sync.Map // stmtKey → *sql.Stmt
}

type stmtKey struct {
	write bool
	query string
}

// stmt returns the cached prepared statement for query on one handle.
// Parsing SQL is a third of the cost of a point read, so hot queries are
// prepared once; database/sql re-prepares per connection as needed.
func (s *SQLite) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	db := s.Read
	if write {
		db = s.Write
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Querier is what *sql.DB and *sql.Tx share; stores written against it
// run unchanged on a plain handle, a transaction, or the cached wrappers.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Reader is the read pool with cached prepared statements.
func (s *SQLite) Reader() Querier { return cached{s: s} }

// Writer is the writer connection with cached prepared statements.
func (s *SQLite) Writer() Querier { return cached{s: s, write: true} }

// Tx runs fn in a write transaction, committing when fn returns nil and
// rolling back otherwise. Its statements use the writer's cached prepared
// statements (database/sql rebinds a statement prepared on the
// transaction's own connection without preparing it again, once per
// transaction). A statement cannot be prepared on the writer while the
// transaction holds its only connection, so one first seen inside a
// transaction runs unprepared and is prepared right after the transaction
// ends, for the next time. Inside Atomic, Tx runs fn in the enclosing
// transaction (see atomic.go): an error fails the whole unit.
func (s *SQLite) Tx(ctx context.Context, fn func(q Querier) error) error {
	if a := s.joined(ctx); a != nil {
		return fn(a.q)
	}
	tx, err := s.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	c := cached{s: s, write: true, tx: tx, state: &txState{}}
	if err := fn(c); err != nil {
		_ = tx.Rollback()
		return err
	}
	err = tx.Commit()
	s.prepareMissed(ctx, c.state)
	return err
}

// prepareMissed prepares on the writer the statements a transaction ran
// unprepared, for the next time.
func (s *SQLite) prepareMissed(ctx context.Context, st *txState) {
	for _, q := range st.take() {
		_, _ = s.stmt(ctx, true, q) // a bad statement already failed in fn
	}
}

// txState is what one transaction keeps beside its *sql.Tx: the cached
// statements rebound to it, and those it had to run unprepared.
type txState struct {
	mu     sync.Mutex
	bound  map[string]*sql.Stmt
	missed []string
}

func (m *txState) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	qs := m.missed
	m.missed = nil
	return qs
}

type cached struct {
	s     *SQLite
	write bool
	tx    *sql.Tx
	state *txState // tx only
}

func (c cached) handle() Querier {
	switch {
	case c.tx != nil:
		return c.tx
	case c.write:
		return c.s.Write
	}
	return c.s.Read
}

// route is the querier a statement runs on: the enclosing Atomic
// transaction when ctx carries one of this database (reads included, so
// they see its writes and take no locks of their own), else c.
func (c cached) route(ctx context.Context) cached {
	if c.tx == nil {
		if a := c.s.joined(ctx); a != nil {
			return a.q
		}
	}
	return c
}

func (c cached) prepared(ctx context.Context, query string) *sql.Stmt {
	if c.tx != nil {
		c.state.mu.Lock()
		defer c.state.mu.Unlock()
		if st, ok := c.state.bound[query]; ok {
			return st
		}
		st, ok := c.s.stmts.Load(stmtKey{true, query})
		if !ok {
			c.state.missed = append(c.state.missed, query)
			return nil
		}
		bound := c.tx.StmtContext(ctx, st.(*sql.Stmt))
		if c.state.bound == nil {
			c.state.bound = map[string]*sql.Stmt{}
		}
		c.state.bound[query] = bound
		return bound
	}
	st, err := c.s.stmt(ctx, c.write, query)
	if err != nil {
		return nil // the uncached call reports the same error
	}
	return st
}

func (c cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c = c.route(ctx)
	if st := c.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.handle().ExecContext(ctx, query, args...)
}

func (c cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c = c.route(ctx)
	if st := c.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.handle().QueryContext(ctx, query, args...)
}

func (c cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c = c.route(ctx)
	if st := c.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.handle().QueryRowContext(ctx, query, args...)
}

// OpenSQLite opens (creating if needed) the database file at path in WAL
// mode with foreign keys on.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("storage: create data directory: %w", err)
	}
	// Create the file owner-only before SQLite does (it would use the
	// umask, typically 0644); its -wal and -shm files take the file's mode.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("storage: create %s: %w", path, err)
	}
	// synchronous(NORMAL) in WAL mode never corrupts the database; a power
	// cut may lose the last transactions, never half of one.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	// Page caches (negative = KiB): the writer's is large because every
	// write re-reads the pages it changes (with SQLite's 2 MiB default the
	// burn job over a 1 GB file slowed to half); each reader gets a
	// smaller one, as there are several.
	//
	// secure_delete(1) on the writer (the only connection that changes
	// anything): the bytes of deleted or rewritten rows are overwritten
	// with zeros, so erasing a person (DELETE /v1/me) removes their name,
	// phone and birth date from the file itself, not only from the
	// tables; Scrub then checkpoints the WAL, whose older frames still
	// held them.
	w, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-65536)&_pragma=secure_delete(1)")
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(-16384)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	return &SQLite{Write: w, Read: r, Path: path}, nil
}

// Scrub copies the WAL into the database file and truncates it
// (wal_checkpoint(TRUNCATE)), so page images written before an erasure
// leave the -wal file. A reader holding an old snapshot can keep the
// checkpoint from finishing: Scrub then reports ErrBusy, and the next
// checkpoint (SQLite runs one every 1,000 pages) completes it.
func (s *SQLite) Scrub(ctx context.Context) error {
	var busy, logFrames, done int
	if err := s.Write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("storage: checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrBusy
	}
	return nil
}

// ErrBusy means a checkpoint could not finish because a reader was busy.
var ErrBusy = errors.New("storage: checkpoint could not finish: a reader is busy")

// Ping reports whether the database answers.
func (s *SQLite) Ping(ctx context.Context) error {
	return s.Read.PingContext(ctx)
}

// Close closes the cached statements and both handles.
func (s *SQLite) Close() error {
	s.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
	return errors.Join(s.Read.Close(), s.Write.Close())
}

// Migrate applies the component's migrations that have not been applied
// yet, in order, each in its own transaction together with its row in
// schema_migrations. migrations[i] is version i+1; released versions are
// never edited, only appended to.
func Migrate(ctx context.Context, db *sql.DB, component string, migrations []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component  TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		applied_at TEXT    NOT NULL,
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	for i, stmt := range migrations {
		version := i + 1
		if err := migrateOne(ctx, db, component, version, stmt); err != nil {
			return fmt.Errorf("storage: migrate %s to version %d: %w", component, version, err)
		}
	}
	return nil
}

func migrateOne(ctx context.Context, db *sql.DB, component string, version int, stmt string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM schema_migrations WHERE component = ? AND version = ?`,
		component, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)`,
		component, version, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return tx.Commit()
}

// IsDuplicate reports whether err is a unique-key violation from either
// SQLite or MongoDB: the signal that another writer got there first.
func IsDuplicate(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return mongo.IsDuplicateKeyError(err)
}

// ConnectMongo connects to uri and checks the server answers.
func ConnectMongo(ctx context.Context, uri string) (*mongo.Client, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetAppName("carewallet"))
	if err != nil {
		return nil, fmt.Errorf("storage: connect mongo: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("storage: ping mongo: %w", err)
	}
	return client, nil
}

// EnsureIndexes creates those of a collection's indexes that do not exist
// yet (by name: the given one, or the driver's default "field_1_other_-1").
// Only the missing ones are sent because FerretDB v1.24 breaks the
// connection when asked to create an index that already exists, which
// every instance after the first would do at start-up.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models ...mongo.IndexModel) error {
	if len(models) == 0 {
		return nil
	}
	existing, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("storage: list indexes of %s: %w", coll.Name(), err)
	}
	have := make(map[string]bool, len(existing))
	for _, sp := range existing {
		have[sp.Name] = true
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		name, err := indexName(m)
		if err != nil {
			return fmt.Errorf("storage: index on %s: %w", coll.Name(), err)
		}
		if !have[name] {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := coll.Indexes().CreateMany(ctx, missing); err != nil {
		return fmt.Errorf("storage: indexes on %s: %w", coll.Name(), err)
	}
	return nil
}

// indexName is the model's explicit name, or the name MongoDB gives it.
func indexName(m mongo.IndexModel) (string, error) {
	if m.Options != nil {
		var o options.IndexOptions
		for _, set := range m.Options.List() {
			if err := set(&o); err != nil {
				return "", err
			}
		}
		if o.Name != nil {
			return *o.Name, nil
		}
	}
	keys, ok := m.Keys.(bson.D)
	if !ok {
		return "", fmt.Errorf("keys must be a bson.D (ordered), got %T", m.Keys)
	}
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		parts = append(parts, k.Key, fmt.Sprint(k.Value))
	}
	return strings.Join(parts, "_"), nil
}
