package referrals

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func (s *MongoStore) DeletePatientDevices(ctx context.Context, patientID string) error {
	_, err := s.devices.DeleteMany(ctx, bson.M{"patient_id": patientID})
	return mongoErr.Map(err)
}

func (s *MongoStore) PatientLinks(ctx context.Context, patientID string) ([]Link, error) {
	return mongoAll[Link](ctx, s.links, bson.M{"$or": bson.A{bson.M{"referee_id": patientID}, bson.M{"referrer_id": patientID}}},
		options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
}
