package news

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// MongoStore is the scale-out adapter. Every invariant is a unique key —
// most of them the _id itself ("clinic/week", "post/user",
// "post/patient") — so it is correct without transactions and without
// atomic conditional updates.
type MongoStore struct {
	weeks, posts, images, recipients, reads, votes *mongo.Collection
	threads, messages, slots                       *mongo.Collection
}

// NewMongoStore creates the collections' indexes.
func NewMongoStore(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	c := func(n string) *mongo.Collection { return db.Collection("news_" + n) }
	s := &MongoStore{weeks: c("weeks"), posts: c("posts"), images: c("images"), recipients: c("recipients"),
		reads: c("reads"), votes: c("votes"), threads: c("threads"), messages: c("messages"), slots: c("slots")}
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
		{s.posts, []mongo.IndexModel{idx("clinic_id", "publish_at"), idx("fanout_done", "publish_at")}},
		{s.recipients, []mongo.IndexModel{idx("post_id", "status")}},
		{s.reads, []mongo.IndexModel{idx("post_id"), idx("user_id")}},
		{s.votes, []mongo.IndexModel{idx("post_id")}},
		{s.threads, []mongo.IndexModel{uniq("clinic_id", "patient_id"), idx("clinic_id", "last_at"), idx("patient_id")}},
		{s.messages, []mongo.IndexModel{uniq("thread_id", "seq")}},
		{s.slots, []mongo.IndexModel{idx("key")}},
	} {
		if err := storage.EnsureIndexes(ctx, x.c, x.m...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *MongoStore) ClaimWeek(ctx context.Context, clinicID, week, postID string) error {
	_, err := s.weeks.InsertOne(ctx, bson.M{"_id": clinicID + "/" + week, "post_id": postID})
	return dbErr.Map(err)
}

func (s *MongoStore) WeekOwner(ctx context.Context, clinicID, week string) (string, error) {
	var d struct {
		PostID string `bson:"post_id"`
	}
	err := s.weeks.FindOne(ctx, bson.M{"_id": clinicID + "/" + week}).Decode(&d)
	return d.PostID, dbErr.Map(err)
}

func (s *MongoStore) ReleaseWeek(ctx context.Context, clinicID, week, postID string) error {
	_, err := s.weeks.DeleteOne(ctx, bson.M{"_id": clinicID + "/" + week, "post_id": postID})
	return dbErr.Map(err)
}

type postDoc struct {
	ID             string   `bson:"_id"`
	ClinicID       string   `bson:"clinic_id"`
	AuthorID       string   `bson:"author_id"`
	Title          string   `bson:"title"`
	Body           string   `bson:"body"`
	ImageType      string   `bson:"image_type"`
	PublishAt      int64    `bson:"publish_at"`
	Week           string   `bson:"week"`
	PollOptions    []string `bson:"poll_options,omitempty"`
	PollClosesAt   int64    `bson:"poll_closes_at"`
	Withdrawn      bool     `bson:"withdrawn"`
	Created        int64    `bson:"created"`
	Updated        int64    `bson:"updated"`
	FanoutCursor   string   `bson:"fanout_cursor"`
	FanoutDone     bool     `bson:"fanout_done"`
	FanoutFailures int      `bson:"fanout_failures"`
	Level          string   `bson:"level"`
	Depth          int      `bson:"depth,omitempty"`
}

func toPostDoc(p *Post) postDoc {
	d := postDoc{ID: p.ID, ClinicID: p.ClinicID, AuthorID: p.AuthorID, Title: p.Title, Body: p.Body, ImageType: p.ImageType,
		PublishAt: storage.Nanos(p.PublishAt), Week: p.Week, Withdrawn: p.Withdrawn, Created: storage.Nanos(p.Created),
		Updated: storage.Nanos(p.Updated), FanoutCursor: p.FanoutCursor, FanoutDone: p.FanoutDone, FanoutFailures: p.FanoutFailures, Level: p.Level, Depth: p.Depth}
	if p.Poll != nil {
		d.PollOptions, d.PollClosesAt = p.Poll.Options, storage.Nanos(p.Poll.ClosesAt)
	}
	return d
}

func (d postDoc) post() Post {
	p := Post{ID: d.ID, ClinicID: d.ClinicID, AuthorID: d.AuthorID, Title: d.Title, Body: d.Body, ImageType: d.ImageType,
		PublishAt: storage.FromNanos(d.PublishAt), Week: d.Week, Withdrawn: d.Withdrawn, Created: storage.FromNanos(d.Created),
		Updated: storage.FromNanos(d.Updated), FanoutCursor: d.FanoutCursor, FanoutDone: d.FanoutDone, FanoutFailures: d.FanoutFailures, Level: d.Level, Depth: d.Depth}
	if len(d.PollOptions) > 0 {
		p.Poll = &Poll{Options: d.PollOptions, ClosesAt: storage.FromNanos(d.PollClosesAt)}
	}
	return p
}

func (s *MongoStore) InsertPost(ctx context.Context, p *Post) error {
	_, err := s.posts.InsertOne(ctx, toPostDoc(p))
	return dbErr.Map(err)
}

func (s *MongoStore) Post(ctx context.Context, id string) (*Post, error) {
	var d postDoc
	if err := s.posts.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	p := d.post()
	return &p, nil
}

func (s *MongoStore) UpdatePost(ctx context.Context, p *Post) error {
	d := toPostDoc(p)
	set := bson.M{"title": d.Title, "body": d.Body, "image_type": d.ImageType, "publish_at": d.PublishAt, "week": d.Week,
		"poll_options": d.PollOptions, "poll_closes_at": d.PollClosesAt, "withdrawn": d.Withdrawn, "updated": d.Updated}
	res, err := s.posts.UpdateOne(ctx, bson.M{"_id": p.ID}, bson.M{"$set": set})
	if err != nil {
		return dbErr.Map(err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *MongoStore) DeletePost(ctx context.Context, id string) error {
	if _, err := s.posts.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return dbErr.Map(err)
	}
	_, err := s.images.DeleteOne(ctx, bson.M{"_id": id})
	return dbErr.Map(err)
}

type imageDoc struct {
	ID     string `bson:"_id"`
	Type   string `bson:"type"`
	Data   []byte `bson:"data"`
	Width  int    `bson:"width"`
	Height int    `bson:"height"`
}

func (s *MongoStore) PutImage(ctx context.Context, postID string, img *Image) error {
	_, err := s.images.ReplaceOne(ctx, bson.M{"_id": postID},
		imageDoc{ID: postID, Type: img.Type, Data: img.Data, Width: img.Width, Height: img.Height}, options.Replace().SetUpsert(true))
	return dbErr.Map(err)
}

func (s *MongoStore) Image(ctx context.Context, postID string) (*Image, error) {
	var d imageDoc
	if err := s.images.FindOne(ctx, bson.M{"_id": postID}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	return &Image{Type: d.Type, Data: d.Data, Width: d.Width, Height: d.Height}, nil
}

func (s *MongoStore) Posts(ctx context.Context, clinicIDs []string, upTo time.Time, after Cursor, limit int) ([]Post, error) {
	f := bson.M{"clinic_id": bson.M{"$in": clinicIDs}}
	if !upTo.IsZero() {
		f["publish_at"] = bson.M{"$lte": storage.Nanos(upTo)}
		f["withdrawn"] = false
	}
	if after.ID != "" {
		at := storage.Nanos(after.At)
		f["$or"] = bson.A{bson.M{"publish_at": bson.M{"$lt": at}}, bson.M{"publish_at": at, "_id": bson.M{"$lt": after.ID}}}
	}
	return s.findPosts(ctx, f, options.Find().SetSort(bson.D{{Key: "publish_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) findPosts(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]Post, error) {
	cur, err := s.posts.Find(ctx, f, o)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []postDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Post, len(docs))
	for i, d := range docs {
		out[i] = d.post()
	}
	return out, nil
}

func (s *MongoStore) DuePosts(ctx context.Context, now time.Time, limit int) ([]Post, error) {
	return s.findPosts(ctx, bson.M{"fanout_done": false, "withdrawn": false, "publish_at": bson.M{"$lte": storage.Nanos(now)}},
		options.Find().SetSort(bson.D{{Key: "publish_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *MongoStore) AdvanceFanout(ctx context.Context, postID, from, to string, done bool, failures int) (bool, error) {
	res, err := s.posts.UpdateOne(ctx, bson.M{"_id": postID, "fanout_cursor": from, "fanout_done": false},
		bson.M{"$set": bson.M{"fanout_cursor": to, "fanout_done": done, "fanout_failures": failures}})
	if err != nil {
		return false, dbErr.Map(err)
	}
	return res.MatchedCount == 1, nil
}

// Atomic calls fn: without multi-document transactions each write of a
// fan-out page stands alone, keyed (the inbox per (user, post), the page
// counts per (post, page)).
func (s *MongoStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}

// RecordPage keeps a row per recipient, unique (post, user): without a
// transaction a count could not tell a repeat of the page from a first
// time.
func (s *MongoStore) RecordPage(ctx context.Context, postID, cursor string, pg Page) error {
	if err := s.addRecipients(ctx, postID, pg.Skipped, RecipientSkipped); err != nil {
		return err
	}
	return s.addRecipients(ctx, postID, pg.Users, pg.Status)
}

func (s *MongoStore) addRecipients(ctx context.Context, postID string, users []string, status int) error {
	docs := make([]any, len(users))
	for i, u := range users {
		docs[i] = bson.M{"_id": postID + "/" + u, "post_id": postID, "user_id": u, "status": status}
	}
	return insertIgnoringDuplicates(ctx, s.recipients, docs)
}

// insertIgnoringDuplicates inserts docs, leaving those whose _id exists.
func insertIgnoringDuplicates(ctx context.Context, c *mongo.Collection, docs []any) error {
	if len(docs) == 0 {
		return nil
	}
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err != nil && errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return dbErr.Map(err)
			}
		}
		return nil
	}
	return dbErr.Map(err)
}

func (s *MongoStore) RecipientCounts(ctx context.Context, postID string) (map[int]int64, error) {
	out := map[int]int64{}
	for _, st := range []int{RecipientSent, RecipientFailed, RecipientSkipped} {
		n, err := s.recipients.CountDocuments(ctx, bson.M{"post_id": postID, "status": st})
		if err != nil {
			return nil, dbErr.Map(err)
		}
		if n > 0 {
			out[st] = n
		}
	}
	return out, nil
}

func (s *MongoStore) MarkRead(ctx context.Context, postID, user string, at time.Time) error {
	_, err := s.reads.InsertOne(ctx, bson.M{"_id": postID + "/" + user, "post_id": postID, "user_id": user, "at": storage.Nanos(at)})
	if storage.IsDuplicate(err) {
		return nil
	}
	return dbErr.Map(err)
}

func (s *MongoStore) ReadCount(ctx context.Context, postID string) (int64, error) {
	n, err := s.reads.CountDocuments(ctx, bson.M{"post_id": postID})
	return n, dbErr.Map(err)
}

func (s *MongoStore) ReadPosts(ctx context.Context, user string, postIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(postIDs) == 0 {
		return out, nil
	}
	ids := make([]string, len(postIDs))
	for i, p := range postIDs {
		ids[i] = p + "/" + user
	}
	cur, err := s.reads.Find(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"post_id": 1}))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []struct {
		PostID string `bson:"post_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	for _, d := range docs {
		out[d.PostID] = true
	}
	return out, nil
}

type voteDoc struct {
	ID        string `bson:"_id"`
	PostID    string `bson:"post_id"`
	PatientID string `bson:"patient_id"`
	Option    int    `bson:"option"`
	At        int64  `bson:"at"`
}

func (s *MongoStore) InsertVote(ctx context.Context, v *Vote) error {
	_, err := s.votes.InsertOne(ctx, voteDoc{ID: v.PostID + "/" + v.PatientID, PostID: v.PostID, PatientID: v.PatientID,
		Option: v.Option, At: storage.Nanos(v.At)})
	return dbErr.Map(err)
}

func (s *MongoStore) Vote(ctx context.Context, postID, patientID string) (*Vote, error) {
	var d voteDoc
	if err := s.votes.FindOne(ctx, bson.M{"_id": postID + "/" + patientID}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	return &Vote{PostID: d.PostID, PatientID: d.PatientID, Option: d.Option, At: storage.FromNanos(d.At)}, nil
}

// VoteCounts counts in the client: FerretDB's aggregation is partial and
// a poll has at most 3 options.
func (s *MongoStore) VoteCounts(ctx context.Context, postID string) (map[int]int64, error) {
	out := map[int]int64{}
	for o := range 3 {
		n, err := s.votes.CountDocuments(ctx, bson.M{"post_id": postID, "option": o})
		if err != nil {
			return nil, dbErr.Map(err)
		}
		if n > 0 {
			out[o] = n
		}
	}
	return out, nil
}
