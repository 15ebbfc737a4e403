package wallet

import (
	"encoding/json"
	"time"
)

// Entry kinds.
const (
	KindWelcome     = "welcome"
	KindBooking     = "booking"
	KindBirthday    = "birthday"
	KindCashback    = "cashback"
	KindSpend       = "spend"
	KindRefund      = "refund"       // cashback clawed back by a refund
	KindRefundSpend = "refund_spend" // spent points returned by a refund
	KindExpire      = "expire"
	KindAdjustment  = "adjustment"
)

// Entry is one fact of a card's append-only ledger: unique (card, seq) and
// unique (card, key). Amount is signed; BalanceAfter is the balance after
// it; Lots lists every lot it touched with the signed delta (a credit
// creates one lot, which appears with its full amount).
type Entry struct {
	CardID       string          `json:"card_id"`
	Seq          int64           `json:"seq"`
	Key          string          `json:"idempotency_key"`
	Kind         string          `json:"kind"`
	Amount       int64           `json:"amount"`
	BalanceAfter int64           `json:"balance_after"`
	Lots         []LotDelta      `json:"lots"`
	ClinicID     string          `json:"clinic_id"`
	PatientID    string          `json:"patient_id"`
	StaffID      string          `json:"staff_id,omitempty"`
	ReceiptID    string          `json:"receipt_id,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	Details      json.RawMessage `json:"details,omitempty"`
	Created      time.Time       `json:"created_at"`

	// Fingerprint identifies the request that produced the entry; a replay
	// of the key with another fingerprint is ErrIdempotencyConflict.
	Fingerprint string `json:"-"`
	// NewLot is the lot a credit created (also listed in Lots).
	NewLot *Lot `json:"-"`
	// PaidAfter is the card's cumulative paid spend after the entry (the
	// level base).
	PaidAfter int64 `json:"-"`
	// Replayed is set when Commit returned an existing entry for the key.
	Replayed bool `json:"-"`
	// State is the card state after the entry. The Mongo adapter stores it
	// in the entry (the entry is then the whole truth, no transaction
	// needed); the SQLite adapter keeps it in the lots table updated in the
	// same transaction.
	State *State `json:"-"`
}

// LotDelta is one lot touched by an entry.
type LotDelta struct {
	LotID string `json:"lot_id"`
	Delta int64  `json:"delta"`
}

// Lot is a parcel of earned points that burns at BurnsAt. Remaining =
// Points + the deltas of later entries; an open lot has Remaining > 0.
type Lot struct {
	ID        string    `json:"lot_id"`
	CardID    string    `json:"card_id"`
	ClinicID  string    `json:"clinic_id"`
	Kind      string    `json:"kind"`
	Points    int64     `json:"points"`
	Remaining int64     `json:"remaining"`
	BurnsAt   time.Time `json:"burns_at"`
	// WarnAt is when the burn warning is due (program at earning time).
	WarnAt time.Time `json:"warn_at"`
	// Seq is the entry that created the lot.
	Seq int64 `json:"seq"`
}

// State is a card's ledger state at a seq: what a new entry is computed
// from. It is derivable from the entries alone.
type State struct {
	Seq     int64 `json:"seq"`
	Balance int64 `json:"balance"`
	Paid    int64 `json:"paid"`
	// Lots are the open lots (Remaining > 0), soonest-burning first.
	Lots []Lot `json:"lots"`
}

// HistoryPage is GET /v1/cards/{id}/history.
type HistoryPage struct {
	Entries []Entry `json:"entries"`
	// Next is the opaque cursor of the following page ("" at the end).
	Next string `json:"next,omitempty"`
}

// Line is a receipt line: a clinic service code and its amount in minor
// units.
type Line struct {
	Service string `json:"service"`
	Amount  int64  `json:"amount"`
}
