package wallet

import (
	"context"
)

func (s *SQLiteStore) InsertProgram(ctx context.Context, p *Program) error {
	return s.exec(ctx, `INSERT INTO wallet_programs (clinic_id, version, body) VALUES (?, ?, ?)`, p.ClinicID, p.Version, string(mustJSON(p)))
}

func (s *SQLiteStore) LatestProgram(ctx context.Context, clinicID string) (*Program, error) {
	var p Program
	err := s.body(ctx, &p, `SELECT body FROM wallet_programs WHERE clinic_id = ? ORDER BY version DESC LIMIT 1`, clinicID)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *SQLiteStore) LatestProgramVersion(ctx context.Context, clinicID string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM wallet_programs WHERE clinic_id = ?`, clinicID).Scan(&v)
	return v, err
}
