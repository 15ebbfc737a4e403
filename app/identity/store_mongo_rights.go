package identity

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

func (s *MongoStore) exports() *mongo.Collection { return s.db.Collection("identity_data_exports") }

// ErasePatient runs its steps one by one (no multi-document
// transactions); each is idempotent, and the caller retries the whole on
// an error.
func (s *MongoStore) ErasePatient(ctx context.Context, id, phone string, at time.Time) error {
	if _, err := s.patients.UpdateOne(ctx, bson.M{"_id": id}, bson.M{
		"$set":   bson.M{"phone": erasedPrefix + id, "first_name": "", "last_name": "", "birth_date": ""},
		"$unset": bson.M{"birth_md": ""}}); err != nil {
		return mongoErr(err)
	}
	cur, err := s.challenges.Find(ctx, bson.M{"phone": phone}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return mongoErr(err)
	}
	var chs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &chs); err != nil {
		return mongoErr(err)
	}
	if len(chs) > 0 {
		chIDs := make([]string, len(chs))
		for i, c := range chs {
			chIDs[i] = c.ID
		}
		// attempts and used records name only the challenge; they go too.
		if _, err := s.attempts.DeleteMany(ctx, bson.M{"challenge_id": bson.M{"$in": chIDs}}); err != nil {
			return mongoErr(err)
		}
		if _, err := s.used.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": chIDs}}); err != nil {
			return mongoErr(err)
		}
	}
	if _, err := s.challenges.DeleteMany(ctx, bson.M{"phone": phone}); err != nil {
		return mongoErr(err)
	}
	return s.RevokeSubjectSessions(ctx, id, at)
}

func (s *MongoStore) SessionsOf(ctx context.Context, subjectID string) ([]Session, error) {
	cur, err := s.sessions.Find(ctx, bson.M{"subject_id": subjectID}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongoErr(err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongoErr(err)
	}
	out := make([]Session, len(docs))
	for i, d := range docs {
		out[i] = Session{ID: d.ID, Kind: d.Kind, SubjectID: d.SubjectID, ClinicID: d.ClinicID, Role: Role(d.Role),
			CreatedAt: storage.FromNanos(d.CreatedAt), RevokedAt: storage.FromNanos(d.RevokedAt)}
	}
	return out, nil
}

type exportDoc struct {
	ID        string `bson:"_id"`
	ClinicID  string `bson:"clinic_id"`
	StaffID   string `bson:"staff_id"`
	PatientID string `bson:"patient_id"`
	At        int64  `bson:"at"`
}

func (s *MongoStore) InsertDataExport(ctx context.Context, e DataExport) error {
	_, err := s.exports().InsertOne(ctx, exportDoc{e.ID, e.ClinicID, e.StaffID, e.PatientID, storage.Nanos(e.At)})
	return mongoErr(err)
}

func (s *MongoStore) DataExports(ctx context.Context, clinicID string, before time.Time, beforeID string, limit int) ([]DataExport, error) {
	filter := bson.M{"clinic_id": clinicID}
	if beforeID != "" {
		n := storage.Nanos(before)
		filter["$or"] = bson.A{bson.M{"at": bson.M{"$lt": n}}, bson.M{"at": n, "_id": bson.M{"$lt": beforeID}}}
	}
	cur, err := s.exports().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, mongoErr(err)
	}
	var docs []exportDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongoErr(err)
	}
	out := make([]DataExport, len(docs))
	for i, d := range docs {
		out[i] = DataExport{ID: d.ID, ClinicID: d.ClinicID, StaffID: d.StaffID, PatientID: d.PatientID, At: storage.FromNanos(d.At)}
	}
	return out, nil
}
