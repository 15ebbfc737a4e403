package wallet

import (
	"context"
	"errors"
	"fmt"
)

// Cards of patients who have not installed the app yet.
//
// Reception registers such a card by phone as unconfirmed: receipts earn
// cashback on it as usual (lots keep their burn dates), nothing can be
// spent from it, and no burn warning is sent for it. It becomes an
// ordinary active card once the patient signs in to the app with that
// phone and confirms it (POST /v1/me/cards/{id}/confirm, or joins the
// clinic from the app): the welcome bonus is credited then, and the
// warnings that fell due meanwhile are sent. Confirming is the conditional
// status change every path shares (activate), and every credit and
// warning after it is keyed, so two confirmations at once, or a retry
// after a crash, confirm once and send each warning once.

// StatusUnconfirmed is a card registered at reception for a patient
// without the app: it earns, it cannot be spent from.
const StatusUnconfirmed = "unconfirmed"

var (
	// ErrCardUnconfirmed refuses spending from an unconfirmed card.
	ErrCardUnconfirmed = errors.New("wallet: the card is not confirmed yet: its points can be spent once the patient confirms it in the app")
	// ErrNothingToConfirm: the card is not an unconfirmed card.
	ErrNothingToConfirm = errors.New("wallet: the card has nothing to confirm in the app")
)

// UnconfirmedStore lists a clinic's unconfirmed cards (the reports show
// them and their points apart).
type UnconfirmedStore interface {
	UnconfirmedCards(ctx context.Context, clinicID string) ([]Card, error)
}

// UnconfirmedTotals is the part of /reports/totals on unconfirmed cards:
// how many there are now and the points they hold (included in
// Outstanding too).
type UnconfirmedTotals struct {
	Cards  int64 `json:"cards"`
	Points int64 `json:"points"`
}

// issueUnconfirmed inserts the unconfirmed card of a patient's own: no
// code, no challenge, and no message (the patient may not have the app).
func (s *Service) issueUnconfirmed(ctx context.Context, req IssueCardRequest, h Holder, first, last string) (*IssueCardResult, error) {
	for range 10 {
		live, slot, err := s.liveCard(ctx, req.ClinicID, h)
		if err != nil {
			return nil, err
		}
		if live != nil {
			return nil, refused(ErrCardExists, "this patient already has a card at this clinic (%s, %s)", live.ID, live.Status)
		}
		id, err := s.newID("cd_")
		if err != nil {
			return nil, err
		}
		c := &Card{ID: id, ClinicID: req.ClinicID, PatientID: req.PatientID, Holder: h, Status: StatusUnconfirmed,
			IssuedBy: req.StaffID, Created: s.clock(), Slot: slot}
		err = s.store.InsertCard(ctx, c)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: register card: %w", err)
		}
		if err := s.people.CompleteProfile(ctx, req.PatientID, first, last, req.BirthDate); err != nil {
			return nil, fmt.Errorf("wallet: register card: holder details: %w", err)
		}
		return &IssueCardResult{CardID: id, Status: StatusUnconfirmed}, nil
	}
	return nil, fmt.Errorf("wallet: register card: %w", ErrConflict)
}

// ConfirmOwn is POST /v1/me/cards/{id}/confirm: the signed-in patient
// makes the unconfirmed card registered for their phone an ordinary
// card. Confirming an active card again answers it as it is (a retry);
// confirmed reports whether the card was unconfirmed before this call
// or a concurrent one (the caller then gives the enrolment credit, which
// is keyed).
func (s *Service) ConfirmOwn(ctx context.Context, patientID, cardID string) (v *CardView, confirmed bool, err error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, false, err
	}
	if c.Holder.Kind != HolderSelf || c.PatientID != patientID {
		return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
	}
	switch c.Status {
	case StatusUnconfirmed:
		confirmed = true
		if err := s.activate(ctx, c); err != nil {
			return nil, false, err
		}
	case StatusActive:
		// A retry (or the loser of a race): finish what the first call
		// may not have, once more; everything in it is keyed.
		confirmed = c.IssuedBy != ""
		if err := s.afterConfirm(ctx, c); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, refused(ErrNothingToConfirm, "card %s is %s: reception confirms it with the code shown in your app", c.ID, c.Status)
	}
	v, err = s.view(ctx, c)
	return v, confirmed, err
}

// afterConfirm sends the burn warnings of the card's open lots whose
// warning time has come (they were held while it was unconfirmed). The
// warnings are keyed by card and day, so a repeat sends nothing twice.
func (s *Service) afterConfirm(ctx context.Context, c *Card) error {
	now := s.clock()
	var due []Lot
	var cur lotCursor
	for {
		lots, err := s.store.OpenLots(ctx, c.ID, cur, 500)
		if err != nil {
			return fmt.Errorf("wallet: lots of confirmed card: %w", err)
		}
		for _, l := range lots {
			if !l.WarnAt.After(now) && l.BurnsAt.After(now) {
				due = append(due, l)
			}
		}
		if len(lots) < 500 {
			break
		}
		last := lots[len(lots)-1]
		cur = lotCursor{BurnsAt: last.BurnsAt, ID: last.ID}
	}
	if len(due) == 0 {
		return nil
	}
	ids, err := s.warnCard(ctx, due, &BurnReport{})
	if err != nil {
		return err
	}
	return s.store.MarkWarned(ctx, ids)
}

// unconfirmedTotals counts the clinic's unconfirmed cards and their
// balances now.
func (s *Service) unconfirmedTotals(ctx context.Context, clinicID string) (*UnconfirmedTotals, error) {
	cards, err := s.store.UnconfirmedCards(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("wallet: unconfirmed cards: %w", err)
	}
	t := &UnconfirmedTotals{Cards: int64(len(cards))}
	for _, c := range cards {
		st, err := s.store.Head(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("wallet: unconfirmed card %s: %w", c.ID, err)
		}
		t.Points += st.Balance
	}
	return t, nil
}

// heldWarning reports whether a card's burn warnings wait (unconfirmed:
// the patient has no app to read them; afterConfirm sends them).
func heldWarning(c *Card) bool { return c.Status == StatusUnconfirmed }

// earningStaffCard is staffCard for a receipt: an active card, or an
// unconfirmed one (it earns before the patient has the app).
func (s *Service) earningStaffCard(ctx context.Context, clinicID, cardID string) (*Card, error) {
	if cardID == "" {
		return nil, invalid("card_id", "required")
	}
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusActive && c.Status != StatusUnconfirmed {
		return nil, refused(ErrCardNotActive, "card %s is not active (pending or lapsed): points move only on an active card", cardID)
	}
	return c, nil
}

// CardReceiptFacts lists the receipt and refund facts of one card, oldest
// first: what the referrals pay a confirmed card's enrolling staff member
// for, read from the card's own entries.
func (s *Service) CardReceiptFacts(ctx context.Context, cardID string) ([]ReceiptFact, error) {
	var out []ReceiptFact
	after := int64(0)
	for {
		es, err := s.store.Entries(ctx, cardID, after, 500)
		if err != nil {
			return nil, fmt.Errorf("wallet: entries of %s: %w", cardID, err)
		}
		for i := range es {
			if f, ok := FactOf(&es[i]); ok {
				out = append(out, f)
			}
		}
		if len(es) < 500 {
			return out, nil
		}
		after = es[len(es)-1].Seq
	}
}
