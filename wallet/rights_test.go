package wallet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// dependantCard issues and confirms a dependant's card held by guardian,
// with extra points credited by an adjustment.
func (e *env) dependantCard(t testing.TB, guardian, birth string, points int64) string {
	t.Helper()
	ctx := context.Background()
	res := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", GuardianID: guardian,
		FirstName: "Masha", LastName: "Petrova", BirthDate: birth}))
	must[*IssueCardResult](t)(e.svc.ConfirmCard(ctx, "cl_1", res.CardID, e.notes.cardCode(t, guardian, res.CardID)))
	if points > 0 {
		must[*Entry](t)(e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_1", StaffID: "st_1", CardID: res.CardID, Points: points, Reason: "gift"}))
	}
	return res.CardID
}

func TestConsentsRecorded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		card := e.dependantCard(t, "pt_mom", "2015-06-01", 0)
		e.clock.Advance(time.Minute)
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_1", card, "pt_dad"); err != nil {
			t.Fatal(err)
		}
		// Adding again records nothing new.
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_1", card, "pt_dad"); err != nil {
			t.Fatal(err)
		}
		cs := must[[]Consent](t)(e.svc.CardConsents(ctx, "pt_dad", card))
		if len(cs) != 2 || cs[0].GuardianID != "pt_mom" || cs[1].GuardianID != "pt_dad" || cs[0].TextVersion != ConsentTextVersion ||
			cs[0].ClinicID != "cl_1" || cs[0].ClosedAt != nil || !cs[0].Created.Equal(t0) {
			t.Fatalf("consents %+v", cs)
		}
		if _, err := e.svc.CardConsents(ctx, "pt_stranger", card); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a stranger reads consents: %v", err)
		}
		if _, err := e.svc.StaffConsents(ctx, "cl_2", card); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another clinic reads consents: %v", err)
		}
		if got := must[[]Consent](t)(e.svc.GuardianConsents(ctx, "pt_mom")); len(got) != 1 {
			t.Fatalf("mom's consents %+v", got)
		}
	})
}

func TestHandoverAge(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		// t0 is 2026-03-10: born 2011-03-11 is 14 tomorrow, 2008-03-10 is 18 today.
		young := e.dependantCard(t, "pt_mom", "2011-03-10", 0)
		if _, err := e.svc.StartHandover(ctx, "pt_mom", young, "pt_kid"); !errors.Is(err, ErrTooYoung) {
			t.Fatalf("handover at 15 under the default 18: %v", err)
		}
		p := testProgram()
		p.MajorityAge = 14
		e.setupClinic(t, "cl_1", p)
		if _, err := e.svc.StartHandover(ctx, "pt_mom", young, "pt_kid"); err != nil {
			t.Fatalf("handover at 15 with majority 14: %v", err)
		}
		p.MajorityAge = 13
		if err := p.Validate(); err == nil {
			t.Fatal("majority age 13 accepted")
		}
		if _, err := e.svc.StartHandover(ctx, "pt_mom", young, "pt_mom"); err == nil {
			t.Fatal("handover to the guardian's own account accepted")
		}
		if _, err := e.svc.StartHandover(ctx, "pt_dad", young, "pt_kid"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a stranger starts a handover: %v", err)
		}
	})
}

func TestHandoverConcurrentAccept(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		card := e.dependantCard(t, "pt_mom", "2000-01-01", 700)
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_1", card, "pt_dad"); err != nil {
			t.Fatal(err)
		}
		before := checkLedger(t, e.store, card)
		entries := must[[]Entry](t)(e.store.Entries(ctx, card, 0, 100))
		// Two guardians offer the card to two phones; both accept at once,
		// kid1 twice, through two instances.
		h1 := must[*Handover](t)(e.svc.StartHandover(ctx, "pt_mom", card, "pt_kid1"))
		h2 := must[*Handover](t)(e.svc.StartHandover(ctx, "pt_dad", card, "pt_kid2"))
		again := must[*Handover](t)(e.svc.StartHandover(ctx, "pt_mom", card, "pt_kid1"))
		if again.ID != h1.ID || h1.Status != HandoverOpen {
			t.Fatalf("restarting made another offer: %+v %+v", h1, again)
		}
		other := e.second(t)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		wg.Go(func() { _, errs[0] = e.svc.AcceptHandover(ctx, "pt_kid1", h1.ID) })
		wg.Go(func() { _, errs[1] = other.AcceptHandover(ctx, "pt_kid1", h1.ID) })
		wg.Go(func() { _, errs[2] = other.AcceptHandover(ctx, "pt_kid2", h2.ID) })
		wg.Wait()
		c := must[*Card](t)(e.store.Card(ctx, card))
		winner, won := c.PatientID, 0
		for i, who := range []string{"pt_kid1", "pt_kid1", "pt_kid2"} {
			switch {
			case errs[i] == nil && who == winner:
				won++
			case errors.Is(errs[i], ErrHandedOver) && who != winner:
			default:
				t.Fatalf("accept %d by %s: %v (card now %s)", i, who, errs[i], winner)
			}
		}
		if won == 0 || c.Holder.Kind != HolderSelf || c.Holder.PatientID != winner || c.Status != StatusActive {
			t.Fatalf("card after accepts: %+v", c)
		}
		if got := checkLedger(t, e.store, card); got != before {
			t.Fatalf("balance %d after handover, %d before", got, before)
		}
		if n := len(must[[]Entry](t)(e.store.Entries(ctx, card, 0, 100))); n != len(entries) {
			t.Fatalf("%d entries after handover, %d before", n, len(entries))
		}
		for _, g := range []string{"pt_mom", "pt_dad"} {
			if _, _, err := e.svc.patientCard(ctx, g, card); !errors.Is(err, ErrNotFound) {
				t.Fatalf("guardian %s still reads the card: %v", g, err)
			}
			told := false
			for _, n := range e.notes.all(g) {
				told = told || (n.Type == NoteHandedOver && n.AlertTitle != "")
			}
			if !told {
				t.Fatalf("guardian %s was not told", g)
			}
		}
		if _, _, err := e.svc.patientCard(ctx, winner, card); err != nil {
			t.Fatalf("the new holder cannot read the card: %v", err)
		}
		for _, cs := range must[[]Consent](t)(e.svc.CardConsents(ctx, winner, card)) {
			if cs.ClosedAt == nil {
				t.Fatalf("consent still open: %+v", cs)
			}
		}
		if p := must[Person](t)(e.people.Person(ctx, winner)); p.FirstName != "Masha" {
			t.Fatalf("new account profile %+v", p)
		}
		mine := must[[]Handover](t)(e.svc.MyHandovers(ctx, winner))
		if len(mine) != 1 || mine[0].Status != HandoverAccepted || mine[0].AcceptedAt == nil {
			t.Fatalf("winner's handovers %+v", mine)
		}
	})
}

func TestErasePatientWallet(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		own := e.joined(t, "pt_mom", "cl_1")
		must[*Entry](t)(e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_1", StaffID: "st_1", CardID: own.ID, Points: 250, Reason: "gift"}))
		dep := e.dependantCard(t, "pt_mom", "2015-06-01", 0)
		before := must[*Totals](t)(e.svc.Totals(ctx, "cl_1", t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0)))
		if err := e.svc.ErasePatient(ctx, "pt_mom"); !errors.Is(err, ErrSoleGuardian) {
			t.Fatalf("erasing the only guardian: %v", err)
		}
		if c := must[*Card](t)(e.store.Card(ctx, own.ID)); c.Status != StatusActive {
			t.Fatalf("a refused erasure changed the card: %+v", c)
		}
		if err := e.svc.AddGuardian(ctx, "cl_1", "st_1", dep, "pt_dad"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // a retry forfeits nothing twice
			if err := e.svc.ErasePatient(ctx, "pt_mom"); err != nil {
				t.Fatal(err)
			}
		}
		c := must[*Card](t)(e.store.Card(ctx, own.ID))
		if c.Status != StatusDeleted || checkLedger(t, e.store, own.ID) != 0 {
			t.Fatalf("own card after erasure: %+v", c)
		}
		var forfeits int
		for _, en := range must[[]Entry](t)(e.store.Entries(ctx, own.ID, 0, 100)) {
			if en.Kind == KindForfeit {
				forfeits++
				if en.Amount != -750 {
					t.Fatalf("forfeit %+v", en)
				}
			}
		}
		if forfeits != 1 {
			t.Fatalf("%d forfeit entries", forfeits)
		}
		after := must[*Totals](t)(e.svc.Totals(ctx, "cl_1", t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0)))
		if after.Issued != before.Issued || after.Spent != before.Spent || after.Burned != before.Burned ||
			after.Reversed != before.Reversed || after.Forfeited != 750 || after.Outstanding != before.Outstanding-750 {
			t.Fatalf("totals before %+v after %+v", before, after)
		}
		d := must[*Card](t)(e.store.Card(ctx, dep))
		if d.PatientID != "pt_dad" {
			t.Fatalf("dependant's card codes go to %s", d.PatientID)
		}
		if _, _, err := e.svc.patientCard(ctx, "pt_mom", dep); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the deleted guardian still reads the card: %v", err)
		}
		if _, err := e.svc.Adjust(ctx, AdjustRequest{ClinicID: "cl_1", StaffID: "st_1", CardID: own.ID, Points: 5, Reason: "x"}); !errors.Is(err, ErrCardNotActive) {
			t.Fatalf("points moved on a deleted card: %v", err)
		}
	})
}
