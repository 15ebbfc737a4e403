package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"carewallet/wallet"
)

// TestHandoverDropsCardPreference: a guardian's marketing switch for a
// dependant's card does not follow the card to its holder: accepting the
// handover removes it (the guardian's export and store hold none), and
// the guardian's clinic-wide switch stays.
func TestHandoverDropsCardPreference(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	momID, momTok, _ := ta.joinCard(cl, "+79991400031")
	grown := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991400031", "first_name": "Masha",
		"last_name": "Ivanova", "birth_date": "2000-01-02"}, momID)
	off, on := false, true
	var prefs preferencesResponse
	ta.must(200, "PUT", "/v1/me/preferences", momTok, map[string]any{
		"clinics": []any{map[string]any{"clinic_id": cl.id, "marketing": on}},
		"cards":   []any{map[string]any{"card_id": grown, "marketing": off}}}).decode(t, &prefs)
	if len(prefs.Cards) != 1 || *prefs.Cards[0].Marketing {
		t.Fatalf("the guardian's switch for the card: %+v", prefs)
	}

	var h wallet.Handover
	ta.must(201, "POST", "/v1/cards/"+grown+"/handover", momTok, map[string]string{"phone": "+79991400034"}).decode(t, &h)
	_, kidTok := ta.patient("+79991400034")
	for range 2 { // a retried accept finishes the removal too
		ta.must(200, "POST", "/v1/me/handovers/"+h.ID+"/accept", kidTok, nil)
	}
	stored, err := ta.deps.Push.Preferences(context.Background(), momID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Card != "" || !stored[0].Marketing {
		t.Fatalf("the guardian's switches after the handover: %+v", stored)
	}
	var doc exportDocument
	ta.must(200, "GET", "/v1/me/export", momTok, nil).decode(t, &doc)
	for _, p := range doc.Preferences {
		if p.CardID == grown {
			t.Fatalf("the handed-over card's switch is still exported: %+v", doc.Preferences)
		}
	}
	var kid preferencesResponse
	ta.must(200, "GET", "/v1/me/preferences", kidTok, nil).decode(t, &kid)
	if len(kid.Clinics) != 1 || !*kid.Clinics[0].Marketing || len(kid.Cards) != 0 {
		t.Fatalf("the new holder's preferences: %+v", kid)
	}
}

// TestUnconfirmedCardRights: deleting a patient forfeits an unconfirmed
// card like any other (its points leave the clinic's outstanding and
// unconfirmed totals); an unconfirmed card cannot be handed over (only a
// dependant's active card can: a clear 400 on card_id).
func TestUnconfirmedCardRights(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	const phone = "+79991400041"
	var res wallet.IssueCardResult
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, map[string]any{"phone": phone, "first_name": "Anna", "unconfirmed": true}).decode(t, &res)
	receipt(ta, cl, res.CardID, "R-1", 1_000_000)
	_, tok := ta.patient(phone)
	var v wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+res.CardID, tok, nil).decode(t, &v)
	if v.Status != wallet.StatusUnconfirmed || v.Balance <= 0 {
		t.Fatalf("the unconfirmed card: %+v", v)
	}

	r := ta.must(400, "POST", "/v1/cards/"+res.CardID+"/handover", tok, map[string]string{"phone": "+79991400042"})
	if !strings.Contains(string(r.Body), `"field":"card_id"`) {
		t.Fatalf("handover of an unconfirmed card: %s", r.Body)
	}
	if _, err := ta.deps.Identity.PatientByPhone(context.Background(), "+79991400042"); err == nil {
		t.Fatal("a refused handover created an account for the phone")
	}

	var before wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &before)
	if before.Unconfirmed == nil || before.Unconfirmed.Cards != 1 || before.Unconfirmed.Points != v.Balance {
		t.Fatalf("totals before %+v", before.Unconfirmed)
	}
	ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	ta.must(204, "DELETE", "/v1/me", tok, map[string]string{"code": ta.sms.LastCode(t, phone)})
	var after wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &after)
	if after.Forfeited != before.Forfeited+v.Balance || after.Outstanding != before.Outstanding-v.Balance ||
		after.Unconfirmed == nil || after.Unconfirmed.Cards != 0 || after.Unconfirmed.Points != 0 {
		t.Fatalf("totals before %+v (%+v), after %+v (%+v)", before, before.Unconfirmed, after, after.Unconfirmed)
	}
	var sc wallet.CardView
	ta.must(200, "GET", "/v1/clinic/cards/"+res.CardID, cl.admin, nil).decode(t, &sc)
	if sc.Status != wallet.StatusDeleted || sc.Balance != 0 || sc.Holder.FirstName != "" {
		t.Fatalf("the deleted patient's unconfirmed card %+v", sc)
	}
}

// TestDeleteMeClosesWebsockets: the deleted account's open websockets are
// closed at once with 1008 "account deleted"; another patient's stays.
func TestDeleteMeClosesWebsockets(t *testing.T) {
	ta := newTestApp(t)
	addr := ta.serve()
	const phone = "+79991400051"
	id, tok := ta.patient(phone)
	otherID, otherTok := ta.patient("+79991400052")
	c1 := mustDialWS(t, addr, tok, "after=0")
	c2 := mustDialWS(t, addr, tok, "after=0")
	other := mustDialWS(t, addr, otherTok, "after=0")
	publish(t, ta, id, 1)
	(&wsClient{t: t, c: c1}).readUntil(1) // both sockets are live
	(&wsClient{t: t, c: c2}).readUntil(1)

	ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	ta.must(204, "DELETE", "/v1/me", tok, map[string]string{"code": ta.sms.LastCode(t, phone)})
	for _, c := range []*fws.Conn{c1, c2} {
		// The reason tells it from the heartbeat's session check (25 s
		// later, "session ended").
		if ce := closeError(t, c); ce.Code != fws.ClosePolicyViolation || ce.Text != "account deleted" {
			t.Fatalf("closed with %d %q, want 1008 \"account deleted\"", ce.Code, ce.Text)
		}
	}
	if n := ta.deps.Push.Sockets(id); n != 0 {
		t.Fatalf("%d subscriptions left for the deleted account", n)
	}
	publish(t, ta, otherID, 1)
	(&wsClient{t: t, c: other}).readUntil(1)
}

// closeError reads until the server closes and returns its close frame.
func closeError(t *testing.T, c *fws.Conn) *fws.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // a hang bound, not an assertion
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *fws.CloseError
			if errors.As(err, &ce) {
				return ce
			}
			t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}
