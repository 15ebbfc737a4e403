package wallet

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func (s *MongoStore) InsertProgram(ctx context.Context, p *Program) error {
	return s.insert(ctx, s.programs, bson.M{"_id": p.ClinicID + "|" + strconv.FormatInt(p.Version, 10),
		"clinic_id": p.ClinicID, "version": p.Version, "body": string(mustJSON(p))})
}

func (s *MongoStore) LatestProgram(ctx context.Context, clinicID string) (*Program, error) {
	var p Program
	err := s.findBody(ctx, s.programs, bson.M{"clinic_id": clinicID}, &p, options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}}))
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *MongoStore) LatestProgramVersion(ctx context.Context, clinicID string) (int64, error) {
	var d struct {
		Version int64 `bson:"version"`
	}
	err := s.programs.FindOne(ctx, bson.M{"clinic_id": clinicID}, options.FindOne().
		SetSort(bson.D{{Key: "version", Value: -1}}).SetProjection(bson.M{"version": 1})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("wallet: program version: %w", err)
	}
	return d.Version, nil
}
