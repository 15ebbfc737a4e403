package wallet

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JournalFilter filters GET /v1/clinic/reports/journal. Zero fields do not
// filter; From is inclusive, To exclusive.
type JournalFilter struct {
	ClinicID  string    `json:"-"`
	PatientID string    `json:"patient_id,omitempty"`
	Kind      string    `json:"operation,omitempty"`
	Reason    string    `json:"reason,omitempty"` // substring of the adjustment reason
	From      time.Time `json:"from,omitempty"`
	To        time.Time `json:"to,omitempty"`
	After     string    `json:"after,omitempty"`
	Limit     int       `json:"limit,omitempty"` // see pageSize
}

// JournalPage is one page of the journal.
type JournalPage struct {
	Rows []Entry `json:"rows"`
	Next string  `json:"next,omitempty"`
}

// StaffCards is one row of /reports/cards-by-staff.
type StaffCards struct {
	StaffID string `json:"staff_id"`
	Cards   int64  `json:"cards"`
}

// CardsPage is one page of /reports/cards.
type CardsPage struct {
	Rows []Card `json:"rows"`
	Next string `json:"next,omitempty"`
}

// Totals is /reports/totals over a date range: Issued counts every credit
// (welcome, booking, birthday, cashback, positive adjustments, returned
// refunds), Spent the spends, Burned the expiries, Reversed the cashback
// refunds and negative adjustments; Outstanding is the balance of all
// cards at To (the sum of every entry before To).
type Totals struct {
	Issued   int64 `json:"issued"`
	Spent    int64 `json:"spent"`
	Burned   int64 `json:"burned"`
	Reversed int64 `json:"reversed"`
	// Forfeited is what deleted patients' cards gave up (forfeit.go).
	Forfeited   int64            `json:"forfeited"`
	Outstanding int64            `json:"outstanding"`
	ByKind      map[string]int64 `json:"by_kind"`
	// Unconfirmed is the cards registered at reception that the patient
	// has not confirmed in the app yet, and their points now.
	Unconfirmed *UnconfirmedTotals `json:"unconfirmed"`
}

func encodeCursor(t time.Time, id string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixNano(), 10) + "|" + id + "|" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(s string) (time.Time, string, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", 0, invalid("after", "not a cursor")
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 {
		return time.Time{}, "", 0, invalid("after", "not a cursor")
	}
	ns, err1 := strconv.ParseInt(parts[0], 10, 64)
	seq, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, "", 0, invalid("after", "not a cursor")
	}
	return time.Unix(0, ns).UTC(), parts[1], seq, nil
}

// Journal is GET /v1/clinic/reports/journal: the clinic's entries in
// (created_at, card, seq) order, filtered by patient (their own and
// dependants' cards), operation kind, reason and date range, paged with an
// opaque cursor.
func (s *Service) Journal(ctx context.Context, f JournalFilter) (*JournalPage, error) {
	if f.ClinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	if f.Kind != "" && !slices.Contains(Kinds, f.Kind) {
		return nil, invalid("operation", "unknown operation %q", f.Kind)
	}
	limit, err := pageSize(f.Limit)
	if err != nil {
		return nil, err
	}
	var cur journalCursor
	if f.After != "" {
		t, id, seq, err := decodeCursor(f.After)
		if err != nil {
			return nil, err
		}
		cur = journalCursor{Created: t, CardID: id, Seq: seq}
	}
	var cards []string
	if f.PatientID != "" {
		cs, err := s.LookupPatient(ctx, f.ClinicID, f.PatientID)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			cards = append(cards, c.ID)
		}
		if len(cards) == 0 {
			return &JournalPage{Rows: []Entry{}}, nil
		}
	}
	rows, err := s.store.Journal(ctx, f, cards, cur, limit+1)
	if err != nil {
		return nil, fmt.Errorf("wallet: journal: %w", err)
	}
	page := &JournalPage{Rows: rows}
	if len(rows) > limit {
		page.Rows = rows[:limit]
		last := rows[limit-1]
		page.Next = encodeCursor(last.Created, last.CardID, last.Seq)
	}
	if page.Rows == nil {
		page.Rows = []Entry{}
	}
	return page, nil
}

// CardsByStaff is GET /v1/clinic/reports/cards-by-staff: cards issued by
// each staff member in [from, to) (zero bounds: open). An unconfirmed
// card counts once the patient confirms it: the enrolment is credited
// then.
func (s *Service) CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	rows, err := s.store.CardsByStaff(ctx, clinicID, from, to)
	if err != nil {
		return nil, fmt.Errorf("wallet: cards by staff: %w", err)
	}
	if rows == nil {
		rows = []StaffCards{}
	}
	return rows, nil
}

// CardsIssued is GET /v1/clinic/reports/cards: cards created in [from,
// to), oldest first, paged.
func (s *Service) CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after string, limit int) (*CardsPage, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	var cur cardCursor
	if after != "" {
		t, id, _, err := decodeCursor(after)
		if err != nil {
			return nil, err
		}
		cur = cardCursor{Created: t, ID: id}
	}
	limit, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.CardsIssued(ctx, clinicID, from, to, cur, limit+1)
	if err != nil {
		return nil, fmt.Errorf("wallet: cards issued: %w", err)
	}
	page := &CardsPage{Rows: rows}
	if len(rows) > limit {
		page.Rows = rows[:limit]
		last := rows[limit-1]
		page.Next = encodeCursor(last.Created, last.ID, 0)
	}
	if page.Rows == nil {
		page.Rows = []Card{}
	}
	if err := s.withHolders(ctx, page.Rows); err != nil {
		return nil, err
	}
	return page, nil
}

// Totals is GET /v1/clinic/reports/totals over [from, to).
func (s *Service) Totals(ctx context.Context, clinicID string, from, to time.Time) (*Totals, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	sums, err := s.store.SumByKind(ctx, clinicID, from, to)
	if err != nil {
		return nil, fmt.Errorf("wallet: totals: %w", err)
	}
	all, err := s.store.SumByKind(ctx, clinicID, time.Time{}, to)
	if err != nil {
		return nil, fmt.Errorf("wallet: totals: %w", err)
	}
	t := &Totals{ByKind: map[string]int64{}}
	for k, v := range sums {
		kind, neg := strings.CutSuffix(k, "-")
		t.ByKind[kind] += v
		switch {
		case kind == KindSpend:
			t.Spent -= v
		case kind == KindExpire:
			t.Burned -= v
		case kind == KindForfeit:
			t.Forfeited -= v
		case neg:
			t.Reversed -= v
		default:
			t.Issued += v
		}
	}
	for _, v := range all {
		t.Outstanding += v
	}
	if t.Unconfirmed, err = s.unconfirmedTotals(ctx, clinicID); err != nil {
		return nil, err
	}
	return t, nil
}

// journalCursor orders the journal by (created, card, seq).
type journalCursor struct {
	Created time.Time
	CardID  string
	Seq     int64
}

// cardCursor orders cards by (created, id).
type cardCursor struct {
	Created time.Time
	ID      string
}
