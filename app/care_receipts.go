package app

import (
	"context"
	"errors"

	"carewallet/news/care"
	"carewallet/wallet"
)

// receiptVisitPrefix names the visit care records for a paid receipt:
// "receipt:{receipt_id}" among the clinic's appointments.
const receiptVisitPrefix = "receipt:"

// receiptVisit records a paid receipt as a done visit in care, so the
// patient is asked to rate it (and gets the services' after-visit texts)
// even when the clinic's scheduling system sends no appointments. A
// receipt the clinic's system also sent as an appointment is one more
// done visit that day: care sends each scenario once per patient, clinic
// and day, so nothing goes twice. Idempotent: a replayed receipt finds its
// visit and changes nothing.
func (s *server) receiptVisit(ctx context.Context, clinicID, staffID string, req wallet.ReceiptRequest, res *wallet.ReceiptResult) error {
	if s.Care == nil || res == nil || res.ReceiptID == "" {
		return nil
	}
	ext := receiptVisitPrefix + res.ReceiptID
	if _, err := s.Care.AppointmentOf(ctx, clinicID, ext); err == nil {
		return nil // recorded by the first try of this receipt
	} else if !errors.Is(err, care.ErrNotFound) {
		return err
	}
	card, err := s.Wallet.StaffCard(ctx, clinicID, res.CardID)
	if err != nil {
		return err
	}
	at := s.Now()
	if res.Entry != nil {
		at = res.Entry.Created
	}
	services := make([]string, 0, len(req.Lines))
	seen := map[string]bool{}
	for _, l := range req.Lines {
		if l.Service != "" && !seen[l.Service] && len(services) < care.MaxServices {
			seen[l.Service] = true
			services = append(services, l.Service)
		}
	}
	u := care.Upsert{ClinicID: clinicID, ExternalID: ext, CardID: card.ID, PatientID: card.PatientID, StaffID: staffID,
		AppointmentRequest: care.AppointmentRequest{StartsAt: at, Status: care.StatusDone, Services: services, Source: "receipt"}}
	if err := care.CheckAppointment(ext, &u.AppointmentRequest); err != nil {
		// A receipt id or service code care cannot take as a visit (the
		// wallet's rules are wider): the receipt stands, without a visit.
		s.Logger.Warn("care: receipt not recorded as a visit", "reason", err.Error())
		return nil
	}
	_, _, err = s.Care.PutAppointment(ctx, u)
	return err
}
