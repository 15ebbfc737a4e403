package wallet

import (
	"context"
	"encoding/json"
	"time"

	"carewallet/app/storage"
)

func (s *SQLiteStore) InsertGuardianship(ctx context.Context, g *Guardianship) error {
	return s.exec(ctx, `INSERT INTO wallet_guardians (guardian_id, dependant_id, person_key, created) VALUES (?, ?, ?, ?)`,
		g.GuardianID, g.DependantID, g.PersonKey, storage.Nanos(g.Created))
}

func (s *SQLiteStore) guardianships(ctx context.Context, q string, arg string) ([]Guardianship, error) {
	rows, err := s.r.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Guardianship
	for rows.Next() {
		var g Guardianship
		var c int64
		if err := rows.Scan(&g.GuardianID, &g.DependantID, &g.PersonKey, &c); err != nil {
			return nil, err
		}
		g.Created = storage.FromNanos(c)
		out = append(out, g)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) GuardianshipsOf(ctx context.Context, guardianID string) ([]Guardianship, error) {
	return s.guardianships(ctx, `SELECT guardian_id, dependant_id, person_key, created FROM wallet_guardians WHERE guardian_id = ?`, guardianID)
}

func (s *SQLiteStore) GuardiansOf(ctx context.Context, dependantID string) ([]Guardianship, error) {
	return s.guardianships(ctx, `SELECT guardian_id, dependant_id, person_key, created FROM wallet_guardians WHERE dependant_id = ?`, dependantID)
}

func (s *SQLiteStore) InsertGrant(ctx context.Context, g *Grant) error {
	return s.exec(ctx, `INSERT INTO wallet_grants (clinic_id, dependant_id, guardian_id, created) VALUES (?, ?, ?, ?)`,
		g.ClinicID, g.DependantID, g.GuardianID, storage.Nanos(g.Created))
}

func (s *SQLiteStore) DeleteGrant(ctx context.Context, clinicID, dependantID, guardianID string) error {
	return s.exec(ctx, `DELETE FROM wallet_grants WHERE clinic_id = ? AND dependant_id = ? AND guardian_id = ?`,
		clinicID, dependantID, guardianID)
}

func (s *SQLiteStore) grants(ctx context.Context, q string, args ...any) ([]Grant, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var c int64
		if err := rows.Scan(&g.ClinicID, &g.DependantID, &g.GuardianID, &c); err != nil {
			return nil, dbErr.Map(err)
		}
		g.Created = storage.FromNanos(c)
		out = append(out, g)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) GrantsFor(ctx context.Context, clinicID, dependantID string) ([]Grant, error) {
	return s.grants(ctx, `SELECT clinic_id, dependant_id, guardian_id, created FROM wallet_grants
		WHERE clinic_id = ? AND dependant_id = ? ORDER BY created, guardian_id`, clinicID, dependantID)
}

func (s *SQLiteStore) GrantsOf(ctx context.Context, guardianID string) ([]Grant, error) {
	return s.grants(ctx, `SELECT clinic_id, dependant_id, guardian_id, created FROM wallet_grants
		WHERE guardian_id = ? ORDER BY created, clinic_id, dependant_id`, guardianID)
}

func (s *SQLiteStore) SetCardPatient(ctx context.Context, id, patientID string) error {
	return s.exec(ctx, `UPDATE wallet_cards SET patient_id = ? WHERE id = ?`, patientID, id)
}

// InsertCard leaves birth_md empty: People has birth dates; the column
// only marks rows from before, which MoveHolderDetails clears.
func (s *SQLiteStore) InsertCard(ctx context.Context, c *Card) error {
	return s.exec(ctx, `INSERT INTO wallet_cards (id, clinic_id, patient_id, holder_key, dependant_id, slot, status,
		issued_by, created, birth_md, challenge_id, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ClinicID, c.PatientID, c.Holder.key(), c.Holder.DependantID, c.Slot, c.Status, c.IssuedBy,
		storage.Nanos(c.Created), "", c.ChallengeID, string(mustJSON(c.Holder)))
}

const cardCols = `id, clinic_id, patient_id, slot, status, issued_by, created, challenge_id, holder`

func scanCard(sc row) (*Card, error) {
	var c Card
	var created int64
	var holder string
	if err := sc.Scan(&c.ID, &c.ClinicID, &c.PatientID, &c.Slot, &c.Status, &c.IssuedBy, &created, &c.ChallengeID, &holder); err != nil {
		return nil, dbErr.Map(err)
	}
	c.Created = storage.FromNanos(created)
	if err := json.Unmarshal([]byte(holder), &c.Holder); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *SQLiteStore) cards(ctx context.Context, q string, args ...any) ([]Card, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) Card(ctx context.Context, id string) (*Card, error) {
	return scanCard(s.r.QueryRowContext(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE id = ?`, id))
}

func (s *SQLiteStore) CardsByHolder(ctx context.Context, clinicID, holderKey string) ([]Card, error) {
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE clinic_id = ? AND holder_key = ? ORDER BY slot`, clinicID, holderKey)
}

func (s *SQLiteStore) CardsByPatient(ctx context.Context, ids []string) ([]Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE patient_id IN (`+inList(len(ids))+`) ORDER BY created, id`, anys(ids)...)
}

func (s *SQLiteStore) CardsByDependant(ctx context.Context, ids []string) ([]Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE dependant_id IN (`+inList(len(ids))+`) ORDER BY created, id`, anys(ids)...)
}

func (s *SQLiteStore) ActivateCard(ctx context.Context, id string) error {
	return s.exec(ctx, `UPDATE wallet_cards SET status = 'active' WHERE id = ?`, id)
}

func (s *SQLiteStore) InsertCardCode(ctx context.Context, c *cardCodeRec) error {
	return s.exec(ctx, `INSERT INTO wallet_card_codes (code, card_id, clinic_id, expires_at) VALUES (?, ?, ?, ?)`,
		c.Code, c.CardID, c.ClinicID, storage.Nanos(c.ExpiresAt))
}

func (s *SQLiteStore) CardCode(ctx context.Context, code string) (*cardCodeRec, error) {
	var c cardCodeRec
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT code, card_id, clinic_id, expires_at FROM wallet_card_codes WHERE code = ?`, code).
		Scan(&c.Code, &c.CardID, &c.ClinicID, &exp)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	c.ExpiresAt = storage.FromNanos(exp)
	return &c, nil
}

func (s *SQLiteStore) PurgeCardCodes(ctx context.Context, before time.Time) error {
	return s.exec(ctx, `DELETE FROM wallet_card_codes WHERE expires_at < ?`, storage.Nanos(before))
}
