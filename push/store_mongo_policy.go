package push

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// The message policy on MongoDB. Every rule is a unique key: a budget
// slot's _id is (user, clinic, week, n) and the index (u, c, k) keeps one
// slot per message; a deferred push's _id is (user, event) and it is
// taken by deleting it, which one caller only can do.
type mongoPolicy struct {
	policies, prefs, slots, deferred, tallies, deliveries *mongo.Collection
}

func newMongoPolicy(ctx context.Context, db *mongo.Database) (mongoPolicy, error) {
	p := mongoPolicy{
		policies:   db.Collection("push_policies"),
		prefs:      db.Collection("push_preferences"),
		slots:      db.Collection("push_budget_slots"),
		deferred:   db.Collection("push_deferred"),
		tallies:    db.Collection("push_tallies"),
		deliveries: db.Collection("push_deliveries"),
	}
	if err := ensureIndexes(ctx, p.prefs,
		indexSpec{"user", bson.D{{Key: "u", Value: 1}}, false},
		indexSpec{"clinic_off", bson.D{{Key: "c", Value: 1}, {Key: "m", Value: 1}}, false},
		indexSpec{"card", bson.D{{Key: "card", Value: 1}}, false},
	); err != nil {
		return p, err
	}
	if err := ensureIndexes(ctx, p.slots,
		indexSpec{"user_clinic_key", bson.D{{Key: "u", Value: 1}, {Key: "c", Value: 1}, {Key: "k", Value: 1}}, true},
		indexSpec{"user_clinic_week", bson.D{{Key: "u", Value: 1}, {Key: "c", Value: 1}, {Key: "w", Value: 1}}, false},
	); err != nil {
		return p, err
	}
	if err := ensureIndexes(ctx, p.deferred, indexSpec{"not_before", bson.D{{Key: "nb", Value: 1}}, false},
		indexSpec{"user", bson.D{{Key: "u", Value: 1}}, false}); err != nil {
		return p, err
	}
	if err := ensureIndexes(ctx, p.tallies, indexSpec{"clinic_day", bson.D{{Key: "c", Value: 1}, {Key: "d", Value: 1}}, false}); err != nil {
		return p, err
	}
	return p, nil
}

func join(parts ...string) string { return strings.Join(parts, "\x1f") }

type policyDoc struct {
	Clinic string `bson:"_id"`
	From   int    `bson:"qf"`
	To     int    `bson:"qt"`
	Budget int    `bson:"wb"`
	At     int64  `bson:"at"`
}

func (p mongoPolicy) ClinicPolicy(ctx context.Context, clinic string) (Policy, bool, error) {
	var d policyDoc
	err := p.policies.FindOne(ctx, bson.D{{Key: "_id", Value: clinic}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Policy{}, false, nil
	}
	if err != nil {
		return Policy{}, false, fmt.Errorf("push: clinic policy: %w", err)
	}
	return Policy{QuietFrom: d.From, QuietTo: d.To, WeeklyBudget: d.Budget}, true, nil
}

func (p mongoPolicy) PutClinicPolicy(ctx context.Context, clinic string, pol Policy, at time.Time) error {
	return upsert(ctx, p.policies, clinic, policyDoc{Clinic: clinic, From: pol.QuietFrom, To: pol.QuietTo,
		Budget: pol.WeeklyBudget, At: storage.Nanos(at)}, "push: put clinic policy")
}

// upsert replaces the document with _id id, or inserts it; two concurrent
// inserts of a new id turn the loser into a plain replace.
func upsert(ctx context.Context, c *mongo.Collection, id string, doc any, what string) error {
	_, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true))
	if storage.IsDuplicate(err) {
		_, err = c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

type prefDoc struct {
	ID        string `bson:"_id"`
	User      string `bson:"u"`
	Clinic    string `bson:"c"`
	Card      string `bson:"card"`
	Marketing bool   `bson:"m"`
	At        int64  `bson:"at"`
}

func (p mongoPolicy) Preferences(ctx context.Context, user string) ([]Preference, error) {
	cur, err := p.prefs.Find(ctx, bson.D{{Key: "u", Value: user}},
		options.Find().SetSort(bson.D{{Key: "c", Value: 1}, {Key: "card", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("push: preferences: %w", err)
	}
	var docs []prefDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("push: preferences: %w", err)
	}
	out := make([]Preference, len(docs))
	for i, d := range docs {
		out[i] = Preference{Clinic: d.Clinic, Card: d.Card, Marketing: d.Marketing, UpdatedAt: storage.FromNanos(d.At)}
	}
	return out, nil
}

func (p mongoPolicy) PutPreferences(ctx context.Context, user string, prefs []Preference) error {
	for _, pr := range prefs {
		id := join(user, pr.Clinic, pr.Card)
		if err := upsert(ctx, p.prefs, id, prefDoc{ID: id, User: user, Clinic: pr.Clinic, Card: pr.Card,
			Marketing: pr.Marketing, At: storage.Nanos(pr.UpdatedAt)}, "push: put preferences"); err != nil {
			return err
		}
	}
	return nil
}

func (p mongoPolicy) OptedOut(ctx context.Context, clinic, card string, users []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(users); start += mongoChunk {
		chunk := users[start:min(start+mongoChunk, len(users))]
		cur, err := p.prefs.Find(ctx, bson.D{{Key: "c", Value: clinic}, {Key: "m", Value: false},
			{Key: "card", Value: bson.D{{Key: "$in", Value: bson.A{"", card}}}},
			{Key: "u", Value: bson.D{{Key: "$in", Value: chunk}}}})
		if err != nil {
			return nil, fmt.Errorf("push: opted out: %w", err)
		}
		var docs []prefDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("push: opted out: %w", err)
		}
		for _, d := range docs {
			out[d.User] = true
		}
	}
	return out, nil
}

type slotDoc struct {
	ID     string `bson:"_id"` // user, clinic, week, n
	User   string `bson:"u"`
	Clinic string `bson:"c"`
	Week   string `bson:"w"`
	N      int    `bson:"n"`
	Key    string `bson:"k"`
	Class  int    `bson:"cl"`
	At     int64  `bson:"at"`
}

// ClaimSlots claims a chunk at a time: one query finds the claims whose
// key already holds a slot, one reads the users' slots of the week, and
// one unordered InsertMany inserts each other claim at its user's highest
// n + 1 within the budget. A claim whose insert hits a unique key (another
// writer took that n, or this very message), or a chunk that names a user
// twice, is claimed one by one: insert at the highest n + 1, and on a
// duplicate read again.
func (p mongoPolicy) ClaimSlots(ctx context.Context, clinic, week string, budget int, claims []Claim, at time.Time) ([]bool, error) {
	granted := make([]bool, len(claims))
	for start := 0; start < len(claims); start += mongoChunk {
		chunk := claims[start:min(start+mongoChunk, len(claims))]
		got, err := p.claimChunk(ctx, clinic, week, budget, chunk, at)
		if err != nil {
			return nil, fmt.Errorf("push: claim budget slots: %w", err)
		}
		copy(granted[start:], got)
	}
	return granted, nil
}

func (p mongoPolicy) claimChunk(ctx context.Context, clinic, week string, budget int, chunk []Claim, at time.Time) ([]bool, error) {
	granted := make([]bool, len(chunk))
	users := make([]string, 0, len(chunk))
	keys := make([]string, 0, len(chunk))
	seenUser, seenKey := map[string]bool{}, map[string]bool{}
	distinct := true
	for _, c := range chunk {
		distinct = distinct && !seenUser[c.User]
		if !seenUser[c.User] {
			seenUser[c.User] = true
			users = append(users, c.User)
		}
		if !seenKey[c.Key] {
			seenKey[c.Key] = true
			keys = append(keys, c.Key)
		}
	}
	if !distinct {
		for i, c := range chunk {
			ok, err := p.claimOne(ctx, clinic, week, budget, c, at)
			if err != nil {
				return nil, err
			}
			granted[i] = ok
		}
		return granted, nil
	}
	var held []slotDoc
	cur, err := p.slots.Find(ctx, bson.D{{Key: "u", Value: bson.D{{Key: "$in", Value: users}}}, {Key: "c", Value: clinic},
		{Key: "k", Value: bson.D{{Key: "$in", Value: keys}}}})
	if err == nil {
		err = cur.All(ctx, &held)
	}
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, d := range held {
		has[d.User+"\x00"+d.Key] = true
	}
	var week0 []slotDoc
	cur, err = p.slots.Find(ctx, bson.D{{Key: "u", Value: bson.D{{Key: "$in", Value: users}}}, {Key: "c", Value: clinic}, {Key: "w", Value: week}})
	if err == nil {
		err = cur.All(ctx, &week0)
	}
	if err != nil {
		return nil, err
	}
	top := map[string]int{}
	for _, d := range week0 {
		top[d.User] = max(top[d.User], d.N)
	}
	var docs []any
	var idx []int
	for i, c := range chunk {
		switch {
		case has[c.User+"\x00"+c.Key]:
			granted[i] = true
		case top[c.User] < budget:
			n := top[c.User] + 1
			docs = append(docs, slotDoc{ID: join(c.User, clinic, week, fmt.Sprint(n)), User: c.User, Clinic: clinic,
				Week: week, N: n, Key: c.Key, Class: int(c.Class), At: storage.Nanos(at)})
			idx = append(idx, i)
			granted[i] = true
		}
	}
	if len(docs) == 0 {
		return granted, nil
	}
	_, err = p.slots.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return granted, nil
	}
	if !onlyDuplicates(err) {
		return nil, err
	}
	var bwe mongo.BulkWriteException
	errors.As(err, &bwe)
	for _, we := range bwe.WriteErrors {
		i := idx[we.Index]
		ok, err := p.claimOne(ctx, clinic, week, budget, chunk[i], at)
		if err != nil {
			return nil, err
		}
		granted[i] = ok
	}
	return granted, nil
}

func (p mongoPolicy) claimOne(ctx context.Context, clinic, week string, budget int, c Claim, at time.Time) (bool, error) {
	for range MaxWeeklyBudget + 2 {
		err := p.slots.FindOne(ctx, bson.D{{Key: "u", Value: c.User}, {Key: "c", Value: clinic}, {Key: "k", Value: c.Key}}).Err()
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return false, err
		}
		var top slotDoc
		err = p.slots.FindOne(ctx, bson.D{{Key: "u", Value: c.User}, {Key: "c", Value: clinic}, {Key: "w", Value: week}},
			options.FindOne().SetSort(bson.D{{Key: "n", Value: -1}})).Decode(&top)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return false, err
		}
		n := top.N + 1
		if n > budget {
			return false, nil
		}
		_, err = p.slots.InsertOne(ctx, slotDoc{ID: join(c.User, clinic, week, fmt.Sprint(n)), User: c.User, Clinic: clinic,
			Week: week, N: n, Key: c.Key, Class: int(c.Class), At: storage.Nanos(at)})
		if err == nil {
			return true, nil
		}
		if !storage.IsDuplicate(err) {
			return false, err
		}
	}
	return false, errors.New("budget slot contention")
}

type deferredDoc struct {
	ID        string `bson:"_id"` // user, event
	User      string `bson:"u"`
	EventID   string `bson:"e"`
	Seq       int64  `bson:"s"`
	Type      string `bson:"t"`
	Key       string `bson:"k"`
	Title     string `bson:"ti"`
	Body      string `bson:"b"`
	Clinic    string `bson:"c"`
	Class     int    `bson:"cl"`
	NotBefore int64  `bson:"nb"`
}

func (p mongoPolicy) Defer(ctx context.Context, ds []Deferred) error {
	if len(ds) == 0 {
		return nil
	}
	docs := make([]any, len(ds))
	for i, d := range ds {
		docs[i] = deferredDoc{ID: join(d.User, d.Event.ID), User: d.User, EventID: d.Event.ID, Seq: d.Event.Seq,
			Type: d.Event.Type, Key: d.Key, Title: d.Alert.Title, Body: d.Alert.Body, Clinic: d.Clinic,
			Class: int(d.Class), NotBefore: storage.Nanos(d.NotBefore)}
	}
	_, err := p.deferred.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return fmt.Errorf("push: defer pushes: %w", err)
	}
	return nil
}

// onlyDuplicates: every write error of a bulk insert is a duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 && we.Code != 11001 {
			return false
		}
	}
	return true
}

func (p mongoPolicy) TakeDue(ctx context.Context, now time.Time, limit int) ([]Deferred, error) {
	cur, err := p.deferred.Find(ctx, bson.D{{Key: "nb", Value: bson.D{{Key: "$lte", Value: storage.Nanos(now)}}}},
		options.Find().SetSort(bson.D{{Key: "nb", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("push: take due pushes: %w", err)
	}
	var docs []deferredDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("push: take due pushes: %w", err)
	}
	var out []Deferred
	for _, d := range docs {
		res, err := p.deferred.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}})
		if err != nil {
			return out, fmt.Errorf("push: take due pushes: %w", err)
		}
		if res.DeletedCount != 1 {
			continue // another instance took it
		}
		out = append(out, Deferred{User: d.User, Event: Event{ID: d.EventID, Seq: d.Seq, Type: d.Type}, Key: d.Key,
			Alert: Alert{Title: d.Title, Body: d.Body}, Clinic: d.Clinic, Class: Class(d.Class),
			NotBefore: storage.FromNanos(d.NotBefore)})
	}
	return out, nil
}
