package wallet

import "time"

// Card statuses. Lapsed is never stored: a pending card is lapsed once its
// confirmation code expired or used all its attempts.
const (
	StatusPending = "pending"
	StatusActive  = "active"
	StatusLapsed  = "lapsed"
)

// Holder kinds.
const (
	HolderSelf      = "self"
	HolderDependant = "dependant"
)

// Card is a patient's loyalty card at one clinic. PatientID is the account
// whose app holds the card and receives its codes: the holder themself, or
// the chosen guardian of a dependant.
type Card struct {
	ID        string `json:"card_id"`
	ClinicID  string `json:"clinic_id"`
	PatientID string `json:"patient_id"`
	Holder    Holder `json:"holder"`
	// Status as stored: pending or active (see Service views for lapsed).
	Status   string    `json:"status"`
	IssuedBy string    `json:"issued_by,omitempty"` // staff id; empty when joined from the app
	Created  time.Time `json:"created_at"`
	// Slot numbers the cards of one (clinic, holder): unique (clinic,
	// holder_key, slot), and a new slot is taken only when every earlier
	// card of the holder has lapsed.
	Slot int `json:"-"`
	// ChallengeID is the pending card's confirmation challenge.
	ChallengeID string `json:"-"`
}

// Holder is whose card it is.
type Holder struct {
	Kind        string `json:"kind"` // self or dependant
	PatientID   string `json:"patient_id,omitempty"`
	DependantID string `json:"dependant_id,omitempty"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	BirthDate   string `json:"birth_date,omitempty"` // YYYY-MM-DD
}

// key is the holder identity used by the unique card slot.
func (h Holder) key() string {
	if h.Kind == HolderDependant {
		return "d:" + h.DependantID
	}
	return "p:" + h.PatientID
}

// birthMD is the holder's birthday as "MM-DD" ("" if unknown), which the
// stores index for the birthday job.
func (h Holder) birthMD() string {
	if t, ok := parseDate(h.BirthDate); ok {
		return t.Format("01-02")
	}
	return ""
}

// Dependant is a person in someone's care (a child) without an account of
// their own. A dependant may have several guardians.
type Dependant struct {
	ID        string    `json:"dependant_id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	BirthDate string    `json:"birth_date"`
	Created   time.Time `json:"created_at"`
}

// Guardianship links a guardian (patient account) to a dependant. Unique
// (guardian, person_key) so concurrent issuances for the same child under
// the same guardian find one dependant, and unique (dependant, guardian).
type Guardianship struct {
	GuardianID  string    `json:"guardian_id"`
	DependantID string    `json:"dependant_id"`
	PersonKey   string    `json:"-"` // normalized name + birth date
	Created     time.Time `json:"created_at"`
}

// CardView is GET /v1/cards/{id}.
type CardView struct {
	Card
	// Balance is the ledger balance (= sum of entries = sum of lot
	// remainders); Available excludes lots past their burn instant that the
	// burn job has not yet burned.
	Balance   int64      `json:"balance"`
	Available int64      `json:"available"`
	Level     *LevelView `json:"level,omitempty"`
	Lots      []LotView  `json:"lots"`
	NextBurn  *BurnView  `json:"next_burn,omitempty"`
}

// LevelView is the card's level and the progress to the next one.
type LevelView struct {
	Name       string `json:"name"`
	CashbackBP int64  `json:"cashback_bp"`
	PaidSpend  int64  `json:"paid_spend"`
	Next       string `json:"next,omitempty"`
	NextAt     int64  `json:"next_min_spend,omitempty"`
	ToNext     int64  `json:"to_next,omitempty"`
}

// LotView is one open lot on a card.
type LotView struct {
	LotID     string    `json:"lot_id"`
	Kind      string    `json:"kind"`
	Points    int64     `json:"points"`
	Remaining int64     `json:"remaining"`
	BurnsAt   time.Time `json:"burns_at"`
}

// BurnView is the next burn: the date (clinic time) and amount.
type BurnView struct {
	Date    string    `json:"date"`
	BurnsAt time.Time `json:"burns_at"`
	Points  int64     `json:"points"`
}

// CardSummary is one row of GET /v1/me/cards and of staff lookups.
type CardSummary struct {
	Card
	Balance   int64 `json:"balance"`
	Available int64 `json:"available"`
	// Guardian is true when the card is a dependant's card held by (or
	// readable by) the calling guardian.
	Guardian bool `json:"guardian"`
}
