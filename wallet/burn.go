package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BurnReport is what one RunBurn pass did.
type BurnReport struct {
	Lots      int   `json:"lots"`   // lots burned
	Points    int64 `json:"points"` // points burned
	Warned    int   `json:"warned"`
	Birthdays int   `json:"birthdays"`
	Repaired  int   `json:"repaired"` // cards whose lot index was rebuilt (MongoDB, after a crash)
}

// RunBurn is the burn job, safe to run on any number of instances at once:
//   - every open lot with burns_at <= now gets one expire entry keyed
//     expire:{lot} (the unique key makes concurrent runs post it once),
//     found through the burns_at index in batches of Options.BurnBatch;
//   - lots whose warning time has come get a burn warning (inbox key
//     burnwarn:{lot}, so a repeat delivers once);
//   - active cards whose holder has a birthday today in the clinic's time
//     zone get the birthday bonus (key birthday:{year});
//   - expired QR card codes are purged.
func (s *Service) RunBurn(ctx context.Context, now time.Time) (*BurnReport, error) {
	now = now.UTC()
	rep := &BurnReport{}
	// First, lots that a crash kept out of the burn index (MongoDB: an
	// entry committed, its lot cache write lost). A minute's grace lets
	// commits in flight finish their own cache writes.
	for {
		n, err := s.store.RepairLots(ctx, now.Add(-time.Minute), s.batch)
		if err != nil {
			return rep, fmt.Errorf("wallet: repair lots: %w", err)
		}
		rep.Repaired += n
		if n == 0 {
			break
		}
	}
	if err := s.burnLots(ctx, now, rep); err != nil {
		return rep, err
	}
	if err := s.warnLots(ctx, now, rep); err != nil {
		return rep, err
	}
	if err := s.birthdays(ctx, now, rep); err != nil {
		return rep, err
	}
	if err := s.store.PurgeCardCodes(ctx, now.Add(-time.Hour)); err != nil {
		return rep, fmt.Errorf("wallet: purge card codes: %w", err)
	}
	return rep, nil
}

func (s *Service) burnLots(ctx context.Context, now time.Time, rep *BurnReport) error {
	seen := map[string]bool{}
	for {
		lots, err := s.store.DueLots(ctx, now, s.batch)
		if err != nil {
			return fmt.Errorf("wallet: due lots: %w", err)
		}
		cards := map[string]*Card{}
		var cs []Commit
		fresh := 0
		for _, l := range lots {
			if seen[l.ID] {
				continue
			}
			seen[l.ID] = true
			fresh++
			card := cards[l.CardID]
			if card == nil {
				if card, err = s.store.Card(ctx, l.CardID); err != nil {
					return fmt.Errorf("wallet: burn: card %s: %w", l.CardID, err)
				}
				cards[l.CardID] = card
			}
			cs = append(cs, s.expireCommit(card, l.ID, now))
		}
		if fresh == 0 {
			return nil
		}
		res, err := commitAll(ctx, s.store, cs)
		if err != nil {
			return fmt.Errorf("wallet: burn: %w", err)
		}
		for i, r := range res {
			switch {
			case r.Err != nil:
				return fmt.Errorf("wallet: burn lot: %w", r.Err)
			case r.Entry == nil:
				// Spent before it burned: only the cache was stale.
				if err := s.store.SyncLots(ctx, cs[i].CardID); err != nil {
					return err
				}
			case !r.Entry.Replayed:
				rep.Lots++
				rep.Points -= r.Entry.Amount
				s.notifyBalance(ctx, cards[cs[i].CardID], r.Entry)
			}
		}
	}
}

func (s *Service) expireCommit(card *Card, lotID string, now time.Time) Commit {
	key := "expire:" + lotID
	return Commit{CardID: card.ID, Key: key, Fingerprint: "expire", Build: func(st *State, _ []Entry) (*Entry, error) {
		for _, l := range st.Lots {
			if l.ID != lotID {
				continue
			}
			if l.Remaining <= 0 || l.BurnsAt.After(now) {
				return nil, nil
			}
			e := stampEntry(&Entry{Kind: KindExpire, Amount: -l.Remaining,
				Lots: []LotDelta{{LotID: l.ID, Delta: -l.Remaining}}}, st, card, now)
			e.Key, e.Fingerprint = key, "expire"
			e.Details = mustJSON(map[string]any{"rule": "burn", "lot_id": l.ID, "lot_kind": l.Kind, "burns_at": l.BurnsAt})
			return e, nil
		}
		return nil, nil
	}}
}

// warnLots sends one burn warning per card and burn day ("800 points
// burn at the end of 5 Dec"), however many lots burn that day, keyed
// burnwarn:{card}:{day} so concurrent jobs on several instances send it
// once. Lots come ordered by card; a full batch's last card may continue
// in the next batch, so its lots wait for that one to be summed whole.
func (s *Service) warnLots(ctx context.Context, now time.Time, rep *BurnReport) error {
	seen := map[string]bool{}
	for {
		lots, err := s.store.WarnLots(ctx, now, s.batch)
		if err != nil {
			return fmt.Errorf("wallet: lots to warn: %w", err)
		}
		full := len(lots) == s.batch
		var fresh []Lot
		for _, l := range lots {
			if !seen[l.ID] {
				fresh = append(fresh, l)
			}
		}
		if full && len(fresh) > 0 && fresh[0].CardID != fresh[len(fresh)-1].CardID {
			last := fresh[len(fresh)-1].CardID
			for len(fresh) > 0 && fresh[len(fresh)-1].CardID == last {
				fresh = fresh[:len(fresh)-1]
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		var done []string
		for i := 0; i < len(fresh); {
			j := i
			for j < len(fresh) && fresh[j].CardID == fresh[i].CardID {
				j++
			}
			ids, err := s.warnCard(ctx, fresh[i:j], rep)
			if err != nil {
				return err
			}
			done = append(done, ids...)
			i = j
		}
		for _, id := range done {
			seen[id] = true
		}
		if err := s.store.MarkWarned(ctx, done); err != nil {
			return fmt.Errorf("wallet: mark warned: %w", err)
		}
	}
}

// warnCard sends one warning per burn day for one card's due lots and
// returns the lots it covered.
func (s *Service) warnCard(ctx context.Context, lots []Lot, rep *BurnReport) ([]string, error) {
	card, err := s.store.Card(ctx, lots[0].CardID)
	if err != nil {
		return nil, fmt.Errorf("wallet: warn: card: %w", err)
	}
	if heldWarning(card) {
		// Marked warned unsent: confirming the card sends what is due.
		ids := make([]string, len(lots))
		for i, l := range lots {
			ids[i] = l.ID
		}
		return ids, nil
	}
	loc, err := s.location(ctx, card.ClinicID)
	if err != nil {
		return nil, err
	}
	type day struct {
		points  int64
		burnsAt time.Time
		lots    []string
	}
	var order []string
	days := map[string]*day{}
	for _, l := range lots {
		d := l.BurnsAt.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
		if days[d] == nil {
			days[d] = &day{burnsAt: l.BurnsAt}
			order = append(order, d)
		}
		days[d].points += l.Remaining
		days[d].lots = append(days[d].lots, l.ID)
	}
	var ids []string
	for _, d := range order {
		g := days[d]
		label := g.burnsAt.Add(-time.Nanosecond).In(loc).Format("2 Jan")
		if err := s.notifier.Notify(ctx, card.PatientID, Notification{
			Key: "burnwarn:" + card.ID + ":" + d, Type: NoteBurnWarning,
			Data: BurnWarningData{CardID: card.ID, ClinicID: card.ClinicID, LotID: g.lots[0], LotIDs: g.lots,
				Points: g.points, BurnsAt: g.burnsAt, Date: d},
			AlertTitle: "Points about to burn",
			AlertBody:  fmt.Sprintf("%d points burn at the end of %s", g.points, label),
			Clinic:     card.ClinicID, Class: ClassBurnWarning,
		}); err != nil {
			return nil, fmt.Errorf("wallet: burn warning: %w", err)
		}
		rep.Warned++
		ids = append(ids, g.lots...)
	}
	return ids, nil
}

// birthdays credits the birthday bonus to holders born on today's date in
// their clinic's zone. Candidates are the UTC dates around now (zones span
// UTC-12 to UTC+14); each is checked against the clinic's local date.
func (s *Service) birthdays(ctx context.Context, now time.Time, rep *BurnReport) error {
	var mds []string
	seenMD := map[string]bool{}
	for _, d := range []int{-1, 0, 1} {
		t := now.AddDate(0, 0, d)
		for _, md := range birthMonthDays(t.Year(), t.Month(), t.Day()) {
			if !seenMD[md] {
				seenMD[md] = true
				mds = append(mds, md)
			}
		}
	}
	after := ""
	for {
		people, err := s.people.BornOn(ctx, mds, after, s.batch)
		if err != nil {
			return fmt.Errorf("wallet: birthdays: %w", err)
		}
		if len(people) == 0 {
			return nil
		}
		for _, person := range people {
			after = person.ID
			cards, err := s.heldBy(ctx, person.ID)
			if err != nil {
				return fmt.Errorf("wallet: birthdays: %w", err)
			}
			if err := s.birthdayBonus(ctx, person, cards, now, rep); err != nil {
				return err
			}
		}
	}
}

// heldBy lists the active cards whose holder is the person (their own,
// or theirs as a dependant).
func (s *Service) heldBy(ctx context.Context, personID string) ([]Card, error) {
	own, err := s.store.CardsByPatient(ctx, []string{personID})
	if err != nil {
		return nil, err
	}
	asDependant, err := s.store.CardsByDependant(ctx, []string{personID})
	if err != nil {
		return nil, err
	}
	var out []Card
	for _, c := range append(own, asDependant...) {
		if c.Status == StatusActive && c.Holder.holderID() == personID {
			out = append(out, c)
		}
	}
	return out, nil
}

// birthdayBonus credits the person's birthday bonus on each card whose
// clinic's local date is their birthday (once a year: key birthday:{year}).
func (s *Service) birthdayBonus(ctx context.Context, person Person, cards []Card, now time.Time, rep *BurnReport) error {
	for i := range cards {
		c := &cards[i]
		loc, err := s.location(ctx, c.ClinicID)
		if err != nil {
			return err
		}
		l := now.In(loc)
		if !isBirthday(person.BirthDate, l.Year(), l.Month(), l.Day()) {
			continue
		}
		p, err := s.Program(ctx, c.ClinicID)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("birthday:%d", l.Year())
		if _, err := s.store.EntryByKey(ctx, c.ID, key); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		e, err := s.bonus(ctx, c, KindBirthday, key, "", p.BirthdayBonus,
			map[string]any{"rule": "birthday_bonus", "year": l.Year(), "program_version": p.Version})
		if err != nil {
			return err
		}
		if e != nil && !e.Replayed {
			rep.Birthdays++
		}
	}
	return nil
}
