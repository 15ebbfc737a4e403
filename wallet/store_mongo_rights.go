package wallet

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"carewallet/app/storage"
)

// The patient's rights: consents (_id: the consent id, which is the unique
// (clinic, dependant, guardian, version)), handovers (unique (card,
// to_patient)) and their accepts (_id: the card: one accept per card).

func (s *MongoStore) consents() *mongo.Collection  { return s.db.Collection("wallet_consents") }
func (s *MongoStore) handovers() *mongo.Collection { return s.db.Collection("wallet_handovers") }
func (s *MongoStore) accepts() *mongo.Collection   { return s.db.Collection("wallet_handover_accepts") }

// ensureRightsIndexes creates the rights collections' indexes that are
// missing (FerretDB v1.24 fails on a createIndexes naming existing ones).
func ensureRightsIndexes(ctx context.Context, db *mongo.Database) error {
	for _, x := range []struct {
		coll string
		name string
		keys bson.D
		uniq bool
	}{
		{"wallet_consents", "wr_dependant", bson.D{{Key: "clinic_id", Value: 1}, {Key: "dependant_id", Value: 1}}, false},
		{"wallet_consents", "wr_guardian", bson.D{{Key: "guardian_id", Value: 1}}, false},
		{"wallet_handovers", "wr_card_to", bson.D{{Key: "card_id", Value: 1}, {Key: "to_patient_id", Value: 1}}, true},
		{"wallet_handovers", "wr_to", bson.D{{Key: "to_patient_id", Value: 1}}, false},
		{"wallet_handovers", "wr_by", bson.D{{Key: "started_by", Value: 1}}, false},
	} {
		c := db.Collection(x.coll)
		specs, err := c.Indexes().ListSpecifications(ctx)
		if err != nil {
			return err
		}
		have := false
		for _, sp := range specs {
			have = have || sp.Name == x.name
		}
		if !have {
			if err := storage.EnsureIndexes(ctx, c, mongo.IndexModel{Keys: x.keys, Options: options.Index().SetName(x.name).SetUnique(x.uniq)}); err != nil {
				return err
			}
		}
	}
	return nil
}

type consentDoc struct {
	ID          string `bson:"_id"`
	ClinicID    string `bson:"clinic_id"`
	DependantID string `bson:"dependant_id"`
	GuardianID  string `bson:"guardian_id"`
	TextVersion string `bson:"text_version"`
	Created     int64  `bson:"created"`
	ClosedAt    int64  `bson:"closed_at"`
}

func (s *MongoStore) InsertConsent(ctx context.Context, c *Consent) error {
	return s.insert(ctx, s.consents(), consentDoc{ID: c.ID, ClinicID: c.ClinicID, DependantID: c.DependantID,
		GuardianID: c.GuardianID, TextVersion: c.TextVersion, Created: storage.Nanos(c.Created)})
}

func (s *MongoStore) findConsents(ctx context.Context, filter bson.M) ([]Consent, error) {
	docs, err := findAll[consentDoc](ctx, s.consents(), filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Consent, len(docs))
	for i, d := range docs {
		out[i] = Consent{ID: d.ID, ClinicID: d.ClinicID, DependantID: d.DependantID, GuardianID: d.GuardianID,
			TextVersion: d.TextVersion, Created: storage.FromNanos(d.Created)}
		if d.ClosedAt != 0 {
			t := storage.FromNanos(d.ClosedAt)
			out[i].ClosedAt = &t
		}
	}
	return out, nil
}

func (s *MongoStore) Consents(ctx context.Context, clinicID, dependantID string) ([]Consent, error) {
	return s.findConsents(ctx, bson.M{"clinic_id": clinicID, "dependant_id": dependantID})
}

func (s *MongoStore) ConsentsBy(ctx context.Context, guardianID string) ([]Consent, error) {
	return s.findConsents(ctx, bson.M{"guardian_id": guardianID})
}

// CloseConsent is conditional on closed_at = 0; a racing close writes a
// time within the same moment, which is harmless.
func (s *MongoStore) CloseConsent(ctx context.Context, id string, at time.Time) error {
	_, err := s.consents().UpdateOne(ctx, bson.M{"_id": id, "closed_at": 0}, bson.M{"$set": bson.M{"closed_at": storage.Nanos(at)}})
	return dbErr.Map(err)
}

type handoverDoc struct {
	ID          string `bson:"_id"`
	CardID      string `bson:"card_id"`
	ClinicID    string `bson:"clinic_id"`
	DependantID string `bson:"dependant_id"`
	StartedBy   string `bson:"started_by"`
	ToPatientID string `bson:"to_patient_id"`
	Created     int64  `bson:"created"`
}

func (d handoverDoc) handover() Handover {
	return Handover{ID: d.ID, CardID: d.CardID, ClinicID: d.ClinicID, DependantID: d.DependantID, StartedBy: d.StartedBy,
		ToPatientID: d.ToPatientID, Created: storage.FromNanos(d.Created)}
}

func (s *MongoStore) InsertHandover(ctx context.Context, h *Handover) error {
	return s.insert(ctx, s.handovers(), handoverDoc{ID: h.ID, CardID: h.CardID, ClinicID: h.ClinicID, DependantID: h.DependantID,
		StartedBy: h.StartedBy, ToPatientID: h.ToPatientID, Created: storage.Nanos(h.Created)})
}

func (s *MongoStore) findHandover(ctx context.Context, filter bson.M) (*Handover, error) {
	var d handoverDoc
	if err := s.handovers().FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	h := d.handover()
	return &h, nil
}

func (s *MongoStore) Handover(ctx context.Context, id string) (*Handover, error) {
	return s.findHandover(ctx, bson.M{"_id": id})
}

func (s *MongoStore) HandoverFor(ctx context.Context, cardID, toPatientID string) (*Handover, error) {
	return s.findHandover(ctx, bson.M{"card_id": cardID, "to_patient_id": toPatientID})
}

func (s *MongoStore) findHandovers(ctx context.Context, filter bson.M) ([]Handover, error) {
	docs, err := findAll[handoverDoc](ctx, s.handovers(), filter, options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	out := make([]Handover, len(docs))
	for i, d := range docs {
		out[i] = d.handover()
	}
	return out, nil
}

func (s *MongoStore) HandoversTo(ctx context.Context, patientID string) ([]Handover, error) {
	return s.findHandovers(ctx, bson.M{"to_patient_id": patientID})
}

func (s *MongoStore) HandoversBy(ctx context.Context, guardianID string) ([]Handover, error) {
	return s.findHandovers(ctx, bson.M{"started_by": guardianID})
}

type acceptDoc struct {
	CardID     string `bson:"_id"`
	HandoverID string `bson:"handover_id"`
	PatientID  string `bson:"patient_id"`
	At         int64  `bson:"at"`
}

func (s *MongoStore) InsertHandoverAccept(ctx context.Context, a *HandoverAccept) error {
	return s.insert(ctx, s.accepts(), acceptDoc{CardID: a.CardID, HandoverID: a.HandoverID, PatientID: a.PatientID, At: storage.Nanos(a.At)})
}

func (s *MongoStore) HandoverAcceptOf(ctx context.Context, cardID string) (*HandoverAccept, error) {
	var d acceptDoc
	if err := s.accepts().FindOne(ctx, bson.M{"_id": cardID}).Decode(&d); err != nil {
		return nil, dbErr.Map(err)
	}
	return &HandoverAccept{CardID: d.CardID, HandoverID: d.HandoverID, PatientID: d.PatientID, At: storage.FromNanos(d.At)}, nil
}

// MoveCardHolder is a plain $set of the same values on every retry; the
// unique (clinic, holder_key, slot) index refuses a taken slot.
func (s *MongoStore) MoveCardHolder(ctx context.Context, c *Card) error {
	_, err := s.cards.UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$set": bson.M{"patient_id": c.PatientID,
		"holder_key": c.Holder.key(), "dependant_id": c.Holder.DependantID, "slot": c.Slot, "holder": string(mustJSON(c.Holder))}})
	return dbErr.Map(err)
}

func (s *MongoStore) CloseCard(ctx context.Context, id string) error {
	_, err := s.cards.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"status": StatusDeleted}})
	return dbErr.Map(err)
}

func (s *MongoStore) DeleteGuardianships(ctx context.Context, guardianID string) error {
	_, err := s.guardians.DeleteMany(ctx, bson.M{"guardian_id": guardianID})
	return dbErr.Map(err)
}
