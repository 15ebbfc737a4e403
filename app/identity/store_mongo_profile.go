package identity

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// Clinic profiles (_id: the clinic) and join codes (_id: the code, unique
// clinic_id): one document each, so no write needs a transaction.
const (
	profilesColl  = "identity_clinic_profiles"
	joinCodesColl = "identity_join_codes"
)

// ensureProfileIndexes creates the join codes' unique clinic index.
func ensureProfileIndexes(ctx context.Context, db *mongo.Database) error {
	return storage.EnsureIndexes(ctx, db.Collection(joinCodesColl),
		mongo.IndexModel{Keys: bson.D{{Key: "clinic_id", Value: 1}}, Options: options.Index().SetUnique(true)})
}

type profileDoc struct {
	ClinicID    string `bson:"_id"`
	Address     string `bson:"address"`
	Phone       string `bson:"phone"`
	Site        string `bson:"site"`
	Hours       string `bson:"hours"`
	About       string `bson:"about"`
	LogoType    string `bson:"logo_type"`
	LogoVersion int64  `bson:"logo_version"`
	Logo        []byte `bson:"logo,omitempty"`
	UpdatedAt   int64  `bson:"updated_at"`
}

// PutProfile renames the clinic, then writes the profile document. The
// two are separate writes: a crash between them leaves the new name with
// the old profile, and the manager's retry of the same PUT completes it.
func (s *MongoStore) PutProfile(ctx context.Context, p Profile, logo []byte) error {
	if err := s.updateOne(ctx, s.clinics, bson.M{"_id": p.ClinicID}, bson.M{"$set": bson.M{"name": p.Name}}); err != nil {
		return err
	}
	set := bson.M{"address": p.Address, "phone": p.Phone, "site": p.Site, "hours": p.Hours, "about": p.About,
		"updated_at": storage.Nanos(p.UpdatedAt)}
	update := bson.M{"$set": set}
	switch {
	case logo == nil:
		update["$setOnInsert"] = bson.M{"logo_type": "", "logo_version": int64(0)}
	case len(logo) == 0:
		set["logo_type"], set["logo_version"] = "", int64(0)
		update["$unset"] = bson.M{"logo": ""}
	default:
		set["logo_type"], set["logo_version"], set["logo"] = p.LogoType, p.LogoVersion, logo
	}
	_, err := s.db.Collection(profilesColl).UpdateOne(ctx, bson.M{"_id": p.ClinicID}, update, options.UpdateOne().SetUpsert(true))
	return mongoErr(err)
}

func (s *MongoStore) Profile(ctx context.Context, clinicID string) (Profile, error) {
	var d profileDoc
	err := s.db.Collection(profilesColl).FindOne(ctx, bson.M{"_id": clinicID},
		options.FindOne().SetProjection(bson.M{"logo": 0})).Decode(&d)
	if err != nil {
		return Profile{}, mongoErr(err)
	}
	c, err := s.Clinic(ctx, clinicID)
	if err != nil {
		return Profile{}, err
	}
	return Profile{ClinicID: d.ClinicID, Name: c.Name, Address: d.Address, Phone: d.Phone, Site: d.Site, Hours: d.Hours,
		About: d.About, LogoType: d.LogoType, LogoVersion: d.LogoVersion, UpdatedAt: storage.FromNanos(d.UpdatedAt)}, nil
}

func (s *MongoStore) Logo(ctx context.Context, clinicID string) (Logo, error) {
	var d profileDoc
	err := s.db.Collection(profilesColl).FindOne(ctx, bson.M{"_id": clinicID, "logo_type": bson.M{"$ne": ""}}).Decode(&d)
	return Logo{Type: d.LogoType, Data: d.Logo, Version: d.LogoVersion}, mongoErr(err)
}

// ClinicCards reads the clinics and their profiles with one $in query
// each.
func (s *MongoStore) ClinicCards(ctx context.Context, ids []string) ([]ClinicCard, error) {
	cur, err := s.clinics.Find(ctx, bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return nil, mongoErr(err)
	}
	var cs []clinicDoc
	if err := cur.All(ctx, &cs); err != nil {
		return nil, mongoErr(err)
	}
	cur, err = s.db.Collection(profilesColl).Find(ctx, bson.M{"_id": bson.M{"$in": ids}},
		options.Find().SetProjection(bson.M{"logo_version": 1}))
	if err != nil {
		return nil, mongoErr(err)
	}
	var ps []profileDoc
	if err := cur.All(ctx, &ps); err != nil {
		return nil, mongoErr(err)
	}
	versions := map[string]int64{}
	for _, p := range ps {
		versions[p.ClinicID] = p.LogoVersion
	}
	out := make([]ClinicCard, 0, len(cs))
	for _, c := range cs {
		out = append(out, ClinicCard{ID: c.ID, Name: c.Name, LogoVersion: versions[c.ID]})
	}
	return out, nil
}

type joinCodeDoc struct {
	Code      string `bson:"_id"`
	ClinicID  string `bson:"clinic_id"`
	CreatedAt int64  `bson:"created_at"`
}

func (s *MongoStore) InsertJoinCode(ctx context.Context, clinicID, code string, at time.Time) error {
	_, err := s.db.Collection(joinCodesColl).InsertOne(ctx, joinCodeDoc{Code: code, ClinicID: clinicID, CreatedAt: storage.Nanos(at)})
	return mongoErr(err)
}

func (s *MongoStore) JoinCode(ctx context.Context, clinicID string) (string, error) {
	var d joinCodeDoc
	err := s.db.Collection(joinCodesColl).FindOne(ctx, bson.M{"clinic_id": clinicID}).Decode(&d)
	return d.Code, mongoErr(err)
}

func (s *MongoStore) ClinicByJoinCode(ctx context.Context, code string) (string, error) {
	var d joinCodeDoc
	err := s.db.Collection(joinCodesColl).FindOne(ctx, bson.M{"_id": code}).Decode(&d)
	return d.ClinicID, mongoErr(err)
}
