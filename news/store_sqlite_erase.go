package news

import (
	"context"

	"carewallet/app/storage"
)

// EraseAuthor runs in one transaction.
func (s *SQLiteStore) EraseAuthor(ctx context.Context, patientID, anonID string) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE news_messages SET text = ? WHERE author = ? AND author_id = ?`,
			ErasedText, AuthorPatient, patientID); err != nil {
			return dbErr.Map(err)
		}
		_, err := q.ExecContext(ctx, `UPDATE news_votes SET patient_id = ? WHERE patient_id = ?`, anonID, patientID)
		return dbErr.Map(err)
	})
}

func (s *SQLiteStore) VotesBy(ctx context.Context, patientID string) ([]Vote, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT post_id, patient_id, option, at FROM news_votes WHERE patient_id = ? ORDER BY at, post_id`, patientID)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Vote
	for rows.Next() {
		var v Vote
		var at int64
		if err := rows.Scan(&v.PostID, &v.PatientID, &v.Option, &at); err != nil {
			return nil, dbErr.Map(err)
		}
		v.At = storage.FromNanos(at)
		out = append(out, v)
	}
	return out, rows.Err()
}
