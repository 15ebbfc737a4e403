package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// MongoStore is the scale-out adapter, correct without multi-document
// transactions and without atomic conditional updates (FerretDB has
// neither): every invariant is a unique insert.
//
// A ledger entry document carries the card's whole state after it (its
// balance, paid spend and open lots), so the entry inserted at (card,
// seq+1) is the commit and the truth; a lost race on seq re-reads the head
// and retries. The lots collection is a cache for the burn job's
// burns_at index, written after the commit and rebuildable from the head
// entry (SyncLots); it can only be stale-high (lots only shrink), and the
// burn job checks every candidate against the head before burning it.
type MongoStore struct {
	db                                                           *mongo.Database
	programs, dependants, guardians, cards, challenges, attempts *mongo.Collection
	spends, receipts, entries, lots, codes                       *mongo.Collection
}

// NewMongoStore creates the collections' unique indexes.
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	c := func(n string) *mongo.Collection { return db.Collection("wallet_" + n) }
	s := &MongoStore{db: db, programs: c("programs"), dependants: c("dependants"), guardians: c("guardians"),
		cards: c("cards"), challenges: c("challenges"), attempts: c("attempts"), spends: c("spends"),
		receipts: c("receipts"), entries: c("entries"), lots: c("lots"), codes: c("card_codes")}
	name := func(keys bson.D) string {
		n := "w"
		for _, k := range keys {
			n += "_" + k.Key
		}
		return n
	}
	uniq := func(keys bson.D) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetUnique(true).SetName(name(keys))}
	}
	idx := func(keys bson.D) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetName(name(keys))}
	}
	for _, x := range []struct {
		c *mongo.Collection
		m []mongo.IndexModel
	}{
		{s.guardians, []mongo.IndexModel{uniq(bson.D{{Key: "dependant_id", Value: 1}, {Key: "guardian_id", Value: 1}}),
			idx(bson.D{{Key: "guardian_id", Value: 1}})}},
		{s.cards, []mongo.IndexModel{uniq(bson.D{{Key: "clinic_id", Value: 1}, {Key: "holder_key", Value: 1}, {Key: "slot", Value: 1}}),
			idx(bson.D{{Key: "patient_id", Value: 1}}), idx(bson.D{{Key: "dependant_id", Value: 1}}),
			idx(bson.D{{Key: "birth_md", Value: 1}, {Key: "_id", Value: 1}}), idx(bson.D{{Key: "clinic_id", Value: 1}, {Key: "created", Value: 1}})}},
		{s.spends, []mongo.IndexModel{uniq(bson.D{{Key: "clinic_id", Value: 1}, {Key: "receipt_id", Value: 1}, {Key: "slot", Value: 1}})}},
		{s.entries, []mongo.IndexModel{uniq(bson.D{{Key: "card_id", Value: 1}, {Key: "key", Value: 1}}),
			uniq(bson.D{{Key: "card_id", Value: 1}, {Key: "seq", Value: 1}}),
			idx(bson.D{{Key: "clinic_id", Value: 1}, {Key: "created", Value: 1}}),
			idx(bson.D{{Key: "lots_pending", Value: 1}, {Key: "created", Value: 1}})}},
		{s.lots, []mongo.IndexModel{idx(bson.D{{Key: "burns_at", Value: 1}}), idx(bson.D{{Key: "warn_at", Value: 1}})}},
	} {
		// Create only the missing ones: FerretDB v1.24 fails on a
		// createIndexes that names existing compound indexes.
		specs, err := x.c.Indexes().ListSpecifications(ctx)
		if err != nil {
			return nil, fmt.Errorf("wallet: list indexes of %s: %w", x.c.Name(), err)
		}
		have := map[string]bool{}
		for _, sp := range specs {
			have[sp.Name] = true
		}
		var missing []mongo.IndexModel
		for _, m := range x.m {
			if n := name(m.Keys.(bson.D)); !have[n] {
				missing = append(missing, m)
			}
		}
		if err := storage.EnsureIndexes(ctx, x.c, missing...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func mongoErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	if storage.IsDuplicate(err) {
		return errDuplicate // the driver's text holds the key's value: never pass it on
	}
	return err
}

func (s *MongoStore) insert(ctx context.Context, c *mongo.Collection, doc any) error {
	_, err := c.InsertOne(ctx, doc)
	return mongoErr(err)
}

// bodyDoc stores a record as JSON beside the fields it is queried by.
type bodyDoc struct {
	Body string `bson:"body"`
}

func (s *MongoStore) findBody(ctx context.Context, c *mongo.Collection, filter any, v any, opts ...options.Lister[options.FindOneOptions]) error {
	var d bodyDoc
	if err := c.FindOne(ctx, filter, opts...).Decode(&d); err != nil {
		return mongoErr(err)
	}
	return json.Unmarshal([]byte(d.Body), v)
}

func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *MongoStore) InsertProgram(ctx context.Context, p *Program) error {
	return s.insert(ctx, s.programs, bson.M{"_id": p.ClinicID + "|" + strconv.FormatInt(p.Version, 10),
		"clinic_id": p.ClinicID, "version": p.Version, "body": string(mustJSON(p))})
}

func (s *MongoStore) LatestProgram(ctx context.Context, clinicID string) (*Program, error) {
	var p Program
	err := s.findBody(ctx, s.programs, bson.M{"clinic_id": clinicID}, &p, options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}}))
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *MongoStore) LatestProgramVersion(ctx context.Context, clinicID string) (int64, error) {
	var d struct {
		Version int64 `bson:"version"`
	}
	err := s.programs.FindOne(ctx, bson.M{"clinic_id": clinicID}, options.FindOne().
		SetSort(bson.D{{Key: "version", Value: -1}}).SetProjection(bson.M{"version": 1})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("wallet: program version: %w", err)
	}
	return d.Version, nil
}

func (s *MongoStore) InsertDependant(ctx context.Context, d *Dependant) error {
	return s.insert(ctx, s.dependants, bson.M{"_id": d.ID, "body": string(mustJSON(d))})
}

func (s *MongoStore) Dependant(ctx context.Context, id string) (*Dependant, error) {
	var d Dependant
	if err := s.findBody(ctx, s.dependants, bson.M{"_id": id}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

type guardianDoc struct {
	ID          string `bson:"_id"`
	GuardianID  string `bson:"guardian_id"`
	DependantID string `bson:"dependant_id"`
	PersonKey   string `bson:"person_key"`
	Created     int64  `bson:"created"`
}

func (s *MongoStore) InsertGuardianship(ctx context.Context, g *Guardianship) error {
	return s.insert(ctx, s.guardians, guardianDoc{ID: g.GuardianID + "|" + g.PersonKey, GuardianID: g.GuardianID,
		DependantID: g.DependantID, PersonKey: g.PersonKey, Created: ns(g.Created)})
}

func (s *MongoStore) guardianships(ctx context.Context, filter bson.M) ([]Guardianship, error) {
	docs, err := findAll[guardianDoc](ctx, s.guardians, filter)
	if err != nil {
		return nil, err
	}
	out := make([]Guardianship, len(docs))
	for i, d := range docs {
		out[i] = Guardianship{GuardianID: d.GuardianID, DependantID: d.DependantID, PersonKey: d.PersonKey, Created: fromNS(d.Created)}
	}
	return out, nil
}

func (s *MongoStore) GuardianshipsOf(ctx context.Context, guardianID string) ([]Guardianship, error) {
	return s.guardianships(ctx, bson.M{"guardian_id": guardianID})
}

func (s *MongoStore) GuardiansOf(ctx context.Context, dependantID string) ([]Guardianship, error) {
	return s.guardianships(ctx, bson.M{"dependant_id": dependantID})
}

type cardDoc struct {
	ID          string `bson:"_id"`
	ClinicID    string `bson:"clinic_id"`
	PatientID   string `bson:"patient_id"`
	HolderKey   string `bson:"holder_key"`
	DependantID string `bson:"dependant_id"`
	Slot        int    `bson:"slot"`
	Status      string `bson:"status"`
	IssuedBy    string `bson:"issued_by"`
	Created     int64  `bson:"created"`
	BirthMD     string `bson:"birth_md"`
	ChallengeID string `bson:"challenge_id"`
	Holder      string `bson:"holder"`
}

func (d cardDoc) card() Card {
	c := Card{ID: d.ID, ClinicID: d.ClinicID, PatientID: d.PatientID, Status: d.Status, IssuedBy: d.IssuedBy,
		Created: fromNS(d.Created), Slot: d.Slot, ChallengeID: d.ChallengeID}
	_ = json.Unmarshal([]byte(d.Holder), &c.Holder)
	return c
}

func (s *MongoStore) InsertCard(ctx context.Context, c *Card) error {
	return s.insert(ctx, s.cards, cardDoc{ID: c.ID, ClinicID: c.ClinicID, PatientID: c.PatientID, HolderKey: c.Holder.key(),
		DependantID: c.Holder.DependantID, Slot: c.Slot, Status: c.Status, IssuedBy: c.IssuedBy, Created: ns(c.Created),
		BirthMD: c.Holder.birthMD(), ChallengeID: c.ChallengeID, Holder: string(mustJSON(c.Holder))})
}

func (s *MongoStore) findCards(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) ([]Card, error) {
	docs, err := findAll[cardDoc](ctx, s.cards, filter, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]Card, len(docs))
	for i, d := range docs {
		out[i] = d.card()
	}
	return out, nil
}

func (s *MongoStore) Card(ctx context.Context, id string) (*Card, error) {
	var d cardDoc
	if err := s.cards.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return nil, mongoErr(err)
	}
	c := d.card()
	return &c, nil
}

func (s *MongoStore) CardsByHolder(ctx context.Context, clinicID, holderKey string) ([]Card, error) {
	return s.findCards(ctx, bson.M{"clinic_id": clinicID, "holder_key": holderKey}, options.Find().SetSort(bson.D{{Key: "slot", Value: 1}}))
}

var byCreated = options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}})

func (s *MongoStore) CardsByPatient(ctx context.Context, ids []string) ([]Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.findCards(ctx, bson.M{"patient_id": bson.M{"$in": ids}}, byCreated)
}

func (s *MongoStore) CardsByDependant(ctx context.Context, ids []string) ([]Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.findCards(ctx, bson.M{"dependant_id": bson.M{"$in": ids}}, byCreated)
}

// ActivateCard is a plain $set: activation is idempotent, so a racing
// update cannot do harm.
func (s *MongoStore) ActivateCard(ctx context.Context, id string) error {
	_, err := s.cards.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"status": StatusActive}})
	return err
}

func (s *MongoStore) CardsByBirthday(ctx context.Context, mds []string, afterID string, limit int) ([]Card, error) {
	if len(mds) == 0 {
		return nil, nil
	}
	return s.findCards(ctx, bson.M{"birth_md": bson.M{"$in": mds}, "status": StatusActive, "_id": bson.M{"$gt": afterID}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

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
		Reason: d.Reason, Created: fromNS(d.Created), Fingerprint: d.Fingerprint}
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
		return nil, mongoErr(err)
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
		PatientID: e.PatientID, StaffID: e.StaffID, ReceiptID: e.ReceiptID, Reason: e.Reason, Created: ns(e.Created),
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

type lotDoc struct {
	ID        string `bson:"_id"`
	CardID    string `bson:"card_id"`
	ClinicID  string `bson:"clinic_id"`
	Kind      string `bson:"kind"`
	Points    int64  `bson:"points"`
	Remaining int64  `bson:"remaining"`
	BurnsAt   int64  `bson:"burns_at"`
	WarnAt    int64  `bson:"warn_at"`
	Warned    bool   `bson:"warned"`
	Seq       int64  `bson:"seq"`
}

func (d lotDoc) lot() Lot {
	return Lot{ID: d.ID, CardID: d.CardID, ClinicID: d.ClinicID, Kind: d.Kind, Points: d.Points, Remaining: d.Remaining,
		BurnsAt: fromNS(d.BurnsAt), WarnAt: fromNS(d.WarnAt), Seq: d.Seq}
}

// cacheLots writes the lots an entry touched into the cache: the new lot
// is inserted, the others get their remainder from the state after the
// entry (0 when the lot was emptied).
func (s *MongoStore) cacheLots(ctx context.Context, e *Entry, next *State) error {
	rem := map[string]int64{}
	for _, l := range next.Lots {
		rem[l.ID] = l.Remaining
	}
	if l := e.NewLot; l != nil {
		err := s.insert(ctx, s.lots, lotDoc{ID: l.ID, CardID: e.CardID, ClinicID: e.ClinicID, Kind: l.Kind, Points: l.Points,
			Remaining: rem[l.ID], BurnsAt: ns(l.BurnsAt), WarnAt: ns(l.WarnAt), Seq: e.Seq})
		if err != nil && !errors.Is(err, errDuplicate) {
			return err
		}
	}
	for _, d := range e.Lots {
		if e.NewLot != nil && d.LotID == e.NewLot.ID {
			continue
		}
		if _, err := s.lots.UpdateOne(ctx, bson.M{"_id": d.LotID}, bson.M{"$set": bson.M{"remaining": rem[d.LotID]}}); err != nil {
			return err
		}
	}
	return nil
}

// RepairLots rebuilds the lot cache of the cards whose entries were
// committed but whose lots were not cached (a crash or an error between
// the two writes) before olderThan, and clears their pending marks.
func (s *MongoStore) RepairLots(ctx context.Context, olderThan time.Time, limit int) (int, error) {
	docs, err := findAll[entryDoc](ctx, s.entries, bson.M{"lots_pending": true, "created": bson.M{"$lt": ns(olderThan)}},
		options.Find().SetLimit(int64(limit)))
	if err != nil {
		return 0, err
	}
	synced := map[string]bool{}
	for _, d := range docs {
		if !synced[d.CardID] {
			if err := s.SyncLots(ctx, d.CardID); err != nil {
				return 0, err
			}
			synced[d.CardID] = true
		}
		if _, err := s.entries.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$unset": bson.M{"lots_pending": ""}}); err != nil {
			return 0, err
		}
	}
	return len(synced), nil
}

// SyncLots rewrites the card's cached lots from its head entry's state:
// open lots get their remainder (inserted if missing), cached lots no
// longer open get 0.
func (s *MongoStore) SyncLots(ctx context.Context, cardID string) error {
	st, err := s.State(ctx, cardID)
	if err != nil {
		return err
	}
	open := map[string]bool{}
	for _, l := range st.Lots {
		open[l.ID] = true
		_, err := s.lots.UpdateOne(ctx, bson.M{"_id": l.ID}, bson.M{"$set": bson.M{"remaining": l.Remaining},
			"$setOnInsert": bson.M{"card_id": cardID, "clinic_id": l.ClinicID, "kind": l.Kind, "points": l.Points,
				"burns_at": ns(l.BurnsAt), "warn_at": ns(l.WarnAt), "warned": false, "seq": l.Seq}},
			options.UpdateOne().SetUpsert(true))
		if err != nil {
			return err
		}
	}
	cached, err := findAll[lotDoc](ctx, s.lots, bson.M{"card_id": cardID, "remaining": bson.M{"$gt": 0}})
	if err != nil {
		return err
	}
	for _, d := range cached {
		if !open[d.ID] {
			if _, err := s.lots.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"remaining": 0}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *MongoStore) findLots(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) ([]Lot, error) {
	docs, err := findAll[lotDoc](ctx, s.lots, filter, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]Lot, len(docs))
	for i, d := range docs {
		out[i] = d.lot()
	}
	return out, nil
}

func (s *MongoStore) DueLots(ctx context.Context, before time.Time, limit int) ([]Lot, error) {
	return s.findLots(ctx, bson.M{"remaining": bson.M{"$gt": 0}, "burns_at": bson.M{"$lte": ns(before)}},
		options.Find().SetSort(bson.D{{Key: "burns_at", Value: 1}, {Key: "card_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) WarnLots(ctx context.Context, now time.Time, limit int) ([]Lot, error) {
	return s.findLots(ctx, bson.M{"remaining": bson.M{"$gt": 0}, "warned": false, "warn_at": bson.M{"$lte": ns(now)},
		"burns_at": bson.M{"$gt": ns(now)}}, options.Find().SetSort(bson.D{{Key: "card_id", Value: 1}, {Key: "burns_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) MarkWarned(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.lots.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}}, bson.M{"$set": bson.M{"warned": true}})
	return err
}

type codeDoc struct {
	Code      string `bson:"_id"`
	CardID    string `bson:"card_id"`
	ClinicID  string `bson:"clinic_id"`
	ExpiresAt int64  `bson:"expires_at"`
}

func (s *MongoStore) InsertCardCode(ctx context.Context, c *cardCodeRec) error {
	return s.insert(ctx, s.codes, codeDoc{Code: c.Code, CardID: c.CardID, ClinicID: c.ClinicID, ExpiresAt: ns(c.ExpiresAt)})
}

func (s *MongoStore) CardCode(ctx context.Context, code string) (*cardCodeRec, error) {
	var d codeDoc
	if err := s.codes.FindOne(ctx, bson.M{"_id": code}).Decode(&d); err != nil {
		return nil, mongoErr(err)
	}
	return &cardCodeRec{Code: d.Code, CardID: d.CardID, ClinicID: d.ClinicID, ExpiresAt: fromNS(d.ExpiresAt)}, nil
}

func (s *MongoStore) PurgeCardCodes(ctx context.Context, before time.Time) error {
	_, err := s.codes.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": ns(before)}})
	return err
}

func createdRange(filter bson.M, from, to time.Time) {
	r := bson.M{}
	if !from.IsZero() {
		r["$gte"] = ns(from)
	}
	if !to.IsZero() {
		r["$lt"] = ns(to)
	}
	if len(r) > 0 {
		filter["created"] = r
	}
}

func (s *MongoStore) Journal(ctx context.Context, f JournalFilter, cards []string, after journalCursor, limit int) ([]Entry, error) {
	filter := bson.M{"clinic_id": f.ClinicID}
	if len(cards) > 0 {
		filter["card_id"] = bson.M{"$in": cards}
	}
	if f.Kind != "" {
		filter["kind"] = f.Kind
	}
	if f.Reason != "" {
		filter["reason"] = bson.M{"$regex": regexp.QuoteMeta(f.Reason), "$options": "i"}
	}
	createdRange(filter, f.From, f.To)
	if !after.Created.IsZero() {
		t := ns(after.Created)
		filter["$or"] = bson.A{
			bson.M{"created": bson.M{"$gt": t}},
			bson.M{"created": t, "card_id": bson.M{"$gt": after.CardID}},
			bson.M{"created": t, "card_id": after.CardID, "seq": bson.M{"$gt": after.Seq}},
		}
	}
	return s.findEntries(ctx, filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "card_id", Value: 1},
		{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after cardCursor, limit int) ([]Card, error) {
	filter := bson.M{"clinic_id": clinicID}
	createdRange(filter, from, to)
	if !after.Created.IsZero() {
		t := ns(after.Created)
		filter["$or"] = bson.A{bson.M{"created": bson.M{"$gt": t}}, bson.M{"created": t, "_id": bson.M{"$gt": after.ID}}}
	}
	return s.findCards(ctx, filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// CardsByStaff groups in the client: FerretDB's aggregation support is
// partial and the rows are few.
func (s *MongoStore) CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error) {
	filter := bson.M{"clinic_id": clinicID, "issued_by": bson.M{"$ne": ""}}
	createdRange(filter, from, to)
	docs, err := findAll[cardDoc](ctx, s.cards, filter, options.Find().SetProjection(bson.M{"issued_by": 1}))
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, d := range docs {
		counts[d.IssuedBy]++
	}
	var out []StaffCards
	for k, v := range counts {
		out = append(out, StaffCards{StaffID: k, Cards: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StaffID < out[j].StaffID })
	return out, nil
}

func (s *MongoStore) SumByKind(ctx context.Context, clinicID string, from, to time.Time) (map[string]int64, error) {
	filter := bson.M{"clinic_id": clinicID}
	createdRange(filter, from, to)
	cur, err := s.entries.Find(ctx, filter, options.Find().SetProjection(bson.M{"kind": 1, "amount": 1}))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	out := map[string]int64{}
	for cur.Next(ctx) {
		var d struct {
			Kind   string `bson:"kind"`
			Amount int64  `bson:"amount"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		k := d.Kind
		if d.Amount < 0 {
			k += "-"
		}
		out[k] += d.Amount
	}
	return out, cur.Err()
}

var _ Store = (*MongoStore)(nil)
