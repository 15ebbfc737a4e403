package care

import (
	"context"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// MongoStore is the scale-out adapter. Every invariant is a unique key —
// the message key, the visit id and "clinic/external id" are _ids — so it
// is correct without transactions; an appointment changes only under a
// version check. The due messages are read through an index on
// (state, due).
type MongoStore struct {
	appts, msgs, settings, services, sites, births, ratings *mongo.Collection
}

// NewMongoStore creates the collections' indexes.
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	c := func(n string) *mongo.Collection { return db.Collection("care_" + n) }
	s := &MongoStore{appts: c("appointments"), msgs: c("messages"), settings: c("settings"), services: c("services"),
		sites: c("sites"), births: c("birthdates"), ratings: c("ratings")}
	idx := func(keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d}
	}
	uniq := func(keys ...string) mongo.IndexModel {
		m := idx(keys...)
		m.Options = options.Index().SetUnique(true)
		return m
	}
	for _, x := range []struct {
		c *mongo.Collection
		m []mongo.IndexModel
	}{
		{s.appts, []mongo.IndexModel{uniq("clinic_id", "external_id"), idx("patient_id", "clinic_id", "created"), idx("dirty")}},
		{s.msgs, []mongo.IndexModel{idx("state", "due"), idx("clinic_id", "done"), idx("patient_id", "state")}},
		{s.services, []mongo.IndexModel{idx("clinic_id", "code")}},
		{s.ratings, []mongo.IndexModel{idx("clinic_id", "created"), idx("patient_id")}},
	} {
		if err := storage.EnsureIndexes(ctx, x.c, x.m...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type apptDoc struct {
	ID         string   `bson:"_id"`
	ClinicID   string   `bson:"clinic_id"`
	ExternalID string   `bson:"external_id"`
	PatientID  string   `bson:"patient_id"`
	CardID     string   `bson:"card_id"`
	StartsAt   int64    `bson:"starts_at"`
	Doctor     string   `bson:"doctor"`
	Services   []string `bson:"services"`
	Status     string   `bson:"status"`
	Source     string   `bson:"source"`
	StaffID    string   `bson:"staff_id"`
	Greet      bool     `bson:"greet"`
	Created    int64    `bson:"created"`
	Updated    int64    `bson:"updated"`
	StatusAt   int64    `bson:"status_at"`
	Version    int64    `bson:"version"`
	Planned    int64    `bson:"planned"`
	Dirty      bool     `bson:"dirty"` // planned < version, indexed
}

func toApptDoc(a *Appointment) apptDoc {
	svc := a.Services
	if svc == nil {
		svc = []string{}
	}
	return apptDoc{ID: a.ID, ClinicID: a.ClinicID, ExternalID: a.ExternalID, PatientID: a.PatientID, CardID: a.CardID,
		StartsAt: storage.Nanos(a.StartsAt), Doctor: a.Doctor, Services: svc, Status: a.Status, Source: a.Source,
		StaffID: a.StaffID, Greet: a.Greet, Created: storage.Nanos(a.Created), Updated: storage.Nanos(a.Updated),
		StatusAt: storage.Nanos(a.StatusAt), Version: a.Version, Planned: a.Planned, Dirty: a.Planned < a.Version}
}

func (d apptDoc) appt() Appointment {
	a := Appointment{ID: d.ID, ClinicID: d.ClinicID, ExternalID: d.ExternalID, PatientID: d.PatientID, CardID: d.CardID,
		StartsAt: storage.FromNanos(d.StartsAt), Doctor: d.Doctor, Services: d.Services, Status: d.Status, Source: d.Source,
		StaffID: d.StaffID, Greet: d.Greet, Created: storage.FromNanos(d.Created), Updated: storage.FromNanos(d.Updated),
		StatusAt: storage.FromNanos(d.StatusAt), Version: d.Version, Planned: d.Planned}
	if len(a.Services) == 0 {
		a.Services = nil
	}
	return a
}

func (s *MongoStore) InsertAppointment(ctx context.Context, a *Appointment) error {
	_, err := s.appts.InsertOne(ctx, toApptDoc(a))
	return dbErr.Map(err)
}

func (s *MongoStore) UpdateAppointment(ctx context.Context, a *Appointment, prev int64) error {
	d := toApptDoc(a)
	res, err := s.appts.UpdateOne(ctx, bson.M{"_id": a.ID, "version": prev}, bson.M{"$set": bson.M{
		"patient_id": d.PatientID, "card_id": d.CardID, "starts_at": d.StartsAt, "doctor": d.Doctor, "services": d.Services,
		"status": d.Status, "source": d.Source, "staff_id": d.StaffID, "updated": d.Updated, "status_at": d.StatusAt,
		"version": d.Version, "dirty": true}})
	if err != nil {
		return dbErr.Map(err)
	}
	if res.MatchedCount == 0 {
		return errVersionMoved
	}
	return nil
}

func (s *MongoStore) findAppts(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]Appointment, error) {
	cur, err := s.appts.Find(ctx, f, o)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Appointment, len(docs))
	for i, d := range docs {
		out[i] = d.appt()
	}
	return out, nil
}

func (s *MongoStore) oneAppt(ctx context.Context, f bson.M) (*Appointment, error) {
	var d apptDoc
	if err := s.appts.FindOne(ctx, f).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	a := d.appt()
	return &a, nil
}

func (s *MongoStore) Appointment(ctx context.Context, id string) (*Appointment, error) {
	return s.oneAppt(ctx, bson.M{"_id": id})
}

func (s *MongoStore) AppointmentByExternal(ctx context.Context, clinicID, externalID string) (*Appointment, error) {
	return s.oneAppt(ctx, bson.M{"clinic_id": clinicID, "external_id": externalID})
}

func (s *MongoStore) Appointments(ctx context.Context, ids []string) ([]Appointment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.findAppts(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find())
}

func (s *MongoStore) PatientAppointments(ctx context.Context, clinicID, patientID string) ([]Appointment, error) {
	f := bson.M{"patient_id": patientID}
	if clinicID != "" {
		f["clinic_id"] = clinicID
	}
	return s.findAppts(ctx, f, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
}

func (s *MongoStore) SetPlanned(ctx context.Context, id string, version int64) error {
	// Only the current version clears the mark; a newer write keeps it.
	if _, err := s.appts.UpdateOne(ctx, bson.M{"_id": id, "version": version, "planned": bson.M{"$lt": version}},
		bson.M{"$set": bson.M{"planned": version, "dirty": false}}); err != nil {
		return dbErr.Map(err)
	}
	_, err := s.appts.UpdateOne(ctx, bson.M{"_id": id, "planned": bson.M{"$lt": version}}, bson.M{"$set": bson.M{"planned": version}})
	return dbErr.Map(err)
}

func (s *MongoStore) Unplanned(ctx context.Context, limit int) ([]Appointment, error) {
	return s.findAppts(ctx, bson.M{"dirty": true}, options.Find().SetLimit(int64(limit)))
}

type msgDoc struct {
	Key           string `bson:"_id"`
	ClinicID      string `bson:"clinic_id"`
	PatientID     string `bson:"patient_id"`
	Scenario      string `bson:"scenario"`
	AppointmentID string `bson:"appointment_id"`
	Date          string `bson:"date"`
	Due           int64  `bson:"due"`
	Deadline      int64  `bson:"deadline"`
	State         int    `bson:"state"`
	Reason        string `bson:"reason"`
	Created       int64  `bson:"created"`
	Done          int64  `bson:"done"`
}

func (d msgDoc) msg() Message {
	return Message{Key: d.Key, ClinicID: d.ClinicID, PatientID: d.PatientID, Scenario: d.Scenario, AppointmentID: d.AppointmentID,
		Date: d.Date, Due: storage.FromNanos(d.Due), Deadline: storage.FromNanos(d.Deadline), State: d.State, Reason: d.Reason,
		Created: storage.FromNanos(d.Created), Done: storage.FromNanos(d.Done)}
}

func (s *MongoStore) AddMessage(ctx context.Context, m *Message) (bool, error) {
	_, err := s.msgs.InsertOne(ctx, msgDoc{Key: m.Key, ClinicID: m.ClinicID, PatientID: m.PatientID, Scenario: m.Scenario,
		AppointmentID: m.AppointmentID, Date: m.Date, Due: storage.Nanos(m.Due), Deadline: storage.Nanos(m.Deadline),
		State: m.State, Reason: m.Reason, Created: storage.Nanos(m.Created), Done: storage.Nanos(m.Done)})
	if storage.IsDuplicate(err) {
		return false, nil
	}
	return err == nil, dbErr.Map(err)
}

func (s *MongoStore) Message(ctx context.Context, key string) (*Message, error) {
	var d msgDoc
	if err := s.msgs.FindOne(ctx, bson.M{"_id": key}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	m := d.msg()
	return &m, nil
}

func (s *MongoStore) findMsgs(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]Message, error) {
	cur, err := s.msgs.Find(ctx, f, o)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []msgDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Message, len(docs))
	for i, d := range docs {
		out[i] = d.msg()
	}
	return out, nil
}

func (s *MongoStore) DueMessages(ctx context.Context, now time.Time, limit int) ([]Message, error) {
	return s.findMsgs(ctx, bson.M{"state": Pending, "due": bson.M{"$lte": storage.Nanos(now)}},
		options.Find().SetSort(bson.D{{Key: "state", Value: 1}, {Key: "due", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) Reschedule(ctx context.Context, key string, due time.Time, appointmentID string) error {
	set := bson.M{"due": storage.Nanos(due)}
	if appointmentID != "" {
		set["appointment_id"] = appointmentID
	}
	_, err := s.msgs.UpdateOne(ctx, bson.M{"_id": key, "state": Pending}, bson.M{"$set": set})
	return dbErr.Map(err)
}

func (s *MongoStore) Finish(ctx context.Context, keys []string, state int, reason string, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.msgs.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": keys}, "state": Pending},
		bson.M{"$set": bson.M{"state": state, "reason": reason, "done": storage.Nanos(at)}})
	return dbErr.Map(err)
}

func (s *MongoStore) MessageCounts(ctx context.Context, clinicID string, from, to time.Time) ([]MessageCount, error) {
	// Grouped in Go: FerretDB's aggregation is partial, and a report
	// period holds few enough messages.
	list, err := s.findMsgs(ctx, bson.M{"clinic_id": clinicID, "done": bson.M{"$gte": storage.Nanos(from), "$lt": storage.Nanos(to)},
		"state": bson.M{"$ne": Pending}}, options.Find().SetProjection(bson.M{"scenario": 1, "state": 1, "reason": 1}))
	if err != nil {
		return nil, err
	}
	type k struct {
		sc, reason string
		state      int
	}
	n := map[k]int64{}
	var order []k
	for _, m := range list {
		key := k{m.Scenario, m.Reason, m.State}
		if _, ok := n[key]; !ok {
			order = append(order, key)
		}
		n[key]++
	}
	out := make([]MessageCount, 0, len(order))
	for _, key := range order {
		out = append(out, MessageCount{Scenario: key.sc, State: key.state, Reason: key.reason, N: n[key]})
	}
	return out, nil
}

func (s *MongoStore) SentMessages(ctx context.Context, clinicID, scenario string, from, to time.Time) ([]Message, error) {
	return s.findMsgs(ctx, bson.M{"clinic_id": clinicID, "done": bson.M{"$gte": storage.Nanos(from), "$lt": storage.Nanos(to)},
		"state": Sent, "scenario": scenario}, options.Find().SetSort(bson.D{{Key: "done", Value: 1}}))
}

type settingDoc struct {
	ID         string `bson:"_id"` // clinic/scenario
	ClinicID   string `bson:"clinic_id"`
	Scenario   string `bson:"scenario"`
	Enabled    bool   `bson:"enabled"`
	Text       string `bson:"text"`
	DaysBefore int    `bson:"days_before"`
}

func (s *MongoStore) PutSetting(ctx context.Context, st Setting) error {
	_, err := s.settings.ReplaceOne(ctx, bson.M{"_id": st.ClinicID + "/" + st.Scenario}, settingDoc{ID: st.ClinicID + "/" + st.Scenario,
		ClinicID: st.ClinicID, Scenario: st.Scenario, Enabled: st.Enabled, Text: st.Text, DaysBefore: st.DaysBefore},
		options.Replace().SetUpsert(true))
	return dbErr.Map(err)
}

func (s *MongoStore) Settings(ctx context.Context, clinicID string) ([]Setting, error) {
	cur, err := s.settings.Find(ctx, bson.M{"clinic_id": clinicID})
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []settingDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Setting, len(docs))
	for i, d := range docs {
		out[i] = Setting{ClinicID: d.ClinicID, Scenario: d.Scenario, Enabled: d.Enabled, Text: d.Text, DaysBefore: d.DaysBefore}
	}
	return out, nil
}

type serviceDoc struct {
	ID         string `bson:"_id"` // clinic/code
	ClinicID   string `bson:"clinic_id"`
	Code       string `bson:"code"`
	Name       string `bson:"name"`
	BeforeText string `bson:"before_text"`
	AfterText  string `bson:"after_text"`
	Updated    int64  `bson:"updated"`
}

// PutServices writes the services one by one: without transactions an
// interrupted import leaves some written, and importing the same file
// again completes it (every write is an idempotent replace).
func (s *MongoStore) PutServices(ctx context.Context, clinicID string, list []ServiceText) error {
	for _, t := range list {
		id := clinicID + "/" + t.Code
		_, err := s.services.ReplaceOne(ctx, bson.M{"_id": id}, serviceDoc{ID: id, ClinicID: clinicID, Code: t.Code, Name: t.Name,
			BeforeText: t.BeforeText, AfterText: t.AfterText, Updated: storage.Nanos(t.UpdatedAt)}, options.Replace().SetUpsert(true))
		if err != nil {
			return dbErr.Map(err)
		}
	}
	return nil
}

func (s *MongoStore) findServices(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]ServiceText, error) {
	cur, err := s.services.Find(ctx, f, o)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []serviceDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]ServiceText, len(docs))
	for i, d := range docs {
		out[i] = ServiceText{ClinicID: d.ClinicID, Code: d.Code, Name: d.Name, BeforeText: d.BeforeText, AfterText: d.AfterText,
			UpdatedAt: storage.FromNanos(d.Updated)}
	}
	return out, nil
}

func (s *MongoStore) Services(ctx context.Context, clinicID string, codes []string) ([]ServiceText, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	ids := make([]string, len(codes))
	for i, c := range codes {
		ids[i] = clinicID + "/" + c
	}
	return s.findServices(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find())
}

func (s *MongoStore) AllServices(ctx context.Context, clinicID, after string, limit int) ([]ServiceText, error) {
	return s.findServices(ctx, bson.M{"clinic_id": clinicID, "code": bson.M{"$gt": after}},
		options.Find().SetSort(bson.D{{Key: "code", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) ServiceCounts(ctx context.Context, clinicID string) (ServiceCounts, error) {
	var c ServiceCounts
	var err error
	if c.Before, err = s.services.CountDocuments(ctx, bson.M{"clinic_id": clinicID, "before_text": bson.M{"$ne": ""}}); err != nil {
		return c, dbErr.Map(err)
	}
	c.After, err = s.services.CountDocuments(ctx, bson.M{"clinic_id": clinicID, "after_text": bson.M{"$ne": ""}})
	return c, dbErr.Map(err)
}

type sitesDoc struct {
	ID    string `bson:"_id"`
	Sites []Site `bson:"sites"`
}

func (s *MongoStore) PutReviewSites(ctx context.Context, clinicID string, sites []Site) error {
	_, err := s.sites.ReplaceOne(ctx, bson.M{"_id": clinicID}, sitesDoc{ID: clinicID, Sites: sites}, options.Replace().SetUpsert(true))
	return dbErr.Map(err)
}

func (s *MongoStore) ReviewSites(ctx context.Context, clinicID string) ([]Site, error) {
	var d sitesDoc
	err := s.sites.FindOne(ctx, bson.M{"_id": clinicID}).Decode(&d)
	if storage.IsNotFound(err) {
		return nil, nil
	}
	return d.Sites, dbErr.Map(err)
}

func (s *MongoStore) PutBirthDate(ctx context.Context, patientID, birthDate string, at time.Time) error {
	_, err := s.births.InsertOne(ctx, bson.M{"_id": patientID + "/" + birthDate, "at": storage.Nanos(at)})
	if storage.IsDuplicate(err) {
		return nil
	}
	return dbErr.Map(err)
}

func (s *MongoStore) BirthDateEntered(ctx context.Context, patientID, birthDate string) (time.Time, error) {
	var d struct {
		At int64 `bson:"at"`
	}
	err := s.births.FindOne(ctx, bson.M{"_id": patientID + "/" + birthDate}).Decode(&d)
	if storage.IsNotFound(err) {
		return time.Time{}, nil
	}
	return storage.FromNanos(d.At), dbErr.Map(err)
}

type ratingDoc struct {
	VisitID    string `bson:"_id"`
	ClinicID   string `bson:"clinic_id"`
	PatientID  string `bson:"patient_id"`
	ExternalID string `bson:"external_id"`
	Doctor     string `bson:"doctor"`
	StaffID    string `bson:"staff_id"`
	VisitAt    int64  `bson:"visit_at"`
	Score      int    `bson:"score"`
	Comment    string `bson:"comment"`
	ThreadID   string `bson:"thread_id"`
	Created    int64  `bson:"created"`
}

func (d ratingDoc) rating() VisitRating {
	return VisitRating{VisitID: d.VisitID, ClinicID: d.ClinicID, PatientID: d.PatientID, ExternalID: d.ExternalID, Doctor: d.Doctor,
		StaffID: d.StaffID, VisitAt: storage.FromNanos(d.VisitAt), Score: d.Score, Comment: d.Comment, ThreadID: d.ThreadID,
		Created: storage.FromNanos(d.Created)}
}

func (s *MongoStore) InsertRating(ctx context.Context, r *VisitRating) error {
	_, err := s.ratings.InsertOne(ctx, ratingDoc{VisitID: r.VisitID, ClinicID: r.ClinicID, PatientID: r.PatientID,
		ExternalID: r.ExternalID, Doctor: r.Doctor, StaffID: r.StaffID, VisitAt: storage.Nanos(r.VisitAt), Score: r.Score,
		Comment: r.Comment, ThreadID: r.ThreadID, Created: storage.Nanos(r.Created)})
	return dbErr.Map(err)
}

func (s *MongoStore) RatingByVisit(ctx context.Context, visitID string) (*VisitRating, error) {
	var d ratingDoc
	if err := s.ratings.FindOne(ctx, bson.M{"_id": visitID}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	r := d.rating()
	return &r, nil
}

func (s *MongoStore) SetRatingThread(ctx context.Context, visitID, threadID string) error {
	_, err := s.ratings.UpdateOne(ctx, bson.M{"_id": visitID}, bson.M{"$set": bson.M{"thread_id": threadID}})
	return dbErr.Map(err)
}

func (s *MongoStore) findRatings(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]VisitRating, error) {
	cur, err := s.ratings.Find(ctx, f, o)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []ratingDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]VisitRating, len(docs))
	for i, d := range docs {
		out[i] = d.rating()
	}
	return out, nil
}

func (s *MongoStore) Ratings(ctx context.Context, clinicID string, from, to time.Time, score, limit int) ([]VisitRating, error) {
	f := bson.M{"clinic_id": clinicID, "created": bson.M{"$gte": storage.Nanos(from), "$lt": storage.Nanos(to)}}
	if score != 0 {
		f["score"] = score
	}
	return s.findRatings(ctx, f, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) PatientRatings(ctx context.Context, patientID string) ([]VisitRating, error) {
	return s.findRatings(ctx, bson.M{"patient_id": patientID}, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
}

func (s *MongoStore) EraseComments(ctx context.Context, patientID string) (int64, error) {
	res, err := s.ratings.UpdateMany(ctx, bson.M{"patient_id": patientID, "comment": bson.M{"$ne": ""}},
		bson.M{"$set": bson.M{"comment": ""}})
	if err != nil {
		return 0, dbErr.Map(err)
	}
	return res.ModifiedCount, nil
}

func (s *MongoStore) ErasePatient(ctx context.Context, patientID string, at time.Time) error {
	if _, err := s.msgs.UpdateMany(ctx, bson.M{"patient_id": patientID, "state": Pending},
		bson.M{"$set": bson.M{"state": Void, "reason": ReasonErased, "done": storage.Nanos(at)}}); err != nil {
		return dbErr.Map(err)
	}
	// A birth-date record's _id is patient/birth date.
	_, err := s.births.DeleteMany(ctx, bson.M{"_id": bson.M{"$regex": "^" + regexp.QuoteMeta(patientID+"/")}})
	return dbErr.Map(err)
}
