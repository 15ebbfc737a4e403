package wallet

import (
	"context"
	"encoding/json"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

type guardianDoc struct {
	ID          string `bson:"_id"`
	GuardianID  string `bson:"guardian_id"`
	DependantID string `bson:"dependant_id"`
	PersonKey   string `bson:"person_key"`
	Created     int64  `bson:"created"`
}

func (s *MongoStore) InsertGuardianship(ctx context.Context, g *Guardianship) error {
	return s.insert(ctx, s.guardians, guardianDoc{ID: g.GuardianID + "|" + g.PersonKey, GuardianID: g.GuardianID,
		DependantID: g.DependantID, PersonKey: g.PersonKey, Created: storage.Nanos(g.Created)})
}

func (s *MongoStore) guardianships(ctx context.Context, filter bson.M) ([]Guardianship, error) {
	docs, err := findAll[guardianDoc](ctx, s.guardians, filter)
	if err != nil {
		return nil, err
	}
	out := make([]Guardianship, len(docs))
	for i, d := range docs {
		out[i] = Guardianship{GuardianID: d.GuardianID, DependantID: d.DependantID, PersonKey: d.PersonKey, Created: storage.FromNanos(d.Created)}
	}
	return out, nil
}

func (s *MongoStore) GuardianshipsOf(ctx context.Context, guardianID string) ([]Guardianship, error) {
	return s.guardianships(ctx, bson.M{"guardian_id": guardianID})
}

func (s *MongoStore) GuardiansOf(ctx context.Context, dependantID string) ([]Guardianship, error) {
	return s.guardianships(ctx, bson.M{"dependant_id": dependantID})
}

// grantDoc is a grant; its _id is the unique (clinic, dependant,
// guardian).
type grantDoc struct {
	ID          string `bson:"_id"`
	ClinicID    string `bson:"clinic_id"`
	DependantID string `bson:"dependant_id"`
	GuardianID  string `bson:"guardian_id"`
	Created     int64  `bson:"created"`
}

func newGrantDoc(clinicID, dependantID, guardianID string, created int64) grantDoc {
	return grantDoc{ID: clinicID + "|" + dependantID + "|" + guardianID, ClinicID: clinicID, DependantID: dependantID,
		GuardianID: guardianID, Created: created}
}

func (s *MongoStore) InsertGrant(ctx context.Context, g *Grant) error {
	return s.insert(ctx, s.grants, newGrantDoc(g.ClinicID, g.DependantID, g.GuardianID, storage.Nanos(g.Created)))
}

func (s *MongoStore) DeleteGrant(ctx context.Context, clinicID, dependantID, guardianID string) error {
	_, err := s.grants.DeleteOne(ctx, bson.M{"_id": newGrantDoc(clinicID, dependantID, guardianID, 0).ID})
	return dbErr.Map(err)
}

func (s *MongoStore) findGrants(ctx context.Context, filter bson.M) ([]Grant, error) {
	docs, err := findAll[grantDoc](ctx, s.grants, filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Grant, len(docs))
	for i, d := range docs {
		out[i] = Grant{ClinicID: d.ClinicID, DependantID: d.DependantID, GuardianID: d.GuardianID, Created: storage.FromNanos(d.Created)}
	}
	return out, nil
}

func (s *MongoStore) GrantsFor(ctx context.Context, clinicID, dependantID string) ([]Grant, error) {
	return s.findGrants(ctx, bson.M{"clinic_id": clinicID, "dependant_id": dependantID})
}

func (s *MongoStore) GrantsOf(ctx context.Context, guardianID string) ([]Grant, error) {
	return s.findGrants(ctx, bson.M{"guardian_id": guardianID})
}

// migrateGrants gives existing guardians the grants that keep the cards
// they could read: one at every clinic where the dependant has a card,
// and one for the guardian each card's codes go to. Inserting a grant
// that exists is skipped, so it can run again.
func migrateGrants(ctx context.Context, db *mongo.Database) error {
	cards, guardians, grants := db.Collection("wallet_cards"), db.Collection("wallet_guardians"), db.Collection("wallet_grants")
	docs, err := findAll[cardDoc](ctx, cards, bson.M{"dependant_id": bson.M{"$gt": ""}})
	if err != nil {
		return err
	}
	put := func(d grantDoc) error {
		if _, err := grants.InsertOne(ctx, d); err != nil && !storage.IsDuplicate(err) {
			return err
		}
		return nil
	}
	for _, c := range docs {
		if err := put(newGrantDoc(c.ClinicID, c.DependantID, c.PatientID, c.Created)); err != nil {
			return err
		}
		gs, err := findAll[guardianDoc](ctx, guardians, bson.M{"dependant_id": c.DependantID})
		if err != nil {
			return err
		}
		for _, g := range gs {
			if err := put(newGrantDoc(c.ClinicID, g.DependantID, g.GuardianID, g.Created)); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetCardPatient is a plain $set: the same value twice is harmless.
func (s *MongoStore) SetCardPatient(ctx context.Context, id, patientID string) error {
	_, err := s.cards.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"patient_id": patientID}})
	return dbErr.Map(err)
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
	BirthMD     string `bson:"birth_md"` // set only on cards from before People (MoveHolderDetails clears it)
	ChallengeID string `bson:"challenge_id"`
	Holder      string `bson:"holder"`
}

func (d cardDoc) card() Card {
	c := Card{ID: d.ID, ClinicID: d.ClinicID, PatientID: d.PatientID, Status: d.Status, IssuedBy: d.IssuedBy,
		Created: storage.FromNanos(d.Created), Slot: d.Slot, ChallengeID: d.ChallengeID}
	_ = json.Unmarshal([]byte(d.Holder), &c.Holder)
	return c
}

func (s *MongoStore) InsertCard(ctx context.Context, c *Card) error {
	return s.insert(ctx, s.cards, cardDoc{ID: c.ID, ClinicID: c.ClinicID, PatientID: c.PatientID, HolderKey: c.Holder.key(),
		DependantID: c.Holder.DependantID, Slot: c.Slot, Status: c.Status, IssuedBy: c.IssuedBy, Created: storage.Nanos(c.Created),
		ChallengeID: c.ChallengeID, Holder: string(mustJSON(c.Holder))})
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
		return nil, dbErr.Map(err)
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

type codeDoc struct {
	Code      string `bson:"_id"`
	CardID    string `bson:"card_id"`
	ClinicID  string `bson:"clinic_id"`
	ExpiresAt int64  `bson:"expires_at"`
}

func (s *MongoStore) InsertCardCode(ctx context.Context, c *cardCodeRec) error {
	return s.insert(ctx, s.codes, codeDoc{Code: c.Code, CardID: c.CardID, ClinicID: c.ClinicID, ExpiresAt: storage.Nanos(c.ExpiresAt)})
}

func (s *MongoStore) CardCode(ctx context.Context, code string) (*cardCodeRec, error) {
	var d codeDoc
	if err := s.codes.FindOne(ctx, bson.M{"_id": code}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	return &cardCodeRec{Code: d.Code, CardID: d.CardID, ClinicID: d.ClinicID, ExpiresAt: storage.FromNanos(d.ExpiresAt)}, nil
}

func (s *MongoStore) PurgeCardCodes(ctx context.Context, before time.Time) error {
	_, err := s.codes.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": storage.Nanos(before)}})
	return err
}
