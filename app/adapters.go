package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"carewallet/app/identity"
	"carewallet/push"
	"carewallet/wallet"
)

// ClinicLocations gives the wallet each clinic's time zone from identity.
type ClinicLocations struct{ Identity *identity.Service }

// Location implements wallet.Clinics.
func (l ClinicLocations) Location(ctx context.Context, clinicID string) (*time.Location, error) {
	return l.Identity.ClinicLocation(ctx, clinicID)
}

// WalletNotifier delivers the wallet's notifications through the push
// package: the durable inbox and websockets always, FCM when there is an
// alert. The notification key makes delivery idempotent per patient.
type WalletNotifier struct{ Push *push.Service }

// Notify implements wallet.Notifier.
func (n WalletNotifier) Notify(ctx context.Context, patientID string, note wallet.Notification) error {
	data, err := json.Marshal(note.Data)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	d := push.Draft{Key: note.Key, Type: note.Type, Data: data}
	if note.AlertTitle != "" {
		d.Alert = &push.Alert{Title: note.AlertTitle, Body: note.AlertBody}
	}
	if d.Clinic, d.Class, err = policyClass(note.Clinic, note.Class); err != nil {
		return err
	}
	_, err = n.Push.Publish(ctx, patientID, d)
	if errors.Is(err, push.ErrSkipped) {
		return nil // the policy skipped it (counted in push): done with
	}
	return err
}

// policyClass maps a domain package's message class name to push's.
func policyClass(clinic, name string) (string, push.Class, error) {
	if name == "" {
		return "", push.ClassService, nil
	}
	c, ok := push.ClassByName(name)
	if !ok {
		return "", 0, fmt.Errorf("unknown message class %q", name)
	}
	return clinic, c, nil
}

// WalletManagers alerts a clinic's active managers through their inbox
// (and app): the same notification, keyed per manager by the inbox.
type WalletManagers struct {
	Identity *identity.Service
	Push     *push.Service
}

// AlertManagers implements wallet.Managers.
func (m WalletManagers) AlertManagers(ctx context.Context, clinicID string, note wallet.Notification) error {
	staff, err := m.Identity.ListStaff(ctx, clinicID)
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range staff {
		if st.Role == identity.RoleManager && !st.Disabled() {
			errs = append(errs, WalletNotifier{Push: m.Push}.Notify(ctx, st.ID, note))
		}
	}
	return errors.Join(errs...)
}

// WalletPeople gives the wallet its card holders' names and birth dates
// from identity, which owns them (patients' and dependants').
type WalletPeople struct{ Identity *identity.Service }

// walletErr turns identity's not-found into the wallet's.
func walletErr(err error) error {
	if errors.Is(err, identity.ErrNotFound) {
		return fmt.Errorf("%w: %w", wallet.ErrNotFound, err)
	}
	return err
}

// Person implements wallet.People.
func (p WalletPeople) Person(ctx context.Context, id string) (wallet.Person, error) {
	x, err := p.Identity.Person(ctx, id)
	return wallet.Person(x), walletErr(err)
}

// AddDependant implements wallet.People.
func (p WalletPeople) AddDependant(ctx context.Context, firstName, lastName, birthDate string) (string, error) {
	d, err := p.Identity.AddDependant(ctx, firstName, lastName, birthDate)
	return d.ID, err
}

// CompleteProfile implements wallet.People.
func (p WalletPeople) CompleteProfile(ctx context.Context, patientID, firstName, lastName, birthDate string) error {
	_, err := p.Identity.CompleteProfile(ctx, patientID, firstName, lastName, birthDate)
	return walletErr(err)
}

// BornOn implements wallet.People.
func (p WalletPeople) BornOn(ctx context.Context, monthDays []string, afterID string, limit int) ([]wallet.Person, error) {
	xs, err := p.Identity.BornOn(ctx, monthDays, afterID, limit)
	out := make([]wallet.Person, len(xs))
	for i, x := range xs {
		out[i] = wallet.Person(x)
	}
	return out, err
}

// ImportDependant implements wallet.People.
func (p WalletPeople) ImportDependant(ctx context.Context, x wallet.Person, created time.Time) error {
	return p.Identity.ImportDependant(ctx, identity.Dependant{ID: x.ID, FirstName: x.FirstName, LastName: x.LastName,
		BirthDate: x.BirthDate, CreatedAt: created})
}
