package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"

	"carewallet/app/identity"
	"carewallet/referrals"
	"carewallet/wallet"
)

// demoProgram is the program of the product brief's example.
func demoProgram() wallet.Program {
	fixed, lower := int64(50), int64(300)
	return wallet.Program{
		PointValue: 100,
		Levels: []wallet.Level{{Name: "Base", MinSpend: 0, CashbackBP: 500},
			{Name: "VIP", MinSpend: 15_000_000, CashbackBP: 1000}},
		ServiceOverrides: []wallet.ServiceOverride{{Service: "IMPL-01", CashbackBP: &lower}, {Service: "CHECK-01", Points: &fixed}},
		ExcludedServices: []string{"LAB-01"},
		MaxShareBP:       5000,
		WelcomeBonus:     wallet.Bonus{Points: 500, BurnDays: 30},
		BookingBonus:     wallet.Bonus{Points: 100, BurnDays: 14},
		BirthdayBonus:    wallet.Bonus{Points: 300, BurnDays: 14},
		CashbackBurnDays: 365,
		BurnWarningDays:  14,
	}
}

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
	{"+79990000004", "Dmitry", "Orlov", "1995-07-09"},
}

// demoReferralProgram is the example referral program.
func demoReferralProgram() referrals.ProgramRequest {
	return referrals.ProgramRequest{Enabled: true, RefereeBonus: referrals.Bonus{Points: 300, BurnDays: 60},
		ReferrerBonus: referrals.Points{Points: 100}, Levels: []referrals.Level{{RateBP: 700}, {RateBP: 200}, {RateBP: 100}},
		RewardOn: referrals.RewardFirstPaidVisit, MinPaid: 100_000, RewardBurnDays: 365, StaffRewardBP: 60, MaxRewardedPerMonth: 20}
}

// runDemo fills an empty database with a clinic, a manager, an admin and
// patients, and prints how to sign in. It refuses to touch a database
// that already has a clinic.
func runDemo(ctx context.Context, cfg config, svc *services, stdout io.Writer) error {
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
	manager, err := svc.Identity.StaffByEmail(ctx, demoManagerEmail)
	if err != nil {
		return err
	}
	if _, err := svc.Wallet.PutProgram(ctx, c.ID, manager.ID, demoProgram()); err != nil {
		return err
	}
	var patientIDs []string
	if _, err := svc.Referrals.PutProgram(ctx, c.ID, manager.ID, demoReferralProgram()); err != nil {
		return err
	}
	// A small referral tree: Anna came by herself, Boris joined with
	// Anna's code, Vera with Boris's, Dmitry with Vera's; everyone but
	// Dmitry has had a first paid visit, so Anna, Boris and Vera have
	// referral rewards.
	code := ""
	for i, p := range demoPatients {
		pt, err := svc.Identity.EnsurePatient(ctx, p.phone)
		if err != nil {
			return err
		}
		patientIDs = append(patientIDs, pt.ID)
		first, last, birth := p.first, p.last, p.birth
		if _, err := svc.Identity.UpdateProfile(ctx, pt.ID, identity.ProfileUpdate{FirstName: &first, LastName: &last, BirthDate: &birth}); err != nil {
			return err
		}
		var cardID string
		if code == "" {
			card, err := svc.Wallet.Join(ctx, pt.ID, c.ID)
			if err != nil {
				return err
			}
			cardID = card.ID
		} else {
			res, err := svc.Referrals.Join(ctx, pt.ID, c.ID, code)
			if err != nil {
				return err
			}
			cardID = res.CardID
		}
		own, err := svc.Referrals.CardCode(ctx, pt.ID, cardID)
		if err != nil {
			return err
		}
		code = own.Code
		if i == len(demoPatients)-1 {
			break // Dmitry has not visited yet
		}
		// A paid consultation of 10,000.00 roubles: 5% cashback.
		if _, err := svc.Wallet.RecordReceipt(ctx, wallet.ReceiptRequest{ClinicID: c.ID, StaffID: manager.ID, CardID: cardID,
			ReceiptID: fmt.Sprintf("DEMO-%d", i+1), Lines: []wallet.Line{{Service: "CONS-01", Amount: 1_000_000}}}); err != nil {
			return err
		}
	}
	if _, err := svc.Referrals.RunRewards(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `demo clinic %q created (clinic_id %s), with a loyalty program: 5%% cashback
(10%% from 150,000 roubles of spend), 500 welcome points; each patient has a card with
the welcome bonus and the cashback of one 10,000-rouble visit (1,000 points), except
Dmitry, who has not visited yet; and a referral program (7%%/2%%/1%% on three levels,
100 points to the referrer, 300 to the newcomer) with a small tree:
Anna <- Boris <- Vera <- Dmitry (each joined with the previous one's code)

staff sign-in (POST /v1/staff/login):
  manager    %s / %s
  reception  %s / %s

patients sign in with a phone and a code (POST /v1/auth/otp, then /v1/auth/verify);
with no CAREWALLET_SMS_WEBHOOK the code is written to the server log:
`, c.Name, c.ID, demoManagerEmail, demoManagerPassword, demoAdminEmail, demoAdminPassword)
	for _, p := range demoPatients {
		fmt.Fprintf(stdout, "  %s  %s %s\n", p.phone, p.first, p.last)
	}
	admin, err := svc.Identity.StaffByEmail(ctx, demoAdminEmail)
	if err != nil {
		return err
	}
	if err := demoClinic(ctx, svc, c.ID, admin.ID, stdout); err != nil {
		return err
	}
	if err := demoPolicy(ctx, svc, c.ID, patientIDs, stdout); err != nil {
		return err
	}
	if err := demoNews(ctx, svc, c.ID, manager.ID, patientIDs, stdout); err != nil {
		return err
	}
	if err := demoCare(ctx, svc, c.ID, manager.ID, patientIDs, stdout); err != nil {
		return err
	}
	if err := demoDependant(ctx, svc, c.ID, admin.ID, patientIDs[0], stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nstart the API on this data (from the repository's root):\n  %s\n", serveCommand(cfg))
	fmt.Fprintf(stdout, "then open the clinic console at %s and sign in with a staff account above\n", consoleURL(cfg))
	return nil
}

// consoleURL is where a browser on this machine opens the console that
// the serve command serves.
func consoleURL(cfg config) string {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "http://localhost:8080/console/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/console/"
}

// serveCommand is the shell command that serves the demo's data: its data
// directory as an absolute path (so it works from anywhere in the
// repository), and the listen address when it is not the default.
func serveCommand(cfg config) string {
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		dir = cfg.DataDir
	}
	cmd := "CAREWALLET_DATA=" + shellQuote(dir)
	if cfg.Addr != defaultAddr {
		cmd += " CAREWALLET_ADDR=" + shellQuote(cfg.Addr)
	}
	return cmd + " go run ./cmd/carewallet"
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:+@%,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
