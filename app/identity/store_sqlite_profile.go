package identity

import (
	"context"
	"strings"
	"time"

	"carewallet/app/storage"
)

// sqliteProfileMigrations are append-only (component "identity_profile",
// versioned apart from the identity tables): clinic profiles with their
// logos, and join codes, unique per clinic and per code.
var sqliteProfileMigrations = []string{
	`CREATE TABLE identity_clinic_profiles (
		clinic_id    TEXT PRIMARY KEY REFERENCES identity_clinics(id),
		address      TEXT NOT NULL,
		phone        TEXT NOT NULL,
		site         TEXT NOT NULL,
		hours        TEXT NOT NULL,
		about        TEXT NOT NULL,
		logo_type    TEXT NOT NULL DEFAULT '',
		logo_version INTEGER NOT NULL DEFAULT 0,
		logo         BLOB,
		updated_at   INTEGER NOT NULL
	);
	CREATE TABLE identity_join_codes (
		code       TEXT PRIMARY KEY,
		clinic_id  TEXT NOT NULL UNIQUE REFERENCES identity_clinics(id),
		created_at INTEGER NOT NULL
	);`,
}

// PutProfile renames the clinic and writes its profile in one
// transaction.
func (s *SQLiteStore) PutProfile(ctx context.Context, p Profile, logo []byte) error {
	return sqlErr(s.db.Tx(ctx, func(q storage.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE identity_clinics SET name = ? WHERE id = ?`, p.Name, p.ClinicID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		if logo == nil {
			_, err = q.ExecContext(ctx, `INSERT INTO identity_clinic_profiles
				(clinic_id, address, phone, site, hours, about, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (clinic_id) DO UPDATE SET address = excluded.address, phone = excluded.phone,
				site = excluded.site, hours = excluded.hours, about = excluded.about, updated_at = excluded.updated_at`,
				p.ClinicID, p.Address, p.Phone, p.Site, p.Hours, p.About, storage.Nanos(p.UpdatedAt))
			return err
		}
		var blob any
		if len(logo) > 0 {
			blob = logo
		}
		_, err = q.ExecContext(ctx, `INSERT INTO identity_clinic_profiles
			(clinic_id, address, phone, site, hours, about, logo_type, logo_version, logo, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (clinic_id) DO UPDATE SET address = excluded.address, phone = excluded.phone,
			site = excluded.site, hours = excluded.hours, about = excluded.about, logo_type = excluded.logo_type,
			logo_version = excluded.logo_version, logo = excluded.logo, updated_at = excluded.updated_at`,
			p.ClinicID, p.Address, p.Phone, p.Site, p.Hours, p.About, p.LogoType, p.LogoVersion, blob, storage.Nanos(p.UpdatedAt))
		return err
	}))
}

func (s *SQLiteStore) Profile(ctx context.Context, clinicID string) (Profile, error) {
	p := Profile{ClinicID: clinicID}
	var at int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT c.name, p.address, p.phone, p.site, p.hours, p.about,
		p.logo_type, p.logo_version, p.updated_at
		FROM identity_clinic_profiles p JOIN identity_clinics c ON c.id = p.clinic_id WHERE p.clinic_id = ?`, clinicID).
		Scan(&p.Name, &p.Address, &p.Phone, &p.Site, &p.Hours, &p.About, &p.LogoType, &p.LogoVersion, &at)
	p.UpdatedAt = storage.FromNanos(at)
	return p, sqlErr(err)
}

func (s *SQLiteStore) Logo(ctx context.Context, clinicID string) (Logo, error) {
	var l Logo
	err := s.db.Reader().QueryRowContext(ctx, `SELECT logo_type, logo, logo_version FROM identity_clinic_profiles
		WHERE clinic_id = ? AND logo_type != ''`, clinicID).Scan(&l.Type, &l.Data, &l.Version)
	return l, sqlErr(err)
}

func (s *SQLiteStore) ClinicCards(ctx context.Context, ids []string) ([]ClinicCard, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT c.id, c.name, coalesce(p.logo_version, 0)
		FROM identity_clinics c LEFT JOIN identity_clinic_profiles p ON p.clinic_id = c.id
		WHERE c.id IN (`+in+`)`, args...)
	if err != nil {
		return nil, sqlErr(err)
	}
	defer rows.Close()
	var out []ClinicCard
	for rows.Next() {
		var c ClinicCard
		if err := rows.Scan(&c.ID, &c.Name, &c.LogoVersion); err != nil {
			return nil, sqlErr(err)
		}
		out = append(out, c)
	}
	return out, sqlErr(rows.Err())
}

func (s *SQLiteStore) InsertJoinCode(ctx context.Context, clinicID, code string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO identity_join_codes (code, clinic_id, created_at) VALUES (?, ?, ?)`,
		code, clinicID, storage.Nanos(at))
}

func (s *SQLiteStore) JoinCode(ctx context.Context, clinicID string) (string, error) {
	var code string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT code FROM identity_join_codes WHERE clinic_id = ?`, clinicID).Scan(&code)
	return code, sqlErr(err)
}

func (s *SQLiteStore) ClinicByJoinCode(ctx context.Context, code string) (string, error) {
	var id string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT clinic_id FROM identity_join_codes WHERE code = ?`, code).Scan(&id)
	return id, sqlErr(err)
}
