package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The methods in this file are what another domain package (referrals)
// needs from the wallet, through an interface it declares itself and app
// adapts: a card's facts, credits of its own kinds, and their claw-back.
// They take no caller identity: the other package has already checked
// who may act, and every write is keyed, so a replay posts once.

// CardFacts is what another package may know of a card: whose it is, how
// it was issued, and how much money its holder has paid in total.
type CardFacts struct {
	ID        string
	ClinicID  string
	PatientID string // the account whose app holds the card
	Own       bool   // the holder is that patient (not a dependant)
	Active    bool
	// Unconfirmed: registered at reception, not yet confirmed in the app.
	Unconfirmed bool
	IssuedBy    string // staff who issued it at reception; "" when joined from the app
	Paid        int64  // cumulative money paid on receipts, after refunds
	// PointValue is what one point is worth at the clinic, in minor units.
	PointValue int64
}

func (s *Service) facts(ctx context.Context, c *Card) (*CardFacts, error) {
	head, err := s.store.Head(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("wallet: card %s: %w", c.ID, err)
	}
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return nil, err
	}
	return &CardFacts{ID: c.ID, ClinicID: c.ClinicID, PatientID: c.PatientID, Own: c.Holder.Kind == HolderSelf,
		Active: c.Status == StatusActive, Unconfirmed: c.Status == StatusUnconfirmed, IssuedBy: c.IssuedBy, Paid: head.Paid, PointValue: p.PointValue}, nil
}

// CardFacts returns the facts of a card (ErrNotFound if none).
func (s *Service) CardFacts(ctx context.Context, cardID string) (*CardFacts, error) {
	c, err := s.store.Card(ctx, cardID)
	if err != nil {
		return nil, fmt.Errorf("wallet: card %s: %w", cardID, err)
	}
	return s.facts(ctx, c)
}

// PatientCardFacts returns the facts of cardID when patientID may see it
// (own or a dependant's card it holds), else ErrNotFound.
func (s *Service) PatientCardFacts(ctx context.Context, patientID, cardID string) (*CardFacts, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.facts(ctx, c)
}

// OwnCardFacts returns the patient's own live card at the clinic, or
// ErrNotFound when they have none.
func (s *Service) OwnCardFacts(ctx context.Context, clinicID, patientID string) (*CardFacts, error) {
	live, _, err := s.liveCard(ctx, clinicID, Holder{Kind: HolderSelf, PatientID: patientID})
	if err != nil {
		return nil, err
	}
	if live == nil {
		return nil, fmt.Errorf("wallet: no card of the patient at clinic %s: %w", clinicID, ErrNotFound)
	}
	return s.facts(ctx, live)
}

// AwardRequest credits points of another package's kind to a card, once
// per Key (the key is the whole identity of the award: a replay returns
// the first entry, whatever its body).
type AwardRequest struct {
	CardID   string
	Kind     string // KindReferral or KindRefereeBonus
	Key      string
	Points   int64
	BurnDays int // 0: the program's cashback burn days
	Reason   string
	Details  any // explains the entry (which friend, level, receipt, rate)
}

var awardKinds = []string{KindReferral, KindRefereeBonus}

// Award credits r.Points to an active card as a new lot, once per key. It
// sends no notification: the package that awards tells the patient why.
func (s *Service) Award(ctx context.Context, r AwardRequest) (*Entry, error) {
	c, old, err := s.awardCommit(ctx, r, nil)
	if err != nil || old != nil {
		return old, err
	}
	e, err := s.commit(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("wallet: award %s: %w", r.Key, err)
	}
	return e, nil
}

// awardCommit checks an award and prepares its commit; an award already
// posted under its key comes back as old, marked Replayed. programs, when
// not nil, keeps the programs read for a batch (one clinic's awards read
// it once).
func (s *Service) awardCommit(ctx context.Context, r AwardRequest, programs map[string]*Program) (c Commit, old *Entry, err error) {
	if !slices.Contains(awardKinds, r.Kind) {
		return c, nil, invalid("kind", "not an award kind: %q", r.Kind)
	}
	if r.Points <= 0 || r.Points > maxPoints || r.Key == "" {
		return c, nil, invalid("points", "must be 1 to %d with a key", maxPoints)
	}
	card, err := s.store.Card(ctx, r.CardID)
	if err != nil {
		return c, nil, fmt.Errorf("wallet: award to %s: %w", r.CardID, err)
	}
	if card.Status != StatusActive {
		// An award posted before the card closed is still its answer;
		// on an active card the commit itself finds a replay, in the
		// same transaction as its check.
		if old, err := s.store.EntryByKey(ctx, r.CardID, r.Key); err == nil {
			old.Replayed = true
			return c, old, nil
		} else if !errors.Is(err, ErrNotFound) {
			return c, nil, err
		}
		return c, nil, fmt.Errorf("wallet: award to %s: %w", r.CardID, ErrCardNotActive)
	}
	p := programs[card.ClinicID]
	if p == nil {
		if p, err = s.Program(ctx, card.ClinicID); err != nil {
			return c, nil, err
		}
		if programs != nil {
			programs[card.ClinicID] = p
		}
	}
	days := r.BurnDays
	if days <= 0 {
		days = p.CashbackBurnDays
	}
	terms, err := s.creditTerms(ctx, card, p, days)
	if err != nil {
		return c, nil, err
	}
	fp := fingerprint([]any{r.Kind, r.Key})
	return Commit{CardID: card.ID, Key: r.Key, Fingerprint: fp, CreditBurnsAt: terms.burnsAt(s.clock()),
		Build: func(st *State, _ []Entry) (*Entry, error) {
			e := credit(card, st, r.Kind, r.Points, s.clock(), terms)
			e.Key, e.Fingerprint, e.Reason = r.Key, fp, r.Reason
			e.Details = mustJSON(r.Details)
			return e, nil
		}}, nil, nil
}

// ReclaimRequest takes back up to Points of an award, once per Key.
type ReclaimRequest struct {
	CardID  string
	Kind    string // the award's kind
	Key     string
	Points  int64
	Reason  string
	Details any
}

// ReclaimDetails explains a reclaim entry: what was wanted and the part
// the card no longer had (spent or burned), which stays uncollected, as a
// refund's cashback does.
type ReclaimDetails struct {
	Wanted      int64 `json:"wanted"`
	Uncollected int64 `json:"uncollected"`
	Details     any   `json:"details,omitempty"`
}

// Reclaim posts a negative entry of r.Kind taking min(Points, balance)
// from the card's soonest-burning lots (expired ones included), once per
// key; the rest is recorded as uncollected in its details. A card that is
// no longer active still gives back what it holds.
func (s *Service) Reclaim(ctx context.Context, r ReclaimRequest) (*Entry, error) {
	if !slices.Contains(awardKinds, r.Kind) {
		return nil, invalid("kind", "not an award kind: %q", r.Kind)
	}
	if r.Points <= 0 || r.Points > maxPoints || r.Key == "" {
		return nil, invalid("points", "must be 1 to %d with a key", maxPoints)
	}
	card, err := s.store.Card(ctx, r.CardID)
	if err != nil {
		return nil, fmt.Errorf("wallet: reclaim from %s: %w", r.CardID, err)
	}
	fp := fingerprint([]any{r.Kind, r.Key})
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: r.Key, Fingerprint: fp, Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		take := min(r.Points, max(st.Balance, 0))
		deltas, err := takeLots(st, take, now, "", true)
		if err != nil {
			return nil, err
		}
		e := stampEntry(&Entry{Kind: r.Kind, Amount: -take, Lots: deltas}, st, card, now)
		if deltas == nil {
			e.Lots = []LotDelta{}
		}
		e.Key, e.Fingerprint, e.Reason = r.Key, fp, r.Reason
		e.Details = mustJSON(ReclaimDetails{Wanted: r.Points, Uncollected: r.Points - take, Details: r.Details})
		return e, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("wallet: reclaim %s: %w", r.Key, err)
	}
	return e, nil
}

// ReceiptFact is one durable receipt fact another package may follow: a
// paid receipt's cashback entry (Paid: the money actually paid, never the
// part paid with points) or a refund entry (Reduced: the paid money it
// took off the receipt; Key identifies the refund).
type ReceiptFact struct {
	Kind       string // KindCashback or KindRefund
	ClinicID   string
	CardID     string
	PatientID  string
	ReceiptID  string
	Key        string
	Paid       int64
	Reduced    int64
	PointValue int64
	At         time.Time
}

// ReceiptFacts pages the clinic's receipt facts recorded at or after from
// in (created, card, seq) order, after an opaque cursor ("": from the
// start); next is "" when there is nothing more. It reads the ledger, the
// truth, so a follower that re-reads never misses a receipt.
func (s *Service) ReceiptFacts(ctx context.Context, clinicID string, from time.Time, after string, limit int) ([]ReceiptFact, string, error) {
	var out []ReceiptFact
	for {
		page, err := s.Journal(ctx, JournalFilter{ClinicID: clinicID, From: from, After: after, Limit: MaxPageSize})
		if err != nil {
			return nil, "", err
		}
		for i := range page.Rows {
			if f, ok := FactOf(&page.Rows[i]); ok {
				out = append(out, f)
			}
		}
		if len(page.Rows) > 0 {
			last := page.Rows[len(page.Rows)-1]
			after = encodeCursor(last.Created, last.CardID, last.Seq)
		}
		if page.Next == "" {
			return out, "", nil
		}
		if len(out) >= limit {
			return out, after, nil
		}
	}
}

// FactOf is the receipt fact of a cashback or refund entry (ok false for
// any other entry).
func FactOf(e *Entry) (ReceiptFact, bool) {
	if e == nil {
		return ReceiptFact{}, false
	}
	f := ReceiptFact{Kind: e.Kind, ClinicID: e.ClinicID, CardID: e.CardID, PatientID: e.PatientID, ReceiptID: e.ReceiptID,
		Key: e.Key, At: e.Created}
	switch e.Kind {
	case KindCashback:
		var d Earning
		if json.Unmarshal(e.Details, &d) != nil {
			return ReceiptFact{}, false
		}
		f.Paid, f.PointValue = d.Paid, d.PointValue
	case KindRefund:
		var d RefundDetails
		if json.Unmarshal(e.Details, &d) != nil {
			return ReceiptFact{}, false
		}
		for _, l := range d.Lines {
			f.Reduced += l.PaidReduced
		}
	default:
		return ReceiptFact{}, false
	}
	return f, true
}
