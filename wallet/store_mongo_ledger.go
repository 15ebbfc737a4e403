package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

type entryDoc struct {
	ID           string `bson:"_id"`
	CardID       string `bson:"card_id"`
	Seq          int64  `bson:"seq"`
	Key          string `bson:"key"`
	Kind         string `bson:"kind"`
	Amount       int64  `bson:"amount"`
	BalanceAfter int64  `bson:"balance_after"`
	PaidAfter    int64  `bson:"paid_after"`
	ClinicID     string `bson:"clinic_id"`
	PatientID    string `bson:"patient_id"`
	StaffID      string `bson:"staff_id"`
	ReceiptID    string `bson:"receipt_id"`
	Reason       string `bson:"reason"`
	Created      int64  `bson:"created"`
	Fingerprint  string `bson:"fingerprint"`
	Lots         string `bson:"lots"`
	Details      string `bson:"details"`
	State        string `bson:"state"`
	// LotsPending is true from the entry's insert until the lot cache has
	// its lots; RepairLots finds entries a crash left pending. Entries
	// written before the field existed have none, which reads as false.
	LotsPending bool `bson:"lots_pending,omitempty"`
}

func (d entryDoc) entry() Entry {
	e := Entry{CardID: d.CardID, Seq: d.Seq, Key: d.Key, Kind: d.Kind, Amount: d.Amount, BalanceAfter: d.BalanceAfter,
		PaidAfter: d.PaidAfter, ClinicID: d.ClinicID, PatientID: d.PatientID, StaffID: d.StaffID, ReceiptID: d.ReceiptID,
		Reason: d.Reason, Created: storage.FromNanos(d.Created), Fingerprint: d.Fingerprint}
	_ = json.Unmarshal([]byte(d.Lots), &e.Lots)
	if d.Details != "" {
		e.Details = json.RawMessage(d.Details)
	}
	return e
}

func (d entryDoc) state() (*State, error) {
	var st State
	if err := json.Unmarshal([]byte(d.State), &st); err != nil {
		return nil, fmt.Errorf("wallet: entry %s: state: %w", d.ID, err)
	}
	return &st, nil
}

func entryID(cardID string, seq int64) string { return fmt.Sprintf("%s|%019d", cardID, seq) }

func (s *MongoStore) findEntries(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) ([]Entry, error) {
	docs, err := findAll[entryDoc](ctx, s.entries, filter, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(docs))
	for i, d := range docs {
		out[i] = d.entry()
	}
	return out, nil
}

func (s *MongoStore) EntryByKey(ctx context.Context, cardID, key string) (*Entry, error) {
	var d entryDoc
	if err := s.entries.FindOne(ctx, bson.M{"card_id": cardID, "key": key}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	e := d.entry()
	return &e, nil
}

var bySeq = bson.D{{Key: "seq", Value: 1}}

func (s *MongoStore) Entries(ctx context.Context, cardID string, afterSeq int64, limit int) ([]Entry, error) {
	return s.findEntries(ctx, bson.M{"card_id": cardID, "seq": bson.M{"$gt": afterSeq}},
		options.Find().SetSort(bySeq).SetLimit(int64(limit)))
}

func (s *MongoStore) ReceiptEntries(ctx context.Context, cardID, receiptID string, throughSeq int64) ([]Entry, error) {
	return s.findEntries(ctx, bson.M{"card_id": cardID, "receipt_id": receiptID, "seq": bson.M{"$lte": throughSeq}},
		options.Find().SetSort(bySeq))
}

// State is the state stored in the card's head entry.
func (s *MongoStore) State(ctx context.Context, cardID string) (*State, error) {
	var d entryDoc
	err := s.entries.FindOne(ctx, bson.M{"card_id": cardID}, options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	return d.state()
}

// StateFor is the whole state: the entry inserted next carries it.
func (s *MongoStore) StateFor(ctx context.Context, cardID string, _ time.Time) (*State, error) {
	return s.State(ctx, cardID)
}

// Head is the head entry's state (one document, lots included).
func (s *MongoStore) Head(ctx context.Context, cardID string) (*State, error) {
	return s.State(ctx, cardID)
}

// OpenLots pages the open lots of the head entry's state, which is the
// truth here (the lots collection is a cache for the burn job).
func (s *MongoStore) OpenLots(ctx context.Context, cardID string, after lotCursor, limit int) ([]Lot, error) {
	st, err := s.State(ctx, cardID)
	if err != nil {
		return nil, err
	}
	sortLots(st.Lots)
	var out []Lot
	for _, l := range st.Lots {
		if len(out) == limit {
			break
		}
		if l.BurnsAt.Before(after.BurnsAt) || (l.BurnsAt.Equal(after.BurnsAt) && l.ID <= after.ID) {
			continue
		}
		l.CardID = cardID
		out = append(out, l)
	}
	return out, nil
}

// Atomically runs fn on the store itself: there are no transactions
// here, and none are needed, since the entry document alone is the commit.
func (s *MongoStore) Atomically(ctx context.Context, fn func(LedgerTx) error) error {
	return fn(s)
}

// InsertEntry inserts the entry with the card's whole state after it, so
// the entry is the truth; it stays marked lots_pending until CacheLots.
func (s *MongoStore) InsertEntry(ctx context.Context, e *Entry, next *State) error {
	return s.insert(ctx, s.entries, entryDoc{ID: entryID(e.CardID, e.Seq), CardID: e.CardID, Seq: e.Seq, Key: e.Key,
		Kind: e.Kind, Amount: e.Amount, BalanceAfter: e.BalanceAfter, PaidAfter: e.PaidAfter, ClinicID: e.ClinicID,
		PatientID: e.PatientID, StaffID: e.StaffID, ReceiptID: e.ReceiptID, Reason: e.Reason, Created: storage.Nanos(e.Created),
		Fingerprint: e.Fingerprint, Lots: string(mustJSON(e.Lots)), Details: string(e.Details), State: string(mustJSON(next)),
		LotsPending: true})
}

// CacheLots writes the lots an entry touched into the cache and clears
// the entry's pending mark. The entry is already committed, so a failure
// here is not the commit's: the entry stays pending and the burn job's
// RepairLots rebuilds the card's lots from it.
func (s *MongoStore) CacheLots(ctx context.Context, e *Entry, next *State) error {
	if err := s.cacheLots(ctx, e, next); err != nil {
		return nil
	}
	_, _ = s.entries.UpdateOne(ctx, bson.M{"_id": entryID(e.CardID, e.Seq)}, bson.M{"$unset": bson.M{"lots_pending": ""}})
	return nil
}
