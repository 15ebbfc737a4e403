package referrals

import "context"

func (s *SQLiteStore) DeletePatientDevices(ctx context.Context, patientID string) error {
	return s.exec(ctx, `DELETE FROM referrals_devices WHERE patient_id = ?`, patientID)
}

func (s *SQLiteStore) PatientLinks(ctx context.Context, patientID string) ([]Link, error) {
	return sqliteAll[Link](ctx, s.r, `SELECT body FROM referrals_links WHERE referee_id = ? OR referrer_id = ? ORDER BY created, id`,
		patientID, patientID)
}
