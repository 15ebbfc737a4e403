package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"carewallet/app/storage"
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
	// Written for the referrals package through Award and Reclaim.
	KindReferral     = "referral"      // a referral reward (negative: clawed back by a refund)
	KindRefereeBonus = "referee_bonus" // the bonus of joining with a friend's code
	// KindForfeit takes a deleted patient's whole balance, once per card
	// (forfeit.go).
	KindForfeit = "forfeit"
)

// Kinds lists every entry kind, in the order reports show them: the one
// list the journal's operation filter and its documentation use.
var Kinds = []string{KindWelcome, KindBooking, KindBirthday, KindCashback, KindSpend, KindRefund, KindRefundSpend,
	KindExpire, KindAdjustment, KindReferral, KindRefereeBonus, KindForfeit}

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

// Lot is a parcel of earned points that burns at BurnsAt: every credit
// that burns at the same instant while the lot is open adds to it.
// Points is what was credited to it (positive deltas), Remaining what is
// left (all deltas); an open lot has Remaining > 0. Kind is the kind of the
// credit that opened it.
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

// Commit describes one ledger append. Build computes the new entry from
// the card's state after its latest entry (and, if ReceiptID is set, the
// card's earlier entries of that receipt, consistent with that state). It
// must be pure: the protocol calls it again after losing a race.
// Build returning (nil, nil) means nothing to post (no entry).
//
// A commit that only credits (no debit, no burn) sets CreditBurnsAt to
// the instant its points burn: Build then needs only the open lot burning
// then (see credit), and the state may hold just that lot, so a credit
// costs the same on a card with a long history as on a new one.
type Commit struct {
	CardID        string
	Key           string
	Fingerprint   string
	ReceiptID     string
	CreditBurnsAt time.Time
	Build         func(st *State, receipt []Entry) (*Entry, error)
}

// CommitResult is one result of commitAll.
type CommitResult struct {
	Entry *Entry
	Err   error
}

// LedgerTx is what the commit protocol needs from a store: the store
// primitives it is written on, inside one transaction where the database
// has them. Adapters only translate these to their database.
type LedgerTx interface {
	// EntryByKey returns the entry with the card's idempotency key.
	EntryByKey(ctx context.Context, cardID, key string) (*Entry, error)
	// StateFor is the card's state after its latest entry (zero if none).
	// With a non-zero burningAt its Lots need only hold the open lots
	// burning at that instant (an adapter whose entries carry the whole
	// state, as MongoDB's do, returns them all).
	StateFor(ctx context.Context, cardID string, burningAt time.Time) (*State, error)
	// ReceiptEntries lists the card's entries of one receipt with seq <=
	// throughSeq, in seq order.
	ReceiptEntries(ctx context.Context, cardID, receiptID string, throughSeq int64) ([]Entry, error)
	// InsertEntry inserts e at (e.CardID, e.Seq); next is the card's state
	// after it. It returns an error wrapping errDuplicate when the seq or
	// the key is taken.
	InsertEntry(ctx context.Context, e *Entry, next *State) error
	// CacheLots brings the lot cache up to date with a committed entry
	// (next is the state after it).
	CacheLots(ctx context.Context, e *Entry, next *State) error
}

// commitAll is the ledger's one write path (docs/architecture.md §2). For each
// commit, inside one Atomically call:
//
//  1. an entry with (CardID, Key) exists: it is returned, marked Replayed
//     (ErrIdempotencyConflict if its Fingerprint differs);
//  2. otherwise Build runs on the card's state and the receipt's entries,
//     checkEntry vets the result, and the entry is inserted at seq+1: the
//     insert is the commit;
//  3. a duplicate seq (or key) means another writer committed first:
//     re-read and go back to 1;
//  4. the lot cache follows the committed entry.
//
// A rule's refusal is reported in that commit's result without undoing the
// others; any other error aborts the whole batch.
func commitAll(ctx context.Context, l Ledger, cs []Commit) ([]CommitResult, error) {
	out := make([]CommitResult, len(cs))
	err := l.Atomically(ctx, func(tx LedgerTx) error {
		// A card's state after a commit is apply() of the entry: later
		// commits of the same card in the batch reuse it (the burn job's
		// batches hold several lots a card); a lost race drops it.
		states := map[string]*State{}
		for i, c := range cs {
			e, err := commitOne(ctx, tx, c, states)
			if err != nil && !isDomainErr(err) {
				return err
			}
			out[i] = CommitResult{Entry: e, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func commitOne(ctx context.Context, tx LedgerTx, c Commit, states map[string]*State) (*Entry, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old, err := tx.EntryByKey(ctx, c.CardID, c.Key)
		if err == nil {
			return replay(old, c)
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		st := states[c.CardID]
		if st == nil {
			if st, err = tx.StateFor(ctx, c.CardID, c.CreditBurnsAt); err != nil {
				return nil, err
			}
		}
		var prior []Entry
		if c.ReceiptID != "" {
			if prior, err = tx.ReceiptEntries(ctx, c.CardID, c.ReceiptID, st.Seq); err != nil {
				return nil, err
			}
		}
		e, err := c.Build(st, prior)
		if err != nil || e == nil {
			return nil, err
		}
		if err := checkEntry(st, e, c); err != nil {
			return nil, err
		}
		next := apply(st, e)
		err = tx.InsertEntry(ctx, e, next)
		if errors.Is(err, errDuplicate) {
			delete(states, c.CardID)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := tx.CacheLots(ctx, e, next); err != nil {
			return nil, err
		}
		if c.CreditBurnsAt.IsZero() { // a state that may hold some lots only is not reused
			states[c.CardID] = next
		}
		return e, nil
	}
}

// isDomainErr tells a rule's refusal (reported per commit) from a storage
// failure (which aborts the batch).
func isDomainErr(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve) || errors.Is(err, ErrInsufficientPoints) || errors.Is(err, ErrIdempotencyConflict) ||
		errors.Is(err, ErrLimitExceeded) || errors.Is(err, ErrInvalid)
}

// replay answers a commit whose key is already in the ledger.
func replay(old *Entry, c Commit) (*Entry, error) {
	if old.Fingerprint != c.Fingerprint {
		return nil, ErrIdempotencyConflict
	}
	old.Replayed = true
	return old, nil
}

// checkEntry is the last line of defence of the ledger's arithmetic: the
// entry follows the head, its deltas sum to its amount, no lot goes below
// zero and the balance stays non-negative.
func checkEntry(st *State, e *Entry, c Commit) error {
	if e.CardID != c.CardID || e.Key != c.Key || e.Fingerprint != c.Fingerprint || e.Seq != st.Seq+1 {
		return fmt.Errorf("wallet: malformed entry for %s/%s", c.CardID, c.Key)
	}
	if e.BalanceAfter != st.Balance+e.Amount || e.BalanceAfter < 0 {
		return fmt.Errorf("wallet: entry %s/%d breaks the balance (%d + %d)", e.CardID, e.Seq, st.Balance, e.Amount)
	}
	var sum int64
	rem := map[string]int64{}
	for _, l := range st.Lots {
		rem[l.ID] = l.Remaining
	}
	if e.NewLot != nil {
		rem[e.NewLot.ID] = 0
	}
	for _, d := range e.Lots {
		sum += d.Delta
		r, ok := rem[d.LotID]
		if !ok || r+d.Delta < 0 {
			return fmt.Errorf("wallet: entry %s/%d overdraws lot %s", e.CardID, e.Seq, d.LotID)
		}
		rem[d.LotID] = r + d.Delta
	}
	if sum != e.Amount {
		return fmt.Errorf("wallet: entry %s/%d lot deltas %d != amount %d", e.CardID, e.Seq, sum, e.Amount)
	}
	return nil
}

// commit appends a ledger entry, serialized per card within this instance
// (the unique (card, seq) key is what serializes across instances).
func (s *Service) commit(ctx context.Context, c Commit) (*Entry, error) {
	defer s.lockCards(ctx, c.CardID)()
	res, err := commitAll(ctx, s.store, []Commit{c})
	if err != nil {
		return nil, err
	}
	return res[0].Entry, res[0].Err
}

// stampEntry fills the fields every entry built for card has.
func stampEntry(e *Entry, st *State, card *Card, now time.Time) *Entry {
	e.CardID, e.Seq, e.ClinicID, e.PatientID, e.Created = card.ID, st.Seq+1, card.ClinicID, card.PatientID, now
	e.BalanceAfter = st.Balance + e.Amount
	if e.PaidAfter == 0 {
		e.PaidAfter = st.Paid
	}
	return e
}

// creditTerms is how the points of one credit burn: burnDays after the
// day of the credit in the clinic's zone, warned warnDays before, in a
// new lot named lotID.
type creditTerms struct {
	loc      *time.Location
	burnDays int
	warnDays int
	lotID    string
}

// creditTerms prepares a credit to card under program p (the clinic's
// zone and a fresh lot id), outside Build, which must stay pure.
func (s *Service) creditTerms(ctx context.Context, card *Card, p *Program, burnDays int) (creditTerms, error) {
	loc, err := s.location(ctx, card.ClinicID)
	if err != nil {
		return creditTerms{}, err
	}
	lotID, err := s.newID("lt_")
	if err != nil {
		return creditTerms{}, err
	}
	return creditTerms{loc: loc, burnDays: burnDays, warnDays: p.BurnWarningDays, lotID: lotID}, nil
}

// cashbackTerms are the terms of points that live as cashback does under
// the card's current program (adjustments, returned spends).
func (s *Service) cashbackTerms(ctx context.Context, card *Card) (creditTerms, error) {
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return creditTerms{}, err
	}
	return s.creditTerms(ctx, card, p, p.CashbackBurnDays)
}

// burnsAt is when points credited at now burn.
func (t creditTerms) burnsAt(now time.Time) time.Time { return burnTime(now, t.loc, t.burnDays) }

// credit builds a credit entry of points earned at now: the one place
// points become a lot with a burn date. Points that burn at the same
// instant (the end of one day, clinic time) as an open lot of the card
// join that lot, so a card holds at most one open lot per burn day however
// many receipts it has (lots written before this rule stay as they are
// and burn on their own); otherwise the credit opens a new lot.
func credit(card *Card, st *State, kind string, points int64, now time.Time, t creditTerms) *Entry {
	burns := t.burnsAt(now)
	e := &Entry{Kind: kind, Amount: points}
	for _, l := range st.Lots {
		if l.BurnsAt.Equal(burns) && l.Remaining > 0 {
			e.Lots = []LotDelta{{LotID: l.ID, Delta: points}}
			return stampEntry(e, st, card, now)
		}
	}
	e.NewLot = &Lot{ID: t.lotID, CardID: card.ID, ClinicID: card.ClinicID, Kind: kind, Points: points, Remaining: points,
		BurnsAt: burns, WarnAt: warnTime(burns, t.loc, t.warnDays), Seq: st.Seq + 1}
	e.Lots = []LotDelta{{LotID: t.lotID, Delta: points}}
	return stampEntry(e, st, card, now)
}

// lockCards takes the card locks of ids, in one order so two batches
// cannot deadlock, and returns their release. Inside a storage.Atomic
// transaction it takes none: that transaction holds SQLite's only writer
// connection, so no other commit here runs meanwhile, and a card lock's
// holder may be waiting for that very connection.
func (s *Service) lockCards(ctx context.Context, ids ...string) (unlock func()) {
	if storage.InAtomic(ctx) {
		return func() {}
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	unlocks := make([]func(), len(ids))
	for i, id := range ids {
		unlocks[i] = s.cardLocks.lock(id)
	}
	return func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
}
