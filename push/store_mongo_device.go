package push

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// Devices, failed pushes and websocket tickets on MongoDB.

type deviceDoc struct {
	Token      string `bson:"_id"`
	User       string `bson:"u"`
	Session    string `bson:"sess"`
	Platform   string `bson:"p"`
	AppVersion string `bson:"v"`
	Locale     string `bson:"l"`
	At         int64  `bson:"at"`
}

type failureDoc struct {
	User     string `bson:"u"`
	EventID  string `bson:"e"`
	Token    string `bson:"tok"`
	Reason   string `bson:"r"`
	Attempts int    `bson:"n"`
	At       int64  `bson:"at"`
}

func (s *MongoStore) PutDevice(ctx context.Context, user, session string, d Device, at time.Time) error {
	doc := deviceDoc{Token: d.Token, User: user, Session: session, Platform: d.Platform,
		AppVersion: d.AppVersion, Locale: d.Locale, At: storage.Nanos(at)}
	_, err := s.devices.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.Token}}, doc, options.Replace().SetUpsert(true))
	if storage.IsDuplicate(err) {
		// Two concurrent upserts of a new token: the other one inserted it,
		// so ours becomes a plain replace.
		_, err = s.devices.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.Token}}, doc)
	}
	if err != nil {
		return fmt.Errorf("push: put device: %w", err)
	}
	return nil
}

func (s *MongoStore) DeleteDevice(ctx context.Context, user, token string) error {
	res, err := s.devices.DeleteOne(ctx, bson.D{{Key: "_id", Value: token}, {Key: "u", Value: user}})
	if err != nil {
		return fmt.Errorf("push: delete device: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *MongoStore) DeleteSessionDevices(ctx context.Context, user, session string) error {
	if _, err := s.devices.DeleteMany(ctx, bson.D{{Key: "u", Value: user}, {Key: "sess", Value: session}}); err != nil {
		return fmt.Errorf("push: delete session devices: %w", err)
	}
	return nil
}

func (s *MongoStore) DeleteTokens(ctx context.Context, tokens []string) error {
	for start := 0; start < len(tokens); start += mongoChunk {
		chunk := tokens[start:min(start+mongoChunk, len(tokens))]
		if _, err := s.devices.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chunk}}}}); err != nil {
			return fmt.Errorf("push: delete tokens: %w", err)
		}
	}
	return nil
}

func (s *MongoStore) Devices(ctx context.Context, users []string) ([]UserDevice, error) {
	var out []UserDevice
	for start := 0; start < len(users); start += mongoChunk {
		chunk := users[start:min(start+mongoChunk, len(users))]
		cur, err := s.devices.Find(ctx, bson.D{{Key: "u", Value: bson.D{{Key: "$in", Value: chunk}}}},
			options.Find().SetSort(bson.D{{Key: "u", Value: 1}, {Key: "_id", Value: 1}}))
		if err != nil {
			return nil, fmt.Errorf("push: devices: %w", err)
		}
		var docs []deviceDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("push: devices: %w", err)
		}
		for _, d := range docs {
			out = append(out, UserDevice{User: d.User, Session: d.Session, UpdatedAt: storage.FromNanos(d.At),
				Device: Device{Token: d.Token, Platform: d.Platform, AppVersion: d.AppVersion, Locale: d.Locale}})
		}
	}
	return out, nil
}

func (s *MongoStore) RecordFailures(ctx context.Context, fs []Failure) error {
	if len(fs) == 0 {
		return nil
	}
	docs := make([]any, len(fs))
	for i, f := range fs {
		docs[i] = failureDoc{User: f.User, EventID: f.EventID, Token: f.Token, Reason: f.Reason,
			Attempts: f.Attempts, At: storage.Nanos(f.At)}
	}
	if _, err := s.failures.InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("push: record failures: %w", err)
	}
	return nil
}

func (s *MongoStore) Failures(ctx context.Context, limit int) ([]Failure, error) {
	cur, err := s.failures.Find(ctx, bson.D{},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("push: failures: %w", err)
	}
	var docs []failureDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("push: failures: %w", err)
	}
	out := make([]Failure, len(docs))
	for i, d := range docs {
		out[i] = Failure{User: d.User, EventID: d.EventID, Token: d.Token, Reason: d.Reason,
			Attempts: d.Attempts, At: storage.FromNanos(d.At)}
	}
	return out, nil
}

type ticketDoc struct {
	Hash    string `bson:"_id"`
	User    string `bson:"u"`
	Session string `bson:"sess"`
	Expires int64  `bson:"exp"`
}

func (s *MongoStore) PutTicket(ctx context.Context, hash, user, session string, expires time.Time) error {
	old := bson.D{{Key: "exp", Value: bson.D{{Key: "$lte", Value: storage.Nanos(expires.Add(-time.Hour))}}}}
	if _, err := s.tickets.DeleteMany(ctx, old); err != nil {
		return fmt.Errorf("push: put ticket: %w", err)
	}
	if _, err := s.uses.DeleteMany(ctx, old); err != nil {
		return fmt.Errorf("push: put ticket: %w", err)
	}
	if _, err := s.tickets.InsertOne(ctx, ticketDoc{Hash: hash, User: user, Session: session, Expires: storage.Nanos(expires)}); err != nil {
		return fmt.Errorf("push: put ticket: %w", err)
	}
	return nil
}

// TakeTicket claims the ticket by inserting its use under the unique _id
// (findAndModify is not atomic on FerretDB), then reads it.
func (s *MongoStore) TakeTicket(ctx context.Context, hash string, now time.Time) (string, string, error) {
	var t ticketDoc
	err := s.tickets.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&t)
	if err != nil {
		return "", "", storage.Errors{NotFound: ErrNotFound, Context: "push: take ticket"}.Map(err)
	}
	_, err = s.uses.InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "exp", Value: t.Expires}})
	if storage.IsDuplicate(err) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("push: take ticket: %w", err)
	}
	_, _ = s.tickets.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}})
	if t.Expires <= storage.Nanos(now) {
		return "", "", ErrNotFound
	}
	return t.User, t.Session, nil
}
