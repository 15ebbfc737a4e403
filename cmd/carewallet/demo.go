package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"carewallet/app/identity"
)

// Demo accounts. The passwords are public: the demo is for a laptop.
const (
	demoManagerEmail    = "manager@demo.test"
	demoManagerPassword = "demo-manager-pass"
	demoAdminEmail      = "reception@demo.test"
	demoAdminPassword   = "demo-reception-pass"
)

var demoPatients = []struct{ phone, first, last, birth string }{
	{"+79990000001", "Anna", "Ivanova", "1990-05-17"},
	{"+79990000002", "Boris", "Petrov", "1984-11-02"},
	{"+79990000003", "Vera", "Sidorova", "2001-01-30"},
}

// runDemo fills an empty database with a clinic, a manager, an admin and
// patients, and prints how to sign in. It refuses to touch a database
// that already has a clinic.
func runDemo(ctx context.Context, svc *services, stdout io.Writer) error {
	any, err := svc.Identity.AnyClinic(ctx)
	if err != nil {
		return err
	}
	if any {
		return errors.New("demo: the data directory is not empty; point CAREWALLET_DATA at an empty directory")
	}
	c, err := svc.Identity.CreateClinic(ctx, "Smile Dental (demo)", "Europe/Moscow")
	if err != nil {
		return err
	}
	for _, s := range []identity.NewStaff{
		{ClinicID: c.ID, Email: demoManagerEmail, Password: demoManagerPassword, Name: "Maria Manager", Role: identity.RoleManager},
		{ClinicID: c.ID, Email: demoAdminEmail, Password: demoAdminPassword, Name: "Roman Reception", Role: identity.RoleAdmin},
	} {
		if _, err := svc.Identity.AddStaff(ctx, s); err != nil {
			return err
		}
	}
	for _, p := range demoPatients {
		pt, err := svc.Identity.EnsurePatient(ctx, p.phone)
		if err != nil {
			return err
		}
		first, last, birth := p.first, p.last, p.birth
		if _, err := svc.Identity.UpdateProfile(ctx, pt.ID, identity.ProfileUpdate{FirstName: &first, LastName: &last, BirthDate: &birth}); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, `demo clinic %q created (clinic_id %s)

staff sign-in (POST /v1/staff/login):
  manager    %s / %s
  reception  %s / %s

patients sign in with a phone and a code (POST /v1/auth/otp, then /v1/auth/verify);
with no CAREWALLET_SMS_WEBHOOK the code is written to the server log:
`, c.Name, c.ID, demoManagerEmail, demoManagerPassword, demoAdminEmail, demoAdminPassword)
	for _, p := range demoPatients {
		fmt.Fprintf(stdout, "  %s  %s %s\n", p.phone, p.first, p.last)
	}
	fmt.Fprintln(stdout, "\nstart the API with: go run ./cmd/carewallet")
	return nil
}
