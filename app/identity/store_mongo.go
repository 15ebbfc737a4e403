package identity

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/otp"
	"carewallet/app/storage"
)

// MongoStore keeps identity in MongoDB. Each invariant is a unique index
// or a deterministic _id, so no operation needs a transaction.
type MongoStore struct {
	db                                                   *mongo.Database
	clinics, staff, patients, challenges, attempts, used *mongo.Collection
	slots, sessions, tokens, dependants                  *mongo.Collection
}

// mongoMigrations are append-only: version i+1 is mongoMigrations[i]. Each
// is idempotent (see storage.MongoMigration).
var mongoMigrations = []storage.MongoMigration{
	// 1: every collection carries the package's prefix, and times are
	// Unix nanoseconds (storage.Nanos) instead of BSON dates.
	func(ctx context.Context, db *mongo.Database) error {
		for _, r := range [][2]string{{"clinics", "identity_clinics"}, {"staff", "identity_staff"},
			{"patients", "identity_patients"}, {"otp_challenges", "identity_challenges"},
			{"otp_attempts", "identity_attempts"}, {"otp_used", "identity_used"},
			{"sessions", "identity_sessions"}, {"refresh_tokens", "identity_refresh_tokens"}} {
			if err := storage.RenameCollection(ctx, db, r[0], r[1]); err != nil {
				return err
			}
		}
		for coll, fields := range map[string][]string{
			"identity_clinics": {"created_at"}, "identity_staff": {"created_at", "disabled_at"},
			"identity_patients": {"created_at"}, "identity_challenges": {"created_at", "expires_at"},
			"identity_attempts": {"at"}, "identity_used": {"at"}, "identity_rate_slots": {"at"},
			"identity_sessions": {"created_at", "revoked_at"}, "identity_refresh_tokens": {"created_at"},
		} {
			if err := storage.NanosFields(ctx, db.Collection(coll), fields...); err != nil {
				return err
			}
		}
		return nil
	},
	// 2: patients carry birth_md for the birthday job (dependants, new
	// here, carry it from their first write).
	addBirthMD,
}

// NewMongoStore migrates the identity collections, creates their indexes
// and returns the store.
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	s := &MongoStore{
		db:         db,
		clinics:    db.Collection("identity_clinics"),
		staff:      db.Collection("identity_staff"),
		patients:   db.Collection("identity_patients"),
		challenges: db.Collection("identity_challenges"),
		attempts:   db.Collection("identity_attempts"),
		used:       db.Collection("identity_used"),
		slots:      db.Collection("identity_rate_slots"),
		sessions:   db.Collection("identity_sessions"),
		tokens:     db.Collection("identity_refresh_tokens"),
		dependants: db.Collection("identity_dependants"),
	}
	if err := storage.MigrateMongo(ctx, db, "identity", mongoMigrations); err != nil {
		return nil, err
	}
	unique := func(keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetUnique(true)}
	}
	for _, ix := range []struct {
		c *mongo.Collection
		m mongo.IndexModel
	}{
		{s.staff, unique("email")},
		{s.staff, mongo.IndexModel{Keys: bson.D{{Key: "clinic_id", Value: 1}, {Key: "created_at", Value: 1}}}},
		{s.patients, unique("phone")},
		{s.challenges, unique("phone", "seq")},
		{s.slots, mongo.IndexModel{Keys: bson.D{{Key: "key", Value: 1}}}},
		{s.slots, mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}}},
		{s.sessions, mongo.IndexModel{Keys: bson.D{{Key: "subject_id", Value: 1}}}},
		// parent is the rotated token's id, or "root:"+id for a session's
		// first token, so it is never empty and rotating twice clashes.
		{s.tokens, unique("parent")},
		{s.patients, birthdayIndex},
		{s.dependants, birthdayIndex},
	} {
		if err := storage.EnsureIndexes(ctx, ix.c, ix.m); err != nil {
			return nil, err
		}
	}
	if err := ensureProfileIndexes(ctx, db); err != nil {
		return nil, err
	}
	return s, nil
}

var mongoErrs = storage.Errors{NotFound: ErrNotFound, Duplicate: ErrDuplicate, Context: "identity: mongo"}

func mongoErr(err error) error { return mongoErrs.Map(err) }

type clinicDoc struct {
	ID        string `bson:"_id"`
	Name      string `bson:"name"`
	Timezone  string `bson:"timezone"`
	CreatedAt int64  `bson:"created_at"`
}

func (s *MongoStore) InsertClinic(ctx context.Context, c Clinic) error {
	_, err := s.clinics.InsertOne(ctx, clinicDoc{c.ID, c.Name, c.Timezone, storage.Nanos(c.CreatedAt)})
	return mongoErr(err)
}

func (s *MongoStore) Clinic(ctx context.Context, id string) (Clinic, error) {
	var d clinicDoc
	err := s.clinics.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	return Clinic{ID: d.ID, Name: d.Name, Timezone: d.Timezone, CreatedAt: storage.FromNanos(d.CreatedAt)}, mongoErr(err)
}

func (s *MongoStore) AnyClinic(ctx context.Context) (bool, error) {
	n, err := s.clinics.CountDocuments(ctx, bson.M{}, options.Count().SetLimit(1))
	return n > 0, mongoErr(err)
}

type staffDoc struct {
	ID           string `bson:"_id"`
	ClinicID     string `bson:"clinic_id"`
	Email        string `bson:"email"`
	Name         string `bson:"name"`
	Role         string `bson:"role"`
	PasswordHash string `bson:"password_hash"`
	CreatedAt    int64  `bson:"created_at"`
	DisabledAt   int64  `bson:"disabled_at,omitempty"`
}

func (d staffDoc) staff() Staff {
	st := Staff{ID: d.ID, ClinicID: d.ClinicID, Email: d.Email, Name: d.Name, Role: Role(d.Role),
		PasswordHash: d.PasswordHash, CreatedAt: storage.FromNanos(d.CreatedAt)}
	st.DisabledAt = storage.FromNanos(d.DisabledAt)
	return st
}

func (s *MongoStore) InsertStaff(ctx context.Context, st Staff) error {
	_, err := s.staff.InsertOne(ctx, staffDoc{ID: st.ID, ClinicID: st.ClinicID, Email: st.Email, Name: st.Name,
		Role: string(st.Role), PasswordHash: st.PasswordHash, CreatedAt: storage.Nanos(st.CreatedAt)})
	return mongoErr(err)
}

func (s *MongoStore) updateOne(ctx context.Context, c *mongo.Collection, filter, update bson.M) error {
	res, err := c.UpdateOne(ctx, filter, update)
	if err != nil {
		return mongoErr(err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *MongoStore) SetStaffRole(ctx context.Context, id string, role Role) error {
	return s.updateOne(ctx, s.staff, bson.M{"_id": id}, bson.M{"$set": bson.M{"role": string(role)}})
}

// DisableStaff keeps the first disabling time: disabling twice is a no-op.
func (s *MongoStore) DisableStaff(ctx context.Context, id string, at time.Time) error {
	if _, err := s.StaffByID(ctx, id); err != nil {
		return err
	}
	_, err := s.staff.UpdateOne(ctx, bson.M{"_id": id, "disabled_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"disabled_at": storage.Nanos(at)}})
	return mongoErr(err)
}

func (s *MongoStore) findStaff(ctx context.Context, filter bson.M) (Staff, error) {
	var d staffDoc
	err := s.staff.FindOne(ctx, filter).Decode(&d)
	return d.staff(), mongoErr(err)
}

func (s *MongoStore) StaffByEmail(ctx context.Context, email string) (Staff, error) {
	return s.findStaff(ctx, bson.M{"email": email})
}

func (s *MongoStore) StaffByID(ctx context.Context, id string) (Staff, error) {
	return s.findStaff(ctx, bson.M{"_id": id})
}

func (s *MongoStore) ListStaff(ctx context.Context, clinicID string) ([]Staff, error) {
	cur, err := s.staff.Find(ctx, bson.M{"clinic_id": clinicID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongoErr(err)
	}
	var docs []staffDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongoErr(err)
	}
	out := make([]Staff, len(docs))
	for i, d := range docs {
		out[i] = d.staff()
	}
	return out, nil
}

// patientDoc keeps birth_md ("MM-DD" of the birth date, absent when
// there is none) beside the date for the birthday job's index.
type patientDoc struct {
	ID        string `bson:"_id"`
	Phone     string `bson:"phone"`
	FirstName string `bson:"first_name"`
	LastName  string `bson:"last_name"`
	BirthDate string `bson:"birth_date"`
	CreatedAt int64  `bson:"created_at"`
	BirthMD   string `bson:"birth_md,omitempty"`
}

func (s *MongoStore) InsertPatient(ctx context.Context, p Patient) error {
	_, err := s.patients.InsertOne(ctx, patientDoc{p.ID, p.Phone, p.FirstName, p.LastName, p.BirthDate, storage.Nanos(p.CreatedAt), birthMD(p.BirthDate)})
	return mongoErr(err)
}

func (s *MongoStore) findPatient(ctx context.Context, filter bson.M) (Patient, error) {
	var d patientDoc
	err := s.patients.FindOne(ctx, filter).Decode(&d)
	return Patient{ID: d.ID, Phone: d.Phone, FirstName: d.FirstName, LastName: d.LastName,
		BirthDate: d.BirthDate, CreatedAt: storage.FromNanos(d.CreatedAt)}, mongoErr(err)
}

func (s *MongoStore) PatientByPhone(ctx context.Context, phone string) (Patient, error) {
	return s.findPatient(ctx, bson.M{"phone": phone})
}

func (s *MongoStore) PatientByID(ctx context.Context, id string) (Patient, error) {
	return s.findPatient(ctx, bson.M{"_id": id})
}

func (s *MongoStore) UpdatePatientProfile(ctx context.Context, p Patient) error {
	return s.updateOne(ctx, s.patients, bson.M{"_id": p.ID}, bson.M{"$set": bson.M{
		"first_name": p.FirstName, "last_name": p.LastName, "birth_date": p.BirthDate, "birth_md": birthMD(p.BirthDate)}})
}

type challengeDoc struct {
	ID        string `bson:"_id"`
	Phone     string `bson:"phone"`
	Seq       int64  `bson:"seq"`
	CodeHash  []byte `bson:"code_hash"`
	CreatedAt int64  `bson:"created_at"`
	ExpiresAt int64  `bson:"expires_at"`
}

func (d challengeDoc) challenge() Challenge {
	return Challenge{ID: d.ID, Phone: d.Phone, Seq: d.Seq, CodeHash: d.CodeHash,
		CreatedAt: storage.FromNanos(d.CreatedAt), ExpiresAt: storage.FromNanos(d.ExpiresAt)}
}

func (s *MongoStore) LastChallenge(ctx context.Context, phone string) (Challenge, error) {
	var d challengeDoc
	err := s.challenges.FindOne(ctx, bson.M{"phone": phone},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&d)
	return d.challenge(), mongoErr(err)
}

func (s *MongoStore) ChallengeBySeq(ctx context.Context, phone string, seq int64) (Challenge, error) {
	var d challengeDoc
	err := s.challenges.FindOne(ctx, bson.M{"phone": phone, "seq": seq}).Decode(&d)
	return d.challenge(), mongoErr(err)
}

func (s *MongoStore) InsertChallenge(ctx context.Context, c Challenge) error {
	_, err := s.challenges.InsertOne(ctx, challengeDoc{c.ID, c.Phone, c.Seq, c.CodeHash, storage.Nanos(c.CreatedAt), storage.Nanos(c.ExpiresAt)})
	return mongoErr(err)
}

func (s *MongoStore) CountAttempts(ctx context.Context, challengeID string) (int, error) {
	n, err := s.attempts.CountDocuments(ctx, bson.M{"challenge_id": challengeID})
	return int(n), mongoErr(err)
}

func (s *MongoStore) InsertAttempt(ctx context.Context, challengeID string, n int, at time.Time) error {
	if n < 1 || n > otp.MaxAttempts {
		return fmt.Errorf("identity: attempt slot %d out of range", n)
	}
	_, err := s.attempts.InsertOne(ctx, bson.M{"_id": challengeID + ":" + strconv.Itoa(n), "challenge_id": challengeID, "at": storage.Nanos(at)})
	return mongoErr(err)
}

func (s *MongoStore) InsertUsed(ctx context.Context, challengeID string, at time.Time) error {
	_, err := s.used.InsertOne(ctx, bson.M{"_id": challengeID, "at": storage.Nanos(at)})
	return mongoErr(err)
}

func (s *MongoStore) Slots(ctx context.Context, key string) (int, error) {
	n, err := s.slots.CountDocuments(ctx, bson.M{"key": key})
	return int(n), mongoErr(err)
}

func (s *MongoStore) DeleteSlotsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.slots.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": storage.Nanos(t)}})
	if err != nil {
		return 0, mongoErr(err)
	}
	return res.DeletedCount, nil
}

// InsertSlot's _id is key and n, so a slot is taken once.
func (s *MongoStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	_, err := s.slots.InsertOne(ctx, bson.M{"_id": key + "#" + strconv.Itoa(n), "key": key, "at": storage.Nanos(at)})
	return mongoErr(err)
}

type sessionDoc struct {
	ID        string `bson:"_id"`
	Kind      string `bson:"kind"`
	SubjectID string `bson:"subject_id"`
	ClinicID  string `bson:"clinic_id"`
	Role      string `bson:"role"`
	CreatedAt int64  `bson:"created_at"`
	RevokedAt int64  `bson:"revoked_at,omitempty"`
}

func (s *MongoStore) InsertSession(ctx context.Context, se Session) error {
	_, err := s.sessions.InsertOne(ctx, sessionDoc{ID: se.ID, Kind: se.Kind, SubjectID: se.SubjectID,
		ClinicID: se.ClinicID, Role: string(se.Role), CreatedAt: storage.Nanos(se.CreatedAt)})
	return mongoErr(err)
}

func (s *MongoStore) Session(ctx context.Context, id string) (Session, error) {
	var d sessionDoc
	err := s.sessions.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	se := Session{ID: d.ID, Kind: d.Kind, SubjectID: d.SubjectID, ClinicID: d.ClinicID, Role: Role(d.Role),
		CreatedAt: storage.FromNanos(d.CreatedAt)}
	se.RevokedAt = storage.FromNanos(d.RevokedAt)
	return se, mongoErr(err)
}

func (s *MongoStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	// Revocation is a one-way flag: losing a race between two revocations
	// only changes which timestamp is kept.
	_, err := s.sessions.UpdateOne(ctx, bson.M{"_id": id, "revoked_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"revoked_at": storage.Nanos(at)}})
	return mongoErr(err)
}

func (s *MongoStore) RevokeSubjectSessions(ctx context.Context, subjectID string, at time.Time) error {
	_, err := s.sessions.UpdateMany(ctx, bson.M{"subject_id": subjectID, "revoked_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"revoked_at": storage.Nanos(at)}})
	return mongoErr(err)
}

type tokenDoc struct {
	ID        string `bson:"_id"`
	SessionID string `bson:"session_id"`
	Parent    string `bson:"parent"`
	CreatedAt int64  `bson:"created_at"`
}

func (s *MongoStore) InsertRefreshToken(ctx context.Context, t RefreshToken) error {
	parent := t.ParentID
	if parent == "" {
		parent = "root:" + t.ID
	}
	_, err := s.tokens.InsertOne(ctx, tokenDoc{t.ID, t.SessionID, parent, storage.Nanos(t.CreatedAt)})
	return mongoErr(err)
}

func (s *MongoStore) RefreshToken(ctx context.Context, id string) (RefreshToken, error) {
	var d tokenDoc
	err := s.tokens.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	t := RefreshToken{ID: d.ID, SessionID: d.SessionID, ParentID: d.Parent, CreatedAt: storage.FromNanos(d.CreatedAt)}
	if len(t.ParentID) > 5 && t.ParentID[:5] == "root:" {
		t.ParentID = ""
	}
	return t, mongoErr(err)
}

func (s *MongoStore) Ping(ctx context.Context) error {
	return mongoErr(s.db.Client().Ping(ctx, nil))
}

var _ Store = (*MongoStore)(nil)
