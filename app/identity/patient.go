package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"carewallet/app/text"
)

// EnsurePatient returns the patient with this phone, creating the account
// when there is none (reception may register a patient before their first
// sign-in). phone must already be E.164.
func (s *Service) EnsurePatient(ctx context.Context, phone string) (Patient, error) {
	p, err := s.store.PatientByPhone(ctx, phone)
	if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	p = Patient{ID: NewID("pt"), Phone: phone, CreatedAt: s.now().UTC()}
	err = s.store.InsertPatient(ctx, p)
	if errors.Is(err, ErrDuplicate) {
		return s.store.PatientByPhone(ctx, phone) // a concurrent sign-in created it
	}
	return p, err
}

// PatientByPhone finds a patient by a phone number in any common notation.
func (s *Service) PatientByPhone(ctx context.Context, rawPhone string) (Patient, error) {
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		return Patient{}, err
	}
	return s.store.PatientByPhone(ctx, phone)
}

// Patient returns a patient by id.
func (s *Service) Patient(ctx context.Context, id string) (Patient, error) {
	return s.store.PatientByID(ctx, id)
}

// ProfileUpdate changes the fields that are set.
type ProfileUpdate struct {
	FirstName *string
	LastName  *string
	BirthDate *string // YYYY-MM-DD, or "" to clear
}

// UpdateProfile applies u to the patient's profile.
func (s *Service) UpdateProfile(ctx context.Context, id string, u ProfileUpdate) (Patient, error) {
	p, err := s.store.PatientByID(ctx, id)
	if err != nil {
		return Patient{}, err
	}
	if u.FirstName != nil {
		if p.FirstName, err = cleanName("first_name", *u.FirstName); err != nil {
			return Patient{}, err
		}
	}
	if u.LastName != nil {
		if p.LastName, err = cleanName("last_name", *u.LastName); err != nil {
			return Patient{}, err
		}
	}
	if u.BirthDate != nil {
		if err := ValidateBirthDate(*u.BirthDate, s.now()); err != nil {
			return Patient{}, err
		}
		p.BirthDate = *u.BirthDate
	}
	if err := s.store.UpdatePatientProfile(ctx, p); err != nil {
		return Patient{}, err
	}
	return p, nil
}

func cleanName(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if m := text.Name(v); m != "" {
		return "", invalid(field, m)
	}
	return v, nil
}

// ValidateBirthDate accepts "" or a real YYYY-MM-DD date between 1900 and today.
func ValidateBirthDate(d string, now time.Time) error {
	if d == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return invalid("birth_date", "must be a date as YYYY-MM-DD")
	}
	if t.Year() < 1900 || t.After(now) {
		return invalid("birth_date", "must be between 1900-01-01 and today")
	}
	return nil
}
