package wallet

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"carewallet/app/storage"
)

// rightsMigrations are the tables of the patient's rights (consents,
// handovers), a migration component of their own ("wallet_rights").
var rightsMigrations = []string{`
CREATE TABLE wallet_consents (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, dependant_id TEXT NOT NULL, guardian_id TEXT NOT NULL,
	text_version TEXT NOT NULL, created INTEGER NOT NULL, closed_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX wallet_consents_dependant ON wallet_consents (clinic_id, dependant_id, created);
CREATE INDEX wallet_consents_guardian ON wallet_consents (guardian_id, created);
CREATE TABLE wallet_handovers (
	id TEXT PRIMARY KEY, card_id TEXT NOT NULL, clinic_id TEXT NOT NULL, dependant_id TEXT NOT NULL,
	started_by TEXT NOT NULL, to_patient_id TEXT NOT NULL, created INTEGER NOT NULL,
	UNIQUE (card_id, to_patient_id));
CREATE INDEX wallet_handovers_to ON wallet_handovers (to_patient_id, created);
CREATE INDEX wallet_handovers_by ON wallet_handovers (started_by, created);
CREATE TABLE wallet_handover_accepts (
	card_id TEXT PRIMARY KEY, handover_id TEXT NOT NULL, patient_id TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
`}

const consentCols = `id, clinic_id, dependant_id, guardian_id, text_version, created, closed_at`

func (s *SQLiteStore) InsertConsent(ctx context.Context, c *Consent) error {
	return s.exec(ctx, `INSERT INTO wallet_consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?, 0)`,
		c.ID, c.ClinicID, c.DependantID, c.GuardianID, c.TextVersion, storage.Nanos(c.Created))
}

func (s *SQLiteStore) consents(ctx context.Context, q string, args ...any) ([]Consent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+consentCols+` FROM wallet_consents WHERE `+q, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Consent
	for rows.Next() {
		var c Consent
		var created, closed int64
		if err := rows.Scan(&c.ID, &c.ClinicID, &c.DependantID, &c.GuardianID, &c.TextVersion, &created, &closed); err != nil {
			return nil, dbErr.Map(err)
		}
		c.Created = storage.FromNanos(created)
		if closed != 0 {
			t := storage.FromNanos(closed)
			c.ClosedAt = &t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) Consents(ctx context.Context, clinicID, dependantID string) ([]Consent, error) {
	return s.consents(ctx, `clinic_id = ? AND dependant_id = ? ORDER BY created, id`, clinicID, dependantID)
}

func (s *SQLiteStore) ConsentsBy(ctx context.Context, guardianID string) ([]Consent, error) {
	return s.consents(ctx, `guardian_id = ? ORDER BY created, id`, guardianID)
}

func (s *SQLiteStore) CloseConsent(ctx context.Context, id string, at time.Time) error {
	return s.exec(ctx, `UPDATE wallet_consents SET closed_at = ? WHERE id = ? AND closed_at = 0`, storage.Nanos(at), id)
}

const handoverCols = `id, card_id, clinic_id, dependant_id, started_by, to_patient_id, created`

func (s *SQLiteStore) InsertHandover(ctx context.Context, h *Handover) error {
	return s.exec(ctx, `INSERT INTO wallet_handovers (`+handoverCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.CardID, h.ClinicID, h.DependantID, h.StartedBy, h.ToPatientID, storage.Nanos(h.Created))
}

func scanHandover(sc row) (*Handover, error) {
	var h Handover
	var created int64
	if err := sc.Scan(&h.ID, &h.CardID, &h.ClinicID, &h.DependantID, &h.StartedBy, &h.ToPatientID, &created); err != nil {
		return nil, dbErr.Map(err)
	}
	h.Created = storage.FromNanos(created)
	return &h, nil
}

func (s *SQLiteStore) Handover(ctx context.Context, id string) (*Handover, error) {
	return scanHandover(s.r.QueryRowContext(ctx, `SELECT `+handoverCols+` FROM wallet_handovers WHERE id = ?`, id))
}

func (s *SQLiteStore) HandoverFor(ctx context.Context, cardID, toPatientID string) (*Handover, error) {
	return scanHandover(s.r.QueryRowContext(ctx, `SELECT `+handoverCols+` FROM wallet_handovers WHERE card_id = ? AND to_patient_id = ?`,
		cardID, toPatientID))
}

func (s *SQLiteStore) handovers(ctx context.Context, q string, arg string) ([]Handover, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+handoverCols+` FROM wallet_handovers WHERE `+q+` ORDER BY created, id`, arg)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Handover
	for rows.Next() {
		h, err := scanHandover(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) HandoversTo(ctx context.Context, patientID string) ([]Handover, error) {
	return s.handovers(ctx, `to_patient_id = ?`, patientID)
}

func (s *SQLiteStore) HandoversBy(ctx context.Context, guardianID string) ([]Handover, error) {
	return s.handovers(ctx, `started_by = ?`, guardianID)
}

func (s *SQLiteStore) InsertHandoverAccept(ctx context.Context, a *HandoverAccept) error {
	return s.exec(ctx, `INSERT INTO wallet_handover_accepts (card_id, handover_id, patient_id, at) VALUES (?, ?, ?, ?)`,
		a.CardID, a.HandoverID, a.PatientID, storage.Nanos(a.At))
}

func (s *SQLiteStore) HandoverAcceptOf(ctx context.Context, cardID string) (*HandoverAccept, error) {
	a := HandoverAccept{CardID: cardID}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT handover_id, patient_id, at FROM wallet_handover_accepts WHERE card_id = ?`, cardID).
		Scan(&a.HandoverID, &a.PatientID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, dbErr.Map(err)
	}
	a.At = storage.FromNanos(at)
	return &a, nil
}

func (s *SQLiteStore) MoveCardHolder(ctx context.Context, c *Card) error {
	return s.exec(ctx, `UPDATE wallet_cards SET patient_id = ?, holder_key = ?, dependant_id = ?, slot = ?, holder = ? WHERE id = ?`,
		c.PatientID, c.Holder.key(), c.Holder.DependantID, c.Slot, string(mustJSON(c.Holder)), c.ID)
}

func (s *SQLiteStore) CloseCard(ctx context.Context, id string) error {
	return s.exec(ctx, `UPDATE wallet_cards SET status = ? WHERE id = ?`, StatusDeleted, id)
}

func (s *SQLiteStore) DeleteGuardianships(ctx context.Context, guardianID string) error {
	return s.exec(ctx, `DELETE FROM wallet_guardians WHERE guardian_id = ?`, guardianID)
}
