package referrals

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// JobReport is what one run of the reward job did.
type JobReport struct {
	Facts     int   `json:"facts"`
	Rewards   int   `json:"rewards"`
	Points    int64 `json:"points"`
	Clawbacks int   `json:"clawbacks"`

	names   map[string]string // clinic names read during the run
	friends map[string]string // referees' masked names read during the run
}

// clinicName is the clinic's name for a push, read once per run.
func (s *Service) clinicName(ctx context.Context, rep *JobReport, clinicID string) string {
	if n, ok := rep.names[clinicID]; ok {
		return n
	}
	n, _ := s.people.ClinicName(ctx, clinicID)
	if rep.names == nil {
		rep.names = map[string]string{}
	}
	rep.names[clinicID] = n
	return n
}

// jobBatch is how many receipt facts the job asks the wallet for at once.
const jobBatch = 500

// RunRewards is the reward job: for every clinic with a referral program
// it reads the wallet's receipt facts from its cursor (minus the overlap,
// for entries committed late) and makes sure each one's rewards and
// claw-backs exist and are posted. Everything it writes is keyed, so it
// can run any number of times, on any number of instances, and after a
// crash between a receipt and its rewards it pays exactly what is missing.
func (s *Service) RunRewards(ctx context.Context) (*JobReport, error) {
	clinics, err := s.store.ProgramClinics(ctx)
	if err != nil {
		return nil, fmt.Errorf("referrals: job: %w", err)
	}
	rep := &JobReport{}
	for _, clinicID := range clinics {
		if err := s.runClinic(ctx, clinicID, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (s *Service) runClinic(ctx context.Context, clinicID string, rep *JobReport) error {
	cur, err := s.store.Cursor(ctx, clinicID)
	if err != nil {
		return fmt.Errorf("referrals: job cursor: %w", err)
	}
	from := time.Time{}
	if !cur.IsZero() {
		from = cur.Add(-s.overlap)
	}
	var last time.Time
	after := ""
	for {
		facts, next, err := s.wallet.Receipts(ctx, clinicID, from, after, jobBatch)
		if err != nil {
			return fmt.Errorf("referrals: job receipts: %w", err)
		}
		for i := range facts {
			if err := s.HandleFact(ctx, &facts[i], rep); err != nil {
				return err
			}
			last = facts[i].At
		}
		rep.Facts += len(facts)
		if next == "" {
			break
		}
		after = next
	}
	if !last.IsZero() {
		return s.store.SetCursor(ctx, clinicID, last)
	}
	return nil
}

// HandleFact makes sure one receipt fact's rewards (or claw-backs) exist
// and are posted. The HTTP layer calls it right after a receipt or a
// refund, so rewards arrive at once; the job calls it again later, which
// changes nothing.
func (s *Service) HandleFact(ctx context.Context, f *ReceiptFact, rep *JobReport) error {
	if rep == nil {
		rep = &JobReport{}
	}
	switch f.Kind {
	case FactReceipt:
		return s.rewardReceipt(ctx, f, rep)
	case FactRefund:
		return s.clawBackRefund(ctx, f, rep)
	}
	return nil
}

// beneficiary is one rewarded party of a receipt.
type beneficiary struct {
	level   int
	card    string // a patient's card (levels 1..3)
	patient string
	staff   string // the enrolling staff member (level 0)
	terms   Terms
	status  string // "" : decided by the link
}

// rewardReceipt decides and pays a receipt's rewards as one unit
// (Store.Atomic): on SQLite the reads, the first-visit claim, the reward
// records, the wallet credits and the beneficiaries' inbox events are one
// transaction, and the pushes leave after it commits. A failure rolls all
// of it back for the job to redo; a credit the wallet refuses (a card no
// longer active) does not undo the others, and is reported after the
// commit.
func (s *Service) rewardReceipt(ctx context.Context, f *ReceiptFact, rep *JobReport) error {
	if f.Paid <= 0 {
		return nil
	}
	var refused error
	saved := *rep
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		err := s.rewardReceiptIn(ctx, f, rep)
		if re := (*refusedError)(nil); errors.As(err, &re) {
			refused = err
			return nil
		}
		return err
	})
	if err != nil {
		*rep = saved // nothing of this receipt was paid
		return err
	}
	return refused
}

// refusedError is a credit the wallet refused while the receipt's other
// rewards were paid.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

func (s *Service) rewardReceiptIn(ctx context.Context, f *ReceiptFact, rep *JobReport) error {
	p, err := s.programAt(ctx, f.ClinicID, f.At)
	if err != nil || !p.Enabled {
		return err
	}
	card, err := s.wallet.Card(ctx, f.CardID)
	if err != nil {
		return fmt.Errorf("referrals: card of receipt %s: %w", f.ReceiptID, err)
	}
	if !card.Own {
		return nil // a dependant's card is never referred nor enrolled
	}
	link, err := s.store.Link(ctx, f.ClinicID, f.PatientID)
	if errors.Is(err, ErrNotFound) {
		link = nil
	} else if err != nil {
		return fmt.Errorf("referrals: link: %w", err)
	}
	var bs []beneficiary
	// The staff member who enrolled the patient: issued the card at
	// reception, or whose staff code the patient entered.
	staff := card.IssuedBy
	if staff == "" && link != nil {
		staff = link.StaffID
	}
	// An unconfirmed card earns its staff member nothing yet: once the
	// patient confirms it, app hands its receipts to HandleFact again.
	if t, ok := StaffTerms(p, f.PointValue); ok && staff != "" && !card.Unconfirmed {
		b := beneficiary{level: StaffLevel, staff: staff, terms: t}
		// A staff member earns nothing on their own patient account: one
		// that shares a device with theirs.
		users, err := s.store.DeviceUsers(ctx, f.PatientID)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u == StaffAccountID(staff) {
				b.status = RewardRejected
			}
		}
		bs = append(bs, b)
	}
	if link != nil && link.ReferrerID != "" {
		first, err := s.firstVisit(ctx, f, p)
		if err != nil {
			return err
		}
		if Qualifies(p, f.Paid, link.Created, f.At, first) {
			chain, err := s.chain(ctx, link, len(p.Levels))
			if err != nil {
				return err
			}
			for i, b := range chain {
				if t, ok := LevelTerms(p, i+1, f.PointValue); ok {
					b.terms = t
					bs = append(bs, b)
				}
			}
		}
	}
	return s.ensureRewards(ctx, f, p, link, bs, rep)
}

// firstVisit claims the referee's first qualifying receipt: unique
// (clinic, referee), so of two receipts racing, one is first for good.
func (s *Service) firstVisit(ctx context.Context, f *ReceiptFact, p *Program) (bool, error) {
	if f.Paid < p.MinPaid {
		return false, nil
	}
	err := s.store.InsertVisit(ctx, &Visit{ClinicID: f.ClinicID, RefereeID: f.PatientID, ReceiptID: f.ReceiptID, Created: f.At})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, errDuplicate) {
		return false, fmt.Errorf("referrals: visit: %w", err)
	}
	v, err := s.store.Visit(ctx, f.ClinicID, f.PatientID)
	if err != nil {
		return false, fmt.Errorf("referrals: visit: %w", err)
	}
	return v.ReceiptID == f.ReceiptID, nil
}

// chain lists the referrers above a link, nearest first, up to levels:
// the link's referrer, then the referrers of the link's ancestors, read
// in one query (a link records its ancestors, nearest first).
func (s *Service) chain(ctx context.Context, l *Link, levels int) ([]beneficiary, error) {
	n := min(levels, MaxLevels)
	if l.ReferrerID == "" || n <= 0 {
		return nil, nil
	}
	out := []beneficiary{{level: 1, card: l.ReferrerCard, patient: l.ReferrerID}}
	if n == 1 {
		return out, nil
	}
	if len(l.Ancestors) == 0 || l.Ancestors[0] != l.ReferrerID {
		return s.walkChain(ctx, l, n)
	}
	ids := l.Ancestors[:min(n-1, len(l.Ancestors))]
	ls, err := s.store.Links(ctx, l.ClinicID, ids)
	if err != nil {
		return nil, fmt.Errorf("referrals: links: %w", err)
	}
	byReferee := make(map[string]*Link, len(ls))
	for i := range ls {
		byReferee[ls[i].RefereeID] = &ls[i]
	}
	for _, id := range ids {
		up := byReferee[id]
		if up == nil || up.ReferrerID == "" {
			break
		}
		out = append(out, beneficiary{level: len(out) + 1, card: up.ReferrerCard, patient: up.ReferrerID})
	}
	return out, nil
}

// walkChain reads the chain link by link (a link without its ancestors).
func (s *Service) walkChain(ctx context.Context, l *Link, levels int) ([]beneficiary, error) {
	var out []beneficiary
	for cur := l; cur != nil && cur.ReferrerID != "" && len(out) < levels; {
		out = append(out, beneficiary{level: len(out) + 1, card: cur.ReferrerCard, patient: cur.ReferrerID})
		up, err := s.store.Link(ctx, cur.ClinicID, cur.ReferrerID)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("referrals: link: %w", err)
		}
		cur = up
	}
	return out, nil
}

// ensureRewards records the receipt's rewards for bs (unique (clinic,
// receipt, level): the first writer decides each one's status) and posts
// them. One read finds the records a previous run made; the missing ones
// are inserted together (one transaction on SQLite), and only a lost race
// re-reads.
func (s *Service) ensureRewards(ctx context.Context, f *ReceiptFact, p *Program, link *Link, bs []beneficiary, rep *JobReport) error {
	if len(bs) == 0 {
		return nil
	}
	// A run after the first finds the records made: read them first when
	// making one again would take a monthly-cap slot (a side effect);
	// otherwise the insert's unique key tells, and only a conflict
	// re-reads.
	var have []Reward
	if p.MaxRewardedPerMonth > 0 && link != nil {
		var err error
		if have, err = s.store.ReceiptRewards(ctx, f.ClinicID, f.ReceiptID); err != nil {
			return fmt.Errorf("referrals: rewards: %w", err)
		}
	}
	byLevel := make(map[int]*Reward, len(bs))
	for i := range have {
		byLevel[have[i].Level] = &have[i]
	}
	var fresh []*Reward
	linkStatus := "" // read once per receipt
	var err error
	for _, b := range bs {
		if byLevel[b.level] != nil {
			continue
		}
		r := &Reward{ClinicID: f.ClinicID, ReceiptID: f.ReceiptID, Level: b.level, RefereeID: f.PatientID,
			RefereeCard: f.CardID, BeneficiaryCard: b.card, BeneficiaryPatient: b.patient, StaffID: b.staff,
			Terms: b.terms, Paid: f.Paid, Points: b.terms.Owed(f.Paid), Status: RewardCredited,
			ProgramVersion: p.Version, BurnDays: p.RewardBurnDays, Created: s.clock()}
		if r.Points <= 0 {
			continue
		}
		if b.status != "" {
			r.Status = b.status
		}
		if link != nil && b.level != StaffLevel {
			r.LinkID = link.ID
			if linkStatus == "" {
				if linkStatus, err = s.linkStatus(ctx, link); err != nil {
					return err
				}
			}
			r.Status = linkStatus
			if r.Status == RewardCredited && b.level == 1 && p.MaxRewardedPerMonth > 0 {
				capped, err := s.capped(ctx, p, b.patient, f.At)
				if err != nil {
					return err
				}
				if capped {
					r.Status = RewardCapped
				}
			}
		}
		fresh = append(fresh, r)
	}
	if len(fresh) > 0 {
		inserted, err := s.store.InsertRewards(ctx, fresh)
		if err != nil {
			return fmt.Errorf("referrals: rewards: %w", err)
		}
		lost := false
		for i, r := range fresh {
			if inserted[i] {
				byLevel[r.Level] = r
			} else {
				lost = true
			}
		}
		if lost { // another run inserted first: its records stand
			if have, err = s.store.ReceiptRewards(ctx, f.ClinicID, f.ReceiptID); err != nil {
				return fmt.Errorf("referrals: rewards: %w", err)
			}
			for i := range have {
				byLevel[have[i].Level] = &have[i]
			}
		}
	}
	pay := make([]*Reward, 0, len(bs))
	for _, b := range bs {
		if r := byLevel[b.level]; r != nil {
			pay = append(pay, r)
		}
	}
	return s.postAll(ctx, pay, rep)
}

// linkStatus is the status a new reward of the link gets.
func (s *Service) linkStatus(ctx context.Context, l *Link) (string, error) {
	if !l.Held {
		return RewardCredited, nil // managers decide held links only (ErrNotHeld)
	}
	d, err := s.store.Decision(ctx, l.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		if l.Held {
			return RewardHeld, nil
		}
		return RewardCredited, nil
	case err != nil:
		return "", err
	case d.Approved:
		return RewardCredited, nil
	}
	return RewardRejected, nil
}

// effective reports whether a reward is (to be) paid: credited when
// recorded, or held and since approved.
func (s *Service) effective(ctx context.Context, r *Reward) (bool, error) {
	switch r.Status {
	case RewardCredited:
		return true, nil
	case RewardHeld:
		d, err := s.store.Decision(ctx, r.LinkID)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil && d.Approved, err
	}
	return false, nil
}

// post credits a reward to the beneficiary's card under the key
// ref:{receipt}:{level} and tells them; staff rewards live in the
// staff's rewards account (the records themselves) and post nothing.
func (s *Service) post(ctx context.Context, r *Reward, rep *JobReport) error {
	return s.postAll(ctx, []*Reward{r}, rep)
}

// postAll posts a receipt's rewards: those to be paid are credited
// together (one wallet call, one transaction on SQLite), then each new
// credit is told to its beneficiary. A credit that fails is reported
// after the others were tried; the job pays it later.
func (s *Service) postAll(ctx context.Context, rs []*Reward, rep *JobReport) error {
	var pay []*Reward
	var cs []Credit
	for _, r := range rs {
		if r.Level == StaffLevel {
			continue
		}
		ok, err := s.effective(ctx, r)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if r.Status == RewardHeld && r.Level == 1 {
			if capped, err := s.heldCapped(ctx, r); err != nil {
				return err
			} else if capped {
				continue
			}
		}
		pay = append(pay, r)
		cs = append(cs, Credit{CardID: r.BeneficiaryCard, Kind: KindReferral, Key: r.Key(), Points: r.Points, BurnDays: r.BurnDays,
			Reason: fmt.Sprintf("a level %d friend's paid visit", r.Level), Details: s.rewardDetails(ctx, r, rep)})
	}
	if len(cs) == 0 {
		return nil
	}
	res, err := s.wallet.CreditAll(ctx, cs)
	if err != nil {
		return fmt.Errorf("referrals: credit %s: %w", cs[0].Key, err)
	}
	var failed error
	for i, r := range pay {
		if res[i].Err != nil {
			if failed == nil {
				failed = &refusedError{fmt.Errorf("referrals: credit %s: %w", r.Key(), res[i].Err)}
			}
			continue
		}
		if res[i].Posted.Replayed {
			continue
		}
		s.tell(ctx, r, res[i].Posted.Points, rep)
	}
	return failed
}

// tell is the push of a new reward.
func (s *Service) tell(ctx context.Context, r *Reward, points int64, rep *JobReport) {
	rep.Rewards++
	rep.Points += points
	name := s.clinicName(ctx, rep, r.ClinicID)
	who, kto := "a friend you invited", "друг, которого вы пригласили,"
	if r.Level > 1 {
		who, kto = "a friend of your friend", "друг вашего друга"
	}
	_ = s.notifier.Notify(ctx, r.BeneficiaryPatient, Notification{Key: r.Key(), Type: NoteReward,
		Data:       RewardData{CardID: r.BeneficiaryCard, ClinicID: r.ClinicID, Kind: KindReferral, Points: points, Level: r.Level},
		AlertTitle: "Баллы за друга / Points for a friend",
		AlertBody: fmt.Sprintf("Вы получили %d баллов: %s посетил %s / You got %d points: %s visited %s",
			points, kto, name, points, who, name)})
}

// rewardDetails explains a reward entry: which friend (the referral id
// and the masked name, "Anna I."), which level, which receipt, which rate.
func (s *Service) rewardDetails(ctx context.Context, r *Reward, rep *JobReport) map[string]any {
	friend, ok := rep.friends[r.RefereeID]
	if !ok {
		first, last, _ := s.people.Name(ctx, r.RefereeID)
		friend = MaskName(first, last)
		if rep.friends == nil {
			rep.friends = map[string]string{}
		}
		rep.friends[r.RefereeID] = friend
	}
	return map[string]any{"rule": "referral_reward", "referral_id": r.LinkID, "friend": friend,
		"level": r.Level, "receipt_id": r.ReceiptID,
		"rate_bp": r.Terms.RateBP, "bonus": r.Terms.Bonus, "paid": r.Paid, "program_version": r.ProgramVersion}
}
