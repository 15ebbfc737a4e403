package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carewallet/app/otp"
	"carewallet/app/problem"
)

// spendCodeLimit caps the wrong spend codes per card across all its
// spends: opening new spends gives new codes (each with its own 10
// attempts), so without it an employee could guess a patient's code. Each
// wrong code takes a slot of the card's hour (app/otp's windowed limit:
// unique (key, n) slots, on any number of instances); the Max-th locks the
// card's spends until the hour ends (a unique lock record checked before
// any code is compared and before a new spend sends a code) and the
// patient is told once. Right codes cost
// nothing, so a busy card is never locked by its own payments. Codes
// already being checked when the lock is set are still answered: the
// overshoot is the checks in flight at that instant.
var spendCodeLimit = otp.Limit{Max: SpendCodeMax, Per: time.Hour}

// SpendCodeMax is how many wrong spend codes lock a card's spends for the
// rest of the hour (see spendCodeLimit). A constant: no caller loosens it.
const SpendCodeMax = 20

// NoteSpendLocked tells the patient that wrong codes locked their card's
// spends (data: SpendLockedData).
const NoteSpendLocked = "wallet.spend_locked"

// NoteSpendLockedStaff alerts the clinic's managers to the same lock
// (data: SpendLockedData), so someone can ask who was at the desk.
const NoteSpendLockedStaff = "wallet.spend_locked_staff"

// SpendLockedData is the data of a NoteSpendLocked event.
type SpendLockedData struct {
	CardID   string    `json:"card_id"`
	ClinicID string    `json:"clinic_id"`
	Until    time.Time `json:"until"`
}

// slotStore adapts the wallet's store to app/otp's slots.
type slotStore struct{ st CodeStore }

func (s slotStore) Slots(ctx context.Context, key string) (int, error) { return s.st.Slots(ctx, key) }

func (s slotStore) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	err := s.st.InsertSlot(ctx, key, n, at)
	if errors.Is(err, errDuplicate) {
		return otp.ErrTaken
	}
	return err
}

// spendLockKey names the lock of the card's spends in the window of
// spendCodeLimit that holds now (app/otp aligns its windows the same way:
// a multiple of Per), and lockedUntil is that window's end.
func spendLockKey(cardID string, now time.Time) string {
	return fmt.Sprintf("spendlock:%s:%d", cardID, lockedUntil(now).Unix())
}

func lockedUntil(now time.Time) time.Time {
	return now.Truncate(spendCodeLimit.Per).Add(spendCodeLimit.Per)
}

// spendLocked refuses a check of a card whose spends are locked.
func (s *Service) spendLocked(ctx context.Context, cardID string, now time.Time) error {
	n, err := s.store.Slots(ctx, spendLockKey(cardID, now))
	if err != nil {
		return fmt.Errorf("wallet: spend lock: %w", err)
	}
	if n > 0 {
		return lockedErr(lockedUntil(now).Sub(now))
	}
	return nil
}

func lockedErr(retry time.Duration) error {
	return &problem.Limited{Message: "too many wrong spend codes for this card", RetryAfter: retry, Kind: ErrTooManyAttempts}
}

// wrongSpendCode counts a wrong code of the card; the one that fills the
// hour locks the card's spends and tells the patient (problem.Limited).
func (s *Service) wrongSpendCode(ctx context.Context, sp *Spend, now time.Time) error {
	limit := otp.Limit{Max: spendCodeLimit.Max - 1, Per: spendCodeLimit.Per} // the Max-th is refused: it locks
	ref, err := otp.Take(ctx, slotStore{s.store}, "spendwrong:"+sp.CardID, now, limit)
	if err != nil || !ref.Refused() {
		return err
	}
	if err := s.store.InsertSlot(ctx, spendLockKey(sp.CardID, now), 1, now); err != nil && !errors.Is(err, errDuplicate) {
		return fmt.Errorf("wallet: spend lock: %w", err)
	}
	until := lockedUntil(now)
	// Best effort, once per card and window: the lock stands either way.
	_ = s.notifier.Notify(ctx, sp.PatientID, Notification{
		Key: fmt.Sprintf("spendlock:%s:%d", sp.CardID, until.Unix()), Type: NoteSpendLocked,
		Data:       SpendLockedData{CardID: sp.CardID, ClinicID: sp.ClinicID, Until: until},
		AlertTitle: "Оплата баллами приостановлена / Paying with points is paused",
		AlertBody: "Для вашей карты несколько раз ввели неверный код. Если это были не вы, сообщите в клинику. / " +
			"Several wrong codes were entered for your card. If it was not you, tell the clinic.",
	})
	if s.managers != nil {
		_ = s.managers.AlertManagers(ctx, sp.ClinicID, Notification{
			Key: fmt.Sprintf("spendlock:%s:%d", sp.CardID, until.Unix()), Type: NoteSpendLockedStaff,
			Data:       SpendLockedData{CardID: sp.CardID, ClinicID: sp.ClinicID, Until: until},
			AlertTitle: "Оплата баллами по карте приостановлена / A card's point payments are paused",
			AlertBody: "На ресепшене несколько раз ввели неверный код оплаты по одной карте. / " +
				"Several wrong payment codes were entered at the desk for one card.",
		})
	}
	return lockedErr(until.Sub(now))
}

// SpendQuote is how many points a bonus payment on some lines may take
// now: the program's max share of the lines payable with points (ByShare)
// and the card's available balance; MaxPoints is the smaller of the two.
type SpendQuote struct {
	CardID    string `json:"card_id"`
	ByShare   int64  `json:"by_share"`
	Available int64  `json:"available"`
	MaxPoints int64  `json:"max_points"`
}

// QuoteSpend answers the SpendQuote of a card of the clinic for lines,
// before a bonus payment is started; it writes nothing. The limits are the
// ones CreateSpend checks (maxSpendByShare, available).
func (s *Service) QuoteSpend(ctx context.Context, clinicID, cardID string, lines []Line) (*SpendQuote, error) {
	if err := validateLines("lines", lines); err != nil {
		return nil, err
	}
	card, err := s.activeStaffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	st, err := s.store.State(ctx, card.ID)
	if err != nil {
		return nil, err
	}
	q := &SpendQuote{CardID: card.ID, ByShare: maxSpendByShare(p, lines), Available: available(st, s.clock())}
	q.MaxPoints = min(q.ByShare, q.Available)
	return q, nil
}
