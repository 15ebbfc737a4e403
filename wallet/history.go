package wallet

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// History is GET /v1/cards/{id}/history?after= for a patient: entries in
// ledger order, each explaining itself.
func (s *Service) History(ctx context.Context, patientID, cardID, after string, limit int) (*HistoryPage, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.history(ctx, c, after, limit)
}

// StaffHistory is a card's history for staff of its clinic.
func (s *Service) StaffHistory(ctx context.Context, clinicID, cardID, after string, limit int) (*HistoryPage, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	return s.history(ctx, c, after, limit)
}

func (s *Service) history(ctx context.Context, c *Card, after string, limit int) (*HistoryPage, error) {
	var seq int64
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || !strings.HasPrefix(string(b), "s:") {
			return nil, invalid("after", "not a cursor")
		}
		seq, err = strconv.ParseInt(string(b[2:]), 10, 64)
		if err != nil || seq < 0 {
			return nil, invalid("after", "not a cursor")
		}
	}
	limit, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	es, err := s.store.Entries(ctx, c.ID, seq, limit+1)
	if err != nil {
		return nil, fmt.Errorf("wallet: history: %w", err)
	}
	page := &HistoryPage{Entries: es}
	if len(es) > limit {
		page.Entries = es[:limit]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte("s:" + strconv.FormatInt(es[limit-1].Seq, 10)))
	}
	if page.Entries == nil {
		page.Entries = []Entry{}
	}
	return page, nil
}

// HistoryPage is GET /v1/cards/{id}/history.
type HistoryPage struct {
	Entries []Entry `json:"entries"`
	// Next is the opaque cursor of the following page ("" at the end).
	Next string `json:"next,omitempty"`
}
