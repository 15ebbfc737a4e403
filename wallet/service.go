package wallet

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix + 26 random base32 characters (128 bits).
func (s *Service) newID(prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("wallet: random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}

// fingerprint identifies a request body for idempotency checks.
func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are fingerprinted
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *Service) location(ctx context.Context, clinicID string) (*time.Location, error) {
	loc, err := s.clinics.Location(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("wallet: clinic %s time zone: %w", clinicID, err)
	}
	if loc == nil {
		loc = time.UTC
	}
	return loc, nil
}

// Program returns the clinic's current program (GET /v1/clinic/program);
// a clinic that never saved one gets DefaultProgram (version 0).
func (s *Service) Program(ctx context.Context, clinicID string) (*Program, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	// Programs are immutable per version: a decoded one is reused while
	// the store's latest version is unchanged, so every operation still
	// sees a change made on any instance, without decoding it each time.
	v, err := s.store.LatestProgramVersion(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("wallet: program of %s: %w", clinicID, err)
	}
	if v == 0 {
		return DefaultProgram(clinicID), nil
	}
	if c, ok := s.programs.Load(clinicID); ok && c.(*Program).Version == v {
		cp := *c.(*Program)
		return &cp, nil
	}
	p, err := s.store.LatestProgram(ctx, clinicID)
	if errors.Is(err, ErrNotFound) {
		return DefaultProgram(clinicID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: program of %s: %w", clinicID, err)
	}
	p.normalize()
	cached := *p
	s.programs.Store(clinicID, &cached)
	return p, nil
}

// PutProgram validates p and saves it as the clinic's next version (PUT
// /v1/clinic/program). Versions are unique (clinic, version); losing a race
// to another manager retries on top of the winner.
func (s *Service) PutProgram(ctx context.Context, clinicID, staffID string, p Program) (*Program, error) {
	p.normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for range 20 {
		cur, err := s.Program(ctx, clinicID)
		if err != nil {
			return nil, err
		}
		p.ClinicID, p.Version, p.UpdatedBy, p.UpdatedAt = clinicID, cur.Version+1, staffID, s.clock()
		err = s.store.InsertProgram(ctx, &p)
		if err == nil {
			return &p, nil
		}
		if !errors.Is(err, errDuplicate) {
			return nil, fmt.Errorf("wallet: save program: %w", err)
		}
	}
	return nil, fmt.Errorf("wallet: save program: %w", ErrConflict)
}

// commit appends a ledger entry, serialized per card within this instance
// (the unique (card, seq) key is what serializes across instances).
func (s *Service) commit(ctx context.Context, c Commit) (*Entry, error) {
	unlock := s.cardLocks.lock(c.CardID)
	defer unlock()
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

// credit builds a credit entry creating one lot.
func (s *Service) credit(card *Card, st *State, kind string, points int64, burnsAt, warnAt time.Time, now time.Time, lotID string) *Entry {
	lot := &Lot{ID: lotID, CardID: card.ID, ClinicID: card.ClinicID, Kind: kind, Points: points, Remaining: points,
		BurnsAt: burnsAt, WarnAt: warnAt, Seq: st.Seq + 1}
	e := &Entry{Kind: kind, Amount: points, Lots: []LotDelta{{LotID: lotID, Delta: points}}, NewLot: lot}
	return stampEntry(e, st, card, now)
}

// bonus credits a fixed bonus once per key.
func (s *Service) bonus(ctx context.Context, card *Card, kind, key, staffID string, b Bonus, details any) (*Entry, error) {
	if b.Points <= 0 {
		return nil, nil
	}
	loc, err := s.location(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	p, err := s.Program(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	lotID, err := s.newID("lt_")
	if err != nil {
		return nil, err
	}
	fp := fingerprint([]any{kind, key, b})
	e, err := s.commit(ctx, Commit{CardID: card.ID, Key: key, Fingerprint: fp, Build: func(st *State, _ []Entry) (*Entry, error) {
		now := s.clock()
		burns := burnTime(now, loc, b.BurnDays)
		e := s.credit(card, st, kind, b.Points, burns, warnTime(burns, loc, p.BurnWarningDays), now, lotID)
		e.Key, e.Fingerprint, e.StaffID = key, fp, staffID
		e.Details = mustJSON(details)
		return e, nil
	}})
	if errors.Is(err, ErrIdempotencyConflict) {
		// A bonus key is ours alone; a replay with another program's
		// amount is still the same bonus: return what was credited.
		return s.store.EntryByKey(ctx, card.ID, key)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: %s bonus: %w", kind, err)
	}
	s.notifyPoints(ctx, card, e)
	return e, nil
}

// notifyPoints tells the card's patient about a credit. Best effort: the
// ledger entry is the truth and the inbox key makes a retry harmless.
func (s *Service) notifyPoints(ctx context.Context, card *Card, e *Entry) {
	if e == nil || e.Amount <= 0 {
		return
	}
	_ = s.notifier.Notify(ctx, card.PatientID, Notification{
		Key:        fmt.Sprintf("points:%s:%d", card.ID, e.Seq),
		Type:       NotePointsEarned,
		Data:       PointsData{CardID: card.ID, ClinicID: card.ClinicID, Kind: e.Kind, Points: e.Amount, Balance: e.BalanceAfter},
		AlertTitle: "Bonus points", AlertBody: fmt.Sprintf("+%d points", e.Amount),
	})
}
