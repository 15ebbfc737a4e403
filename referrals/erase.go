package referrals

import (
	"context"
	"fmt"
)

// Eraser is what deleting a patient needs from a store: the devices the
// patient was seen on (the fraud check's personal data) removed, and the
// patient's referral facts listed for the data export. The links
// themselves stay: they hold ids only, and the clinics' reports and
// rewards rest on them.
type Eraser interface {
	DeletePatientDevices(ctx context.Context, patientID string) error
	// PatientLinks lists the links where the patient is the referee or
	// the direct referrer, oldest first.
	PatientLinks(ctx context.Context, patientID string) ([]Link, error)
}

// ErasePatient removes the referral personal data of a deleted patient.
func (s *Service) ErasePatient(ctx context.Context, patientID string) error {
	e, ok := s.store.(Eraser)
	if !ok {
		return fmt.Errorf("referrals: erase: the store cannot erase")
	}
	if err := e.DeletePatientDevices(ctx, patientID); err != nil {
		return fmt.Errorf("referrals: erase: %w", err)
	}
	return nil
}

// PatientLinks lists the patient's referral facts (the data export).
func (s *Service) PatientLinks(ctx context.Context, patientID string) ([]Link, error) {
	e, ok := s.store.(Eraser)
	if !ok {
		return nil, fmt.Errorf("referrals: links: the store cannot list them")
	}
	ls, err := e.PatientLinks(ctx, patientID)
	if ls == nil {
		ls = []Link{}
	}
	return ls, err
}
