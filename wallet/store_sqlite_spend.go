package wallet

import (
	"context"
	"encoding/json"
	"time"

	"carewallet/app/storage"
)

func (s *SQLiteStore) InsertChallenge(ctx context.Context, c *Challenge) error {
	return s.exec(ctx, `INSERT INTO wallet_challenges (id, body) VALUES (?, ?)`, c.ID, string(mustJSON(c)))
}

func (s *SQLiteStore) Challenge(ctx context.Context, id string) (*Challenge, error) {
	var c Challenge
	if err := s.body(ctx, &c, `SELECT body FROM wallet_challenges WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *SQLiteStore) InsertAttempt(ctx context.Context, challengeID string, n int) error {
	return s.exec(ctx, `INSERT INTO wallet_attempts (challenge_id, n) VALUES (?, ?)`, challengeID, n)
}

func (s *SQLiteStore) Attempts(ctx context.Context, challengeID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM wallet_attempts WHERE challenge_id = ?`, challengeID).Scan(&n)
	return n, err
}

func (s *SQLiteStore) InsertSpend(ctx context.Context, sp *Spend) error {
	return s.exec(ctx, `INSERT INTO wallet_spends (id, clinic_id, receipt_id, slot, body) VALUES (?, ?, ?, ?, ?)`,
		sp.ID, sp.ClinicID, sp.ReceiptID, sp.Slot, string(mustJSON(sp)))
}

func (s *SQLiteStore) Spend(ctx context.Context, id string) (*Spend, error) {
	var sp Spend
	if err := s.body(ctx, &sp, `SELECT body FROM wallet_spends WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return &sp, nil
}

func (s *SQLiteStore) SpendsByReceipt(ctx context.Context, clinicID, receiptID string) ([]Spend, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM wallet_spends WHERE clinic_id = ? AND receipt_id = ? ORDER BY slot`, clinicID, receiptID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Spend
	for rows.Next() {
		var b string
		var sp Spend
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(b), &sp); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) InsertReceipt(ctx context.Context, r *Receipt) error {
	return s.exec(ctx, `INSERT INTO wallet_receipts (clinic_id, receipt_id, body) VALUES (?, ?, ?)`, r.ClinicID, r.ReceiptID, string(mustJSON(r)))
}

func (s *SQLiteStore) Receipt(ctx context.Context, clinicID, receiptID string) (*Receipt, error) {
	var r Receipt
	if err := s.body(ctx, &r, `SELECT body FROM wallet_receipts WHERE clinic_id = ? AND receipt_id = ?`, clinicID, receiptID); err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *SQLiteStore) InsertReceiptCard(ctx context.Context, clinicID, receiptID, cardID string) error {
	return s.exec(ctx, `INSERT INTO wallet_receipt_cards (clinic_id, receipt_id, card_id) VALUES (?, ?, ?)`, clinicID, receiptID, cardID)
}

func (s *SQLiteStore) ReceiptCard(ctx context.Context, clinicID, receiptID string) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT card_id FROM wallet_receipt_cards WHERE clinic_id = ? AND receipt_id = ?`, clinicID, receiptID).Scan(&id)
	return id, dbErr.Map(err)
}

func (s *SQLiteStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	return s.exec(ctx, `INSERT INTO wallet_slots (key, n, at) VALUES (?, ?, ?)`, key, n, storage.Nanos(at))
}

func (s *SQLiteStore) Slots(ctx context.Context, key string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM wallet_slots WHERE key = ?`, key).Scan(&n)
	return n, err
}
