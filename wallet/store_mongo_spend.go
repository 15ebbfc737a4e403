package wallet

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

func (s *MongoStore) InsertChallenge(ctx context.Context, c *Challenge) error {
	return s.insert(ctx, s.challenges, bson.M{"_id": c.ID, "body": string(mustJSON(c))})
}

func (s *MongoStore) Challenge(ctx context.Context, id string) (*Challenge, error) {
	var c Challenge
	if err := s.findBody(ctx, s.challenges, bson.M{"_id": id}, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// InsertAttempt takes slot n of a challenge: _id "challenge|n" is unique.
func (s *MongoStore) InsertAttempt(ctx context.Context, challengeID string, n int) error {
	return s.insert(ctx, s.attempts, bson.M{"_id": challengeID + "|" + strconv.Itoa(n), "challenge_id": challengeID, "n": n})
}

func (s *MongoStore) Attempts(ctx context.Context, challengeID string) (int, error) {
	n, err := s.attempts.CountDocuments(ctx, bson.M{"challenge_id": challengeID})
	return int(n), err
}

func (s *MongoStore) InsertSpend(ctx context.Context, sp *Spend) error {
	return s.insert(ctx, s.spends, bson.M{"_id": sp.ID, "clinic_id": sp.ClinicID, "receipt_id": sp.ReceiptID, "slot": sp.Slot,
		"body": string(mustJSON(sp))})
}

func (s *MongoStore) Spend(ctx context.Context, id string) (*Spend, error) {
	var sp Spend
	if err := s.findBody(ctx, s.spends, bson.M{"_id": id}, &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

func (s *MongoStore) SpendsByReceipt(ctx context.Context, clinicID, receiptID string) ([]Spend, error) {
	docs, err := findAll[bodyDoc](ctx, s.spends, bson.M{"clinic_id": clinicID, "receipt_id": receiptID},
		options.Find().SetSort(bson.D{{Key: "slot", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]Spend, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal([]byte(d.Body), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *MongoStore) InsertReceipt(ctx context.Context, r *Receipt) error {
	return s.insert(ctx, s.receipts, bson.M{"_id": r.ClinicID + "|" + r.ReceiptID, "body": string(mustJSON(r))})
}

func (s *MongoStore) Receipt(ctx context.Context, clinicID, receiptID string) (*Receipt, error) {
	var r Receipt
	if err := s.findBody(ctx, s.receipts, bson.M{"_id": clinicID + "|" + receiptID}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// InsertReceiptCard takes _id "clinic|receipt", unique.
func (s *MongoStore) InsertReceiptCard(ctx context.Context, clinicID, receiptID, cardID string) error {
	return s.insert(ctx, s.receiptCards, bson.M{"_id": clinicID + "|" + receiptID, "card_id": cardID})
}

func (s *MongoStore) ReceiptCard(ctx context.Context, clinicID, receiptID string) (string, error) {
	var d struct {
		CardID string `bson:"card_id"`
	}
	if err := s.receiptCards.FindOne(ctx, bson.M{"_id": clinicID + "|" + receiptID}).Decode(&d); err != nil {
		return "", dbErr.Map(err)
	}
	return d.CardID, nil
}

// InsertSlot takes slot n of key: _id "key|n" is unique.
func (s *MongoStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	return s.insert(ctx, s.slots, bson.M{"_id": key + "|" + strconv.Itoa(n), "key": key, "n": n, "at": storage.Nanos(at)})
}

func (s *MongoStore) Slots(ctx context.Context, key string) (int, error) {
	n, err := s.slots.CountDocuments(ctx, bson.M{"key": key})
	return int(n), err
}
