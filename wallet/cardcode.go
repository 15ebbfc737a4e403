package wallet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// CardCode is GET /v1/cards/{id}/code: the short rotating code a QR shows.
type CardCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

const cardCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// no 0/O, 1/I

// CardCode is GET /v1/cards/{id}/code: a fresh 8-character code (40 bits
// from crypto/rand, unique) that staff of the card's clinic resolve to the
// card until it expires.
func (s *Service) CardCode(ctx context.Context, patientID, cardID string) (*CardCode, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusActive {
		return nil, fmt.Errorf("wallet: card code: %w", ErrCardNotActive)
	}
	for range 5 {
		var b [8]byte
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return nil, fmt.Errorf("wallet: random code: %w", err)
		}
		for i := range b {
			b[i] = cardCodeAlphabet[b[i]&31]
		}
		rec := &cardCodeRec{Code: string(b[:]), CardID: c.ID, ClinicID: c.ClinicID, ExpiresAt: s.clock().Add(s.qrTTL)}
		err := s.store.InsertCardCode(ctx, rec)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: card code: %w", err)
		}
		return &CardCode{Code: rec.Code, ExpiresAt: rec.ExpiresAt}, nil
	}
	return nil, fmt.Errorf("wallet: card code: %w", ErrConflict)
}

// LookupCode resolves a QR card code for staff of the card's clinic
// (GET /v1/clinic/cards/lookup?code=). Unknown, expired or another
// clinic's codes are ErrNotFound.
func (s *Service) LookupCode(ctx context.Context, clinicID, code string) (*CardView, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != 8 {
		return nil, invalid("code", "must be 8 characters")
	}
	rec, err := s.store.CardCode(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("wallet: card code: %w", err)
	}
	if rec.ClinicID != clinicID || !s.clock().Before(rec.ExpiresAt) {
		return nil, fmt.Errorf("wallet: card code: %w", ErrNotFound)
	}
	return s.StaffCard(ctx, clinicID, rec.CardID)
}

type cardCodeRec struct {
	Code      string
	CardID    string
	ClinicID  string
	ExpiresAt time.Time
}
