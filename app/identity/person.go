package identity

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Dependant is a person in a patient's care (a child) without an account
// of their own. Identity owns their names and birth date, as it owns a
// patient's; the wallet keeps only the dependant's id (on their cards and
// guardianships).
type Dependant struct {
	ID        string
	FirstName string
	LastName  string
	BirthDate string // YYYY-MM-DD
	CreatedAt time.Time
}

// Person is a patient or a dependant as other packages see them: whose
// card it is, what to call them, when their birthday is. Patient ids
// start with "pt_", dependant ids with "dp_".
type Person struct {
	ID        string
	FirstName string
	LastName  string
	BirthDate string // YYYY-MM-DD, or "" when not given
}

// dependantPrefix starts every dependant id (identity's and those the
// wallet created before identity owned dependants).
const dependantPrefix = "dp_"

// AddDependant records a new dependant; names and birth date are required.
func (s *Service) AddDependant(ctx context.Context, firstName, lastName, birthDate string) (Dependant, error) {
	d := Dependant{ID: NewID(strings.TrimSuffix(dependantPrefix, "_")), BirthDate: birthDate, CreatedAt: s.now().UTC()}
	if err := s.cleanPerson(&d.FirstName, &d.LastName, firstName, lastName, birthDate); err != nil {
		return Dependant{}, err
	}
	return d, s.store.InsertDependant(ctx, d)
}

// ImportDependant records a dependant under the id it already has (data
// written when the wallet kept dependants); importing one twice is a no-op.
func (s *Service) ImportDependant(ctx context.Context, d Dependant) error {
	if !strings.HasPrefix(d.ID, dependantPrefix) {
		return invalid("dependant_id", "must start with "+dependantPrefix)
	}
	d.FirstName, d.LastName = strings.TrimSpace(d.FirstName), strings.TrimSpace(d.LastName)
	d.CreatedAt = d.CreatedAt.UTC()
	if err := s.store.InsertDependant(ctx, d); err != nil && !errors.Is(err, ErrDuplicate) {
		return err
	}
	return nil
}

// Person returns the names and birth date of a patient or a dependant.
func (s *Service) Person(ctx context.Context, id string) (Person, error) {
	if strings.HasPrefix(id, dependantPrefix) {
		d, err := s.store.DependantByID(ctx, id)
		return Person{ID: d.ID, FirstName: d.FirstName, LastName: d.LastName, BirthDate: d.BirthDate}, err
	}
	p, err := s.store.PatientByID(ctx, id)
	return Person{ID: p.ID, FirstName: p.FirstName, LastName: p.LastName, BirthDate: p.BirthDate}, err
}

// BornOn lists the patients and dependants born on one of the month-days
// ("MM-DD"), ordered by id, after afterID: the birthday job's candidates.
func (s *Service) BornOn(ctx context.Context, monthDays []string, afterID string, limit int) ([]Person, error) {
	return s.store.PeopleBornOn(ctx, monthDays, afterID, limit)
}

// CompleteProfile sets those of the patient's names and birth date that
// are empty to the given ones (what reception entered when issuing a
// card); what the patient entered themself is never overwritten.
func (s *Service) CompleteProfile(ctx context.Context, patientID, firstName, lastName, birthDate string) (Patient, error) {
	var u ProfileUpdate
	p, err := s.store.PatientByID(ctx, patientID)
	if err != nil {
		return Patient{}, err
	}
	if p.FirstName == "" && strings.TrimSpace(firstName) != "" {
		u.FirstName = &firstName
	}
	if p.LastName == "" && strings.TrimSpace(lastName) != "" {
		u.LastName = &lastName
	}
	if p.BirthDate == "" && birthDate != "" {
		u.BirthDate = &birthDate
	}
	if u == (ProfileUpdate{}) {
		return p, nil
	}
	return s.UpdateProfile(ctx, patientID, u)
}

// cleanPerson validates a dependant's names and birth date (all required),
// trimming the names into first and last.
func (s *Service) cleanPerson(first, last *string, firstName, lastName, birthDate string) error {
	var err error
	if *first, err = cleanName("first_name", firstName); err != nil {
		return err
	}
	if *last, err = cleanName("last_name", lastName); err != nil {
		return err
	}
	for _, f := range [][2]string{{"first_name", *first}, {"last_name", *last}, {"birth_date", birthDate}} {
		if f[1] == "" {
			return invalid(f[0], "required")
		}
	}
	return ValidateBirthDate(birthDate, s.now())
}
