package wallet

import "time"

// Requests carry `json:"-"` on the fields the HTTP layer fills from the
// caller's identity (clinic, staff) or from path parameters, so a request
// body can never set them.

// IssueCardRequest is POST /v1/clinic/cards. The HTTP layer resolves
// "phone" to PatientID (a card for the patient themself) or
// "guardian_phone" to GuardianID (a dependant's card, held by that
// guardian; with several guardians, reception chooses by the phone it
// enters). Exactly one of PatientID and GuardianID is set.
type IssueCardRequest struct {
	ClinicID   string `json:"-"`
	StaffID    string `json:"-"`
	PatientID  string `json:"-"`
	GuardianID string `json:"-"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	BirthDate  string `json:"birth_date"` // YYYY-MM-DD
}

// IssueCardResult is the answer of IssueCard and ConfirmCard.
type IssueCardResult struct {
	CardID        string     `json:"card_id"`
	Status        string     `json:"status"`
	CodeExpiresAt *time.Time `json:"code_expires_at,omitempty"`
}

// ReceiptRequest is POST /v1/clinic/receipts: a paid receipt earning
// cashback. PaidWithPoints is the number of points that paid part of it
// (the confirmed spend of the same receipt counts if larger).
type ReceiptRequest struct {
	ClinicID       string `json:"-"`
	StaffID        string `json:"-"`
	CardID         string `json:"card_id"`
	ReceiptID      string `json:"receipt_id"`
	Lines          []Line `json:"lines"`
	PaidWithPoints int64  `json:"paid_with_points"`
}

// ReceiptResult is the answer of RecordReceipt (also on replays).
type ReceiptResult struct {
	ReceiptID string `json:"receipt_id"`
	CardID    string `json:"card_id"`
	Points    int64  `json:"points"`
	Balance   int64  `json:"balance"`
	Level     string `json:"level,omitempty"`
	Entry     *Entry `json:"entry,omitempty"` // nil when nothing was earned
}

// SpendRequest is POST /v1/clinic/spends: paying part of a receipt with
// points, confirmed by the patient's code.
type SpendRequest struct {
	ClinicID  string `json:"-"`
	StaffID   string `json:"-"`
	CardID    string `json:"card_id"`
	ReceiptID string `json:"receipt_id"`
	Lines     []Line `json:"lines"`
	Points    int64  `json:"points"`
}

// Spend statuses.
const (
	SpendAwaiting  = "awaiting_confirmation"
	SpendConfirmed = "confirmed"
	SpendExpired   = "expired" // code expired or attempts used up
)

// SpendResult is the answer of CreateSpend and ConfirmSpend.
type SpendResult struct {
	SpendID   string    `json:"spend_id"`
	Status    string    `json:"status"`
	CardID    string    `json:"card_id"`
	ReceiptID string    `json:"receipt_id"`
	Points    int64     `json:"points"`
	MaxPoints int64     `json:"max_points"`
	ExpiresAt time.Time `json:"expires_at"`
	Entry     *Entry    `json:"entry,omitempty"`
}

// RefundRequest is POST /v1/clinic/receipts/{receipt_id}/refund. No lines:
// the whole (remaining) receipt. A line's Amount 0 refunds the rest of
// that line. IdempotencyKey (the Idempotency-Key header) tells two equal
// partial refunds apart; without it the body is the key.
type RefundRequest struct {
	ClinicID       string `json:"-"`
	StaffID        string `json:"-"`
	ReceiptID      string `json:"-"`
	IdempotencyKey string `json:"-"`
	Lines          []Line `json:"lines"`
}

// RefundResult tells what a refund did.
type RefundResult struct {
	ReceiptID string `json:"receipt_id"`
	CardID    string `json:"card_id"`
	// Reversed is the cashback taken back; Uncollected the part of it the
	// card no longer had (already spent or burned).
	Reversed    int64   `json:"reversed"`
	Uncollected int64   `json:"uncollected"`
	Returned    int64   `json:"returned"` // spent points given back
	Entries     []Entry `json:"entries"`
}

// BookingRequest is POST /v1/clinic/bookings from the clinic's system: the
// online-booking bonus, idempotent on BookingID. Either CardID or
// PatientID (resolved from a phone; the patient's own card) is set.
type BookingRequest struct {
	ClinicID  string `json:"-"`
	PatientID string `json:"-"`
	CardID    string `json:"card_id,omitempty"`
	BookingID string `json:"booking_id"`
}

// AdjustRequest is a manager's manual adjustment (signed points).
type AdjustRequest struct {
	ClinicID       string `json:"-"`
	StaffID        string `json:"-"`
	IdempotencyKey string `json:"-"`
	CardID         string `json:"card_id"`
	Points         int64  `json:"points"`
	Reason         string `json:"reason"`
}

// CardCode is GET /v1/cards/{id}/code: the short rotating code a QR shows.
type CardCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

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
	Limit     int       `json:"limit,omitempty"` // default 100, max 1000
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
	Issued      int64            `json:"issued"`
	Spent       int64            `json:"spent"`
	Burned      int64            `json:"burned"`
	Reversed    int64            `json:"reversed"`
	Outstanding int64            `json:"outstanding"`
	ByKind      map[string]int64 `json:"by_kind"`
}

// BurnReport is what one RunBurn pass did.
type BurnReport struct {
	Lots      int   `json:"lots"`   // lots burned
	Points    int64 `json:"points"` // points burned
	Warned    int   `json:"warned"`
	Birthdays int   `json:"birthdays"`
	Repaired  int   `json:"repaired"` // cards whose lot index was rebuilt (MongoDB, after a crash)
}
