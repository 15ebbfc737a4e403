package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/app/storage"
	"carewallet/news/care"
	"carewallet/push/pushtest"
	"carewallet/wallet"
)

// rightsApp is the news app (chats, votes) with a scrub of both database
// files after an erasure, as serve wires it.
func rightsApp(t *testing.T) (*testApp, *storage.SQLite) {
	t.Helper()
	ta, newsDB := newsApp(t)
	// Care on the app's database, its section in the export, and push
	// through the FCM emulator (so the message policy defers pushes), at
	// 15:30 Moscow time on 1 Dec 2026.
	ta.clock.set(msk(1, 15, 30))
	emu := &fcmEmulator{Server: pushtest.New(pushtest.Config{})}
	srv := httptest.NewServer(emu.Server)
	t.Cleanup(srv.Close)
	ta.deps.Push = ta.pushService(srv.URL)
	ta.deps.Care = ta.careService()
	ta.deps.ExportSections = []ExportSection{CareExport{ta.deps.Care}}
	ta.deps.Scrub = func(ctx context.Context) error {
		if err := ta.db.Scrub(ctx); err != nil {
			return err
		}
		return newsDB.Scrub(ctx)
	}
	ta.f = New(ta.deps)
	return ta, newsDB
}

// careBeforeDeletion gives the patient (tok, phone) care data at cl: a
// visit done this morning rated 2 with a comment (its rating request
// pending), a visit booked for the day after tomorrow (its reminder
// pending until tomorrow 16:00), the after-visit advice (naming the
// patient) published with its push deferred by
// quiet hours (15:00-16:00 here, the clock at 15:30 Moscow time), and a
// stored marketing switch. The patient has a device already (a push to
// defer). It returns the rated visit's id.
func (ta *testApp) careBeforeDeletion(cl clinicFixture, tok, phone, comment string) string {
	ta.t.Helper()
	for _, sc := range []string{care.Reminder, care.AfterVisit, care.Rating} {
		ta.must(200, "PUT", "/v1/clinic/care/"+sc, cl.manager, map[string]any{"enabled": true})
	}
	ta.must(200, "PUT", "/v1/clinic/services/CLEAN", cl.manager, map[string]string{"name": "Cleaning", "after_text": "No coffee for 2 hours."})
	ta.must(200, "PUT", "/v1/clinic/review-sites", cl.manager, []map[string]string{{"name": "2GIS", "url": "https://2gis.ru/firm/1"}})
	ta.must(200, "PUT", "/v1/clinic/message-policy", cl.manager, map[string]any{"quiet_from": "15:00", "quiet_to": "16:00", "weekly_budget": 20})
	on := true
	ta.must(200, "PUT", "/v1/me/preferences", tok, map[string]any{"clinics": []any{map[string]any{"clinic_id": cl.id, "marketing": on}}})
	var done, booked appointmentResponse
	ta.must(200, "PUT", "/v1/clinic/appointments/V-DONE", cl.admin, map[string]any{"phone": phone,
		"starts_at": msk(1, 10, 0).Format(time.RFC3339), "doctor": "Dr Petrov", "services": []string{"CLEAN"}, "status": "done"}).decode(ta.t, &done)
	ta.must(200, "PUT", "/v1/clinic/appointments/V-NEXT", cl.admin, map[string]any{"phone": phone,
		"starts_at": msk(3, 10, 0).Format(time.RFC3339), "doctor": "Dr Petrov", "status": "booked"}).decode(ta.t, &booked)
	ta.careTick()
	ta.must(201, "POST", "/v1/visits/"+done.Appointment.ID+"/rating", tok, map[string]any{"score": 2, "comment": comment})
	return done.Appointment.ID
}

// countRows counts the rows of a SQLite query on the app's database.
func (ta *testApp) countRows(q string, args ...any) int {
	ta.t.Helper()
	var n int
	if err := ta.db.Reader().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		ta.t.Fatal(err)
	}
	return n
}

func receipt(ta *testApp, cl clinicFixture, cardID, id string, amount int64) {
	ta.t.Helper()
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": cardID, "receipt_id": id,
		"lines": []map[string]any{{"service": "CONS-01", "amount": amount}}})
}

func TestMyExport(t *testing.T) {
	ta, _ := rightsApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, tok, card := ta.joinCard(cl, "+79991300001")
	for i := range 3 {
		receipt(ta, cl, card.ID, "R-"+string(rune('a'+i)), 100000)
	}
	child := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991300001", "first_name": "Masha",
		"last_name": "Petrova", "birth_date": "2018-06-01"}, pid)
	ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": cl.id, "text": "is Monday fine?"})
	ta.must(204, "PUT", "/v1/me/devices", tok, map[string]string{"token": "fcm-token-1", "platform": "android", "app_version": "1.0", "locale": "ru"})
	visit := ta.careBeforeDeletion(cl, tok, "+79991300001", "The wait was long")
	_, otherTok, _ := ta.joinCard(cl, "+79991300002")

	var doc exportDocument
	r := ta.must(200, "GET", "/v1/me/export", tok, nil)
	r.decode(t, &doc)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || !doc.Complete || doc.Profile.ID != pid || doc.Profile.Phone != "+79991300001" {
		t.Fatalf("export head: %s", truncate(r.Body, 600))
	}
	if len(doc.Cards) != 2 {
		t.Fatalf("cards %+v", doc.Cards)
	}
	var own *exportCard
	for i := range doc.Cards {
		if doc.Cards[i].Card.ID == card.ID {
			own = &doc.Cards[i]
		}
	}
	// welcome + 3 cashbacks, in the order of GET /v1/cards/{id}/history.
	if own == nil || len(own.Entries) != 4 || own.Entries[0].Kind != wallet.KindWelcome || own.Entries[3].Seq != 4 || own.Balance != own.Entries[3].BalanceAfter {
		t.Fatalf("own card in export: %+v", own)
	}
	if len(doc.Consents) != 1 || doc.Consents[0].GuardianID != pid || doc.Consents[0].TextVersion != wallet.ConsentTextVersion {
		t.Fatalf("consents %+v (child %s)", doc.Consents, child)
	}
	if len(doc.Events) == 0 || len(doc.Devices) != 1 || doc.Devices[0].Platform != "android" || len(doc.Sessions) != 1 {
		t.Fatalf("events %d, devices %+v, sessions %+v", len(doc.Events), doc.Devices, doc.Sessions)
	}
	if bytes.Contains(r.Body, []byte("fcm-token-1")) {
		t.Fatal("the export carries the FCM token")
	}
	// The question, then the low rating the patient sent into the chat.
	if len(doc.Chats) != 1 || len(doc.Chats[0].Messages) != 2 || doc.Chats[0].Messages[0].Text != "is Monday fine?" ||
		!strings.Contains(doc.Chats[0].Messages[1].Text, "The wait was long") {
		t.Fatalf("chats %+v", doc.Chats)
	}
	// Care: both appointments and the visits of the three receipts, the
	// rating with its comment; the care messages are inbox events. The
	// marketing switch with its card-less scope.
	if doc.Care == nil || len(careVisits(doc.Care.Appointments, "")) != 2 || len(careVisits(doc.Care.Appointments, "receipt")) != 3 ||
		len(doc.Care.Ratings) != 1 || doc.Care.Ratings[0].VisitID != visit ||
		doc.Care.Ratings[0].Comment != "The wait was long" || doc.Care.Ratings[0].Score != 2 {
		t.Fatalf("care in export: %+v", doc.Care)
	}
	var careEvents int
	for _, e := range doc.Events {
		if e.Type == care.NoteMessage {
			careEvents++
		}
	}
	if careEvents == 0 {
		t.Fatal("the export lacks the care messages")
	}
	if len(doc.Preferences) != 1 || doc.Preferences[0].ClinicID != cl.id || doc.Preferences[0].CardID != "" || !doc.Preferences[0].Marketing {
		t.Fatalf("preferences in export: %+v", doc.Preferences)
	}
	// Another patient's export holds only their own.
	var other exportDocument
	ta.must(200, "GET", "/v1/me/export", otherTok, nil).decode(t, &other)
	if len(other.Cards) != 1 || other.Cards[0].Card.ID == card.ID || len(other.Chats) != 0 || len(other.Consents) != 0 ||
		other.Care == nil || len(other.Care.Appointments) != 0 || len(other.Care.Ratings) != 0 || len(other.Preferences) != 0 {
		t.Fatalf("other's export: %+v", other)
	}
	ta.must(401, "GET", "/v1/me/export", "", nil)
	ta.must(403, "GET", "/v1/me/export", cl.manager, nil)
}

func TestClinicPatientExport(t *testing.T) {
	ta, _ := rightsApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	other := ta.clinicWithProgram("Other", "other.test")
	pid, tok, card := ta.joinCard(cl, "+79991300011")
	receipt(ta, cl, card.ID, "R-1", 100000)
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": other.id})
	ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": other.id, "text": "a question for the other clinic"})
	// A visit at each clinic, both rated.
	visits := map[string]string{}
	for _, c := range []clinicFixture{cl, other} {
		var res appointmentResponse
		ta.must(200, "PUT", "/v1/clinic/appointments/V-1", c.admin, map[string]any{"phone": "+79991300011",
			"starts_at": msk(1, 10, 0).Format(time.RFC3339), "doctor": "Dr " + c.id, "status": "done"}).decode(t, &res)
		visits[c.id] = res.Appointment.ID
		ta.must(201, "POST", "/v1/visits/"+res.Appointment.ID+"/rating", tok, map[string]any{"score": 5, "comment": "fine at " + c.id})
	}

	var doc exportDocument
	r := ta.must(200, "GET", "/v1/clinic/patients/"+pid+"/export", cl.manager, nil)
	r.decode(t, &doc)
	if doc.Care == nil || len(doc.Care.Appointments) != 2 || len(careVisits(doc.Care.Appointments, "")) != 1 ||
		careVisits(doc.Care.Appointments, "")[0].ID != visits[cl.id] || careVisits(doc.Care.Appointments, "receipt")[0].ClinicID != cl.id ||
		len(doc.Care.Ratings) != 1 || doc.Care.Ratings[0].VisitID != visits[cl.id] || doc.Care.Ratings[0].Comment != "fine at "+cl.id {
		t.Fatalf("the clinic's export holds another clinic's care data, or lacks its own: %+v", doc.Care)
	}
	if doc.Preferences != nil {
		t.Fatalf("a clinic's export carries the app's preferences: %+v", doc.Preferences)
	}
	if doc.ClinicID != cl.id || len(doc.Cards) != 1 || doc.Cards[0].Card.ID != card.ID || len(doc.Cards[0].Entries) != 2 || len(doc.Chats) != 0 {
		t.Fatalf("clinic export: %s", truncate(r.Body, 800))
	}
	if doc.Events != nil || doc.Sessions != nil || doc.Devices != nil {
		t.Fatalf("a clinic's export carries the app's records: %s", truncate(r.Body, 800))
	}
	// Reception staff may not; a patient of no card here is not found.
	ta.must(403, "GET", "/v1/clinic/patients/"+pid+"/export", cl.admin, nil)
	strangerID, _ := ta.patient("+79991300012")
	ta.must(404, "GET", "/v1/clinic/patients/"+strangerID+"/export", cl.manager, nil)

	var page exportsResponse
	ta.must(200, "GET", "/v1/clinic/exports", cl.manager, nil).decode(t, &page)
	if len(page.Exports) != 1 || page.Exports[0].PatientID != pid || page.Exports[0].ClinicID != cl.id || page.Exports[0].StaffID == "" {
		t.Fatalf("export records %+v", page)
	}
	ta.must(200, "GET", "/v1/clinic/patients/"+pid+"/export", cl.manager, nil)
	ta.must(200, "GET", "/v1/clinic/exports?limit=1", cl.manager, nil).decode(t, &page)
	if len(page.Exports) != 1 || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	after := page.Next
	page = exportsResponse{}
	ta.must(200, "GET", "/v1/clinic/exports?limit=1&after="+after, cl.manager, nil).decode(t, &page)
	if len(page.Exports) != 1 || page.Next != "" {
		t.Fatalf("second page %+v", page)
	}
	ta.must(200, "GET", "/v1/clinic/exports", other.manager, nil).decode(t, &page)
	if len(page.Exports) != 0 {
		t.Fatalf("another clinic sees the records: %+v", page)
	}
	ta.must(403, "GET", "/v1/clinic/exports", cl.admin, nil)
}

func TestConsentsHTTP(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	momID, momTok := ta.patient("+79991300021")
	child := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991300021", "first_name": "Masha",
		"last_name": "Petrova", "birth_date": "2018-06-01"}, momID)
	ta.clock.add(time.Minute)
	ta.must(204, "POST", "/v1/clinic/cards/"+child+"/guardians", cl.admin, map[string]string{"phone": "+79991300022"})
	var cs consentsResponse
	ta.must(200, "GET", "/v1/cards/"+child+"/consents", momTok, nil).decode(t, &cs)
	if len(cs.Consents) != 2 || cs.TextVersion != wallet.ConsentTextVersion || cs.Text == "" || cs.Consents[0].GuardianID != momID {
		t.Fatalf("consents %+v", cs)
	}
	ta.must(200, "GET", "/v1/clinic/cards/"+child+"/consents", cl.admin, nil).decode(t, &cs)
	if len(cs.Consents) != 2 || cs.Consents[0].ClinicID != cl.id {
		t.Fatalf("staff consents %+v", cs)
	}
	_, strangerTok := ta.patient("+79991300023")
	ta.must(404, "GET", "/v1/cards/"+child+"/consents", strangerTok, nil)
	other := ta.clinicWithProgram("Other", "other.test")
	ta.must(404, "GET", "/v1/clinic/cards/"+child+"/consents", other.admin, nil)
}

func TestHandoverHTTP(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	momID, momTok := ta.patient("+79991300031")
	young := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991300031", "first_name": "Petya",
		"last_name": "Ivanov", "birth_date": "2015-06-01"}, momID)
	grown := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991300031", "first_name": "Masha",
		"last_name": "Ivanova", "birth_date": "2000-01-02"}, momID)
	ta.must(204, "POST", "/v1/clinic/cards/"+grown+"/guardians", cl.admin, map[string]string{"phone": "+79991300032"})
	dadID, dadTok := ta.patient("+79991300032")
	ta.must(200, "POST", "/v1/clinic/adjustments", cl.manager, map[string]any{"card_id": grown, "points": 300, "reason": "gift"})
	var before wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+grown, momTok, nil).decode(t, &before)

	if r := ta.must(409, "POST", "/v1/cards/"+young+"/handover", momTok, map[string]string{"phone": "+79991300033"}); r.errorCode(t) != "too_young" {
		t.Fatalf("young handover: %s", r.Body)
	}
	if _, err := ta.deps.Identity.PatientByPhone(context.Background(), "+79991300033"); err == nil {
		t.Fatal("a refused handover created an account for the phone")
	}
	if r := ta.mustRaw(400, "POST", "/v1/cards/"+grown+"/handover", momTok, `{"phone": ""}`); !strings.Contains(string(r.Body), `"field":"phone"`) {
		t.Fatalf("empty phone: %s", r.Body)
	}
	ta.must(400, "POST", "/v1/cards/"+grown+"/handover", momTok, map[string]string{"phone": "+79991300032"}) // the other guardian

	var h1, h2 wallet.Handover
	ta.must(201, "POST", "/v1/cards/"+grown+"/handover", momTok, map[string]string{"phone": "+79991300034"}).decode(t, &h1)
	ta.must(201, "POST", "/v1/cards/"+grown+"/handover", dadTok, map[string]string{"phone": "+79991300035"}).decode(t, &h2)
	kid1, kid1Tok := ta.patient("+79991300034")
	_, kid2Tok := ta.patient("+79991300035")
	ta.lastEvent(kid1, wallet.NoteHandoverOffered)
	var mine handoversResponse
	ta.must(200, "GET", "/v1/me/handovers", kid1Tok, nil).decode(t, &mine)
	if len(mine.Handovers) != 1 || mine.Handovers[0].ID != h1.ID || mine.Handovers[0].Status != wallet.HandoverOpen {
		t.Fatalf("kid1's offers %+v", mine)
	}
	ta.must(404, "POST", "/v1/me/handovers/"+h1.ID+"/accept", kid2Tok, nil)

	// Both children accept at once, kid1 twice: one card, one holder.
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i, tok := range []string{kid1Tok, kid1Tok, kid2Tok} {
		id := h1.ID
		if i == 2 {
			id = h2.ID
		}
		wg.Go(func() { codes[i] = ta.do("POST", "/v1/me/handovers/"+id+"/accept", tok, nil).Status })
	}
	wg.Wait()
	var after wallet.CardView
	winnerTok := kid1Tok
	if codes[2] == 200 {
		winnerTok = kid2Tok
		if codes[0] != 409 || codes[1] != 409 {
			t.Fatalf("accept statuses %v", codes)
		}
	} else if codes[0] != 200 || codes[1] != 200 || codes[2] != 409 {
		t.Fatalf("accept statuses %v", codes)
	}
	ta.must(200, "GET", "/v1/cards/"+grown, winnerTok, nil).decode(t, &after)
	if after.Holder.Kind != wallet.HolderSelf || after.Balance != before.Balance || after.Holder.FirstName != "Masha" {
		t.Fatalf("card after handover %+v, before %+v", after, before)
	}
	ta.must(404, "GET", "/v1/cards/"+grown, momTok, nil)
	ta.must(404, "GET", "/v1/cards/"+grown, dadTok, nil)
	ta.lastEvent(momID, wallet.NoteHandedOver)
	ta.lastEvent(dadID, wallet.NoteHandedOver)
	var cs consentsResponse
	ta.must(200, "GET", "/v1/cards/"+grown+"/consents", winnerTok, nil).decode(t, &cs)
	if len(cs.Consents) != 2 || cs.Consents[0].ClosedAt == nil || cs.Consents[1].ClosedAt == nil {
		t.Fatalf("consents after handover %+v", cs)
	}
	var hist wallet.HistoryPage
	ta.must(200, "GET", "/v1/cards/"+grown+"/history", winnerTok, nil).decode(t, &hist)
	if len(hist.Entries) != 2 {
		t.Fatalf("history moved with the card? %+v", hist)
	}

	// A clinic may set the age to 14: then the 11-year-old is still too young.
	var prog map[string]any
	if err := json.Unmarshal([]byte(exampleProgram), &prog); err != nil {
		t.Fatal(err)
	}
	prog["majority_age"] = 12
	if r := ta.must(400, "PUT", "/v1/clinic/program", cl.manager, prog); !strings.Contains(string(r.Body), "majority_age") {
		t.Fatalf("majority 12: %s", r.Body)
	}
	prog["majority_age"] = 14
	ta.must(200, "PUT", "/v1/clinic/program", cl.manager, prog)
	ta.must(409, "POST", "/v1/cards/"+young+"/handover", momTok, map[string]string{"phone": "+79991300033"})
}

// TestDeleteMe: the deletion erases the person from every store and both
// database files, keeps every clinic's totals except the forfeit, is
// refused while the caller is a dependant's only guardian, and needs a
// fresh code.
func TestDeleteMe(t *testing.T) {
	ta, newsDB := rightsApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	const phone, first, last, birth = "+79991377331", "Zinaida", "Erasova", "1971-04-05"
	pid, tok, card := ta.joinCard(cl, phone)
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": first, "last_name": last, "birth_date": birth})
	receipt(ta, cl, card.ID, "R-1", 200000)
	ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": cl.id, "text": "I am " + first + " " + last})
	ta.must(204, "PUT", "/v1/me/devices", tok, map[string]string{"token": "fcm-token-del", "platform": "ios", "app_version": "1.0", "locale": "ru"})
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}, "Idempotency-Key", "join-1")
	_, _, keeper := ta.joinCard(cl, "+79991377332")
	receipt(ta, cl, keeper.ID, "R-2", 50000)
	child := ta.issueConfirmed(cl, map[string]string{"guardian_phone": phone, "first_name": "Masha",
		"last_name": "Petrova", "birth_date": "2018-06-01"}, pid)
	// Care: a low rating whose comment holds a marker, a pending reminder,
	// care messages (with the first name) whose pushes wait out the quiet
	// hours, a preference, budget slots.
	const marker = "Q7marker-slow-reception"
	ta.careBeforeDeletion(cl, tok, phone, "I am "+first+": "+marker)
	for _, q := range []string{`SELECT count(*) FROM push_deferred WHERE user_id = ?`, `SELECT count(*) FROM push_preferences WHERE user_id = ?`,
		`SELECT count(*) FROM push_budget_counts WHERE user_id = ?`, `SELECT count(*) FROM care_messages WHERE patient_id = ? AND state = 0`,
		`SELECT count(*) FROM care_birthdates WHERE patient_id = ?`} {
		if ta.countRows(q, pid) == 0 {
			t.Fatalf("the test's setup made no rows for: %s", q)
		}
	}
	var greeted bool
	for _, d := range ta.careEvents(pid) {
		greeted = greeted || strings.Contains(d.Text, first)
	}
	if !greeted {
		t.Fatal("no care message named the patient")
	}

	var before wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &before)
	var own wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+card.ID, tok, nil).decode(t, &own)

	if r := ta.must(409, "DELETE", "/v1/me", tok, map[string]string{"code": "000000"}); r.errorCode(t) != "sole_guardian" ||
		!strings.Contains(string(r.Body), child) {
		t.Fatalf("only guardian: %s", r.Body)
	}
	ta.must(204, "POST", "/v1/clinic/cards/"+child+"/guardians", cl.admin, map[string]string{"phone": "+79991377333"})
	ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	code := ta.sms.LastCode(t, phone)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	ta.must(401, "DELETE", "/v1/me", tok, map[string]string{"code": wrong})
	ta.mustRaw(400, "DELETE", "/v1/me", tok, `{"code": 123456}`)
	ta.must(204, "DELETE", "/v1/me", tok, map[string]string{"code": code})

	if got := ta.sms.Last(phone); got != identity.ErasureSMS {
		t.Fatalf("confirmation SMS %q", got)
	}
	ta.must(401, "GET", "/v1/me", tok, nil)
	var after wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &after)
	if after.Issued != before.Issued || after.Spent != before.Spent || after.Burned != before.Burned || after.Reversed != before.Reversed ||
		after.Forfeited != own.Balance || after.Outstanding != before.Outstanding-own.Balance || after.ByKind[wallet.KindForfeit] != -own.Balance {
		t.Fatalf("totals before %+v, after %+v (balance %d)", before, after, own.Balance)
	}
	for k, v := range before.ByKind {
		if after.ByKind[k] != v {
			t.Fatalf("by_kind %s: %d, was %d", k, after.ByKind[k], v)
		}
	}
	var sc wallet.CardView
	ta.must(200, "GET", "/v1/clinic/cards/"+card.ID, cl.admin, nil).decode(t, &sc)
	if sc.Status != wallet.StatusDeleted || sc.Balance != 0 || sc.Holder.FirstName != "" {
		t.Fatalf("the deleted patient's card %+v", sc)
	}
	var cv wallet.CardView
	ta.must(200, "GET", "/v1/clinic/cards/"+child, cl.admin, nil).decode(t, &cv)
	if cv.PatientID == pid {
		t.Fatal("the dependant's card still sends its codes to the deleted account")
	}
	// No trace of the name, phone or birth date in the database files.
	// (DELETE /v1/me scrubbed them: Deps.Scrub, as serve wires it.)
	for _, q := range []string{`SELECT count(*) FROM push_deferred WHERE user_id = ?`, `SELECT count(*) FROM push_preferences WHERE user_id = ?`,
		`SELECT count(*) FROM push_budget_counts WHERE user_id = ?`, `SELECT count(*) FROM care_messages WHERE patient_id = ? AND state = 0`} {
		if n := ta.countRows(q, pid); n != 0 {
			t.Errorf("%d rows left: %s", n, q)
		}
	}
	// The reminder was due tomorrow at 16:00: nothing is sent to the deleted account.
	ta.clock.set(msk(2, 16, 30))
	ta.careTick()
	if evs, err := ta.deps.Push.Events(context.Background(), pid, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("the deleted account's inbox after a care tick: %+v %v", evs, err)
	}
	needles := []string{phone, first, last, birth, "fcm-token-del", marker}
	for _, db := range []*storage.SQLite{ta.db, newsDB} {
		files, _ := filepath.Glob(db.Path + "*")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range needles {
				if i := bytes.Index(b, []byte(n)); i >= 0 {
					t.Errorf("%s still holds %q: %q", filepath.Base(f), n, b[max(0, i-100):min(len(b), i+100)])
				}
			}
		}
	}
	// The number signs up again as a new person.
	newID, _ := ta.patient(phone)
	if newID == pid {
		t.Fatal("the phone found the deleted account")
	}

}

// careVisits keeps the appointments of one source ("receipt": the visits
// care records for paid receipts).
func careVisits(list []care.AppointmentView, source string) []care.AppointmentView {
	var out []care.AppointmentView
	for _, a := range list {
		if a.Source == source {
			out = append(out, a)
		}
	}
	return out
}
