package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"carewallet/wallet"
)

// TestGuardianGrantsPerClinic (issue 8 item 6): a guardian added at one
// clinic opens only that clinic's cards of the child; the guardians who
// already held them are told; removing a guardian ends their access at
// once and moves the card's codes to the remaining guardian; the only
// guardian cannot be removed.
func TestGuardianGrantsPerClinic(t *testing.T) {
	ta := newTestApp(t)
	c1 := ta.clinicWithProgram("Smile", "smile.test")
	c2 := ta.clinicWithProgram("Tooth", "tooth.test")
	momID, momTok := ta.patient("+79991000071")
	child := map[string]string{"guardian_phone": "+79991000071", "first_name": "Masha", "last_name": "Petrova", "birth_date": "2018-06-01"}
	card1 := ta.issueConfirmed(c1, child, momID)
	card2 := ta.issueConfirmed(c2, child, momID)

	// Clinic 2 adds a second guardian to its card of the child.
	ta.clock.add(time.Minute)
	ta.must(204, "POST", "/v1/clinic/cards/"+card2+"/guardians", c2.admin, map[string]string{"phone": "+79991000072"})
	dadID, dadTok := ta.patient("+79991000072")
	ev := ta.lastEvent(momID, wallet.NoteGuardianAdded)
	var added wallet.GuardianData
	if err := json.Unmarshal(ev.Data, &added); err != nil || added.CardID != card2 || added.ClinicID != c2.id {
		t.Fatalf("guardian_added event: %s (%v)", ev.Data, err)
	}
	if strings.Contains(string(ev.Data), "79991000072") {
		t.Fatalf("the event carries the new guardian's phone: %s", ev.Data)
	}

	// The new guardian reads clinic 2's card and nothing of clinic 1's.
	ta.must(200, "GET", "/v1/cards/"+card2, dadTok, nil)
	for _, p := range []string{"", "/history", "/lots", "/code", "/qr.png"} {
		ta.must(404, "GET", "/v1/cards/"+card1+p, dadTok, nil)
	}
	var mine cardsResponse
	ta.must(200, "GET", "/v1/me/cards", dadTok, nil).decode(t, &mine)
	if len(mine.Cards) != 1 || mine.Cards[0].ID != card2 {
		t.Fatalf("the new guardian's cards: %+v", mine.Cards)
	}
	var look lookupResponse
	ta.must(200, "GET", "/v1/clinic/cards/lookup?phone=%2B79991000072", c1.admin, nil).decode(t, &look)
	if len(look.Cards) != 0 {
		t.Fatalf("clinic 1 finds the child's card under the new guardian: %+v", look.Cards)
	}
	ta.must(200, "GET", "/v1/me/cards", momTok, nil).decode(t, &mine)
	if len(mine.Cards) != 2 {
		t.Fatalf("mother's cards: %+v", mine.Cards)
	}

	var gs guardiansResponse
	ta.must(200, "GET", "/v1/clinic/cards/"+card2+"/guardians", c2.admin, nil).decode(t, &gs)
	if len(gs.Guardians) != 2 || gs.Guardians[0].GuardianID != momID || gs.Guardians[1].GuardianID != dadID {
		t.Fatalf("guardians: %+v", gs.Guardians)
	}
	ta.must(404, "GET", "/v1/clinic/cards/"+card2+"/guardians", c1.admin, nil)
	ta.must(404, "DELETE", "/v1/clinic/cards/"+card2+"/guardians/"+momID, c1.admin, nil)
	ta.must(404, "DELETE", "/v1/clinic/cards/"+card2+"/guardians/pt_nope", c2.admin, nil)

	// Removing the mother at clinic 2: her access there ends at once, the
	// card's codes go to the father, clinic 1's card stays hers.
	ta.must(204, "DELETE", "/v1/clinic/cards/"+card2+"/guardians/"+momID, c2.admin, nil)
	ta.must(404, "GET", "/v1/cards/"+card2, momTok, nil)
	if ev := ta.lastEvent(momID, wallet.NoteGuardianRemoved); !strings.Contains(string(ev.Data), card2) {
		t.Fatalf("guardian_removed event: %s", ev.Data)
	}
	ta.must(404, "GET", "/v1/cards/"+card2+"/code", momTok, nil)
	ta.must(200, "GET", "/v1/cards/"+card1, momTok, nil)
	ta.must(200, "GET", "/v1/me/cards", momTok, nil).decode(t, &mine)
	if len(mine.Cards) != 1 || mine.Cards[0].ID != card1 {
		t.Fatalf("mother's cards after removal: %+v", mine.Cards)
	}
	var cv wallet.CardView
	ta.must(200, "GET", "/v1/clinic/cards/"+card2, c2.admin, nil).decode(t, &cv)
	if cv.PatientID != dadID {
		t.Fatalf("card's codes go to %s, want the remaining guardian %s", cv.PatientID, dadID)
	}
	ta.must(201, "POST", "/v1/clinic/spends", c2.admin, map[string]any{"card_id": card2, "receipt_id": "G-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 10000}}, "points": 10})
	ta.eventCode(dadID, wallet.NoteSpendCode)

	// The father is now the only guardian at clinic 2.
	r := ta.must(409, "DELETE", "/v1/clinic/cards/"+card2+"/guardians/"+dadID, c2.admin, nil)
	var e errorBody
	r.decode(t, &e)
	if e.Error.Code != "last_guardian" || !strings.Contains(e.Error.Message, "guardian") || strings.HasPrefix(e.Error.Message, "wallet:") {
		t.Fatalf("removing the last guardian: %s", r.Body)
	}
	ta.must(200, "GET", "/v1/cards/"+card2, dadTok, nil)
}
