package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"carewallet/wallet"
)

// TestHolderDetailsFollowTheProfile: identity owns a card holder's names
// and birth date. A patient who joined from the app and entered their
// birth date later gets the birthday bonus, and the names on their cards
// follow the profile; reception's details fill an empty profile and a
// dependant's card shows the dependant's. (Before, a card kept its own
// copy: none when joined from the app, so no birthday bonus ever, and
// names that drifted from the profile.)
func TestHolderDetailsFollowTheProfile(t *testing.T) {
	ta := newTestApp(t)
	ctx := context.Background()
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, tok := ta.patient("+79990004001")
	var v wallet.CardView
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)

	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	today := ta.clock.now().In(moscow)
	birth := fmt.Sprintf("%04d-%02d-%02d", today.Year()-28, today.Month(), today.Day()) // 28: a leap year stays one
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": "Olga", "last_name": "Smirnova", "birth_date": birth})
	ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil).decode(t, &v)
	if v.Holder.FirstName != "Olga" || v.Holder.LastName != "Smirnova" || v.Holder.BirthDate != birth {
		t.Fatalf("holder after PATCH /v1/me: %+v", v.Holder)
	}

	rep, err := ta.deps.Wallet.RunBurn(ctx, ta.clock.now())
	if err != nil || rep.Birthdays != 1 {
		t.Fatalf("burn job on the birthday: %+v, %v", rep, err)
	}
	ta.must(200, "GET", "/v1/cards/"+v.ID, tok, nil).decode(t, &v)
	if v.Balance != 500+300 {
		t.Fatalf("balance after the birthday: %d, want welcome 500 + birthday 300", v.Balance)
	}

	// A later change shows on every card at once.
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": "Olya"})
	var mine struct{ Cards []wallet.CardSummary }
	ta.must(200, "GET", "/v1/me/cards", tok, nil).decode(t, &mine)
	if len(mine.Cards) != 1 || mine.Cards[0].Holder.FirstName != "Olya" {
		t.Fatalf("my cards after a rename: %+v", mine)
	}

	// Reception's details fill a new patient's empty profile; the
	// patient's own later change wins on the card.
	card := ta.issueConfirmed(cl, map[string]string{"phone": "+79990004002", "first_name": "Gleb", "last_name": "Orlov",
		"birth_date": "1975-03-03"}, ta.patientIDByPhone("+79990004002"))
	gleb, glebTok := ta.patient("+79990004002")
	var me meResponse
	ta.must(200, "GET", "/v1/me", glebTok, nil).decode(t, &me)
	if me.ID != gleb || me.FirstName != "Gleb" || me.LastName != "Orlov" || me.BirthDate != "1975-03-03" {
		t.Fatalf("profile after issuing at reception: %+v", me)
	}
	ta.must(200, "PATCH", "/v1/me", glebTok, map[string]string{"last_name": "Orlov-Petrov"})
	ta.must(200, "GET", "/v1/cards/"+card, glebTok, nil).decode(t, &v)
	if v.Holder.LastName != "Orlov-Petrov" {
		t.Fatalf("reception's card after the patient's change: %+v", v.Holder)
	}

	// A dependant's details are the dependant's identity record.
	dep := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79990004002", "first_name": "Dima", "last_name": "Orlov",
		"birth_date": "2015-08-08"}, gleb)
	ta.must(200, "GET", "/v1/cards/"+dep, glebTok, nil).decode(t, &v)
	if v.Holder.Kind != wallet.HolderDependant || v.Holder.FirstName != "Dima" || v.Holder.BirthDate != "2015-08-08" {
		t.Fatalf("dependant's card: %+v", v.Holder)
	}
	if p, err := ta.deps.Identity.Person(ctx, v.Holder.DependantID); err != nil || p.FirstName != "Dima" {
		t.Fatalf("dependant in identity: %+v, %v", p, err)
	}
}

// patientIDByPhone is the id of the account reception's card goes to
// (created on first use).
func (ta *testApp) patientIDByPhone(phone string) string {
	ta.t.Helper()
	p, err := ta.deps.Identity.EnsurePatient(context.Background(), phone)
	if err != nil {
		ta.t.Fatal(err)
	}
	return p.ID
}
