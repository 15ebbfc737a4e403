package push

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// MongoStore is the Store for several app instances sharing one MongoDB.
// It uses no transactions: the unique index (u, s) makes the insert at
// last+1 the commit, and the unique index (u, k) makes keyed events
// idempotent. Unkeyed events store k = "~" + id so that every document has
// a distinct key and the index needs no partial filter (which FerretDB
// lacks).
type MongoStore struct {
	events   *mongo.Collection
	devices  *mongo.Collection
	failures *mongo.Collection
	tickets  *mongo.Collection
	uses     *mongo.Collection // one document per redeemed ticket: _id is the unique key
	mongoPolicy
}

type eventDoc struct {
	ID   string `bson:"_id"`
	User string `bson:"u"`
	Seq  int64  `bson:"s"`
	Key  string `bson:"k"`
	Type string `bson:"t"`
	Data string `bson:"d"`
	At   int64  `bson:"at"`
}

func (d eventDoc) event() Event {
	return Event{Seq: d.Seq, ID: d.ID, Type: d.Type, Data: []byte(d.Data), CreatedAt: storage.FromNanos(d.At)}
}

func newEventDoc(user, key string, ev Event) eventDoc {
	if key == "" {
		key = "~" + ev.ID
	}
	return eventDoc{ID: ev.ID, User: user, Seq: ev.Seq, Key: key, Type: ev.Type, Data: string(ev.Data),
		At: storage.Nanos(ev.CreatedAt)}
}

type indexSpec struct {
	name   string
	keys   bson.D
	unique bool
}

// mongoMigrations are append-only: version i+1 is mongoMigrations[i]. Each
// is idempotent (see storage.MongoMigration).
var mongoMigrations = []storage.MongoMigration{
	// 1: times are Unix nanoseconds (storage.Nanos), as in every store,
	// instead of BSON dates.
	func(ctx context.Context, db *mongo.Database) error {
		for coll, field := range map[string]string{"push_events": "at", "push_devices": "at",
			"push_failures": "at", "push_tickets": "exp", "push_ticket_uses": "exp"} {
			if err := storage.NanosFields(ctx, db.Collection(coll), field); err != nil {
				return err
			}
		}
		return nil
	},
}

// NewMongoStore migrates the push collections, creates their indexes and
// returns the store.
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	if err := storage.MigrateMongo(ctx, db, "push", mongoMigrations); err != nil {
		return nil, err
	}
	s := &MongoStore{
		events:   db.Collection("push_events"),
		devices:  db.Collection("push_devices"),
		failures: db.Collection("push_failures"),
		tickets:  db.Collection("push_tickets"),
		uses:     db.Collection("push_ticket_uses"),
	}
	if err := ensureIndexes(ctx, s.events,
		indexSpec{"user_seq", bson.D{{Key: "u", Value: 1}, {Key: "s", Value: 1}}, true},
		indexSpec{"user_key", bson.D{{Key: "u", Value: 1}, {Key: "k", Value: 1}}, true},
		indexSpec{"at", bson.D{{Key: "at", Value: 1}}, false},
	); err != nil {
		return nil, err
	}
	if err := ensureIndexes(ctx, s.devices,
		indexSpec{"user_session", bson.D{{Key: "u", Value: 1}, {Key: "sess", Value: 1}}, false},
	); err != nil {
		return nil, err
	}
	if err := ensureIndexes(ctx, s.failures,
		indexSpec{"at", bson.D{{Key: "at", Value: -1}}, false},
	); err != nil {
		return nil, err
	}
	var err error
	if s.mongoPolicy, err = newMongoPolicy(ctx, db); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureIndexes creates the named indexes (storage.EnsureIndexes skips
// those that exist: FerretDB breaks on re-creating one).
func ensureIndexes(ctx context.Context, coll *mongo.Collection, specs ...indexSpec) error {
	models := make([]mongo.IndexModel, len(specs))
	for i, sp := range specs {
		models[i] = mongo.IndexModel{Keys: sp.keys, Options: options.Index().SetName(sp.name).SetUnique(sp.unique)}
	}
	return storage.EnsureIndexes(ctx, coll, models...)
}

func (s *MongoStore) Append(ctx context.Context, user, key string, ev Event) (Event, bool, error) {
	for range maxAppendAttempts {
		last, err := s.LastSeq(ctx, user)
		if err != nil {
			return Event{}, false, err
		}
		ev.Seq = last + 1
		doc := newEventDoc(user, key, ev)
		_, err = s.events.InsertOne(ctx, doc)
		if err == nil {
			return doc.event(), true, nil
		}
		if !storage.IsDuplicate(err) {
			return Event{}, false, fmt.Errorf("push: append event: %w", err)
		}
		if key != "" {
			got, err := s.byKey(ctx, user, key)
			if err == nil {
				return got, false, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return Event{}, false, err
			}
		}
		// Another writer took the seq: re-read and retry.
	}
	return Event{}, false, fmt.Errorf("push: append event: seq contention for %d attempts", maxAppendAttempts)
}

func (s *MongoStore) byKey(ctx context.Context, user, key string) (Event, error) {
	var doc eventDoc
	err := s.events.FindOne(ctx, bson.D{{Key: "u", Value: user}, {Key: "k", Value: key}}).Decode(&doc)
	if err != nil {
		return Event{}, storage.Errors{NotFound: ErrNotFound, Context: "push: event by key"}.Map(err)
	}
	return doc.event(), nil
}

// mongoChunk bounds one InsertMany and one $in list.
const mongoChunk = 500

// AppendMany reads the chunk's last seqs (one indexed query per user, a
// few at a time), inserts the chunk unordered and falls back to Append for
// the users whose insert hit a unique key.
func (s *MongoStore) AppendMany(ctx context.Context, users []string, key string, evs []Event) ([]Appended, error) {
	if len(users) != len(evs) {
		return nil, errors.New("push: AppendMany: users and events differ in length")
	}
	out := make([]Appended, 0, len(users))
	for start := 0; start < len(users); start += mongoChunk {
		end := min(start+mongoChunk, len(users))
		res, err := s.appendChunk(ctx, users[start:end], key, evs[start:end])
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func (s *MongoStore) appendChunk(ctx context.Context, users []string, key string, evs []Event) ([]Appended, error) {
	existing := map[string]Event{}
	if key != "" {
		cur, err := s.events.Find(ctx, bson.D{{Key: "k", Value: key}, {Key: "u", Value: bson.D{{Key: "$in", Value: users}}}})
		if err != nil {
			return nil, fmt.Errorf("push: append events: %w", err)
		}
		var docs []eventDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("push: append events: %w", err)
		}
		for _, d := range docs {
			existing[d.User] = d.event()
		}
	}
	last, err := s.lastSeqs(ctx, users)
	if err != nil {
		return nil, err
	}
	out := make([]Appended, len(users))
	var docs []any
	var idx []int
	for i, u := range users {
		if ev, ok := existing[u]; ok {
			out[i] = Appended{User: u, Event: ev}
			continue
		}
		ev := evs[i]
		last[u]++
		ev.Seq = last[u]
		doc := newEventDoc(u, key, ev)
		out[i] = Appended{User: u, Event: doc.event(), Created: true}
		if key != "" {
			existing[u] = doc.event()
		}
		docs = append(docs, doc)
		idx = append(idx, i)
	}
	if len(docs) == 0 {
		return out, nil
	}
	_, err = s.events.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return out, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("push: append events: %w", err)
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 && we.Code != 11001 {
			return nil, fmt.Errorf("push: append events: %w", err)
		}
	}
	for _, we := range bwe.WriteErrors {
		i := idx[we.Index]
		ev, created, err := s.Append(ctx, users[i], key, evs[i])
		if err != nil {
			return nil, err
		}
		out[i] = Appended{User: users[i], Event: ev, Created: created}
	}
	return out, nil
}

func (s *MongoStore) lastSeqs(ctx context.Context, users []string) (map[string]int64, error) {
	uniq := make([]string, 0, len(users))
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if !seen[u] {
			seen[u] = true
			uniq = append(uniq, u)
		}
	}
	seqs := make([]int64, len(uniq))
	errs := make([]error, len(uniq))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, u := range uniq {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			seqs[i], errs[i] = s.LastSeq(ctx, u)
		}()
	}
	wg.Wait()
	last := make(map[string]int64, len(uniq))
	for i, u := range uniq {
		last[u] = seqs[i]
	}
	return last, errors.Join(errs...)
}

func (s *MongoStore) Events(ctx context.Context, user string, after int64, limit int) ([]Event, error) {
	cur, err := s.events.Find(ctx,
		bson.D{{Key: "u", Value: user}, {Key: "s", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "s", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("push: events: %w", err)
	}
	var docs []eventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("push: events: %w", err)
	}
	out := make([]Event, len(docs))
	for i, d := range docs {
		out[i] = d.event()
	}
	return out, nil
}

func (s *MongoStore) LastSeq(ctx context.Context, user string) (int64, error) {
	var doc struct {
		Seq int64 `bson:"s"`
	}
	err := s.events.FindOne(ctx, bson.D{{Key: "u", Value: user}},
		options.FindOne().SetSort(bson.D{{Key: "s", Value: -1}}).SetProjection(bson.D{{Key: "s", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("push: last seq: %w", err)
	}
	return doc.Seq, nil
}

func (s *MongoStore) Since(ctx context.Context, t time.Time, limit int) ([]UserEvent, error) {
	cur, err := s.events.Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: storage.Nanos(t)}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "u", Value: 1}, {Key: "s", Value: 1}}).
			SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("push: events since: %w", err)
	}
	var docs []eventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("push: events since: %w", err)
	}
	out := make([]UserEvent, len(docs))
	for i, d := range docs {
		out[i] = UserEvent{User: d.User, Event: d.event()}
	}
	return out, nil
}
