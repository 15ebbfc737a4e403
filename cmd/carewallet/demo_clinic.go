package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"carewallet/app/identity"
	"carewallet/wallet"
)

// demoUnconfirmed is the patient reception registered without the app.
var demoUnconfirmed = struct{ phone, first, last string }{"+79990000005", "Elena", "Egorova"}

// demoClinic gives the demo clinic its public profile (with a generated
// logo) and its join code, and registers an unconfirmed card at
// reception for a patient who has not installed the app: one 10,000-rouble
// visit has earned 500 points on it, to be spent once she confirms it.
func demoClinic(ctx context.Context, svc *services, clinicID, adminID string, stdout io.Writer) error {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: 0x1e, G: uint8(0x88 + y), B: 0xe5, A: 0xff})
		}
	}
	var logo bytes.Buffer
	if err := png.Encode(&logo, img); err != nil {
		return err
	}
	if _, err := svc.Identity.SetProfile(ctx, clinicID, identity.ProfileEdit{Name: "Smile Dental (demo)",
		Address: "Moscow, Tverskaya 1", Phone: "+74950000000", Site: "https://smile.example",
		Hours: "Mon–Fri 9:00–21:00\nSat 10:00–18:00", About: "Family dentistry: check-ups, hygiene, implants.",
		Logo: logo.Bytes()}); err != nil {
		return err
	}
	code, err := svc.Identity.JoinCode(ctx, clinicID)
	if err != nil {
		return err
	}
	pt, err := svc.Identity.EnsurePatient(ctx, demoUnconfirmed.phone)
	if err != nil {
		return err
	}
	res, err := svc.Wallet.IssueCard(ctx, wallet.IssueCardRequest{ClinicID: clinicID, StaffID: adminID, PatientID: pt.ID,
		FirstName: demoUnconfirmed.first, LastName: demoUnconfirmed.last, Unconfirmed: true})
	if err != nil {
		return err
	}
	if _, err := svc.Wallet.RecordReceipt(ctx, wallet.ReceiptRequest{ClinicID: clinicID, StaffID: adminID, CardID: res.CardID,
		ReceiptID: "DEMO-UNCONFIRMED-1", Lines: []wallet.Line{{Service: "CONS-01", Amount: 1_000_000}}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
the clinic's public profile and logo are set (GET /v1/clinics/%s); its join code is %s
(page /j/%s); reception registered an unconfirmed card for %s %s (%s), who has
not installed the app: 500 points earned, spendable once she signs in and confirms it
(POST /v1/me/cards/%s/confirm)
`, clinicID, code, code, demoUnconfirmed.first, demoUnconfirmed.last, demoUnconfirmed.phone, res.CardID)
	return nil
}
