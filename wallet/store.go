package wallet

import (
	"context"
	"time"

	"carewallet/app/storage"
)

// Store is the wallet's persistence, composed of one small interface per
// concept so each adapter splits the same way. Both adapters (SQLite,
// MongoDB) keep the same unique keys, which are what make concurrent
// writers safe without multi-document transactions; the conformance suite
// runs on both.
//
// Insert methods return an error wrapping errDuplicate when the unique key
// is taken. Lookups return ErrNotFound.
type Store interface {
	ProgramStore
	CardStore
	CodeStore
	SpendStore
	Ledger
	LotStore
	ReportStore
	UnconfirmedStore
	CardholderStore
	ConsentStore
	HandoverStore
	ErasureStore
}

// ProgramStore keeps programs: unique (clinic, version).
type ProgramStore interface {
	InsertProgram(ctx context.Context, p *Program) error
	LatestProgram(ctx context.Context, clinicID string) (*Program, error)
	// LatestProgramVersion is the newest version number (0: none), a
	// cheap read that tells whether a cached program is still current.
	LatestProgramVersion(ctx context.Context, clinicID string) (int64, error)
}

// CardStore keeps cards, dependants, guardianships and rotating card
// codes.
type CardStore interface {
	// Guardians' dependants: unique (guardian, person_key) and
	// (dependant, guardian).
	InsertGuardianship(ctx context.Context, g *Guardianship) error
	GuardianshipsOf(ctx context.Context, guardianID string) ([]Guardianship, error)
	GuardiansOf(ctx context.Context, dependantID string) ([]Guardianship, error)

	// Grants: unique (clinic, dependant, guardian); a guardian reads a
	// dependant's cards at a clinic only through one.
	InsertGrant(ctx context.Context, g *Grant) error
	DeleteGrant(ctx context.Context, clinicID, dependantID, guardianID string) error
	// GrantsFor lists the guardians of a dependant at a clinic, oldest
	// first.
	GrantsFor(ctx context.Context, clinicID, dependantID string) ([]Grant, error)
	// GrantsOf lists a guardian's grants.
	GrantsOf(ctx context.Context, guardianID string) ([]Grant, error)

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
	// SetCardPatient moves the card to another app (the guardian who now
	// receives its codes); a plain update, idempotent.
	SetCardPatient(ctx context.Context, id, patientID string) error

	// Rotating card codes: unique code.
	InsertCardCode(ctx context.Context, c *cardCodeRec) error
	CardCode(ctx context.Context, code string) (*cardCodeRec, error)
	PurgeCardCodes(ctx context.Context, before time.Time) error
}

// CodeStore keeps challenges (one-time codes) and their attempt slots:
// unique (challenge, n); a slot is taken before the code is checked.
type CodeStore interface {
	InsertChallenge(ctx context.Context, c *Challenge) error
	Challenge(ctx context.Context, id string) (*Challenge, error)
	InsertAttempt(ctx context.Context, challengeID string, n int) error
	Attempts(ctx context.Context, challengeID string) (int, error)
	// Windowed slots (app/otp's limits): unique (key, n).
	InsertSlot(ctx context.Context, key string, n int, at time.Time) error
	Slots(ctx context.Context, key string) (int, error)
}

// SpendStore keeps spends (unique (clinic, receipt_id, slot)) and
// receipts (unique (clinic, receipt_id)).
type SpendStore interface {
	InsertSpend(ctx context.Context, sp *Spend) error
	Spend(ctx context.Context, id string) (*Spend, error)
	SpendsByReceipt(ctx context.Context, clinicID, receiptID string) ([]Spend, error)
	InsertReceipt(ctx context.Context, r *Receipt) error
	Receipt(ctx context.Context, clinicID, receiptID string) (*Receipt, error)
	// Receipt owners: unique (clinic, receipt_id), so one receipt belongs
	// to one card.
	InsertReceiptCard(ctx context.Context, clinicID, receiptID, cardID string) error
	ReceiptCard(ctx context.Context, clinicID, receiptID string) (string, error)
}

// Ledger keeps the cards' entries: unique (card, seq) and (card, key).
// Entries are appended only through commitAll, on the primitives of
// LedgerTx.
type Ledger interface {
	// Atomically runs fn on a LedgerTx whose writes commit together where
	// the database has transactions (SQLite: one write transaction, so an
	// entry and its lot cache never disagree); elsewhere (MongoDB) fn runs
	// on the store itself and the unique keys alone keep the ledger right.
	Atomically(ctx context.Context, fn func(LedgerTx) error) error
	// EntryByKey returns the entry with the card's idempotency key.
	EntryByKey(ctx context.Context, cardID, key string) (*Entry, error)
	// State is the card's state after its latest entry (zero if none).
	State(ctx context.Context, cardID string) (*State, error)
	// Head is the card's seq, balance and paid spend after its latest
	// entry (zero if none); its Lots may be left empty (see OpenLots).
	Head(ctx context.Context, cardID string) (*State, error)
	// OpenLots lists the card's open lots in burn order (burns_at, id),
	// after the cursor's lot (zero cursor: from the first).
	OpenLots(ctx context.Context, cardID string, after lotCursor, limit int) ([]Lot, error)
	// Entries lists a card's entries with seq > afterSeq, ascending.
	Entries(ctx context.Context, cardID string, afterSeq int64, limit int) ([]Entry, error)
}

// LotStore is the lot cache the burn job reads: open lots with BurnsAt <=
// before, soonest first; lots to warn about (WarnAt <= now < BurnsAt, not
// yet warned).
type LotStore interface {
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
}

// ReportStore answers the managers' reports.
type ReportStore interface {
	Journal(ctx context.Context, f JournalFilter, patientCards []string, after journalCursor, limit int) ([]Entry, error)
	CardsIssued(ctx context.Context, clinicID string, from, to time.Time, after cardCursor, limit int) ([]Card, error)
	CardsByStaff(ctx context.Context, clinicID string, from, to time.Time) ([]StaffCards, error)
	SumByKind(ctx context.Context, clinicID string, from, to time.Time) (map[string]int64, error)
}

// dbErr translates both adapters' database errors: a missing row or
// document is ErrNotFound, a taken unique key errDuplicate (the driver's
// text holds the key's value: it is never passed on).
var dbErr = storage.Errors{NotFound: ErrNotFound, Duplicate: errDuplicate}
