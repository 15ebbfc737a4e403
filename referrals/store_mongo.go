package referrals

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// MongoStore is the scale-out adapter: every invariant is a unique index
// (no transactions, no conditional updates). A link carries its ancestors
// as an array field, so it is one document and one insert.
type MongoStore struct {
	programs, codes, links, decisions, visits, rewards, clawbacks, cursors, slots, devices, payouts *mongo.Collection
}

var mongoErr = storage.Errors{NotFound: ErrNotFound, Duplicate: errDuplicate, Context: "referrals: mongo"}

// NewMongoStore creates the collections' indexes (those missing).
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	c := func(n string) *mongo.Collection { return db.Collection("referrals_" + n) }
	s := &MongoStore{programs: c("programs"), codes: c("codes"), links: c("links"), decisions: c("decisions"),
		visits: c("visits"), rewards: c("rewards"), clawbacks: c("clawbacks"), cursors: c("cursors"), slots: c("slots"), devices: c("devices"), payouts: c("payouts")}
	keys := func(fields ...string) bson.D {
		d := bson.D{}
		for _, f := range fields {
			d = append(d, bson.E{Key: f, Value: 1})
		}
		return d
	}
	uniq := func(name string, fields ...string) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys(fields...), Options: options.Index().SetUnique(true).SetName(name)}
	}
	idx := func(name string, fields ...string) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys(fields...), Options: options.Index().SetName(name)}
	}
	for _, x := range []struct {
		c *mongo.Collection
		m []mongo.IndexModel
	}{
		{s.programs, []mongo.IndexModel{uniq("r_clinic_version", "clinic_id", "version")}},
		{s.codes, []mongo.IndexModel{uniq("r_owner", "owner")}},
		{s.links, []mongo.IndexModel{uniq("r_clinic_referee", "clinic_id", "referee_id"),
			idx("r_clinic_referrer", "clinic_id", "referrer_id", "created"), idx("r_ancestors", "clinic_id", "ancestors", "created")}},
		{s.rewards, []mongo.IndexModel{uniq("r_clinic_receipt_level", "clinic_id", "receipt_id", "level"),
			idx("r_link", "link_id"), idx("r_card", "card_id"), idx("r_staff", "clinic_id", "staff_id")}},
		{s.payouts, []mongo.IndexModel{uniq("r_staff_seq", "staff_id", "seq"), uniq("r_staff_key", "staff_id", "key")}},
		{s.clawbacks, []mongo.IndexModel{uniq("r_clinic_receipt_level_refund", "clinic_id", "receipt_id", "level", "refund_key")}},
		{s.slots, []mongo.IndexModel{idx("r_key", "key")}},
		{s.visits, []mongo.IndexModel{idx("r_clinic", "clinic_id")}},
		{s.devices, []mongo.IndexModel{idx("r_patient", "patient_id"), idx("r_device", "device")}},
	} {
		if err := storage.EnsureIndexes(ctx, x.c, x.m...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *MongoStore) insert(ctx context.Context, c *mongo.Collection, doc bson.M, body any) error {
	if body != nil {
		doc["body"] = js(body)
	}
	_, err := c.InsertOne(ctx, doc)
	return mongoErr.Map(err)
}

type bodyDoc struct {
	Body string `bson:"body"`
}

func mongoOne[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOneOptions]) (*T, error) {
	var d bodyDoc
	if err := c.FindOne(ctx, filter, opts...).Decode(&d); err != nil {
		return nil, mongoErr.Map(err)
	}
	var v T
	if err := json.Unmarshal([]byte(d.Body), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func mongoAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, mongoErr.Map(err)
	}
	var docs []bodyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongoErr.Map(err)
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal([]byte(d.Body), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sortBy(fields ...string) *options.FindOptionsBuilder {
	d := bson.D{}
	for _, f := range fields {
		d = append(d, bson.E{Key: f, Value: 1})
	}
	return options.Find().SetSort(d)
}

func (s *MongoStore) InsertProgram(ctx context.Context, p *Program) error {
	return s.insert(ctx, s.programs, bson.M{"clinic_id": p.ClinicID, "version": p.Version, "created": storage.Nanos(p.Created)}, p)
}

func (s *MongoStore) ProgramAt(ctx context.Context, clinicID string, t time.Time) (*Program, error) {
	f := bson.M{"clinic_id": clinicID}
	if !t.IsZero() {
		f["created"] = bson.M{"$lte": storage.Nanos(t)}
	}
	p, err := mongoOne[Program](ctx, s.programs, f, options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}}))
	if err != nil {
		return nil, err
	}
	p.ClinicID = clinicID
	return p, nil
}

func (s *MongoStore) ProgramClinics(ctx context.Context) ([]string, error) {
	var out []string
	err := s.programs.Distinct(ctx, "clinic_id", bson.M{}).Decode(&out)
	return out, mongoErr.Map(err)
}

func (s *MongoStore) InsertCode(ctx context.Context, c *Code) error {
	return s.insert(ctx, s.codes, bson.M{"_id": c.Code, "owner": c.Owner}, c)
}

func (s *MongoStore) Code(ctx context.Context, code string) (*Code, error) {
	return mongoOne[Code](ctx, s.codes, bson.M{"_id": code})
}

func (s *MongoStore) CodeByOwner(ctx context.Context, owner string) (*Code, error) {
	return mongoOne[Code](ctx, s.codes, bson.M{"owner": owner})
}

func (s *MongoStore) InsertLink(ctx context.Context, l *Link) error {
	anc := l.Ancestors
	if anc == nil {
		anc = []string{}
	}
	return s.insert(ctx, s.links, bson.M{"_id": l.ID, "clinic_id": l.ClinicID, "referee_id": l.RefereeID,
		"referrer_id": l.ReferrerID, "referrer_card": l.ReferrerCard, "depth": l.Depth, "held": l.Held,
		"ancestors": anc, "created": storage.Nanos(l.Created)}, l)
}

func (s *MongoStore) Link(ctx context.Context, clinicID, refereeID string) (*Link, error) {
	return mongoOne[Link](ctx, s.links, bson.M{"clinic_id": clinicID, "referee_id": refereeID})
}

func (s *MongoStore) Links(ctx context.Context, clinicID string, refereeIDs []string) ([]Link, error) {
	if len(refereeIDs) == 0 {
		return nil, nil
	}
	return mongoAll[Link](ctx, s.links, bson.M{"clinic_id": clinicID, "referee_id": bson.M{"$in": refereeIDs}})
}

func (s *MongoStore) LinkByID(ctx context.Context, id string) (*Link, error) {
	return mongoOne[Link](ctx, s.links, bson.M{"_id": id})
}

func (s *MongoStore) Descendants(ctx context.Context, clinicID, ancestor string, after linkCursor, limit int) ([]Link, error) {
	at := storage.Nanos(after.Created)
	f := bson.M{"clinic_id": clinicID, "ancestors": ancestor, "$or": bson.A{
		bson.M{"created": bson.M{"$gt": at}},
		bson.M{"created": at, "_id": bson.M{"$gt": after.ID}},
	}}
	return mongoAll[Link](ctx, s.links, f, sortBy("created", "_id").SetLimit(int64(limit)))
}

func (s *MongoStore) JoinsSince(ctx context.Context, clinicID, referrerID string, t time.Time) (int, error) {
	n, err := s.links.CountDocuments(ctx, bson.M{"clinic_id": clinicID, "referrer_id": referrerID,
		"created": bson.M{"$gte": storage.Nanos(t)}})
	return int(n), mongoErr.Map(err)
}

func (s *MongoStore) ClinicLinks(ctx context.Context, clinicID, afterID string, limit int) ([]Link, error) {
	return mongoAll[Link](ctx, s.links, bson.M{"clinic_id": clinicID, "_id": bson.M{"$gt": afterID}},
		sortBy("_id").SetLimit(int64(limit)))
}

// TreeCounts reads the clinic's links' few fields and counts them here
// (FerretDB has no $lookup).
// ReferrerCounts groups in the client: FerretDB's aggregation support
// is partial.
func (s *MongoStore) ReferrerCounts(ctx context.Context, clinicID string) ([]ReferrerCount, error) {
	cur, err := s.links.Find(ctx, bson.M{"clinic_id": clinicID, "referrer_id": bson.M{"$ne": ""}},
		options.Find().SetProjection(bson.M{"referrer_id": 1, "referrer_card": 1}))
	if err != nil {
		return nil, mongoErr.Map(err)
	}
	var docs []struct {
		Referrer string `bson:"referrer_id"`
		Card     string `bson:"referrer_card"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongoErr.Map(err)
	}
	refs := map[string]*ReferrerCount{}
	for _, d := range docs {
		if refs[d.Referrer] == nil {
			refs[d.Referrer] = &ReferrerCount{ReferrerID: d.Referrer, CardID: d.Card}
		}
		refs[d.Referrer].Friends++
	}
	rs := make([]ReferrerCount, 0, len(refs))
	for _, r := range refs {
		rs = append(rs, *r)
	}
	return rs, nil
}

func (s *MongoStore) Depths(ctx context.Context, clinicID string, refereeIDs []string) (map[string]int, error) {
	filter := bson.M{"clinic_id": clinicID}
	if refereeIDs != nil {
		if len(refereeIDs) == 0 {
			return map[string]int{}, nil
		}
		filter["referee_id"] = bson.M{"$in": refereeIDs}
	}
	cur, err := s.links.Find(ctx, filter, options.Find().SetProjection(bson.M{"referee_id": 1, "depth": 1}))
	if err != nil {
		return nil, mongoErr.Map(err)
	}
	var docs []struct {
		Referee string `bson:"referee_id"`
		Depth   int    `bson:"depth"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongoErr.Map(err)
	}
	out := make(map[string]int, len(docs))
	for _, d := range docs {
		out[d.Referee] = d.Depth
	}
	return out, nil
}

func (s *MongoStore) HeldLinks(ctx context.Context, clinicID string) ([]Link, error) {
	return mongoAll[Link](ctx, s.links, bson.M{"clinic_id": clinicID, "held": true}, sortBy("created", "_id"))
}

func (s *MongoStore) InsertDecision(ctx context.Context, d *Decision) error {
	return s.insert(ctx, s.decisions, bson.M{"_id": d.LinkID}, d)
}

func (s *MongoStore) Decision(ctx context.Context, linkID string) (*Decision, error) {
	return mongoOne[Decision](ctx, s.decisions, bson.M{"_id": linkID})
}

// InsertVisit takes _id "clinic|referee" (ids hold no "|").
func (s *MongoStore) InsertVisit(ctx context.Context, v *Visit) error {
	return s.insert(ctx, s.visits, bson.M{"_id": v.ClinicID + "|" + v.RefereeID, "clinic_id": v.ClinicID}, v)
}

func (s *MongoStore) Visit(ctx context.Context, clinicID, refereeID string) (*Visit, error) {
	return mongoOne[Visit](ctx, s.visits, bson.M{"_id": clinicID + "|" + refereeID})
}

func (s *MongoStore) InsertReward(ctx context.Context, r *Reward) error {
	return s.insert(ctx, s.rewards, bson.M{"clinic_id": r.ClinicID, "receipt_id": r.ReceiptID, "level": r.Level,
		"link_id": r.LinkID, "card_id": r.BeneficiaryCard, "staff_id": r.StaffID}, r)
}

func (s *MongoStore) Reward(ctx context.Context, clinicID, receiptID string, level int) (*Reward, error) {
	return mongoOne[Reward](ctx, s.rewards, bson.M{"clinic_id": clinicID, "receipt_id": receiptID, "level": level})
}

// Atomic calls fn: without multi-document transactions every write of
// the reward path stands alone under its unique key.
func (s *MongoStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}

// InsertRewards inserts one at a time: without multi-document
// transactions each record's unique key is its own commit.
func (s *MongoStore) InsertRewards(ctx context.Context, rs []*Reward) ([]bool, error) {
	inserted := make([]bool, len(rs))
	for i, r := range rs {
		err := s.InsertReward(ctx, r)
		if err != nil && !errors.Is(err, errDuplicate) {
			return inserted, err
		}
		inserted[i] = err == nil
	}
	return inserted, nil
}

func (s *MongoStore) ReceiptRewards(ctx context.Context, clinicID, receiptID string) ([]Reward, error) {
	return mongoAll[Reward](ctx, s.rewards, bson.M{"clinic_id": clinicID, "receipt_id": receiptID}, sortBy("level"))
}

func (s *MongoStore) RewardsByLink(ctx context.Context, linkID string) ([]Reward, error) {
	return mongoAll[Reward](ctx, s.rewards, bson.M{"link_id": linkID}, sortBy("receipt_id", "level"))
}

func (s *MongoStore) RewardsByCard(ctx context.Context, cardID string) ([]Reward, error) {
	return mongoAll[Reward](ctx, s.rewards, bson.M{"card_id": cardID}, sortBy("receipt_id", "level"))
}

func (s *MongoStore) ClinicRewards(ctx context.Context, clinicID string) ([]Reward, error) {
	return mongoAll[Reward](ctx, s.rewards, bson.M{"clinic_id": clinicID}, sortBy("receipt_id", "level"))
}

func (s *MongoStore) InsertClawback(ctx context.Context, c *Clawback) error {
	return s.insert(ctx, s.clawbacks, bson.M{"clinic_id": c.ClinicID, "receipt_id": c.ReceiptID, "level": c.Level,
		"refund_key": c.RefundKey, "created": storage.Nanos(c.Created)}, c)
}

func (s *MongoStore) Clawbacks(ctx context.Context, clinicID, receiptID string, level int) ([]Clawback, error) {
	return mongoAll[Clawback](ctx, s.clawbacks, bson.M{"clinic_id": clinicID, "receipt_id": receiptID, "level": level},
		sortBy("created", "refund_key"))
}

func (s *MongoStore) Cursor(ctx context.Context, clinicID string) (time.Time, error) {
	var d struct {
		At int64 `bson:"at"`
	}
	err := s.cursors.FindOne(ctx, bson.M{"_id": clinicID}).Decode(&d)
	if storage.IsNotFound(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, mongoErr.Map(err)
	}
	return storage.FromNanos(d.At), nil
}

// SetCursor moves the cursor forward ($max): a cache, so an update that
// loses a race only makes the next run re-read a little more.
func (s *MongoStore) SetCursor(ctx context.Context, clinicID string, t time.Time) error {
	_, err := s.cursors.UpdateOne(ctx, bson.M{"_id": clinicID}, bson.M{"$max": bson.M{"at": storage.Nanos(t)}},
		options.UpdateOne().SetUpsert(true))
	return mongoErr.Map(err)
}

// InsertSlot takes slot n of key: _id "key|n" is unique.
func (s *MongoStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	return s.insert(ctx, s.slots, bson.M{"_id": key + "|" + strconv.Itoa(n), "key": key, "n": n, "at": storage.Nanos(at)}, nil)
}

func (s *MongoStore) Slots(ctx context.Context, key string) (int, error) {
	n, err := s.slots.CountDocuments(ctx, bson.M{"key": key})
	return int(n), mongoErr.Map(err)
}

func (s *MongoStore) ClinicVisits(ctx context.Context, clinicID string) ([]Visit, error) {
	return mongoAll[Visit](ctx, s.visits, bson.M{"clinic_id": clinicID})
}

// InsertDevice takes _id "device|patient" (a hex hash and an id: no "|").
func (s *MongoStore) InsertDevice(ctx context.Context, deviceHash, patientID string, at time.Time) error {
	return s.insert(ctx, s.devices, bson.M{"_id": deviceHash + "|" + patientID, "device": deviceHash,
		"patient_id": patientID, "at": storage.Nanos(at)}, nil)
}

func (s *MongoStore) DeviceUsers(ctx context.Context, patientID string) ([]string, error) {
	var mine []string
	if err := s.devices.Distinct(ctx, "device", bson.M{"patient_id": patientID}).Decode(&mine); err != nil {
		return nil, mongoErr.Map(err)
	}
	if len(mine) == 0 {
		return nil, nil
	}
	var out []string
	err := s.devices.Distinct(ctx, "patient_id", bson.M{"device": bson.M{"$in": mine}}).Decode(&out)
	return out, mongoErr.Map(err)
}

func (s *MongoStore) StaffRewards(ctx context.Context, clinicID, staffID string) ([]Reward, error) {
	return mongoAll[Reward](ctx, s.rewards, bson.M{"clinic_id": clinicID, "staff_id": staffID, "level": 0}, sortBy("receipt_id"))
}

func (s *MongoStore) InsertPayout(ctx context.Context, p *Payout) error {
	return s.insert(ctx, s.payouts, bson.M{"staff_id": p.StaffID, "seq": p.Seq, "key": p.Key}, p)
}

func (s *MongoStore) Payouts(ctx context.Context, staffID string) ([]Payout, error) {
	return mongoAll[Payout](ctx, s.payouts, bson.M{"staff_id": staffID}, sortBy("seq"))
}

func (s *MongoStore) PayoutByKey(ctx context.Context, staffID, key string) (*Payout, error) {
	return mongoOne[Payout](ctx, s.payouts, bson.M{"staff_id": staffID, "key": key})
}

var _ Store = (*MongoStore)(nil)
