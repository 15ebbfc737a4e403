package news

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// EraseAuthor clears the texts, then moves each vote to an anonymous
// copy. The anonymous id is first written onto the patient's votes
// (only where none is yet), so a retry after a crash uses the id the
// first run chose: the copy's _id (post/anon) is then a duplicate and the
// retry only deletes the original. No vote is lost or counted twice
// once the call returns.
func (s *MongoStore) EraseAuthor(ctx context.Context, patientID, anonID string) error {
	if _, err := s.messages.UpdateMany(ctx, bson.M{"author": AuthorPatient, "author_id": patientID},
		bson.M{"$set": bson.M{"text": ErasedText}}); err != nil {
		return dbErr.Map(err)
	}
	if _, err := s.votes.UpdateMany(ctx, bson.M{"patient_id": patientID, "anon": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"anon": anonID}}); err != nil {
		return dbErr.Map(err)
	}
	cur, err := s.votes.Find(ctx, bson.M{"patient_id": patientID})
	if err != nil {
		return dbErr.Map(err)
	}
	var docs []struct {
		ID     string `bson:"_id"`
		PostID string `bson:"post_id"`
		Option int    `bson:"option"`
		At     int64  `bson:"at"`
		Anon   string `bson:"anon"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return dbErr.Map(err)
	}
	for _, d := range docs {
		err := s.InsertVote(ctx, &Vote{PostID: d.PostID, PatientID: d.Anon, Option: d.Option, At: storage.FromNanos(d.At)})
		if err != nil && !errors.Is(err, errDuplicate) {
			return err
		}
		if _, err := s.votes.DeleteOne(ctx, bson.M{"_id": d.ID}); err != nil {
			return dbErr.Map(err)
		}
	}
	return nil
}

func (s *MongoStore) VotesBy(ctx context.Context, patientID string) ([]Vote, error) {
	cur, err := s.votes.Find(ctx, bson.M{"patient_id": patientID}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "post_id", Value: 1}}))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var docs []voteDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Vote, len(docs))
	for i, d := range docs {
		out[i] = Vote{PostID: d.PostID, PatientID: d.PatientID, Option: d.Option, At: storage.FromNanos(d.At)}
	}
	return out, nil
}
