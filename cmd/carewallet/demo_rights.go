package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"carewallet/wallet"
)

// demoDependant gives the first demo patient (Anna) a child's card that
// she guards: reception issues it, and the code sent to Anna's app
// confirms it, which records her consent (GET /v1/cards/{id}/consents).
func demoDependant(ctx context.Context, svc *services, clinicID, staffID, guardianID string, stdout io.Writer) error {
	res, err := svc.Wallet.IssueCard(ctx, wallet.IssueCardRequest{ClinicID: clinicID, StaffID: staffID, GuardianID: guardianID,
		FirstName: "Sonya", LastName: "Ivanova", BirthDate: "2016-09-01"})
	if err != nil {
		return fmt.Errorf("demo dependant: %w", err)
	}
	if res.Status != wallet.StatusActive {
		code, err := demoCardCode(ctx, svc, guardianID, res.CardID)
		if err != nil {
			return err
		}
		if res, err = svc.Wallet.ConfirmCard(ctx, clinicID, res.CardID, code); err != nil {
			return fmt.Errorf("demo dependant: confirm: %w", err)
		}
	}
	fmt.Fprintf(stdout, `
a dependant: Anna guards her daughter Sonya's card (card_id %s), with her
  consent on record (GET /v1/cards/%s/consents as Anna)
`, res.CardID, res.CardID)
	return nil
}

// demoCardCode reads the card's confirmation code from the guardian's
// inbox, as the app shows it.
func demoCardCode(ctx context.Context, svc *services, userID, cardID string) (string, error) {
	evs, err := svc.Push.Events(ctx, userID, 0, 500)
	if err != nil {
		return "", err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type != wallet.NoteCardCode {
			continue
		}
		var d wallet.CardCodeData
		if err := json.Unmarshal(evs[i].Data, &d); err == nil && d.CardID == cardID && d.Code != "" {
			return d.Code, nil
		}
	}
	return "", errors.New("demo dependant: no confirmation code in the guardian's inbox")
}
