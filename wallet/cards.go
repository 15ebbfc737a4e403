package wallet

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// personKey identifies a dependant under one guardian: normalized names
// and birth date.
func personKey(first, last, birth string) string {
	n := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	return n(first) + "|" + n(last) + "|" + birth
}

func validName(field, v string, required bool) error {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if len(v) > 100 || strings.ContainsAny(v, "\x00\r\n\t") {
		return invalid(field, "must be at most 100 characters on one line")
	}
	return nil
}

func (s *Service) validBirth(field, v string, required bool) error {
	if v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	t, ok := parseDate(v)
	if !ok {
		return invalid(field, "must be a date YYYY-MM-DD")
	}
	if t.After(s.clock()) || t.Year() < 1900 {
		return invalid(field, "out of range")
	}
	return nil
}

// pendingLapsed reports whether a pending card can no longer be confirmed
// (code expired or attempts used up): it then counts as lapsed.
func (s *Service) pendingLapsed(ctx context.Context, c *Card, now time.Time) (bool, error) {
	if c.Status != StatusPending {
		return false, nil
	}
	if c.ChallengeID == "" {
		return true, nil
	}
	return s.challengeDead(ctx, c.ChallengeID, now)
}

// status is the card's status as shown: pending cards past their code are
// lapsed.
func (s *Service) status(ctx context.Context, c *Card) (string, error) {
	lapsed, err := s.pendingLapsed(ctx, c, s.clock())
	if err != nil {
		return "", err
	}
	if lapsed {
		return StatusLapsed, nil
	}
	return c.Status, nil
}

// liveCard returns the holder's active or unlapsed pending card in the
// clinic (nil if none) and the next free slot.
func (s *Service) liveCard(ctx context.Context, clinicID string, h Holder) (*Card, int, error) {
	cards, err := s.store.CardsByHolder(ctx, clinicID, h.key())
	if err != nil {
		return nil, 0, fmt.Errorf("wallet: cards of holder: %w", err)
	}
	next := 0
	var live *Card
	for i := range cards {
		c := &cards[i]
		next = max(next, c.Slot+1)
		lapsed, err := s.pendingLapsed(ctx, c, s.clock())
		if err != nil {
			return nil, 0, err
		}
		if !lapsed {
			live = c
		}
	}
	return live, next, nil
}

// Join creates the patient's active card at a clinic and credits the
// welcome bonus (POST /v1/me/cards). Joining again returns the same card;
// a pending card issued by reception is activated (the signed-in patient
// proves it is theirs).
func (s *Service) Join(ctx context.Context, patientID, clinicID string) (*CardView, error) {
	if patientID == "" {
		return nil, invalid("patient_id", "required")
	}
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	if _, err := s.location(ctx, clinicID); err != nil {
		return nil, err
	}
	h := Holder{Kind: HolderSelf, PatientID: patientID}
	for range 10 {
		live, slot, err := s.liveCard(ctx, clinicID, h)
		if err != nil {
			return nil, err
		}
		if live != nil {
			if live.PatientID != patientID {
				return nil, fmt.Errorf("wallet: join: %w", ErrCardExists)
			}
			if err := s.activate(ctx, live); err != nil {
				return nil, err
			}
			return s.view(ctx, live)
		}
		id, err := s.newID("cd_")
		if err != nil {
			return nil, err
		}
		c := &Card{ID: id, ClinicID: clinicID, PatientID: patientID, Holder: h, Status: StatusActive,
			Created: s.clock(), Slot: slot}
		err = s.store.InsertCard(ctx, c)
		if errors.Is(err, errDuplicate) {
			continue // a concurrent join or issue took the slot: look again
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: join: %w", err)
		}
		if err := s.activate(ctx, c); err != nil {
			return nil, err
		}
		return s.view(ctx, c)
	}
	return nil, fmt.Errorf("wallet: join: %w", ErrConflict)
}

// activate marks the card active and credits the welcome bonus; both are
// idempotent, so a retry after a crash completes the job.
func (s *Service) activate(ctx context.Context, c *Card) error {
	if c.Status != StatusActive {
		if err := s.store.ActivateCard(ctx, c.ID); err != nil {
			return fmt.Errorf("wallet: activate card: %w", err)
		}
		c.Status = StatusActive
	}
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return err
	}
	_, err = s.bonus(ctx, c, KindWelcome, "welcome", c.IssuedBy, p.WelcomeBonus,
		map[string]any{"rule": "welcome_bonus", "program_version": p.Version, "burn_days": p.WelcomeBonus.BurnDays})
	return err
}

// CheckIssue validates the holder's details of a card to issue: names and
// birth date, which a dependant's card requires. The HTTP layer calls it
// before it creates an account for a phone it has not seen, so a bad
// request creates nothing; IssueCard checks the same.
func (s *Service) CheckIssue(firstName, lastName, birthDate string, dependant bool) error {
	if err := validName("first_name", firstName, dependant); err != nil {
		return err
	}
	if err := validName("last_name", lastName, dependant); err != nil {
		return err
	}
	return s.validBirth("birth_date", birthDate, dependant)
}

// IssueCard is POST /v1/clinic/cards: a pending card whose confirmation
// code goes to the patient's app (or the chosen guardian's, for a
// dependant). Unique (clinic, holder, slot) with a new slot only after the
// previous card lapsed: one live card per holder and clinic.
func (s *Service) IssueCard(ctx context.Context, req IssueCardRequest) (*IssueCardResult, error) {
	if req.ClinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	if (req.PatientID == "") == (req.GuardianID == "") {
		return nil, invalid("phone", "give exactly one of phone and guardian_phone")
	}
	dep := req.GuardianID != ""
	if err := s.CheckIssue(req.FirstName, req.LastName, req.BirthDate, dep); err != nil {
		return nil, err
	}
	if _, err := s.location(ctx, req.ClinicID); err != nil {
		return nil, err
	}
	h := Holder{Kind: HolderSelf, PatientID: req.PatientID, FirstName: strings.TrimSpace(req.FirstName),
		LastName: strings.TrimSpace(req.LastName), BirthDate: req.BirthDate}
	app := req.PatientID
	if dep {
		d, err := s.dependantOf(ctx, req.GuardianID, h.FirstName, h.LastName, req.BirthDate)
		if err != nil {
			return nil, err
		}
		h = Holder{Kind: HolderDependant, DependantID: d.ID, FirstName: d.FirstName, LastName: d.LastName, BirthDate: d.BirthDate}
		app = req.GuardianID
	}
	for range 10 {
		live, slot, err := s.liveCard(ctx, req.ClinicID, h)
		if err != nil {
			return nil, err
		}
		if live != nil {
			return nil, fmt.Errorf("wallet: issue card (%s %s): %w", live.ID, live.Status, ErrCardExists)
		}
		id, err := s.newID("cd_")
		if err != nil {
			return nil, err
		}
		now := s.clock()
		ch, code, err := s.newChallenge(ctx, "card", id, id, 0, now)
		if err != nil {
			return nil, err
		}
		c := &Card{ID: id, ClinicID: req.ClinicID, PatientID: app, Holder: h, Status: StatusPending,
			IssuedBy: req.StaffID, Created: now, Slot: slot, ChallengeID: ch.ID}
		err = s.store.InsertCard(ctx, c)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: issue card: %w", err)
		}
		if err := s.notifier.Notify(ctx, app, Notification{
			Key: "cardcode:" + id, Type: NoteCardCode,
			Data:       CardCodeData{Code: code, CardID: id, ClinicID: req.ClinicID, ExpiresAt: ch.ExpiresAt},
			AlertTitle: "Your clinic card", AlertBody: "Open the app to see the confirmation code",
		}); err != nil {
			return nil, fmt.Errorf("wallet: send card code: %w", err)
		}
		exp := ch.ExpiresAt
		return &IssueCardResult{CardID: id, Status: StatusPending, CodeExpiresAt: &exp}, nil
	}
	return nil, fmt.Errorf("wallet: issue card: %w", ErrConflict)
}

// dependantOf finds the guardian's dependant with these name and birth
// date, creating it (and the guardianship) if needed. Unique (guardian,
// person_key): concurrent issuances agree on one dependant.
func (s *Service) dependantOf(ctx context.Context, guardianID, first, last, birth string) (*Dependant, error) {
	key := personKey(first, last, birth)
	for range 5 {
		gs, err := s.store.GuardianshipsOf(ctx, guardianID)
		if err != nil {
			return nil, fmt.Errorf("wallet: guardianships: %w", err)
		}
		for _, g := range gs {
			if g.PersonKey == key {
				return s.store.Dependant(ctx, g.DependantID)
			}
		}
		id, err := s.newID("dp_")
		if err != nil {
			return nil, err
		}
		d := &Dependant{ID: id, FirstName: first, LastName: last, BirthDate: birth, Created: s.clock()}
		if err := s.store.InsertDependant(ctx, d); err != nil {
			return nil, fmt.Errorf("wallet: dependant: %w", err)
		}
		err = s.store.InsertGuardianship(ctx, &Guardianship{GuardianID: guardianID, DependantID: id, PersonKey: key, Created: s.clock()})
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, errDuplicate) {
			return nil, fmt.Errorf("wallet: guardianship: %w", err)
		}
	}
	return nil, fmt.Errorf("wallet: dependant: %w", ErrConflict)
}

// ConfirmCard is POST /v1/clinic/cards/{id}/confirm: the code from the
// patient's app activates the pending card and credits the welcome bonus.
func (s *Service) ConfirmCard(ctx context.Context, clinicID, cardID, code string) (*IssueCardResult, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusActive {
		return nil, fmt.Errorf("wallet: confirm card: %w", ErrCodeUsed)
	}
	if err := s.verify(ctx, c.ChallengeID, "card", c.ID, strings.TrimSpace(code)); err != nil {
		return nil, fmt.Errorf("wallet: confirm card: %w", err)
	}
	if err := s.activate(ctx, c); err != nil {
		return nil, err
	}
	return &IssueCardResult{CardID: c.ID, Status: StatusActive}, nil
}

// staffCard loads a card of the clinic; another clinic's card is
// ErrNotFound.
func (s *Service) staffCard(ctx context.Context, clinicID, cardID string) (*Card, error) {
	c, err := s.store.Card(ctx, cardID)
	if err != nil {
		return nil, fmt.Errorf("wallet: card %s: %w", cardID, err)
	}
	if clinicID == "" || c.ClinicID != clinicID {
		return nil, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
	}
	return c, nil
}

// activeStaffCard is staffCard for operations that move points.
func (s *Service) activeStaffCard(ctx context.Context, clinicID, cardID string) (*Card, error) {
	if cardID == "" {
		return nil, invalid("card_id", "required")
	}
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusActive {
		return nil, fmt.Errorf("wallet: card %s: %w", cardID, ErrCardNotActive)
	}
	return c, nil
}

// patientCard loads a card the patient may read: held in their app, their
// own, or a dependant's they are a guardian of. Anything else is
// ErrNotFound (the card's existence is not revealed).
func (s *Service) patientCard(ctx context.Context, patientID, cardID string) (*Card, bool, error) {
	c, err := s.store.Card(ctx, cardID)
	if err != nil {
		return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, err)
	}
	if patientID == "" {
		return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
	}
	if c.PatientID == patientID || (c.Holder.Kind == HolderSelf && c.Holder.PatientID == patientID) {
		return c, c.Holder.Kind == HolderDependant, nil
	}
	if c.Holder.Kind == HolderDependant {
		gs, err := s.store.GuardiansOf(ctx, c.Holder.DependantID)
		if err != nil {
			return nil, false, err
		}
		for _, g := range gs {
			if g.GuardianID == patientID {
				return c, true, nil
			}
		}
	}
	return nil, false, fmt.Errorf("wallet: card %s: %w", cardID, ErrNotFound)
}

// Card is GET /v1/cards/{id} for a signed-in patient.
func (s *Service) Card(ctx context.Context, patientID, cardID string) (*CardView, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, c)
}

// StaffCard is a card as staff of its clinic see it.
func (s *Service) StaffCard(ctx context.Context, clinicID, cardID string) (*CardView, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, c)
}

// view builds the card view: balance, level and progress, open lots and
// the next burn.
func (s *Service) view(ctx context.Context, c *Card) (*CardView, error) {
	st, err := s.store.State(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("wallet: card state: %w", err)
	}
	p, err := s.Program(ctx, c.ClinicID)
	if err != nil {
		return nil, err
	}
	status, err := s.status(ctx, c)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	v := &CardView{Card: *c, Balance: st.Balance, Available: available(st, now), Lots: []LotView{}}
	v.Status = status
	if i, ok := levelFor(p, st.Paid); ok {
		l := p.Levels[i]
		v.Level = &LevelView{Name: l.Name, CashbackBP: l.CashbackBP, PaidSpend: st.Paid}
		if i+1 < len(p.Levels) {
			n := p.Levels[i+1]
			v.Level.Next, v.Level.NextAt, v.Level.ToNext = n.Name, n.MinSpend, n.MinSpend-st.Paid
		}
	}
	for _, l := range st.Lots {
		v.Lots = append(v.Lots, LotView{LotID: l.ID, Kind: l.Kind, Points: l.Points, Remaining: l.Remaining, BurnsAt: l.BurnsAt})
		if !usable(l, now) {
			continue
		}
		switch {
		case v.NextBurn == nil:
			v.NextBurn = &BurnView{BurnsAt: l.BurnsAt, Points: l.Remaining}
		case v.NextBurn.BurnsAt.Equal(l.BurnsAt):
			v.NextBurn.Points += l.Remaining
		}
	}
	if v.NextBurn != nil {
		loc, err := s.location(ctx, c.ClinicID)
		if err != nil {
			return nil, err
		}
		// The last day the points can be used, in the clinic's zone.
		v.NextBurn.Date = v.NextBurn.BurnsAt.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
	}
	return v, nil
}

// MyCards is GET /v1/me/cards: the patient's own cards and their
// dependants' cards (lapsed cards are left out).
func (s *Service) MyCards(ctx context.Context, patientID string) ([]CardSummary, error) {
	if patientID == "" {
		return nil, invalid("patient_id", "required")
	}
	cards, err := s.store.CardsByPatient(ctx, []string{patientID})
	if err != nil {
		return nil, err
	}
	gs, err := s.store.GuardianshipsOf(ctx, patientID)
	if err != nil {
		return nil, err
	}
	if len(gs) > 0 {
		ids := make([]string, len(gs))
		for i, g := range gs {
			ids[i] = g.DependantID
		}
		more, err := s.store.CardsByDependant(ctx, ids)
		if err != nil {
			return nil, err
		}
		cards = append(cards, more...)
	}
	return s.summaries(ctx, cards, "")
}

func (s *Service) summaries(ctx context.Context, cards []Card, clinicID string) ([]CardSummary, error) {
	out := []CardSummary{}
	seen := map[string]bool{}
	now := s.clock()
	for i := range cards {
		c := &cards[i]
		if seen[c.ID] || (clinicID != "" && c.ClinicID != clinicID) {
			continue
		}
		seen[c.ID] = true
		status, err := s.status(ctx, c)
		if err != nil {
			return nil, err
		}
		if status == StatusLapsed {
			continue
		}
		st, err := s.store.State(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, CardSummary{Card: *c, Balance: st.Balance, Available: available(st, now),
			Guardian: c.Holder.Kind == HolderDependant})
	}
	return out, nil
}

// LookupPatient lists the clinic's live cards in a patient's app, own
// and dependants' (reception's lookup by phone, resolved by the HTTP
// layer to a patient id).
func (s *Service) LookupPatient(ctx context.Context, clinicID, patientID string) ([]CardSummary, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	all, err := s.MyCards(ctx, patientID)
	if err != nil {
		return nil, err
	}
	out := []CardSummary{}
	for _, c := range all {
		if c.ClinicID == clinicID {
			out = append(out, c)
		}
	}
	return out, nil
}

// AddGuardian adds a guardian to the dependant whose card this is (staff
// of the card's clinic). Adding an existing guardian is a no-op.
func (s *Service) AddGuardian(ctx context.Context, clinicID, staffID, cardID, guardianID string) error {
	if guardianID == "" {
		return invalid("guardian_phone", "required")
	}
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return err
	}
	if c.Holder.Kind != HolderDependant {
		return invalid("card_id", "not a dependant's card")
	}
	err = s.store.InsertGuardianship(ctx, &Guardianship{GuardianID: guardianID, DependantID: c.Holder.DependantID,
		PersonKey: personKey(c.Holder.FirstName, c.Holder.LastName, c.Holder.BirthDate), Created: s.clock()})
	if err != nil && !errors.Is(err, errDuplicate) {
		return fmt.Errorf("wallet: add guardian: %w", err)
	}
	if errors.Is(err, errDuplicate) {
		gs, gerr := s.store.GuardiansOf(ctx, c.Holder.DependantID)
		if gerr != nil {
			return gerr
		}
		for _, g := range gs {
			if g.GuardianID == guardianID {
				return nil
			}
		}
		return fmt.Errorf("wallet: add guardian: the guardian already has a dependant with these details: %w", ErrConflict)
	}
	return nil
}

// History is GET /v1/cards/{id}/history?after= for a patient: entries in
// ledger order, each explaining itself.
func (s *Service) History(ctx context.Context, patientID, cardID, after string, limit int) (*HistoryPage, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.history(ctx, c, after, limit)
}

// StaffHistory is a card's history for staff of its clinic.
func (s *Service) StaffHistory(ctx context.Context, clinicID, cardID, after string, limit int) (*HistoryPage, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	return s.history(ctx, c, after, limit)
}

func (s *Service) history(ctx context.Context, c *Card, after string, limit int) (*HistoryPage, error) {
	var seq int64
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || !strings.HasPrefix(string(b), "s:") {
			return nil, invalid("after", "not a cursor")
		}
		seq, err = strconv.ParseInt(string(b[2:]), 10, 64)
		if err != nil || seq < 0 {
			return nil, invalid("after", "not a cursor")
		}
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	es, err := s.store.Entries(ctx, c.ID, seq, limit+1)
	if err != nil {
		return nil, fmt.Errorf("wallet: history: %w", err)
	}
	page := &HistoryPage{Entries: es}
	if len(es) > limit {
		page.Entries = es[:limit]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte("s:" + strconv.FormatInt(es[limit-1].Seq, 10)))
	}
	if page.Entries == nil {
		page.Entries = []Entry{}
	}
	return page, nil
}

const cardCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I

// CardCode is GET /v1/cards/{id}/code: a fresh 8-character code (40 bits
// from crypto/rand, unique) that staff of the card's clinic resolve to the
// card until it expires.
func (s *Service) CardCode(ctx context.Context, patientID, cardID string) (*CardCode, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusActive {
		return nil, fmt.Errorf("wallet: card code: %w", ErrCardNotActive)
	}
	for range 5 {
		var b [8]byte
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return nil, fmt.Errorf("wallet: random code: %w", err)
		}
		for i := range b {
			b[i] = cardCodeAlphabet[b[i]&31]
		}
		rec := &cardCodeRec{Code: string(b[:]), CardID: c.ID, ClinicID: c.ClinicID, ExpiresAt: s.clock().Add(s.qrTTL)}
		err := s.store.InsertCardCode(ctx, rec)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wallet: card code: %w", err)
		}
		return &CardCode{Code: rec.Code, ExpiresAt: rec.ExpiresAt}, nil
	}
	return nil, fmt.Errorf("wallet: card code: %w", ErrConflict)
}

// LookupCode resolves a QR card code for staff of the card's clinic
// (GET /v1/clinic/cards/lookup?code=). Unknown, expired or another
// clinic's codes are ErrNotFound.
func (s *Service) LookupCode(ctx context.Context, clinicID, code string) (*CardView, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != 8 {
		return nil, invalid("code", "must be 8 characters")
	}
	rec, err := s.store.CardCode(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("wallet: card code: %w", err)
	}
	if rec.ClinicID != clinicID || !s.clock().Before(rec.ExpiresAt) {
		return nil, fmt.Errorf("wallet: card code: %w", ErrNotFound)
	}
	return s.StaffCard(ctx, clinicID, rec.CardID)
}
