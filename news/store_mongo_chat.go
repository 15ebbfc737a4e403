package news

import (
	"context"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

type threadDoc struct {
	ID             string `bson:"_id"`
	ClinicID       string `bson:"clinic_id"`
	PatientID      string `bson:"patient_id"`
	Status         string `bson:"status"`
	Created        int64  `bson:"created"`
	LastAt         int64  `bson:"last_at"`
	LastSeq        int64  `bson:"last_seq"`
	LastPatientSeq int64  `bson:"last_patient_seq"`
	LastManagerSeq int64  `bson:"last_manager_seq"`
	PatientRead    int64  `bson:"patient_read"`
	ManagerRead    int64  `bson:"manager_read"`
}

func (d threadDoc) thread() Thread {
	return Thread{ID: d.ID, ClinicID: d.ClinicID, PatientID: d.PatientID, Status: d.Status, Created: storage.FromNanos(d.Created),
		LastAt: storage.FromNanos(d.LastAt), LastSeq: d.LastSeq, LastPatientSeq: d.LastPatientSeq, LastManagerSeq: d.LastManagerSeq,
		PatientRead: d.PatientRead, ManagerRead: d.ManagerRead}
}

func (s *MongoStore) InsertThread(ctx context.Context, t *Thread) error {
	_, err := s.threads.InsertOne(ctx, threadDoc{ID: t.ID, ClinicID: t.ClinicID, PatientID: t.PatientID, Status: t.Status,
		Created: storage.Nanos(t.Created), LastAt: storage.Nanos(t.LastAt), LastSeq: t.LastSeq, LastPatientSeq: t.LastPatientSeq,
		LastManagerSeq: t.LastManagerSeq, PatientRead: t.PatientRead, ManagerRead: t.ManagerRead})
	return dbErr.Map(err)
}

func (s *MongoStore) findThread(ctx context.Context, f bson.M) (*Thread, error) {
	var d threadDoc
	if err := s.threads.FindOne(ctx, f).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	t := d.thread()
	return &t, nil
}

func (s *MongoStore) Thread(ctx context.Context, id string) (*Thread, error) {
	return s.findThread(ctx, bson.M{"_id": id})
}

func (s *MongoStore) ThreadOf(ctx context.Context, clinicID, patientID string) (*Thread, error) {
	return s.findThread(ctx, bson.M{"clinic_id": clinicID, "patient_id": patientID})
}

func (s *MongoStore) findThreads(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]Thread, error) {
	cur, err := s.threads.Find(ctx, f, o)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []threadDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Thread, len(docs))
	for i, d := range docs {
		out[i] = d.thread()
	}
	return out, nil
}

var threadOrder = bson.D{{Key: "last_at", Value: -1}, {Key: "_id", Value: -1}}

func (s *MongoStore) Threads(ctx context.Context, clinicID, status string, after ThreadCursor, limit int) ([]Thread, error) {
	f := bson.M{"clinic_id": clinicID}
	if status != "" {
		f["status"] = status
	}
	if after.ID != "" {
		at := storage.Nanos(after.At)
		f["$or"] = bson.A{bson.M{"last_at": bson.M{"$lt": at}}, bson.M{"last_at": at, "_id": bson.M{"$lt": after.ID}}}
	}
	return s.findThreads(ctx, f, options.Find().SetSort(threadOrder).SetLimit(int64(limit)))
}

func (s *MongoStore) PatientThreads(ctx context.Context, patientID string) ([]Thread, error) {
	return s.findThreads(ctx, bson.M{"patient_id": patientID}, options.Find().SetSort(threadOrder))
}

type messageDoc struct {
	ID          string `bson:"_id"` // thread/seq: the unique key
	MessageID   string `bson:"id"`
	ThreadID    string `bson:"thread_id"`
	Seq         int64  `bson:"seq"`
	Author      string `bson:"author"`
	AuthorID    string `bson:"author_id"`
	Text        string `bson:"text"`
	BonusPoints int64  `bson:"bonus_points"`
	BonusReason string `bson:"bonus_reason"`
	At          int64  `bson:"at"`
}

func (s *MongoStore) MaxSeq(ctx context.Context, threadID string) (int64, error) {
	var d messageDoc
	err := s.messages.FindOne(ctx, bson.M{"thread_id": threadID},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.M{"seq": 1})).Decode(&d)
	if storage.IsNotFound(err) {
		return 0, nil
	}
	return d.Seq, dbErr.Map(err)
}

func (s *MongoStore) InsertMessage(ctx context.Context, m *Message) error {
	d := messageDoc{ID: m.ThreadID + "/" + strconv.FormatInt(m.Seq, 10), MessageID: m.ID, ThreadID: m.ThreadID, Seq: m.Seq,
		Author: m.Author, AuthorID: m.AuthorID, Text: m.Text, At: storage.Nanos(m.At)}
	if m.Bonus != nil {
		d.BonusPoints, d.BonusReason = m.Bonus.Points, m.Bonus.Reason
	}
	_, err := s.messages.InsertOne(ctx, d)
	return dbErr.Map(err)
}

func (s *MongoStore) Messages(ctx context.Context, threadID string, after int64, limit int) ([]Message, error) {
	cur, err := s.messages.Find(ctx, bson.M{"thread_id": threadID, "seq": bson.M{"$gt": after}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []messageDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Message, len(docs))
	for i, d := range docs {
		out[i] = Message{ThreadID: d.ThreadID, Seq: d.Seq, ID: d.MessageID, Author: d.Author, AuthorID: d.AuthorID, Text: d.Text,
			At: storage.FromNanos(d.At)}
		if d.BonusPoints != 0 {
			out[i].Bonus = &BonusGiven{Points: d.BonusPoints, Reason: d.BonusReason}
		}
	}
	return out, nil
}

func (s *MongoStore) CountMessages(ctx context.Context, threadID, author string, after int64) (int64, error) {
	n, err := s.messages.CountDocuments(ctx, bson.M{"thread_id": threadID, "author": author, "seq": bson.M{"$gt": after}})
	return n, dbErr.Map(err)
}

// Touch raises the caches with $max: a lost update (FerretDB reads outside
// a transaction) leaves a cache low, never wrong about the messages,
// which are read by seq.
func (s *MongoStore) Touch(ctx context.Context, threadID string, m *Message) error {
	set := bson.M{"last_seq": m.Seq, "last_at": storage.Nanos(m.At)}
	if m.Author == AuthorPatient {
		set["last_patient_seq"] = m.Seq
	} else {
		set["last_manager_seq"] = m.Seq
	}
	_, err := s.threads.UpdateOne(ctx, bson.M{"_id": threadID}, bson.M{"$max": set})
	return dbErr.Map(err)
}

func (s *MongoStore) SetRead(ctx context.Context, threadID, side string, upTo int64) error {
	col := "manager_read"
	if side == AuthorPatient {
		col = "patient_read"
	}
	_, err := s.threads.UpdateOne(ctx, bson.M{"_id": threadID}, bson.M{"$max": bson.M{col: upTo}})
	return dbErr.Map(err)
}

func (s *MongoStore) SetStatus(ctx context.Context, threadID, status string) error {
	_, err := s.threads.UpdateOne(ctx, bson.M{"_id": threadID}, bson.M{"$set": bson.M{"status": status}})
	return dbErr.Map(err)
}

func (s *MongoStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	_, err := s.slots.InsertOne(ctx, bson.M{"_id": key + "/" + strconv.Itoa(n), "key": key, "at": storage.Nanos(at)})
	return dbErr.Map(err)
}

func (s *MongoStore) Slots(ctx context.Context, key string) (int, error) {
	n, err := s.slots.CountDocuments(ctx, bson.M{"key": key})
	return int(n), dbErr.Map(err)
}
