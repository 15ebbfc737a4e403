package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ConsentTextVersion names the text of the consent a guardian gives when
// a dependant's card is issued to them or they are added as a guardian
// (152-FZ art. 9: a legal representative consents to processing the
// dependant's data). A new text gets a new version; a consent records the
// version the guardian agreed to.
const ConsentTextVersion = "2026-12-01"

// ConsentText is the text of ConsentTextVersion, in Russian and English.
const ConsentText = "Я, законный представитель, даю согласие клинике на обработку персональных данных моего ребёнка " +
	"для участия в программе лояльности. / As the legal representative, I consent to the clinic processing my " +
	"child's personal data for the loyalty program."

// Consent is a guardian's consent to a clinic processing a dependant's
// data: unique (clinic, dependant, guardian, text version), so issuing or
// granting again records nothing new. ClosedAt is set when it ends (the
// dependant took the card over, or the guardian's account was deleted).
type Consent struct {
	ID          string     `json:"consent_id" api:"required"`
	ClinicID    string     `json:"clinic_id" api:"required"`
	DependantID string     `json:"dependant_id" api:"required"`
	GuardianID  string     `json:"guardian_id" api:"required"`
	TextVersion string     `json:"text_version" api:"required"`
	Created     time.Time  `json:"given_at" api:"required"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
}

// ConsentStore keeps consents: unique id = (clinic, dependant, guardian,
// version).
type ConsentStore interface {
	InsertConsent(ctx context.Context, c *Consent) error
	// Consents lists a dependant's consents at a clinic, oldest first.
	Consents(ctx context.Context, clinicID, dependantID string) ([]Consent, error)
	// ConsentsBy lists the consents a guardian gave, oldest first.
	ConsentsBy(ctx context.Context, guardianID string) ([]Consent, error)
	// CloseConsent sets closed_at once (a closed consent keeps its time).
	CloseConsent(ctx context.Context, id string, at time.Time) error
}

func consentID(clinicID, dependantID, guardianID string) string {
	return "cs:" + clinicID + ":" + dependantID + ":" + guardianID + ":" + ConsentTextVersion
}

// recordConsent records the guardian's consent for the card's dependant
// at the card's clinic (idempotent).
func (s *Service) recordConsent(ctx context.Context, c *Card, guardianID string) error {
	cs := &Consent{ID: consentID(c.ClinicID, c.Holder.DependantID, guardianID), ClinicID: c.ClinicID,
		DependantID: c.Holder.DependantID, GuardianID: guardianID, TextVersion: ConsentTextVersion, Created: s.clock()}
	if err := s.store.InsertConsent(ctx, cs); err != nil && !errors.Is(err, errDuplicate) {
		return fmt.Errorf("wallet: consent: %w", err)
	}
	return nil
}

// CardConsents is GET /v1/cards/{id}/consents: the consents given for the
// dependant whose card this is, at its clinic (a guardian of the card).
func (s *Service) CardConsents(ctx context.Context, patientID, cardID string) ([]Consent, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.consentsOf(ctx, c)
}

// StaffConsents is GET /v1/clinic/cards/{id}/consents.
func (s *Service) StaffConsents(ctx context.Context, clinicID, cardID string) ([]Consent, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	return s.consentsOf(ctx, c)
}

func (s *Service) consentsOf(ctx context.Context, c *Card) ([]Consent, error) {
	dep := c.Holder.DependantID
	if dep == "" {
		// A card handed over keeps its consents under the former dependant.
		h, err := s.handoverOfCard(ctx, c.ID)
		if err != nil || h == nil {
			return []Consent{}, err
		}
		dep = h.DependantID
	}
	out, err := s.store.Consents(ctx, c.ClinicID, dep)
	if err != nil {
		return nil, fmt.Errorf("wallet: consents: %w", err)
	}
	if out == nil {
		out = []Consent{}
	}
	return out, nil
}

// GuardianConsents lists the consents a guardian gave (the data export).
func (s *Service) GuardianConsents(ctx context.Context, guardianID string) ([]Consent, error) {
	out, err := s.store.ConsentsBy(ctx, guardianID)
	if err != nil {
		return nil, fmt.Errorf("wallet: consents: %w", err)
	}
	if out == nil {
		out = []Consent{}
	}
	return out, nil
}
