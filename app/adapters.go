package app

import (
	"context"
	"encoding/json"
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
	_, err = n.Push.Publish(ctx, patientID, d)
	return err
}
