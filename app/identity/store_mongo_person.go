package identity

import (
	"context"
	"fmt"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// birthdayIndex serves PeopleBornOn on patients and dependants.
var birthdayIndex = mongo.IndexModel{Keys: bson.D{{Key: "birth_md", Value: 1}, {Key: "_id", Value: 1}}}

// birthMD is the "MM-DD" of a YYYY-MM-DD birth date, "" for none.
func birthMD(birthDate string) string {
	if len(birthDate) != len("2006-01-02") {
		return ""
	}
	return birthDate[5:]
}

// addBirthMD sets birth_md on the patients that have a birth date and no
// birth_md yet, so it can run again.
func addBirthMD(ctx context.Context, db *mongo.Database) error {
	c := db.Collection("identity_patients")
	cur, err := c.Find(ctx, bson.M{"birth_date": bson.M{"$ne": ""}, "birth_md": bson.M{"$exists": false}},
		options.Find().SetProjection(bson.M{"birth_date": 1}))
	if err != nil {
		return fmt.Errorf("identity: birth_md: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d patientDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("identity: birth_md: %w", err)
		}
		if _, err := c.UpdateOne(ctx, bson.M{"_id": d.ID, "birth_date": d.BirthDate},
			bson.M{"$set": bson.M{"birth_md": birthMD(d.BirthDate)}}); err != nil {
			return fmt.Errorf("identity: birth_md: %w", err)
		}
	}
	return cur.Err()
}

type dependantDoc struct {
	ID        string `bson:"_id"`
	FirstName string `bson:"first_name"`
	LastName  string `bson:"last_name"`
	BirthDate string `bson:"birth_date"`
	BirthMD   string `bson:"birth_md,omitempty"`
	CreatedAt int64  `bson:"created_at"`
}

func (s *MongoStore) InsertDependant(ctx context.Context, d Dependant) error {
	_, err := s.dependants.InsertOne(ctx, dependantDoc{ID: d.ID, FirstName: d.FirstName, LastName: d.LastName,
		BirthDate: d.BirthDate, BirthMD: birthMD(d.BirthDate), CreatedAt: storage.Nanos(d.CreatedAt)})
	return mongoErr(err)
}

func (s *MongoStore) DependantByID(ctx context.Context, id string) (Dependant, error) {
	var d dependantDoc
	err := s.dependants.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	return Dependant{ID: d.ID, FirstName: d.FirstName, LastName: d.LastName, BirthDate: d.BirthDate,
		CreatedAt: storage.FromNanos(d.CreatedAt)}, mongoErr(err)
}

// PeopleBornOn reads a page from each collection and merges them by id.
func (s *MongoStore) PeopleBornOn(ctx context.Context, mds []string, afterID string, limit int) ([]Person, error) {
	if len(mds) == 0 {
		return nil, nil
	}
	filter := bson.M{"birth_md": bson.M{"$in": mds}, "_id": bson.M{"$gt": afterID}}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.M{"first_name": 1, "last_name": 1, "birth_date": 1})
	var out []Person
	for _, c := range []*mongo.Collection{s.patients, s.dependants} {
		cur, err := c.Find(ctx, filter, opts)
		if err != nil {
			return nil, mongoErr(err)
		}
		var docs []dependantDoc // the fields read are the same on both
		if err := cur.All(ctx, &docs); err != nil {
			return nil, mongoErr(err)
		}
		for _, d := range docs {
			out = append(out, Person{ID: d.ID, FirstName: d.FirstName, LastName: d.LastName, BirthDate: d.BirthDate})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:min(len(out), limit)], nil
}
