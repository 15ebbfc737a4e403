package news

import (
	"context"
	"time"

	"carewallet/app/storage"
)

const threadCols = `id, clinic_id, patient_id, status, created, last_at, last_seq, last_patient_seq, last_manager_seq,
	patient_read, manager_read`

func (s *SQLiteStore) InsertThread(ctx context.Context, t *Thread) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_threads (`+threadCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.ClinicID, t.PatientID, t.Status, storage.Nanos(t.Created), storage.Nanos(t.LastAt), t.LastSeq,
		t.LastPatientSeq, t.LastManagerSeq, t.PatientRead, t.ManagerRead)
	return dbErr.Map(err)
}

func scanThread(sc interface{ Scan(...any) error }) (*Thread, error) {
	var t Thread
	var created, last int64
	if err := sc.Scan(&t.ID, &t.ClinicID, &t.PatientID, &t.Status, &created, &last, &t.LastSeq, &t.LastPatientSeq,
		&t.LastManagerSeq, &t.PatientRead, &t.ManagerRead); err != nil {
		return nil, err
	}
	t.Created, t.LastAt = storage.FromNanos(created), storage.FromNanos(last)
	return &t, nil
}

// Thread reads from the read pool: in WAL mode each read sees every
// committed write, and the writer connection stays free for the inserts
// that order the messages.
func (s *SQLiteStore) Thread(ctx context.Context, id string) (*Thread, error) {
	t, err := scanThread(s.r.QueryRowContext(ctx, `SELECT `+threadCols+` FROM news_threads WHERE id = ?`, id))
	return t, dbErr.Map(err)
}

func (s *SQLiteStore) ThreadOf(ctx context.Context, clinicID, patientID string) (*Thread, error) {
	t, err := scanThread(s.r.QueryRowContext(ctx, `SELECT `+threadCols+` FROM news_threads WHERE clinic_id = ? AND patient_id = ?`,
		clinicID, patientID))
	return t, dbErr.Map(err)
}

func (s *SQLiteStore) threads(ctx context.Context, query string, args ...any) ([]Thread, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Thread
	for rows.Next() {
		t, err := scanThread(rows)
		if err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, *t)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) Threads(ctx context.Context, clinicID, status string, after ThreadCursor, limit int) ([]Thread, error) {
	q := `SELECT ` + threadCols + ` FROM news_threads WHERE clinic_id = ?`
	args := []any{clinicID}
	if status != "" {
		q, args = q+` AND status = ?`, append(args, status)
	}
	if after.ID != "" {
		q, args = q+` AND (last_at, id) < (?, ?)`, append(args, storage.Nanos(after.At), after.ID)
	}
	return s.threads(ctx, q+` ORDER BY last_at DESC, id DESC LIMIT ?`, append(args, limit)...)
}

func (s *SQLiteStore) PatientThreads(ctx context.Context, patientID string) ([]Thread, error) {
	return s.threads(ctx, `SELECT `+threadCols+` FROM news_threads WHERE patient_id = ? ORDER BY last_at DESC, id DESC`, patientID)
}

func (s *SQLiteStore) MaxSeq(ctx context.Context, threadID string) (int64, error) {
	var n int64
	err := s.w.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM news_messages WHERE thread_id = ?`, threadID).Scan(&n)
	return n, dbErr.Map(err)
}

func (s *SQLiteStore) InsertMessage(ctx context.Context, m *Message) error {
	var points int64
	var reason string
	if m.Bonus != nil {
		points, reason = m.Bonus.Points, m.Bonus.Reason
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_messages (thread_id, seq, id, author, author_id, text, bonus_points, bonus_reason, at)
		VALUES (?,?,?,?,?,?,?,?,?)`, m.ThreadID, m.Seq, m.ID, m.Author, m.AuthorID, m.Text, points, reason, storage.Nanos(m.At))
	return dbErr.Map(err)
}

func (s *SQLiteStore) Messages(ctx context.Context, threadID string, after int64, limit int) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT thread_id, seq, id, author, author_id, text, bonus_points, bonus_reason, at
		FROM news_messages WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?`, threadID, after, limit)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var points, at int64
		var reason string
		if err := rows.Scan(&m.ThreadID, &m.Seq, &m.ID, &m.Author, &m.AuthorID, &m.Text, &points, &reason, &at); err != nil {
			return nil, dbErr.Map(err)
		}
		if points != 0 {
			m.Bonus = &BonusGiven{Points: points, Reason: reason}
		}
		m.At = storage.FromNanos(at)
		out = append(out, m)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) CountMessages(ctx context.Context, threadID, author string, after int64) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM news_messages WHERE thread_id = ? AND seq > ? AND author = ?`,
		threadID, after, author).Scan(&n)
	return n, dbErr.Map(err)
}

func (s *SQLiteStore) Touch(ctx context.Context, threadID string, m *Message) error {
	patientSeq, managerSeq := int64(0), int64(0)
	if m.Author == AuthorPatient {
		patientSeq = m.Seq
	} else {
		managerSeq = m.Seq
	}
	_, err := s.w.ExecContext(ctx, `UPDATE news_threads SET last_seq = max(last_seq, ?), last_at = max(last_at, ?),
		last_patient_seq = max(last_patient_seq, ?), last_manager_seq = max(last_manager_seq, ?) WHERE id = ?`,
		m.Seq, storage.Nanos(m.At), patientSeq, managerSeq, threadID)
	return dbErr.Map(err)
}

func (s *SQLiteStore) SetRead(ctx context.Context, threadID, side string, upTo int64) error {
	col := "manager_read"
	if side == AuthorPatient {
		col = "patient_read"
	}
	_, err := s.w.ExecContext(ctx, `UPDATE news_threads SET `+col+` = max(`+col+`, ?) WHERE id = ?`, upTo, threadID)
	return dbErr.Map(err)
}

func (s *SQLiteStore) SetStatus(ctx context.Context, threadID, status string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE news_threads SET status = ? WHERE id = ?`, status, threadID)
	return dbErr.Map(err)
}

func (s *SQLiteStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_slots (key, n, at) VALUES (?, ?, ?)`, key, n, storage.Nanos(at))
	return dbErr.Map(err)
}

func (s *SQLiteStore) Slots(ctx context.Context, key string) (int, error) {
	var n int
	// A count behind a concurrent insert only costs a duplicate and a retry.
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM news_slots WHERE key = ?`, key).Scan(&n)
	return n, dbErr.Map(err)
}
