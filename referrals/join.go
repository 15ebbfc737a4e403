package referrals

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"carewallet/app/otp"
	"carewallet/app/problem"
)

// wrongCodeLimit: at most this many wrong referral codes per patient per
// hour (app/otp's windowed slots, unique (key, n) on any number of
// instances). Once they are used up every code is refused until the hour
// ends, a right one too, so codes cannot be enumerated.
var wrongCodeLimit = otp.Limit{Max: 10, Per: time.Hour}

// Fraud rules recorded on a link.
const (
	RuleVelocity     = "velocity"      // too many joins under one referrer in a day
	RuleSharedDevice = "shared_device" // the new patient's device was used by other accounts
)

// CardCode returns the personal code of the patient's own active card,
// creating it on first use: unique code and unique owner, so concurrent
// first calls agree and the code never changes.
func (s *Service) CardCode(ctx context.Context, patientID, cardID string) (*Code, error) {
	card, err := s.wallet.PatientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	if !card.Own || !card.Active || card.PatientID != patientID {
		return nil, fmt.Errorf("referrals: card %s: %w", cardID, ErrNotOwnCard)
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	if !p.Enabled {
		return nil, fmt.Errorf("referrals: clinic %s: %w", card.ClinicID, ErrDisabled)
	}
	return s.ownCode(ctx, &Code{ClinicID: card.ClinicID, Owner: "card:" + card.ID, CardID: card.ID, PatientID: patientID})
}

// StaffCode returns a staff member's personal code (created on first use).
func (s *Service) StaffCode(ctx context.Context, clinicID, staffID string) (*Code, error) {
	return s.ownCode(ctx, &Code{ClinicID: clinicID, Owner: "staff:" + staffID, StaffID: staffID})
}

func (s *Service) ownCode(ctx context.Context, c *Code) (*Code, error) {
	for range 10 {
		old, err := s.store.CodeByOwner(ctx, c.Owner)
		if err == nil {
			return old, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("referrals: code: %w", err)
		}
		if c.Code, err = newCode(s.rand); err != nil {
			return nil, err
		}
		c.Created = s.clock()
		err = s.store.InsertCode(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errDuplicate) {
			return nil, fmt.Errorf("referrals: code: %w", err)
		}
		// The owner got a code concurrently (read it next turn) or the
		// code is taken (draw another).
	}
	return nil, fmt.Errorf("referrals: code: no free code after 10 draws")
}

// JoinResult is the answer of Join.
type JoinResult struct {
	ClinicID     string `json:"clinic_id"`
	CardID       string `json:"card_id"`
	Status       string `json:"status"` // joined or held
	RefereeBonus int64  `json:"referee_bonus"`
}

// Join is POST /v1/me/referral: the patient enters a friend's (or a
// staff member's) code. Every refusal is decided before anything is
// written. The link under the referrer is a unique (clinic, referee)
// insert; the card (wallet join, welcome bonus) and the referee bonus
// follow it and are keyed, so a retry after a crash completes them and a
// repeat of the same code is answered as the first time.
//
// clinicID, when set, is the clinic the patient chose (POST /v1/me/cards
// with referral_code): a code of another clinic is refused.
func (s *Service) Join(ctx context.Context, patientID, clinicID, rawCode string) (*JoinResult, error) {
	now := s.clock()
	slots := slotAdapter{s.store}
	limitKey := "refcode:" + patientID
	if r, err := otp.Full(ctx, slots, limitKey, now, wrongCodeLimit); err != nil {
		return nil, err
	} else if r.Refused() {
		return nil, tooManyCodes(r.RetryAfter)
	}
	code, ok := NormalizeCode(rawCode)
	var c *Code
	if ok {
		var err error
		c, err = s.store.Code(ctx, code)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("referrals: code: %w", err)
		}
	}
	if c == nil {
		r, err := otp.Take(ctx, slots, limitKey, now, wrongCodeLimit)
		if err != nil {
			return nil, err
		}
		if r.Refused() {
			return nil, tooManyCodes(r.RetryAfter)
		}
		return nil, ErrUnknownCode
	}
	if clinicID != "" && c.ClinicID != clinicID {
		return nil, invalid("referral_code", "is a code of another clinic")
	}
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return nil, err
	}
	if !p.Enabled {
		return nil, ErrDisabled
	}
	if err := s.selfReferral(ctx, c, patientID); err != nil {
		return nil, err
	}
	link, err := s.store.Link(ctx, c.ClinicID, patientID)
	switch {
	case err == nil && link.Code != c.Code:
		return nil, ErrAlreadyReferred
	case err == nil:
		return s.completeJoin(ctx, p, link) // the same code again: finish what a crash left
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("referrals: link: %w", err)
	}
	if own, err := s.wallet.OwnCard(ctx, c.ClinicID, patientID); err == nil && own.Paid > 0 {
		return nil, ErrNotNewPatient
	} else if err != nil && !isNotFound(err) {
		return nil, err
	}
	link, err = s.newLink(ctx, p, c, patientID, now)
	if err != nil {
		return nil, err
	}
	if err := s.store.InsertLink(ctx, link); errors.Is(err, errDuplicate) {
		old, rerr := s.store.Link(ctx, c.ClinicID, patientID)
		if rerr != nil || old.Code != c.Code {
			return nil, ErrAlreadyReferred
		}
		link = old
	} else if err != nil {
		return nil, fmt.Errorf("referrals: link: %w", err)
	}
	return s.completeJoin(ctx, p, link)
}

// isNotFound reports a not-found from the wallet adapter, which app maps
// onto ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func tooManyCodes(retry time.Duration) error {
	return &problem.Limited{Message: fmt.Sprintf("at most %d wrong referral codes an hour", wrongCodeLimit.Max),
		RetryAfter: retry, Kind: ErrTooManyCodes}
}

// selfReferral refuses the patient's own code: the same account, the
// same phone, or a device the referrer has also used.
func (s *Service) selfReferral(ctx context.Context, c *Code, patientID string) error {
	if c.PatientID == "" {
		return nil // a staff code
	}
	if c.PatientID == patientID {
		return ErrSelfReferral
	}
	same, err := s.people.SamePhone(ctx, c.PatientID, patientID)
	if err != nil {
		return err
	}
	if same {
		return ErrSelfReferral
	}
	users, err := s.store.DeviceUsers(ctx, patientID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u == c.PatientID {
			return ErrSelfReferral
		}
	}
	return nil
}

// newLink builds the link and runs the checks that hold it for a manager.
func (s *Service) newLink(ctx context.Context, p *Program, c *Code, patientID string, now time.Time) (*Link, error) {
	id, err := s.newID("rf_")
	if err != nil {
		return nil, err
	}
	l := &Link{ID: id, ClinicID: c.ClinicID, RefereeID: patientID, Code: c.Code, Depth: 1, Ancestors: []string{},
		Checks: []Check{}, Created: now}
	if c.StaffID != "" {
		l.StaffID = c.StaffID
		return l, s.holdChecks(ctx, p, l, now)
	}
	l.ReferrerID, l.ReferrerCard = c.PatientID, c.CardID
	l.Depth, l.Ancestors = 2, []string{c.PatientID}
	if up, err := s.store.Link(ctx, c.ClinicID, c.PatientID); err == nil {
		l.Depth = up.Depth + 1
		l.Ancestors = append(l.Ancestors, up.Ancestors[:min(len(up.Ancestors), maxAncestors-1)]...)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return l, s.holdChecks(ctx, p, l, now)
}

func (s *Service) holdChecks(ctx context.Context, p *Program, l *Link, now time.Time) error {
	if l.ReferrerID != "" {
		loc, err := s.people.Location(ctx, l.ClinicID)
		if err != nil {
			return err
		}
		if loc == nil {
			loc = time.UTC
		}
		y, m, d := now.In(loc).Date()
		n, err := s.store.JoinsSince(ctx, l.ClinicID, l.ReferrerID, time.Date(y, m, d, 0, 0, 0, 0, loc))
		if err != nil {
			return err
		}
		if n >= p.joinsPerDay() {
			l.Checks = append(l.Checks, Check{Rule: RuleVelocity,
				Reason: fmt.Sprintf("more than %d people joined with this referrer's code today", p.joinsPerDay())})
		}
	}
	users, err := s.store.DeviceUsers(ctx, l.RefereeID)
	if err != nil {
		return err
	}
	if len(users) > 1 {
		l.Checks = append(l.Checks, Check{Rule: RuleSharedDevice,
			Reason: fmt.Sprintf("the new patient's device was also used by %d other account(s)", len(users)-1)})
	}
	l.Held = len(l.Checks) > 0
	return nil
}

// completeJoin makes the card and credits the referee bonus (unless the
// link waits for a manager): both keyed, so running it again is harmless.
func (s *Service) completeJoin(ctx context.Context, p *Program, l *Link) (*JoinResult, error) {
	cardID, err := s.wallet.Join(ctx, l.RefereeID, l.ClinicID)
	if err != nil {
		return nil, err
	}
	res := &JoinResult{ClinicID: l.ClinicID, CardID: cardID, Status: "joined"}
	if l.Held {
		res.Status = RewardHeld
		if d, err := s.store.Decision(ctx, l.ID); err == nil && d.Approved {
			res.Status = "joined"
		} else if err == nil {
			res.Status = RewardRejected
		}
	}
	if res.Status == "joined" {
		pts, err := s.refereeBonus(ctx, p, l, cardID)
		if err != nil {
			return nil, err
		}
		res.RefereeBonus = pts
	}
	return res, nil
}

// refereeBonus credits the joining bonus under the program of the join.
func (s *Service) refereeBonus(ctx context.Context, p *Program, l *Link, cardID string) (int64, error) {
	if p.RefereeBonus.Points <= 0 {
		return 0, nil
	}
	posted, err := s.wallet.Credit(ctx, Credit{CardID: cardID, Kind: KindRefereeBonus, Key: "referee:" + l.ID,
		Points: p.RefereeBonus.Points, BurnDays: p.RefereeBonus.BurnDays, Reason: "joined with a referral code",
		Details: map[string]any{"rule": "referee_bonus", "referral_id": l.ID, "program_version": p.Version}})
	if err != nil {
		return 0, err
	}
	if !posted.Replayed {
		name, _ := s.people.ClinicName(ctx, l.ClinicID)
		_ = s.notifier.Notify(ctx, l.RefereeID, Notification{Key: "referee:" + l.ID, Type: NoteReward,
			Data:       RewardData{CardID: cardID, ClinicID: l.ClinicID, Kind: KindRefereeBonus, Points: posted.Points},
			AlertTitle: "Бонус за приглашение / Welcome bonus",
			AlertBody: fmt.Sprintf("Вы получили %d баллов за вход по коду друга в %s / You got %d points for joining %s with a friend's code",
				posted.Points, name, posted.Points, name)})
	}
	return posted.Points, nil
}

// SawDevice records that the patient registered a device (only the
// token's SHA-256 is kept), for the self-referral and shared-device
// checks. Idempotent.
func (s *Service) SawDevice(ctx context.Context, patientID, token string) error {
	h := sha256.Sum256([]byte(token))
	err := s.store.InsertDevice(ctx, hex.EncodeToString(h[:]), patientID, s.clock())
	if err != nil && !errors.Is(err, errDuplicate) {
		return fmt.Errorf("referrals: device: %w", err)
	}
	return nil
}

// StaffAccountID is how a staff member's devices are recorded beside
// patients' (SawDevice), for the collusion check.
func StaffAccountID(staffID string) string { return "staff:" + staffID }

// slotAdapter adapts the store to app/otp's slots.
type slotAdapter struct{ st SlotStore }

func (a slotAdapter) Slots(ctx context.Context, key string) (int, error) { return a.st.Slots(ctx, key) }

func (a slotAdapter) InsertSlot(ctx context.Context, key string, n int, at time.Time) error {
	err := a.st.InsertSlot(ctx, key, n, at)
	if errors.Is(err, errDuplicate) {
		return otp.ErrTaken
	}
	return err
}

// Notification types.
const (
	NoteReward = "referrals.reward" // data: RewardData
)

// RewardData is the data of a NoteReward event: ids and numbers only.
type RewardData struct {
	CardID   string `json:"card_id"`
	ClinicID string `json:"clinic_id"`
	Kind     string `json:"kind"`
	Points   int64  `json:"points"`
	Level    int    `json:"level,omitempty"`
}
