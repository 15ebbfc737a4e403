package identity

import (
	"context"
	"time"

	"carewallet/app/storage"
)

// rightsMigrations is the "identity_rights" component: the record of
// staff exports of patients' data.
var rightsMigrations = []string{`
CREATE TABLE identity_data_exports (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, staff_id TEXT NOT NULL, patient_id TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX identity_data_exports_clinic ON identity_data_exports (clinic_id, at, id);
`}

// ErasePatient runs in one transaction. With secure_delete on (see
// storage.Open) the freed bytes are overwritten, and the caller
// checkpoints the WAL afterwards (storage.SQLite.Scrub), so the erased
// values leave the database files.
func (s *SQLiteStore) ErasePatient(ctx context.Context, id, phone string, at time.Time) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE identity_patients SET phone = ?, first_name = '', last_name = '', birth_date = '' WHERE id = ?`,
			erasedPrefix+id, id); err != nil {
			return sqlErr(err)
		}
		for _, stmt := range []string{
			`DELETE FROM identity_attempts WHERE challenge_id IN (SELECT id FROM identity_challenges WHERE phone = ?)`,
			`DELETE FROM identity_used WHERE challenge_id IN (SELECT id FROM identity_challenges WHERE phone = ?)`,
			`DELETE FROM identity_challenges WHERE phone = ?`,
		} {
			if _, err := q.ExecContext(ctx, stmt, phone); err != nil {
				return sqlErr(err)
			}
		}
		_, err := q.ExecContext(ctx, `UPDATE identity_sessions SET revoked_at = ? WHERE subject_id = ? AND revoked_at = 0`, storage.Nanos(at), id)
		return sqlErr(err)
	})
}

func (s *SQLiteStore) SessionsOf(ctx context.Context, subjectID string) ([]Session, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, kind, subject_id, clinic_id, role, created_at, revoked_at
		FROM identity_sessions WHERE subject_id = ? ORDER BY created_at, id`, subjectID)
	if err != nil {
		return nil, sqlErr(err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var se Session
		var role string
		var created, revoked int64
		if err := rows.Scan(&se.ID, &se.Kind, &se.SubjectID, &se.ClinicID, &role, &created, &revoked); err != nil {
			return nil, sqlErr(err)
		}
		se.Role, se.CreatedAt = Role(role), storage.FromNanos(created)
		if revoked != 0 {
			se.RevokedAt = storage.FromNanos(revoked)
		}
		out = append(out, se)
	}
	return out, sqlErr(rows.Err())
}

func (s *SQLiteStore) InsertDataExport(ctx context.Context, e DataExport) error {
	return s.exec(ctx, `INSERT INTO identity_data_exports (id, clinic_id, staff_id, patient_id, at) VALUES (?, ?, ?, ?, ?)`,
		e.ID, e.ClinicID, e.StaffID, e.PatientID, storage.Nanos(e.At))
}

func (s *SQLiteStore) DataExports(ctx context.Context, clinicID string, before time.Time, beforeID string, limit int) ([]DataExport, error) {
	q := `SELECT id, clinic_id, staff_id, patient_id, at FROM identity_data_exports WHERE clinic_id = ?`
	args := []any{clinicID}
	if beforeID != "" {
		q += ` AND (at < ? OR (at = ? AND id < ?))`
		args = append(args, storage.Nanos(before), storage.Nanos(before), beforeID)
	}
	rows, err := s.db.Reader().QueryContext(ctx, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, sqlErr(err)
	}
	defer rows.Close()
	var out []DataExport
	for rows.Next() {
		var e DataExport
		var at int64
		if err := rows.Scan(&e.ID, &e.ClinicID, &e.StaffID, &e.PatientID, &at); err != nil {
			return nil, sqlErr(err)
		}
		e.At = storage.FromNanos(at)
		out = append(out, e)
	}
	return out, sqlErr(rows.Err())
}
