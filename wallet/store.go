package wallet

import (
	"context"
	"time"
)

// Store is the wallet's persistence. Both adapters (SQLite, MongoDB) keep
// the same unique keys, which are what make concurrent writers safe without
// multi-document transactions; the conformance suite runs on both.
//
// Insert methods return an error wrapping errDuplicate when the unique key
// is taken. Lookups return ErrNotFound.
type Store interface {
	// Programs: unique (clinic, version).
	InsertProgram(ctx context.Context, p *Program) error
	LatestProgram(ctx context.Context, clinicID string) (*Program, error)
	// LatestProgramVersion is the newest version number (0: none), a
	// cheap read that tells whether a cached program is still current.
	LatestProgramVersion(ctx context.Context, clinicID string) (int64, error)

	// Dependants and guardians: unique (guardian, person_key) and
	// (dependant, guardian).
	InsertDependant(ctx context.Context, d *Dependant) error
	Dependant(ctx context.Context, id string) (*Dependant, error)
	InsertGuardianship(ctx context.Context, g *Guardianship) error
	GuardianshipsOf(ctx context.Context, guardianID string) ([]Guardianship, error)
	GuardiansOf(ctx context.Context, dependantID string) ([]Guardianship, error)

	// Cards: unique (clinic, holder_key, slot).
	InsertCard(ctx context.Context, c *Card) error
	Card(ctx context.Context, id string) (*Card, error)
	CardsByHolder(ctx context.Context, clinicID, holderKey string) ([]Card, error)
	// CardsByPatient lists the cards held in the app of any of patientIDs.
	CardsByPatient(ctx context.Context, patientIDs []string) ([]Card, error)
	// CardsByDependant lists the cards of any of dependantIDs.
	CardsByDependant(ctx context.Context, dependantIDs []string) ([]Card, error)
	// ActivateCard sets status active (idempotent, so safe as a plain
	// update on every store).
	ActivateCard(ctx context.Context, id string) error
	// CardsByBirthday lists active cards whose holder was born on one of
	// the month-days ("MM-DD"), ordered by id, after afterID.
	CardsByBirthday(ctx context.Context, monthDays []string, afterID string, limit int) ([]Card, error)

	// Challenges (one-time codes) and their attempt slots: unique
	// (challenge, n); a slot is taken before the code is checked.
	InsertChallenge(ctx context.Context, c *Challenge) error
	Challenge(ctx context.Context, id string) (*Challenge, error)
	InsertAttempt(ctx context.Context, challengeID string, n int) error
	Attempts(ctx context.Context, challengeID string) (int, error)

	// Spends: unique (clinic, receipt_id, slot).
	InsertSpend(ctx context.Context, sp *Spend) error
	Spend(ctx context.Context, id string) (*Spend, error)
	SpendsByReceipt(ctx context.Context, clinicID, receiptID string) ([]Spend, error)

	// Receipts: unique (clinic, receipt_id).
	InsertReceipt(ctx context.Context, r *Receipt) error
	Receipt(ctx context.Context, clinicID, receiptID string) (*Receipt, error)

	// Commit appends one ledger entry to a card (see Commit).
	Commit(ctx context.Context, c Commit) (*Entry, error)
	// CommitMany runs several commits; the SQLite adapter runs them in one
	// transaction (the burn job's batches). Each result is an entry or an
	// error; the returned error is for the store as a whole.
	CommitMany(ctx context.Context, cs []Commit) ([]CommitResult, error)
	// EntryByKey returns the entry with the card's idempotency key.
	EntryByKey(ctx context.Context, cardID, key string) (*Entry, error)
	// State is the card's state after its latest entry (zero if none).
	State(ctx context.Context, cardID string) (*State, error)
	// Entries lists a card's entries with seq > afterSeq (ascending), or
	// the newest first when desc.
	Entries(ctx context.Context, cardID string, afterSeq int64, limit int) ([]Entry, error)
	// ReceiptEntries lists the card's entries of one receipt.
	ReceiptEntries(ctx context.Context, cardID, receiptID string) ([]Entry, error)

	// Lots, for the burn job: open lots with BurnsAt <= before, soonest
	// first; lots to warn about (WarnAt <= now < BurnsAt, not yet warned).
	DueLots(ctx context.Context, before time.Time, limit int) ([]Lot, error)
	// WarnLots lists open lots whose warning is due and not sent, ordered
	// by card and burn time, so one card's lots come together.
	WarnLots(ctx context.Context, now time.Time, limit int) ([]Lot, error)
	MarkWarned(ctx context.Context, lotIDs []string) error
	// SyncLots rewrites the cached lot rows of a card from its state (the
	// Mongo adapter's cache repair; a no-op where the cache is
	// transactional).
	SyncLots(ctx context.Context, cardID string) error
	// RepairLots syncs the lots of cards with entries committed before
	// olderThan whose lot cache write never happened, and reports how many
	// cards it repaired (at most limit entries per call).
	RepairLots(ctx context.Context, olderThan time.Time, limit int) (int, error)

	// Rotating card codes: unique code.
	InsertCardCode(ctx context.Context, c *cardCodeRec) error
	CardCode(ctx context.Context, code string) (*cardCodeRec, error)
	PurgeCardCodes(ctx context.Context, before time.Time) error

	// Reports.
	Journal(ctx context.Context, f JournalFilter, patientCards []string, after journalCursor, limit int) ([]Entry, error)
	CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after cardCursor, limit int) ([]Card, error)
	CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error)
	SumByKind(ctx context.Context, clinicID string, from, to time.Time) (map[string]int64, error)
}

// Commit describes one ledger append. Build computes the new entry from
// the card's state after its latest entry (and, if ReceiptID is set, the
// card's earlier entries of that receipt, consistent with that state). It
// must be pure: the Mongo adapter calls it again after losing a race.
// Build returning (nil, nil) means nothing to post (Commit returns nil).
//
// Protocol: if an entry with (CardID, Key) exists, it is returned (with
// ErrIdempotencyConflict if its Fingerprint differs). Otherwise the entry
// is inserted at seq = state.Seq+1; a duplicate seq means another writer
// committed first: re-read and retry.
type Commit struct {
	CardID      string
	Key         string
	Fingerprint string
	ReceiptID   string
	Build       func(st *State, receipt []Entry) (*Entry, error)
}

// CommitResult is one result of CommitMany.
type CommitResult struct {
	Entry *Entry
	Err   error
}

// Challenge is a one-time code: stored hashed, bound to its purpose,
// subject (spend or card), card and amount, valid until ExpiresAt.
type Challenge struct {
	ID        string
	Purpose   string // "spend" or "card"
	SubjectID string
	CardID    string
	Points    int64
	Hash      string
	ExpiresAt time.Time
	Created   time.Time
}

// Spend is a bonus payment awaiting (or past) confirmation.
type Spend struct {
	ID          string
	ClinicID    string
	CardID      string
	PatientID   string // who gets the code
	StaffID     string
	ReceiptID   string
	Lines       []Line
	Points      int64
	MaxPoints   int64
	Slot        int
	Fingerprint string
	ChallengeID string
	Created     time.Time
	ExpiresAt   time.Time
}

// Receipt is a recorded paid receipt: unique (clinic, receipt_id).
type Receipt struct {
	ClinicID       string
	ReceiptID      string
	CardID         string
	StaffID        string
	Lines          []Line
	PaidWithPoints int64
	Fingerprint    string
	Created        time.Time
}

type cardCodeRec struct {
	Code      string
	CardID    string
	ClinicID  string
	ExpiresAt time.Time
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
