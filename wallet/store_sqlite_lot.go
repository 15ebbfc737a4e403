package wallet

import (
	"context"
	"time"

	"carewallet/app/storage"
)

func (s *SQLiteStore) lots(ctx context.Context, q string, args ...any) ([]Lot, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lot
	for rows.Next() {
		var l Lot
		var b, w int64
		if err := rows.Scan(&l.ID, &l.CardID, &l.ClinicID, &l.Kind, &l.Points, &l.Remaining, &b, &w, &l.Seq); err != nil {
			return nil, err
		}
		l.BurnsAt, l.WarnAt = storage.FromNanos(b), storage.FromNanos(w)
		out = append(out, l)
	}
	return out, rows.Err()
}

const lotCols = `id, card_id, clinic_id, kind, points, remaining, burns_at, warn_at, seq`

func (s *SQLiteStore) DueLots(ctx context.Context, before time.Time, limit int) ([]Lot, error) {
	return s.lots(ctx, `SELECT `+lotCols+` FROM wallet_lots WHERE remaining > 0 AND burns_at <= ? ORDER BY burns_at, card_id LIMIT ?`, storage.Nanos(before), limit)
}

func (s *SQLiteStore) WarnLots(ctx context.Context, now time.Time, limit int) ([]Lot, error) {
	return s.lots(ctx, `SELECT `+lotCols+` FROM wallet_lots WHERE remaining > 0 AND warned = 0 AND warn_at <= ? AND burns_at > ?
		ORDER BY card_id, burns_at, id LIMIT ?`, storage.Nanos(now), storage.Nanos(now), limit)
}

func (s *SQLiteStore) MarkWarned(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.exec(ctx, `UPDATE wallet_lots SET warned = 1 WHERE id IN (`+inList(len(ids))+`)`, anys(ids)...)
}

// RepairLots has nothing to repair: lots change in the entry's transaction.
func (s *SQLiteStore) RepairLots(ctx context.Context, olderThan time.Time, limit int) (int, error) {
	return 0, nil
}

// SyncLots is a no-op: the lot rows change in the entry's transaction.
func (s *SQLiteStore) SyncLots(ctx context.Context, cardID string) error { return nil }
