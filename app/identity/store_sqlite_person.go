package identity

import (
	"context"
	"strings"

	"carewallet/app/storage"
)

func (s *SQLiteStore) InsertDependant(ctx context.Context, d Dependant) error {
	return s.exec(ctx, `INSERT INTO identity_dependants (id, first_name, last_name, birth_date, created_at) VALUES (?, ?, ?, ?, ?)`,
		d.ID, d.FirstName, d.LastName, d.BirthDate, storage.Nanos(d.CreatedAt))
}

func (s *SQLiteStore) DependantByID(ctx context.Context, id string) (Dependant, error) {
	var d Dependant
	var at int64
	err := s.db.Reader().QueryRowContext(ctx,
		`SELECT id, first_name, last_name, birth_date, created_at FROM identity_dependants WHERE id = ?`, id).
		Scan(&d.ID, &d.FirstName, &d.LastName, &d.BirthDate, &at)
	d.CreatedAt = storage.FromNanos(at)
	return d, sqlErr(err)
}

// PeopleBornOn reads both tables through their birthday indexes (the
// expression and the condition match the index definitions).
func (s *SQLiteStore) PeopleBornOn(ctx context.Context, mds []string, afterID string, limit int) ([]Person, error) {
	if len(mds) == 0 {
		return nil, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(mds)), ",")
	var args []any
	for range 2 {
		for _, md := range mds {
			args = append(args, md)
		}
		args = append(args, afterID)
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, first_name, last_name, birth_date FROM (
		SELECT id, first_name, last_name, birth_date FROM identity_patients
			WHERE birth_date != '' AND substr(birth_date, 6, 5) IN (`+in+`) AND id > ?
		UNION ALL
		SELECT id, first_name, last_name, birth_date FROM identity_dependants
			WHERE birth_date != '' AND substr(birth_date, 6, 5) IN (`+in+`) AND id > ?)
		ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, sqlErr(err)
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var p Person
		if err := rows.Scan(&p.ID, &p.FirstName, &p.LastName, &p.BirthDate); err != nil {
			return nil, sqlErr(err)
		}
		out = append(out, p)
	}
	return out, sqlErr(rows.Err())
}
