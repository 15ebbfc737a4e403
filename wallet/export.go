package wallet

import (
	"context"
	"fmt"
)

// PatientCardsAt lists a patient's own cards at a clinic, with their
// balances (the staff export of a patient's data, GET
// /v1/clinic/patients/{id}/export). ErrNotFound when there is none: staff
// reach only their clinic's patients.
func (s *Service) PatientCardsAt(ctx context.Context, clinicID, patientID string) ([]CardView, error) {
	if clinicID == "" || patientID == "" {
		return nil, fmt.Errorf("wallet: patient %s: %w", patientID, ErrNotFound)
	}
	cards, err := s.store.CardsByHolder(ctx, clinicID, Holder{Kind: HolderSelf, PatientID: patientID}.key())
	if err != nil {
		return nil, fmt.Errorf("wallet: cards of holder: %w", err)
	}
	if len(cards) == 0 {
		return nil, fmt.Errorf("wallet: patient %s at this clinic: %w", patientID, ErrNotFound)
	}
	out := make([]CardView, 0, len(cards))
	for i := range cards {
		v, err := s.StaffCard(ctx, clinicID, cards[i].ID)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}
