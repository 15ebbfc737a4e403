package wallet

import (
	"context"
	"errors"
	"time"
)

var errTODO = errors.New("wallet: not implemented yet")

// Program returns the clinic's current program (GET /v1/clinic/program).
func (s *Service) Program(ctx context.Context, clinicID string) (*Program, error) {
	return nil, errTODO
}

// PutProgram validates and saves a new program version (PUT).
func (s *Service) PutProgram(ctx context.Context, clinicID, staffID string, p Program) (*Program, error) {
	return nil, errTODO
}

// Join creates the patient's active card at a clinic (POST /v1/me/cards).
func (s *Service) Join(ctx context.Context, patientID, clinicID string) (*CardView, error) {
	return nil, errTODO
}

// MyCards lists the patient's own and dependants' cards (GET /v1/me/cards).
func (s *Service) MyCards(ctx context.Context, patientID string) ([]CardSummary, error) {
	return nil, errTODO
}

// Card is GET /v1/cards/{id} for a patient.
func (s *Service) Card(ctx context.Context, patientID, cardID string) (*CardView, error) {
	return nil, errTODO
}

// History is GET /v1/cards/{id}/history?after= for a patient.
func (s *Service) History(ctx context.Context, patientID, cardID, after string, limit int) (*HistoryPage, error) {
	return nil, errTODO
}

// CardCode is GET /v1/cards/{id}/code.
func (s *Service) CardCode(ctx context.Context, patientID, cardID string) (*CardCode, error) {
	return nil, errTODO
}

// IssueCard is POST /v1/clinic/cards.
func (s *Service) IssueCard(ctx context.Context, req IssueCardRequest) (*IssueCardResult, error) {
	return nil, errTODO
}

// ConfirmCard is POST /v1/clinic/cards/{id}/confirm.
func (s *Service) ConfirmCard(ctx context.Context, clinicID, cardID, code string) (*IssueCardResult, error) {
	return nil, errTODO
}

// StaffCard is a card as staff of its clinic see it.
func (s *Service) StaffCard(ctx context.Context, clinicID, cardID string) (*CardView, error) {
	return nil, errTODO
}

// StaffHistory is a card's history for staff of its clinic.
func (s *Service) StaffHistory(ctx context.Context, clinicID, cardID, after string, limit int) (*HistoryPage, error) {
	return nil, errTODO
}

// LookupCode resolves a QR card code (GET /v1/clinic/cards/lookup?code=).
func (s *Service) LookupCode(ctx context.Context, clinicID, code string) (*CardView, error) {
	return nil, errTODO
}

// LookupPatient lists the clinic's cards in a patient's app (lookup by
// phone, resolved to a patient id by the HTTP layer).
func (s *Service) LookupPatient(ctx context.Context, clinicID, patientID string) ([]CardSummary, error) {
	return nil, errTODO
}

// AddGuardian adds a guardian to the dependant of a card of this clinic.
func (s *Service) AddGuardian(ctx context.Context, clinicID, staffID, cardID, guardianID string) error {
	return errTODO
}

// RecordReceipt is POST /v1/clinic/receipts.
func (s *Service) RecordReceipt(ctx context.Context, req ReceiptRequest) (*ReceiptResult, error) {
	return nil, errTODO
}

// CreateSpend is POST /v1/clinic/spends.
func (s *Service) CreateSpend(ctx context.Context, req SpendRequest) (*SpendResult, error) {
	return nil, errTODO
}

// ConfirmSpend is POST /v1/clinic/spends/{id}/confirm.
func (s *Service) ConfirmSpend(ctx context.Context, clinicID, spendID, code string) (*SpendResult, error) {
	return nil, errTODO
}

// Refund is POST /v1/clinic/receipts/{receipt_id}/refund.
func (s *Service) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	return nil, errTODO
}

// Booking is POST /v1/clinic/bookings.
func (s *Service) Booking(ctx context.Context, req BookingRequest) (*Entry, error) {
	return nil, errTODO
}

// Adjust is a manager's manual adjustment.
func (s *Service) Adjust(ctx context.Context, req AdjustRequest) (*Entry, error) {
	return nil, errTODO
}

// Journal is GET /v1/clinic/reports/journal.
func (s *Service) Journal(ctx context.Context, f JournalFilter) (*JournalPage, error) {
	return nil, errTODO
}

// CardsByStaff is GET /v1/clinic/reports/cards-by-staff.
func (s *Service) CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error) {
	return nil, errTODO
}

// CardsIssued is GET /v1/clinic/reports/cards.
func (s *Service) CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after string, limit int) (*CardsPage, error) {
	return nil, errTODO
}

// Totals is GET /v1/clinic/reports/totals.
func (s *Service) Totals(ctx context.Context, clinicID string, from, to time.Time) (*Totals, error) {
	return nil, errTODO
}

// RunBurn is the burn job: burns expired lots, sends burn warnings and
// credits birthday bonuses. Safe to run on several instances at once.
func (s *Service) RunBurn(ctx context.Context, now time.Time) (*BurnReport, error) {
	return nil, errTODO
}
