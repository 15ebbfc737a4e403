package identity

import (
	"context"
	"database/sql"
	"time"

	"carewallet/app/storage"
)

// sqliteMigrations are append-only: version i+1 is sqliteMigrations[i].
// Times are Unix nanoseconds, UTC (storage.Nanos).
var sqliteMigrations = []string{
	`CREATE TABLE clinics (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		timezone   TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE staff (
		id            TEXT PRIMARY KEY,
		clinic_id     TEXT NOT NULL REFERENCES clinics(id),
		email         TEXT NOT NULL UNIQUE,
		name          TEXT NOT NULL,
		role          TEXT NOT NULL,
		password_hash TEXT NOT NULL,
		created_at    INTEGER NOT NULL
	);
	CREATE INDEX staff_clinic ON staff (clinic_id, created_at);
	CREATE TABLE patients (
		id         TEXT PRIMARY KEY,
		phone      TEXT NOT NULL UNIQUE,
		first_name TEXT NOT NULL DEFAULT '',
		last_name  TEXT NOT NULL DEFAULT '',
		birth_date TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE TABLE otp_challenges (
		id         TEXT PRIMARY KEY,
		phone      TEXT NOT NULL,
		seq        INTEGER NOT NULL,
		code_hash  BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		UNIQUE (phone, seq)
	);
	CREATE TABLE otp_attempts (
		challenge_id TEXT NOT NULL,
		n            INTEGER NOT NULL CHECK (n BETWEEN 1 AND 10),
		at           INTEGER NOT NULL,
		PRIMARY KEY (challenge_id, n)
	);
	CREATE TABLE otp_used (
		challenge_id TEXT PRIMARY KEY,
		at           INTEGER NOT NULL
	);
	CREATE TABLE rate_events (
		key TEXT NOT NULL,
		seq INTEGER NOT NULL,
		at  INTEGER NOT NULL,
		PRIMARY KEY (key, seq)
	);
	CREATE TABLE sessions (
		id         TEXT PRIMARY KEY,
		kind       TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		clinic_id  TEXT NOT NULL DEFAULT '',
		role       TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		revoked_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE refresh_tokens (
		id         TEXT PRIMARY KEY,
		session_id TEXT NOT NULL,
		parent_id  TEXT UNIQUE,
		created_at INTEGER NOT NULL
	);`,
	// 2: staff can be disabled; a subject's sessions are revoked together;
	// windowed limits (sign-in codes, verifications, password attempts)
	// take unique slots.
	`ALTER TABLE staff ADD COLUMN disabled_at INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX sessions_subject ON sessions (subject_id);
	CREATE TABLE identity_rate_slots (
		key TEXT NOT NULL,
		n   INTEGER NOT NULL CHECK (n >= 1),
		at  INTEGER NOT NULL,
		PRIMARY KEY (key, n)
	);`,
	// 3: ended windows are pruned by time.
	`CREATE INDEX identity_rate_slots_at ON identity_rate_slots (at);`,
	// 4: every table carries the package's prefix. rate_events was
	// replaced by identity_rate_slots in version 2 and is read by nothing.
	`ALTER TABLE clinics RENAME TO identity_clinics;
	ALTER TABLE staff RENAME TO identity_staff;
	ALTER TABLE patients RENAME TO identity_patients;
	ALTER TABLE otp_challenges RENAME TO identity_challenges;
	ALTER TABLE otp_attempts RENAME TO identity_attempts;
	ALTER TABLE otp_used RENAME TO identity_used;
	ALTER TABLE sessions RENAME TO identity_sessions;
	ALTER TABLE refresh_tokens RENAME TO identity_refresh_tokens;
	DROP TABLE rate_events;
	DROP INDEX staff_clinic;
	CREATE INDEX identity_staff_clinic ON identity_staff (clinic_id, created_at);
	DROP INDEX sessions_subject;
	CREATE INDEX identity_sessions_subject ON identity_sessions (subject_id);`,
	// 5: identity owns dependants (the wallet kept them until now); the
	// birthday job finds people by the month-day of their birth date.
	`CREATE TABLE identity_dependants (
		id         TEXT PRIMARY KEY,
		first_name TEXT NOT NULL,
		last_name  TEXT NOT NULL,
		birth_date TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE INDEX identity_patients_birthday ON identity_patients (substr(birth_date, 6, 5), id) WHERE birth_date != '';
	CREATE INDEX identity_dependants_birthday ON identity_dependants (substr(birth_date, 6, 5), id) WHERE birth_date != '';`,
}

// SQLiteStore keeps identity in the embedded database.
type SQLiteStore struct{ db *storage.SQLite }

// NewSQLiteStore migrates the identity tables and returns the store.
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "identity", sqliteMigrations); err != nil {
		return nil, err
	}
	if err := storage.Migrate(ctx, db.Write, "identity_profile", sqliteProfileMigrations); err != nil {
		return nil, err
	}
	if err := storage.Migrate(ctx, db.Write, "identity_rights", rightsMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

var sqlErrs = storage.Errors{NotFound: ErrNotFound, Duplicate: ErrDuplicate, Context: "identity: sqlite"}

func sqlErr(err error) error { return sqlErrs.Map(err) }

func (s *SQLiteStore) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.db.Writer().ExecContext(ctx, q, args...)
	return sqlErr(err)
}

func (s *SQLiteStore) InsertClinic(ctx context.Context, c Clinic) error {
	return s.exec(ctx, `INSERT INTO identity_clinics (id, name, timezone, created_at) VALUES (?, ?, ?, ?)`,
		c.ID, c.Name, c.Timezone, storage.Nanos(c.CreatedAt))
}

func (s *SQLiteStore) Clinic(ctx context.Context, id string) (Clinic, error) {
	var c Clinic
	var at int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, name, timezone, created_at FROM identity_clinics WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.Timezone, &at)
	c.CreatedAt = storage.FromNanos(at)
	return c, sqlErr(err)
}

func (s *SQLiteStore) AnyClinic(ctx context.Context) (bool, error) {
	var n int
	err := s.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM identity_clinics LIMIT 1)`).Scan(&n)
	return n > 0, sqlErr(err)
}

func (s *SQLiteStore) InsertStaff(ctx context.Context, st Staff) error {
	return s.exec(ctx, `INSERT INTO identity_staff (id, clinic_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		st.ID, st.ClinicID, st.Email, st.Name, string(st.Role), st.PasswordHash, storage.Nanos(st.CreatedAt))
}

const staffCols = `id, clinic_id, email, name, role, password_hash, created_at, disabled_at`

func scanStaff(row interface{ Scan(...any) error }) (Staff, error) {
	var st Staff
	var role string
	var at, disabled int64
	err := row.Scan(&st.ID, &st.ClinicID, &st.Email, &st.Name, &role, &st.PasswordHash, &at, &disabled)
	st.Role, st.CreatedAt, st.DisabledAt = Role(role), storage.FromNanos(at), storage.FromNanos(disabled)
	return st, sqlErr(err)
}

func (s *SQLiteStore) StaffByEmail(ctx context.Context, email string) (Staff, error) {
	return scanStaff(s.db.Reader().QueryRowContext(ctx, `SELECT `+staffCols+` FROM identity_staff WHERE email = ?`, email))
}

func (s *SQLiteStore) StaffByID(ctx context.Context, id string) (Staff, error) {
	return scanStaff(s.db.Reader().QueryRowContext(ctx, `SELECT `+staffCols+` FROM identity_staff WHERE id = ?`, id))
}

func (s *SQLiteStore) ListStaff(ctx context.Context, clinicID string) ([]Staff, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+staffCols+` FROM identity_staff WHERE clinic_id = ? ORDER BY created_at, id`, clinicID)
	if err != nil {
		return nil, sqlErr(err)
	}
	defer rows.Close()
	var out []Staff
	for rows.Next() {
		st, err := scanStaff(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, sqlErr(rows.Err())
}

func (s *SQLiteStore) updateOne(ctx context.Context, q string, args ...any) error {
	res, err := s.db.Writer().ExecContext(ctx, q, args...)
	if err != nil {
		return sqlErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQLiteStore) SetStaffRole(ctx context.Context, id string, role Role) error {
	return s.updateOne(ctx, `UPDATE identity_staff SET role = ? WHERE id = ?`, string(role), id)
}

// DisableStaff keeps the first disabling time: disabling twice is a no-op.
func (s *SQLiteStore) DisableStaff(ctx context.Context, id string, at time.Time) error {
	return s.updateOne(ctx, `UPDATE identity_staff SET disabled_at = CASE WHEN disabled_at = 0 THEN ? ELSE disabled_at END WHERE id = ?`, storage.Nanos(at), id)
}

func (s *SQLiteStore) InsertPatient(ctx context.Context, p Patient) error {
	return s.exec(ctx, `INSERT INTO identity_patients (id, phone, first_name, last_name, birth_date, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.Phone, p.FirstName, p.LastName, p.BirthDate, storage.Nanos(p.CreatedAt))
}

const patientCols = `id, phone, first_name, last_name, birth_date, created_at`

func scanPatient(row *sql.Row) (Patient, error) {
	var p Patient
	var at int64
	err := row.Scan(&p.ID, &p.Phone, &p.FirstName, &p.LastName, &p.BirthDate, &at)
	p.CreatedAt = storage.FromNanos(at)
	return p, sqlErr(err)
}

func (s *SQLiteStore) PatientByPhone(ctx context.Context, phone string) (Patient, error) {
	return scanPatient(s.db.Reader().QueryRowContext(ctx, `SELECT `+patientCols+` FROM identity_patients WHERE phone = ?`, phone))
}

func (s *SQLiteStore) PatientByID(ctx context.Context, id string) (Patient, error) {
	return scanPatient(s.db.Reader().QueryRowContext(ctx, `SELECT `+patientCols+` FROM identity_patients WHERE id = ?`, id))
}

func (s *SQLiteStore) UpdatePatientProfile(ctx context.Context, p Patient) error {
	return s.updateOne(ctx, `UPDATE identity_patients SET first_name = ?, last_name = ?, birth_date = ? WHERE id = ?`,
		p.FirstName, p.LastName, p.BirthDate, p.ID)
}

const challengeCols = `id, phone, seq, code_hash, created_at, expires_at`

func scanChallenge(row *sql.Row) (Challenge, error) {
	var c Challenge
	var created, expires int64
	err := row.Scan(&c.ID, &c.Phone, &c.Seq, &c.CodeHash, &created, &expires)
	c.CreatedAt, c.ExpiresAt = storage.FromNanos(created), storage.FromNanos(expires)
	return c, sqlErr(err)
}

func (s *SQLiteStore) LastChallenge(ctx context.Context, phone string) (Challenge, error) {
	return scanChallenge(s.db.Writer().QueryRowContext(ctx,
		`SELECT `+challengeCols+` FROM identity_challenges WHERE phone = ? ORDER BY seq DESC LIMIT 1`, phone))
}

func (s *SQLiteStore) ChallengeBySeq(ctx context.Context, phone string, seq int64) (Challenge, error) {
	return scanChallenge(s.db.Reader().QueryRowContext(ctx,
		`SELECT `+challengeCols+` FROM identity_challenges WHERE phone = ? AND seq = ?`, phone, seq))
}

func (s *SQLiteStore) InsertChallenge(ctx context.Context, c Challenge) error {
	return s.exec(ctx, `INSERT INTO identity_challenges (id, phone, seq, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Phone, c.Seq, c.CodeHash, storage.Nanos(c.CreatedAt), storage.Nanos(c.ExpiresAt))
}

func (s *SQLiteStore) CountAttempts(ctx context.Context, challengeID string) (int, error) {
	var n int
	err := s.db.Writer().QueryRowContext(ctx, `SELECT count(*) FROM identity_attempts WHERE challenge_id = ?`, challengeID).Scan(&n)
	return n, sqlErr(err)
}

func (s *SQLiteStore) InsertAttempt(ctx context.Context, challengeID string, n int, at time.Time) error {
	return s.exec(ctx, `INSERT INTO identity_attempts (challenge_id, n, at) VALUES (?, ?, ?)`, challengeID, n, storage.Nanos(at))
}

func (s *SQLiteStore) InsertUsed(ctx context.Context, challengeID string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO identity_used (challenge_id, at) VALUES (?, ?)`, challengeID, storage.Nanos(at))
}

func (s *SQLiteStore) Slots(ctx context.Context, key string) (int, error) {
	var n int
	err := s.db.Writer().QueryRowContext(ctx, `SELECT count(*) FROM identity_rate_slots WHERE key = ?`, key).Scan(&n)
	return n, sqlErr(err)
}

func (s *SQLiteStore) DeleteSlotsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.Writer().ExecContext(ctx, `DELETE FROM identity_rate_slots WHERE at < ?`, storage.Nanos(t))
	if err != nil {
		return 0, sqlErr(err)
	}
	return res.RowsAffected()
}

func (s *SQLiteStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	return s.exec(ctx, `INSERT INTO identity_rate_slots (key, n, at) VALUES (?, ?, ?)`, key, n, storage.Nanos(at))
}

func (s *SQLiteStore) InsertSession(ctx context.Context, se Session) error {
	return s.exec(ctx, `INSERT INTO identity_sessions (id, kind, subject_id, clinic_id, role, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, 0)`,
		se.ID, se.Kind, se.SubjectID, se.ClinicID, string(se.Role), storage.Nanos(se.CreatedAt))
}

func (s *SQLiteStore) Session(ctx context.Context, id string) (Session, error) {
	var se Session
	var role string
	var created, revoked int64
	err := s.db.Reader().QueryRowContext(ctx,
		`SELECT id, kind, subject_id, clinic_id, role, created_at, revoked_at FROM identity_sessions WHERE id = ?`, id).
		Scan(&se.ID, &se.Kind, &se.SubjectID, &se.ClinicID, &role, &created, &revoked)
	se.Role, se.CreatedAt, se.RevokedAt = Role(role), storage.FromNanos(created), storage.FromNanos(revoked)
	return se, sqlErr(err)
}

func (s *SQLiteStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return s.exec(ctx, `UPDATE identity_sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, storage.Nanos(at), id)
}

func (s *SQLiteStore) RevokeSubjectSessions(ctx context.Context, subjectID string, at time.Time) error {
	return s.exec(ctx, `UPDATE identity_sessions SET revoked_at = ? WHERE subject_id = ? AND revoked_at = 0`, storage.Nanos(at), subjectID)
}

func (s *SQLiteStore) InsertRefreshToken(ctx context.Context, t RefreshToken) error {
	var parent any
	if t.ParentID != "" {
		parent = t.ParentID
	}
	return s.exec(ctx, `INSERT INTO identity_refresh_tokens (id, session_id, parent_id, created_at) VALUES (?, ?, ?, ?)`,
		t.ID, t.SessionID, parent, storage.Nanos(t.CreatedAt))
}

func (s *SQLiteStore) RefreshToken(ctx context.Context, id string) (RefreshToken, error) {
	var t RefreshToken
	var parent sql.NullString
	var at int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, session_id, parent_id, created_at FROM identity_refresh_tokens WHERE id = ?`, id).
		Scan(&t.ID, &t.SessionID, &parent, &at)
	t.ParentID, t.CreatedAt = parent.String, storage.FromNanos(at)
	return t, sqlErr(err)
}

func (s *SQLiteStore) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

var _ Store = (*SQLiteStore)(nil)
