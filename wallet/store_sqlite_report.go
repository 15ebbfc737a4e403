package wallet

import (
	"context"
	"strings"
	"time"

	"carewallet/app/storage"
)

func timeRange(col string, from, to time.Time, where []string, args []any) ([]string, []any) {
	if !from.IsZero() {
		where, args = append(where, col+" >= ?"), append(args, storage.Nanos(from))
	}
	if !to.IsZero() {
		where, args = append(where, col+" < ?"), append(args, storage.Nanos(to))
	}
	return where, args
}

func (s *SQLiteStore) Journal(ctx context.Context, f JournalFilter, cards []string, after journalCursor, limit int) ([]Entry, error) {
	where, args := []string{"clinic_id = ?"}, []any{f.ClinicID}
	if len(cards) > 0 {
		where, args = append(where, "card_id IN ("+inList(len(cards))+")"), append(args, anys(cards)...)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Reason != "" {
		where, args = append(where, "instr(lower(reason), lower(?)) > 0"), append(args, f.Reason)
	}
	where, args = timeRange("created", f.From, f.To, where, args)
	if !after.Created.IsZero() {
		where, args = append(where, "(created, card_id, seq) > (?, ?, ?)"), append(args, storage.Nanos(after.Created), after.CardID, after.Seq)
	}
	args = append(args, limit)
	return entries(ctx, s.r, `SELECT `+entryCols+` FROM wallet_entries WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created, card_id, seq LIMIT ?`, args...)
}

func (s *SQLiteStore) CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after cardCursor, limit int) ([]Card, error) {
	where, args := timeRange("created", from, to, []string{"clinic_id = ?"}, []any{clinicID})
	if !after.Created.IsZero() {
		where, args = append(where, "(created, id) > (?, ?)"), append(args, storage.Nanos(after.Created), after.ID)
	}
	args = append(args, limit)
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE `+strings.Join(where, " AND ")+` ORDER BY created, id LIMIT ?`, args...)
}

func (s *SQLiteStore) CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error) {
	where, args := timeRange("created", from, to, []string{"clinic_id = ?", "issued_by != ''", "status != 'unconfirmed'"}, []any{clinicID})
	rows, err := s.r.QueryContext(ctx, `SELECT issued_by, count(*) FROM wallet_cards WHERE `+strings.Join(where, " AND ")+
		` GROUP BY issued_by ORDER BY issued_by`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StaffCards
	for rows.Next() {
		var r StaffCards
		if err := rows.Scan(&r.StaffID, &r.Cards); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) SumByKind(ctx context.Context, clinicID string, from, to time.Time) (map[string]int64, error) {
	where, args := timeRange("created", from, to, []string{"clinic_id = ?"}, []any{clinicID})
	rows, err := s.r.QueryContext(ctx, `SELECT kind, amount < 0, sum(amount) FROM wallet_entries WHERE `+
		strings.Join(where, " AND ")+` GROUP BY kind, amount < 0`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var neg bool
		var sum int64
		if err := rows.Scan(&k, &neg, &sum); err != nil {
			return nil, err
		}
		if neg {
			k += "-"
		}
		out[k] += sum
	}
	return out, rows.Err()
}
