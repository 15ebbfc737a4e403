package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// NewStaff describes a staff member to add.
type NewStaff struct {
	ClinicID string
	Email    string
	Password string
	Name     string
	Role     Role
}

// AddStaff adds a staff member to a clinic.
func (s *Service) AddStaff(ctx context.Context, n NewStaff) (Staff, error) {
	email, err := normalizeEmail(n.Email)
	if err != nil {
		return Staff{}, err
	}
	if !n.Role.Valid() {
		return Staff{}, invalid("role", `must be "admin" or "manager"`)
	}
	if l := len(n.Password); l < minPasswordLen || l > maxPasswordLen {
		return Staff{}, invalid("password", fmt.Sprintf("must be %d to %d bytes", minPasswordLen, maxPasswordLen))
	}
	name := strings.TrimSpace(n.Name)
	if utf8.RuneCountInString(name) > 200 {
		return Staff{}, invalid("name", "must be at most 200 characters")
	}
	if _, err := s.store.Clinic(ctx, n.ClinicID); err != nil {
		return Staff{}, fmt.Errorf("add staff: clinic: %w", err)
	}
	var hash []byte
	err = s.withHashSlot(ctx, func() (err error) {
		hash, err = bcrypt.GenerateFromPassword([]byte(n.Password), s.cost)
		return err
	})
	if err != nil {
		return Staff{}, fmt.Errorf("add staff: %w", err)
	}
	st := Staff{ID: NewID("st"), ClinicID: n.ClinicID, Email: email, Name: name, Role: n.Role,
		PasswordHash: string(hash), CreatedAt: s.now().UTC()}
	if err := s.store.InsertStaff(ctx, st); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return Staff{}, ErrEmailTaken
		}
		return Staff{}, fmt.Errorf("add staff: %w", err)
	}
	return st, nil
}

func normalizeEmail(e string) (string, error) {
	e = strings.ToLower(strings.TrimSpace(e))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", invalid("email", "must be a plain email address")
	}
	return e, nil
}

// ListStaff lists a clinic's staff, oldest first.
func (s *Service) ListStaff(ctx context.Context, clinicID string) ([]Staff, error) {
	return s.store.ListStaff(ctx, clinicID)
}

// StaffByEmail returns a staff member by email.
func (s *Service) StaffByEmail(ctx context.Context, email string) (Staff, error) {
	return s.store.StaffByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
}

// Staff returns a staff member by id.
func (s *Service) Staff(ctx context.Context, id string) (Staff, error) {
	return s.store.StaffByID(ctx, id)
}

// StaffLogin checks an email and password from a client address. Each
// attempt first takes a slot of its (email, address) windows (loginTiers)
// and of the address's own window, by unique insert, so no number of
// concurrent guesses gets more checks than the limits allow; a full
// window is a RateLimitError saying when to try again. The account is
// never locked: the same email from another address is not held back.
// A disabled staff member's right password is refused like a wrong one.
func (s *Service) StaffLogin(ctx context.Context, client, email, password string) (Staff, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	client = ClientKey(client)
	if err := s.take(ctx, ErrClientLimit, hashKey("login:", email, client), "password attempts for one email from one address", loginTiers...); err != nil {
		return Staff{}, err
	}
	if err := s.take(ctx, ErrClientLimit, hashKey("login-client:", client), "staff sign-in attempts from one address", loginsPerClientHour); err != nil {
		return Staff{}, err
	}
	st, err := s.store.StaffByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Staff{}, err
	}
	known := err == nil
	hash := s.dummyHash
	if known {
		hash = []byte(st.PasswordHash)
	}
	match := false
	if len(password) <= maxPasswordLen {
		if err := s.withHashSlot(ctx, func() error {
			match = bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
			return nil
		}); err != nil {
			return Staff{}, err
		}
	}
	if !match || !known || st.Disabled() {
		return Staff{}, ErrBadCredentials
	}
	return st, nil
}

// SetStaffRole changes the role of a staff member of clinicID; it applies
// to their next request (the role is read from the record each time).
// by, the manager making the change, cannot change their own role.
func (s *Service) SetStaffRole(ctx context.Context, clinicID, by, id string, role Role) (Staff, error) {
	if !role.Valid() {
		return Staff{}, invalid("role", `must be "admin" or "manager"`)
	}
	st, err := s.clinicStaff(ctx, clinicID, by, id)
	if err != nil {
		return Staff{}, err
	}
	if err := s.store.SetStaffRole(ctx, id, role); err != nil {
		return Staff{}, err
	}
	st.Role = role
	return st, nil
}

// DisableStaff disables a staff member of clinicID: they cannot sign in
// again, and every session of theirs is revoked at once. by, the manager
// doing it, cannot disable themselves. Disabling twice is a no-op.
func (s *Service) DisableStaff(ctx context.Context, clinicID, by, id string) error {
	if _, err := s.clinicStaff(ctx, clinicID, by, id); err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.store.DisableStaff(ctx, id, now); err != nil {
		return err
	}
	return s.store.RevokeSubjectSessions(ctx, id, now)
}

// clinicStaff returns staff member id if they work at clinicID and are
// not by; another clinic's staff are ErrNotFound.
func (s *Service) clinicStaff(ctx context.Context, clinicID, by, id string) (Staff, error) {
	if id == by {
		return Staff{}, invalid("id", "you cannot change or disable your own account; ask another manager")
	}
	st, err := s.store.StaffByID(ctx, id)
	if err != nil {
		return Staff{}, err
	}
	if st.ClinicID != clinicID {
		return Staff{}, ErrNotFound
	}
	return st, nil
}
