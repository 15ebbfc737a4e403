package care

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"carewallet/app/storage"
)

// SQLiteStore is the embedded adapter. It keeps the MongoDB adapter's
// unique keys as primary keys; the due messages are read through a
// partial index on due time, so a tick with nothing due reads nothing.
type SQLiteStore struct {
	db   *storage.SQLite
	r, w storage.Querier
}

var dbErr = storage.Errors{NotFound: ErrNotFound, Duplicate: errDuplicate, Context: "care"}

var sqliteMigrations = []string{`
CREATE TABLE care_appointments (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, external_id TEXT NOT NULL, patient_id TEXT NOT NULL, card_id TEXT NOT NULL,
	starts_at INTEGER NOT NULL, doctor TEXT NOT NULL, services TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL,
	staff_id TEXT NOT NULL, greet INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL, status_at INTEGER NOT NULL,
	version INTEGER NOT NULL, planned INTEGER NOT NULL,
	UNIQUE (clinic_id, external_id));
CREATE INDEX care_appointments_patient ON care_appointments (patient_id, clinic_id, created);
CREATE INDEX care_appointments_unplanned ON care_appointments (id) WHERE planned < version;
CREATE TABLE care_messages (
	key TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, patient_id TEXT NOT NULL, scenario TEXT NOT NULL, appointment_id TEXT NOT NULL,
	date TEXT NOT NULL, due INTEGER NOT NULL, deadline INTEGER NOT NULL, state INTEGER NOT NULL, reason TEXT NOT NULL,
	created INTEGER NOT NULL, done INTEGER NOT NULL);
CREATE INDEX care_messages_due ON care_messages (due) WHERE state = 0;
CREATE INDEX care_messages_done ON care_messages (clinic_id, done);
CREATE TABLE care_settings (clinic_id TEXT NOT NULL, scenario TEXT NOT NULL, enabled INTEGER NOT NULL, text TEXT NOT NULL,
	days_before INTEGER NOT NULL, PRIMARY KEY (clinic_id, scenario)) WITHOUT ROWID;
CREATE TABLE care_services (clinic_id TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, before_text TEXT NOT NULL,
	after_text TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (clinic_id, code)) WITHOUT ROWID;
CREATE TABLE care_sites (clinic_id TEXT PRIMARY KEY, sites TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE care_birthdates (patient_id TEXT NOT NULL, birth_date TEXT NOT NULL, at INTEGER NOT NULL,
	PRIMARY KEY (patient_id, birth_date)) WITHOUT ROWID;
CREATE TABLE care_ratings (
	visit_id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, patient_id TEXT NOT NULL, external_id TEXT NOT NULL, doctor TEXT NOT NULL,
	staff_id TEXT NOT NULL, visit_at INTEGER NOT NULL, score INTEGER NOT NULL, comment TEXT NOT NULL, thread_id TEXT NOT NULL,
	created INTEGER NOT NULL);
CREATE INDEX care_ratings_clinic ON care_ratings (clinic_id, created);
CREATE INDEX care_ratings_patient ON care_ratings (patient_id);
`, `
-- A deleted patient's pending messages are voided (ErasePatient).
CREATE INDEX care_messages_patient ON care_messages (patient_id) WHERE state = 0;
`}

// NewSQLiteStore migrates the care tables.
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "care", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db, r: db.Reader(), w: db.Writer()}, nil
}

const apptCols = `id, clinic_id, external_id, patient_id, card_id, starts_at, doctor, services, status, source, staff_id, greet,
	created, updated, status_at, version, planned`

func servicesJSON(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func scanAppt(sc interface{ Scan(...any) error }) (*Appointment, error) {
	var a Appointment
	var starts, created, updated, statusAt int64
	var services string
	if err := sc.Scan(&a.ID, &a.ClinicID, &a.ExternalID, &a.PatientID, &a.CardID, &starts, &a.Doctor, &services, &a.Status,
		&a.Source, &a.StaffID, &a.Greet, &created, &updated, &statusAt, &a.Version, &a.Planned); err != nil {
		return nil, err
	}
	a.StartsAt, a.Created, a.Updated, a.StatusAt = storage.FromNanos(starts), storage.FromNanos(created),
		storage.FromNanos(updated), storage.FromNanos(statusAt)
	if err := json.Unmarshal([]byte(services), &a.Services); err != nil {
		return nil, err
	}
	if len(a.Services) == 0 {
		a.Services = nil
	}
	return &a, nil
}

func (s *SQLiteStore) InsertAppointment(ctx context.Context, a *Appointment) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO care_appointments (`+apptCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.ID, a.ClinicID, a.ExternalID, a.PatientID, a.CardID, storage.Nanos(a.StartsAt), a.Doctor, servicesJSON(a.Services),
		a.Status, a.Source, a.StaffID, a.Greet, storage.Nanos(a.Created), storage.Nanos(a.Updated), storage.Nanos(a.StatusAt),
		a.Version, a.Planned)
	return dbErr.Map(err)
}

func (s *SQLiteStore) UpdateAppointment(ctx context.Context, a *Appointment, prev int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE care_appointments SET patient_id = ?, card_id = ?, starts_at = ?, doctor = ?,
		services = ?, status = ?, source = ?, staff_id = ?, updated = ?, status_at = ?, version = ? WHERE id = ? AND version = ?`,
		a.PatientID, a.CardID, storage.Nanos(a.StartsAt), a.Doctor, servicesJSON(a.Services), a.Status, a.Source, a.StaffID,
		storage.Nanos(a.Updated), storage.Nanos(a.StatusAt), a.Version, a.ID, prev)
	if err != nil {
		return dbErr.Map(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errVersionMoved
	}
	return nil
}

func (s *SQLiteStore) Appointment(ctx context.Context, id string) (*Appointment, error) {
	a, err := scanAppt(s.w.QueryRowContext(ctx, `SELECT `+apptCols+` FROM care_appointments WHERE id = ?`, id))
	return a, dbErr.Map(err)
}

func (s *SQLiteStore) AppointmentByExternal(ctx context.Context, clinicID, externalID string) (*Appointment, error) {
	a, err := scanAppt(s.w.QueryRowContext(ctx, `SELECT `+apptCols+` FROM care_appointments WHERE clinic_id = ? AND external_id = ?`,
		clinicID, externalID))
	return a, dbErr.Map(err)
}

func (s *SQLiteStore) appts(ctx context.Context, q string, args ...any) ([]Appointment, error) {
	rows, err := s.w.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Appointment
	for rows.Next() {
		a, err := scanAppt(rows)
		if err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, *a)
	}
	return out, dbErr.Map(rows.Err())
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (s *SQLiteStore) Appointments(ctx context.Context, ids []string) ([]Appointment, error) {
	var out []Appointment
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		list, err := s.appts(ctx, `SELECT `+apptCols+` FROM care_appointments WHERE id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

func (s *SQLiteStore) PatientAppointments(ctx context.Context, clinicID, patientID string) ([]Appointment, error) {
	if clinicID == "" {
		return s.appts(ctx, `SELECT `+apptCols+` FROM care_appointments WHERE patient_id = ? ORDER BY created, id`, patientID)
	}
	return s.appts(ctx, `SELECT `+apptCols+` FROM care_appointments WHERE patient_id = ? AND clinic_id = ? ORDER BY created, id`,
		patientID, clinicID)
}

func (s *SQLiteStore) SetPlanned(ctx context.Context, id string, version int64) error {
	_, err := s.w.ExecContext(ctx, `UPDATE care_appointments SET planned = ? WHERE id = ? AND planned < ?`, version, id, version)
	return dbErr.Map(err)
}

func (s *SQLiteStore) Unplanned(ctx context.Context, limit int) ([]Appointment, error) {
	return s.appts(ctx, `SELECT `+apptCols+` FROM care_appointments WHERE planned < version LIMIT ?`, limit)
}

const msgCols = `key, clinic_id, patient_id, scenario, appointment_id, date, due, deadline, state, reason, created, done`

func scanMsg(sc interface{ Scan(...any) error }) (*Message, error) {
	var m Message
	var due, deadline, created, done int64
	if err := sc.Scan(&m.Key, &m.ClinicID, &m.PatientID, &m.Scenario, &m.AppointmentID, &m.Date, &due, &deadline, &m.State,
		&m.Reason, &created, &done); err != nil {
		return nil, err
	}
	m.Due, m.Deadline, m.Created, m.Done = storage.FromNanos(due), storage.FromNanos(deadline), storage.FromNanos(created),
		storage.FromNanos(done)
	return &m, nil
}

func (s *SQLiteStore) AddMessage(ctx context.Context, m *Message) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO care_messages (`+msgCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (key) DO NOTHING`,
		m.Key, m.ClinicID, m.PatientID, m.Scenario, m.AppointmentID, m.Date, storage.Nanos(m.Due), storage.Nanos(m.Deadline),
		m.State, m.Reason, storage.Nanos(m.Created), storage.Nanos(m.Done))
	if err != nil {
		return false, dbErr.Map(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *SQLiteStore) Message(ctx context.Context, key string) (*Message, error) {
	m, err := scanMsg(s.w.QueryRowContext(ctx, `SELECT `+msgCols+` FROM care_messages WHERE key = ?`, key))
	return m, dbErr.Map(err)
}

func (s *SQLiteStore) msgs(ctx context.Context, q string, args ...any) ([]Message, error) {
	rows, err := s.w.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMsg(rows)
		if err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, *m)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) DueMessages(ctx context.Context, now time.Time, limit int) ([]Message, error) {
	return s.msgs(ctx, `SELECT `+msgCols+` FROM care_messages WHERE state = 0 AND due <= ? ORDER BY due LIMIT ?`,
		storage.Nanos(now), limit)
}

func (s *SQLiteStore) Reschedule(ctx context.Context, key string, due time.Time, appointmentID string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE care_messages SET due = ?,
		appointment_id = CASE WHEN ? = '' THEN appointment_id ELSE ? END WHERE key = ? AND state = 0`,
		storage.Nanos(due), appointmentID, appointmentID, key)
	return dbErr.Map(err)
}

func (s *SQLiteStore) Finish(ctx context.Context, keys []string, state int, reason string, at time.Time) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		for start := 0; start < len(keys); start += 500 {
			chunk := keys[start:min(start+500, len(keys))]
			args := append([]any{state, reason, storage.Nanos(at)}, anys(chunk)...)
			if _, err := q.ExecContext(ctx, `UPDATE care_messages SET state = ?, reason = ?, done = ?
				WHERE state = 0 AND key IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
				return dbErr.Map(err)
			}
		}
		return nil
	})
}

func (s *SQLiteStore) MessageCounts(ctx context.Context, clinicID string, from, to time.Time) ([]MessageCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT scenario, state, reason, count(*) FROM care_messages
		WHERE clinic_id = ? AND done >= ? AND done < ? AND state != 0 GROUP BY scenario, state, reason`,
		clinicID, storage.Nanos(from), storage.Nanos(to))
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []MessageCount
	for rows.Next() {
		var c MessageCount
		if err := rows.Scan(&c.Scenario, &c.State, &c.Reason, &c.N); err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, c)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) SentMessages(ctx context.Context, clinicID, scenario string, from, to time.Time) ([]Message, error) {
	return s.msgs(ctx, `SELECT `+msgCols+` FROM care_messages WHERE clinic_id = ? AND done >= ? AND done < ? AND state = 1
		AND scenario = ? ORDER BY done`, clinicID, storage.Nanos(from), storage.Nanos(to), scenario)
}

func (s *SQLiteStore) PutSetting(ctx context.Context, st Setting) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO care_settings (clinic_id, scenario, enabled, text, days_before) VALUES (?,?,?,?,?)
		ON CONFLICT (clinic_id, scenario) DO UPDATE SET enabled = excluded.enabled, text = excluded.text,
		days_before = excluded.days_before`, st.ClinicID, st.Scenario, st.Enabled, st.Text, st.DaysBefore)
	return dbErr.Map(err)
}

func (s *SQLiteStore) Settings(ctx context.Context, clinicID string) ([]Setting, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT clinic_id, scenario, enabled, text, days_before FROM care_settings WHERE clinic_id = ?`,
		clinicID)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Setting
	for rows.Next() {
		var st Setting
		if err := rows.Scan(&st.ClinicID, &st.Scenario, &st.Enabled, &st.Text, &st.DaysBefore); err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, st)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) PutServices(ctx context.Context, clinicID string, list []ServiceText) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		for _, t := range list {
			if _, err := q.ExecContext(ctx, `INSERT INTO care_services (clinic_id, code, name, before_text, after_text, updated)
				VALUES (?,?,?,?,?,?) ON CONFLICT (clinic_id, code) DO UPDATE SET name = excluded.name,
				before_text = excluded.before_text, after_text = excluded.after_text, updated = excluded.updated`,
				clinicID, t.Code, t.Name, t.BeforeText, t.AfterText, storage.Nanos(t.UpdatedAt)); err != nil {
				return dbErr.Map(err)
			}
		}
		return nil
	})
}

func (s *SQLiteStore) services(ctx context.Context, q string, args ...any) ([]ServiceText, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []ServiceText
	for rows.Next() {
		var t ServiceText
		var updated int64
		if err := rows.Scan(&t.ClinicID, &t.Code, &t.Name, &t.BeforeText, &t.AfterText, &updated); err != nil {
			return nil, dbErr.Map(err)
		}
		t.UpdatedAt = storage.FromNanos(updated)
		out = append(out, t)
	}
	return out, dbErr.Map(rows.Err())
}

const serviceCols = `clinic_id, code, name, before_text, after_text, updated`

func (s *SQLiteStore) Services(ctx context.Context, clinicID string, codes []string) ([]ServiceText, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	return s.services(ctx, `SELECT `+serviceCols+` FROM care_services WHERE clinic_id = ? AND code IN (`+placeholders(len(codes))+`)`,
		append([]any{clinicID}, anys(codes)...)...)
}

func (s *SQLiteStore) AllServices(ctx context.Context, clinicID, after string, limit int) ([]ServiceText, error) {
	return s.services(ctx, `SELECT `+serviceCols+` FROM care_services WHERE clinic_id = ? AND code > ? ORDER BY code LIMIT ?`,
		clinicID, after, limit)
}

func (s *SQLiteStore) ServiceCounts(ctx context.Context, clinicID string) (ServiceCounts, error) {
	var c ServiceCounts
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(before_text != ''), 0), coalesce(sum(after_text != ''), 0)
		FROM care_services WHERE clinic_id = ?`, clinicID).Scan(&c.Before, &c.After)
	return c, dbErr.Map(err)
}

func (s *SQLiteStore) PutReviewSites(ctx context.Context, clinicID string, sites []Site) error {
	b, err := json.Marshal(sites)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO care_sites (clinic_id, sites) VALUES (?, ?)
		ON CONFLICT (clinic_id) DO UPDATE SET sites = excluded.sites`, clinicID, string(b))
	return dbErr.Map(err)
}

func (s *SQLiteStore) ReviewSites(ctx context.Context, clinicID string) ([]Site, error) {
	var raw string
	err := s.r.QueryRowContext(ctx, `SELECT sites FROM care_sites WHERE clinic_id = ?`, clinicID).Scan(&raw)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr.Map(err)
	}
	var out []Site
	return out, json.Unmarshal([]byte(raw), &out)
}

func (s *SQLiteStore) PutBirthDate(ctx context.Context, patientID, birthDate string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO care_birthdates (patient_id, birth_date, at) VALUES (?, ?, ?)
		ON CONFLICT (patient_id, birth_date) DO NOTHING`, patientID, birthDate, storage.Nanos(at))
	return dbErr.Map(err)
}

func (s *SQLiteStore) BirthDateEntered(ctx context.Context, patientID, birthDate string) (time.Time, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT at FROM care_birthdates WHERE patient_id = ? AND birth_date = ?`,
		patientID, birthDate).Scan(&at)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	return storage.FromNanos(at), dbErr.Map(err)
}

const ratingCols = `visit_id, clinic_id, patient_id, external_id, doctor, staff_id, visit_at, score, comment, thread_id, created`

func scanRating(sc interface{ Scan(...any) error }) (*VisitRating, error) {
	var r VisitRating
	var visit, created int64
	if err := sc.Scan(&r.VisitID, &r.ClinicID, &r.PatientID, &r.ExternalID, &r.Doctor, &r.StaffID, &visit, &r.Score, &r.Comment,
		&r.ThreadID, &created); err != nil {
		return nil, err
	}
	r.VisitAt, r.Created = storage.FromNanos(visit), storage.FromNanos(created)
	return &r, nil
}

func (s *SQLiteStore) InsertRating(ctx context.Context, r *VisitRating) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO care_ratings (`+ratingCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		r.VisitID, r.ClinicID, r.PatientID, r.ExternalID, r.Doctor, r.StaffID, storage.Nanos(r.VisitAt), r.Score, r.Comment,
		r.ThreadID, storage.Nanos(r.Created))
	return dbErr.Map(err)
}

func (s *SQLiteStore) RatingByVisit(ctx context.Context, visitID string) (*VisitRating, error) {
	r, err := scanRating(s.w.QueryRowContext(ctx, `SELECT `+ratingCols+` FROM care_ratings WHERE visit_id = ?`, visitID))
	return r, dbErr.Map(err)
}

func (s *SQLiteStore) SetRatingThread(ctx context.Context, visitID, threadID string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE care_ratings SET thread_id = ? WHERE visit_id = ?`, threadID, visitID)
	return dbErr.Map(err)
}

func (s *SQLiteStore) ratings(ctx context.Context, q string, args ...any) ([]VisitRating, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []VisitRating
	for rows.Next() {
		r, err := scanRating(rows)
		if err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, *r)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) Ratings(ctx context.Context, clinicID string, from, to time.Time, score, limit int) ([]VisitRating, error) {
	return s.ratings(ctx, `SELECT `+ratingCols+` FROM care_ratings WHERE clinic_id = ? AND created >= ? AND created < ?
		AND (? = 0 OR score = ?) ORDER BY created, visit_id LIMIT ?`,
		clinicID, storage.Nanos(from), storage.Nanos(to), score, score, limit)
}

func (s *SQLiteStore) PatientRatings(ctx context.Context, patientID string) ([]VisitRating, error) {
	return s.ratings(ctx, `SELECT `+ratingCols+` FROM care_ratings WHERE patient_id = ? ORDER BY created, visit_id`, patientID)
}

func (s *SQLiteStore) EraseComments(ctx context.Context, patientID string) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE care_ratings SET comment = '' WHERE patient_id = ? AND comment != ''`, patientID)
	if err != nil {
		return 0, dbErr.Map(err)
	}
	return res.RowsAffected()
}

func (s *SQLiteStore) ErasePatient(ctx context.Context, patientID string, at time.Time) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE care_messages SET state = ?, reason = ?, done = ? WHERE patient_id = ? AND state = 0`,
			Void, ReasonErased, storage.Nanos(at), patientID); err != nil {
			return dbErr.Map(err)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM care_birthdates WHERE patient_id = ?`, patientID)
		return dbErr.Map(err)
	})
}
