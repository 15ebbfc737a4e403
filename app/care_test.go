package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/news/care"
	"carewallet/wallet"
)

// careApp is the test app with news (chat) and care on its database, its
// clock at 12:00 Moscow time on 1 Dec 2026.
func careApp(t *testing.T) *testApp {
	t.Helper()
	ta := newTestApp(t, func(o *identity.Options) {
		o.Limits = identity.Limits{CodesPerClientHour: 1000, CodesPerMinute: 1000, CodesPerHour: 1000,
			ChecksPerClientHour: 1000, ChecksPerMinute: 1000}
	})
	ta.clock.set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	ta.deps.News = ta.newsService(ta.db, nil, 0)
	ta.deps.Care = ta.careService()
	ta.f = New(ta.deps)
	return ta
}

func (ta *testApp) careService() *care.Service {
	ta.t.Helper()
	st, err := care.NewSQLiteStore(context.Background(), ta.db)
	if err != nil {
		ta.t.Fatal(err)
	}
	return care.NewService(st, care.Options{Now: ta.clock.now, Inbox: CareInbox{ta.deps.Push},
		Patients: CarePatients{ta.deps.Identity, ta.deps.Wallet}, Clinics: CareClinics{ta.deps.Identity},
		Managers: NewsStaff{ta.deps.Identity}, Chat: CareChat{ta.deps.News}})
}

func (ta *testApp) careTick() care.TickReport {
	ta.t.Helper()
	rep, err := ta.deps.Care.Tick(context.Background())
	if err != nil {
		ta.t.Fatal(err)
	}
	return rep
}

// careEvents lists the scenarios of the care messages in a user's inbox.
func (ta *testApp) careEvents(userID string) []care.MessageData {
	ta.t.Helper()
	evs, err := ta.deps.Push.Events(context.Background(), userID, 0, 500)
	if err != nil {
		ta.t.Fatal(err)
	}
	var out []care.MessageData
	for _, e := range evs {
		if e.Type == care.NoteMessage {
			var d care.MessageData
			if err := json.Unmarshal(e.Data, &d); err != nil {
				ta.t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

func scenarioCount(list []care.MessageData, sc string) int {
	n := 0
	for _, d := range list {
		if d.Scenario == sc {
			n++
		}
	}
	return n
}

func msk(d, h, m int) time.Time {
	return time.Date(2026, 12, d, h, m, 0, 0, time.FixedZone("MSK", 3*3600)).UTC()
}

// TestCareAppointmentLifeHTTP walks an appointment from booking to rating
// through the API: the online booking bonus once, the greeting, the
// reminder the day before, the after-visit text, the rating request and a
// good rating with the review sites.
func TestCareAppointmentLifeHTTP(t *testing.T) {
	ta := careApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, tok, card := ta.joinCard(cl, "+79995000001")
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": "Alice"})

	for _, sc := range care.Scenarios {
		var v care.ScenarioView
		ta.must(200, "PUT", "/v1/clinic/care/"+sc, cl.manager, map[string]any{"enabled": true}).decode(t, &v)
		if !v.Enabled {
			t.Fatalf("%s not enabled: %+v", sc, v)
		}
	}
	var sc scenariosResponse
	ta.must(200, "GET", "/v1/clinic/care", cl.manager, nil).decode(t, &sc)
	status := map[string]care.ScenarioView{}
	for _, v := range sc.Scenarios {
		status[v.Scenario] = v
	}
	if v := status[care.AfterVisit]; v.Status != "problems" || !strings.Contains(strings.Join(v.Reasons, ";"), "after-visit") {
		t.Fatalf("after_visit without texts: %+v", v)
	}
	if v := status[care.Rating]; !strings.Contains(strings.Join(v.Reasons, ";"), "review sites") {
		t.Fatalf("rating without review sites: %+v", v)
	}
	if !strings.Contains(strings.Join(status[care.Greeting].Reasons, ";"), "push is not configured") {
		t.Fatalf("greeting does not say push is off: %+v", status[care.Greeting])
	}

	ta.must(200, "PUT", "/v1/clinic/services/CLEAN", cl.manager, map[string]string{"name": "Cleaning",
		"before_text": "Brush your teeth before the visit.", "after_text": "No coffee for 2 hours, {first_name}."})
	var sites reviewSitesResponse
	ta.must(200, "PUT", "/v1/clinic/review-sites", cl.manager, []map[string]string{
		{"name": "Yandex Maps", "url": "https://yandex.ru/maps/org/smile"}, {"name": "2GIS", "url": "https://2gis.ru/firm/1"}}).decode(t, &sites)
	ta.must(200, "GET", "/v1/clinic/review-sites", cl.manager, nil).decode(t, &sites)
	if len(sites.Sites) != 2 {
		t.Fatalf("sites %+v", sites)
	}
	ta.must(200, "GET", "/v1/clinic/care", cl.manager, nil).decode(t, &sc)
	for _, v := range sc.Scenarios {
		if v.Scenario == care.AfterVisit && strings.Contains(strings.Join(v.Reasons, ";"), "after-visit") {
			t.Fatalf("after_visit still reports missing texts: %+v", v)
		}
	}

	// This test follows one visit's messages, more than the default weekly
	// budget of 2 allows (the budget's own tests are in push and
	// app/policy_test.go): the clinic raises it.
	ta.must(200, "PUT", "/v1/clinic/message-policy", cl.manager, map[string]any{"quiet_from": "21:00", "quiet_to": "09:00", "weekly_budget": 20})

	// Booked online for tomorrow 10:00 Moscow time.
	appt := map[string]any{"phone": "+79995000001", "starts_at": msk(2, 10, 0).Format(time.RFC3339), "doctor": "Dr Ivanova",
		"services": []string{"CLEAN"}, "status": "booked", "source": "online"}
	var res appointmentResponse
	ta.must(200, "PUT", "/v1/clinic/appointments/A-100", cl.admin, appt).decode(t, &res)
	if !res.Created || res.BookingBonus == nil || res.BookingBonus.Amount != 100 || res.Appointment.PatientID != pid {
		t.Fatalf("first put: %+v", res)
	}
	var again appointmentResponse
	ta.must(200, "PUT", "/v1/clinic/appointments/A-100", cl.admin, appt).decode(t, &again)
	if again.Created || again.BookingBonus == nil || again.BookingBonus.Seq != res.BookingBonus.Seq {
		t.Fatalf("replay: %+v", again)
	}
	// The booking route with the same id is the same bonus.
	var e wallet.Entry
	ta.must(200, "POST", "/v1/clinic/bookings", cl.admin, map[string]string{"card_id": card.ID, "booking_id": "A-100"}).decode(t, &e)
	if e.Seq != res.BookingBonus.Seq {
		t.Fatalf("POST /v1/clinic/bookings credited again: %+v", e)
	}
	var cv wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+card.ID, tok, nil).decode(t, &cv)
	if cv.Balance != card.Balance+100 {
		t.Fatalf("balance %d, want %d + one booking bonus", cv.Balance, card.Balance)
	}
	var got care.AppointmentView
	ta.must(200, "GET", "/v1/clinic/appointments/A-100", cl.admin, nil).decode(t, &got)
	if got.Status != "booked" || got.Services[0] != "CLEAN" {
		t.Fatalf("get: %+v", got)
	}

	ta.careTick()
	if n := scenarioCount(ta.careEvents(pid), care.Greeting); n != 1 {
		t.Fatalf("%d greetings", n)
	}
	ta.clock.set(msk(1, 16, 0))
	ta.careTick()
	ev := ta.careEvents(pid)
	if scenarioCount(ev, care.Reminder) != 1 || scenarioCount(ev, care.BeforeVisit) != 1 {
		t.Fatalf("the day before at 16:00: %+v", ev)
	}
	if last := ta.lastEvent(pid, care.NoteMessage); !strings.Contains(string(last.Data), "Alice") {
		t.Fatalf("message without the first name: %s", last.Data)
	}

	// The visit: arrived, then done at 10:15 (a day later: fresh tokens).
	ta.clock.set(msk(2, 10, 5))
	cl.admin = ta.staffLogin("desk@smile.test", "reception-pass").AccessToken
	cl.manager = ta.staffLogin("boss@smile.test", "manager-password").AccessToken
	appt["status"] = "arrived"
	ta.must(200, "PUT", "/v1/clinic/appointments/A-100", cl.admin, appt)
	ta.clock.set(msk(2, 10, 15))
	appt["status"] = "done"
	ta.must(200, "PUT", "/v1/clinic/appointments/A-100", cl.admin, appt)
	ta.clock.set(msk(2, 10, 20))
	ta.careTick()
	ev = ta.careEvents(pid)
	if scenarioCount(ev, care.AfterVisit) != 1 || !strings.Contains(ev[len(ev)-1].Text, "No coffee for 2 hours, Alice.") {
		t.Fatalf("after the visit: %+v", ev)
	}
	ta.clock.set(msk(2, 13, 15))
	ta.careTick()
	tok = ta.signInPatient("+79995000001").AccessToken
	ev = ta.careEvents(pid)
	if scenarioCount(ev, care.Rating) != 1 || ev[len(ev)-1].VisitID != res.Appointment.ID {
		t.Fatalf("rating request: %+v", ev)
	}

	// The patient rates it 5: the review sites come back; once only.
	var rr care.RatingResult
	ta.must(201, "POST", "/v1/visits/"+res.Appointment.ID+"/rating", tok, map[string]any{"score": 5, "comment": "Great"}).decode(t, &rr)
	if len(rr.ReviewSites) != 2 || rr.Rating.Negative {
		t.Fatalf("good rating: %+v", rr)
	}
	if ta.do("POST", "/v1/visits/"+res.Appointment.ID+"/rating", tok, map[string]any{"score": 4}).errorCode(t) != "already_rated" {
		t.Fatal("a second, different rating was not refused")
	}

	var rep care.Report
	mgr := ta.staffLogin("boss@smile.test", "manager-password").AccessToken
	ta.must(200, "GET", "/v1/clinic/care/report?from=2026-12-01&to=2026-12-02", mgr, nil).decode(t, &rep)
	for _, s := range rep.Scenarios {
		want := int64(1)
		if s.Scenario == care.Birthday || s.Scenario == care.WinBack {
			want = 0
		}
		if s.Sent != want {
			t.Fatalf("report %s sent %d, want %d", s.Scenario, s.Sent, want)
		}
		if s.Scenario == care.Rating && s.Effect["answered"] != 1 {
			t.Fatalf("rating effect %+v", s.Effect)
		}
	}
}

// A low rating goes to the managers in the patient's chat thread (opened
// by it) and alerts every manager; the ratings report sums both.
func TestCareNegativeRatingHTTP(t *testing.T) {
	ta := careApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, tok, _ := ta.joinCard(cl, "+79995000011")
	_, otherTok, _ := ta.joinCard(cl, "+79995000012")
	var visits []string
	for _, ext := range []string{"V1", "V2", "V3"} {
		var res appointmentResponse
		ta.must(200, "PUT", "/v1/clinic/appointments/"+ext, cl.admin, map[string]any{"phone": "+79995000011",
			"starts_at": msk(1, 10, 0).Format(time.RFC3339), "doctor": "Dr Petrov", "status": "done"}).decode(t, &res)
		visits = append(visits, res.Appointment.ID)
	}
	var booked appointmentResponse
	ta.must(200, "PUT", "/v1/clinic/appointments/V4", cl.admin, map[string]any{"phone": "+79995000011",
		"starts_at": msk(9, 10, 0).Format(time.RFC3339), "status": "booked"}).decode(t, &booked)

	// Someone else's visit is not found; a visit that did not happen cannot be rated.
	ta.must(404, "POST", "/v1/visits/"+visits[0]+"/rating", otherTok, map[string]any{"score": 5})
	if r := ta.do("POST", "/v1/visits/"+booked.Appointment.ID+"/rating", tok, map[string]any{"score": 5}); r.errorCode(t) != "visit_not_done" {
		t.Fatalf("rating a booked visit: %d %s", r.Status, r.Body)
	}
	if r := ta.doRaw("POST", "/v1/visits/"+visits[0]+"/rating", tok, map[string]any{"score": 6}); r.Status != 400 {
		t.Fatalf("score 6: %d %s", r.Status, r.Body)
	}

	var rr care.RatingResult
	ta.must(201, "POST", "/v1/visits/"+visits[0]+"/rating", tok, map[string]any{"score": 2, "comment": "Waited 40 minutes"}).decode(t, &rr)
	if !rr.Rating.Negative || rr.Rating.ThreadID == "" || len(rr.ReviewSites) != 0 {
		t.Fatalf("low rating: %+v", rr)
	}
	// The same answer again is a replay, not a second chat message.
	ta.must(201, "POST", "/v1/visits/"+visits[0]+"/rating", tok, map[string]any{"score": 2, "comment": "Waited 40 minutes"})
	var conv managerConversation
	ta.must(200, "GET", "/v1/clinic/chats/"+rr.Rating.ThreadID, cl.manager, nil).decode(t, &conv)
	if len(conv.Messages) != 1 || !strings.Contains(conv.Messages[0].Text, "Waited 40 minutes") ||
		!strings.Contains(conv.Messages[0].Text, "2 of 5") || conv.Messages[0].Author != "patient" {
		t.Fatalf("the manager's view of the thread: %+v", conv.Messages)
	}
	// Every manager was alerted, without the comment on the lock screen.
	mgr, err := ta.deps.Identity.StaffByEmail(context.Background(), "boss@smile.test")
	if err != nil {
		t.Fatal(err)
	}
	alert := ta.lastEvent(mgr.ID, care.NoteNegativeRating)
	if !strings.Contains(string(alert.Data), rr.Rating.ThreadID) || strings.Contains(string(alert.Data), "Waited") {
		t.Fatalf("manager alert %s", alert.Data)
	}
	if n := ta.countEvents(mgr.ID, care.NoteNegativeRating); n != 1 {
		t.Fatalf("%d alerts after a replay, want 1", n)
	}
	ta.must(201, "POST", "/v1/visits/"+visits[1]+"/rating", tok, map[string]any{"score": 5})
	ta.must(201, "POST", "/v1/visits/"+visits[2]+"/rating", tok, map[string]any{"score": 4})

	var rep care.RatingsReport
	ta.must(200, "GET", "/v1/clinic/ratings?from=2026-12-01&to=2026-12-01", cl.manager, nil).decode(t, &rep)
	if rep.Count != 3 || rep.Average != 3.67 || rep.Distribution["2"] != 1 || len(rep.Weeks) != 1 || rep.Weeks[0].Week != "2026-W49" {
		t.Fatalf("ratings report %+v", rep)
	}
	if rep.Ratings[0].Doctor != "Dr Petrov" || rep.Ratings[0].StaffID == "" || rep.Ratings[0].PatientID != pid {
		t.Fatalf("a rating lacks its visit's doctor, staff or patient: %+v", rep.Ratings[0])
	}
	ta.must(200, "GET", "/v1/clinic/ratings?score=2", cl.manager, nil).decode(t, &rep)
	if rep.Count != 1 {
		t.Fatalf("score filter: %+v", rep)
	}
	r := ta.must(200, "GET", "/v1/clinic/ratings?format=csv", cl.manager, nil)
	if lines := strings.Count(string(r.Body), "\n"); lines != 4 || !strings.Contains(string(r.Body), "Waited 40 minutes") {
		t.Fatalf("CSV: %s", r.Body)
	}
	ta.must(403, "GET", "/v1/clinic/ratings", cl.admin, nil)

	// The patient-rights hooks: export and erase.
	data, err := ta.deps.Care.ExportPatient(context.Background(), pid)
	if err != nil || len(data.Appointments) != 4 || len(data.Ratings) != 3 {
		t.Fatalf("export %+v %v", data, err)
	}
	if n, err := ta.deps.Care.EraseComments(context.Background(), pid); err != nil || n != 1 {
		t.Fatalf("erased %d %v", n, err)
	}
}

func TestCareValidationHTTP(t *testing.T) {
	ta := careApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, tok, _ := ta.joinCard(cl, "+79995000021")
	good := map[string]any{"phone": "+79995000021", "starts_at": msk(3, 10, 0).Format(time.RFC3339), "status": "booked"}
	field := func(r resp) string {
		var e errorBody
		r.decode(t, &e)
		return e.Error.Field
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no patient", map[string]any{"starts_at": msk(3, 10, 0).Format(time.RFC3339), "status": "booked"}, "phone"},
		{"both", map[string]any{"phone": "+79995000021", "card_id": "cd_x", "starts_at": msk(3, 10, 0).Format(time.RFC3339), "status": "booked"}, "phone"},
		{"status", map[string]any{"phone": "+79995000021", "starts_at": msk(3, 10, 0).Format(time.RFC3339), "status": "maybe"}, "status"},
		{"bad phone", map[string]any{"phone": "12", "starts_at": msk(3, 10, 0).Format(time.RFC3339), "status": "booked"}, "phone"},
		{"duplicate service", map[string]any{"phone": "+79995000021", "starts_at": msk(3, 10, 0).Format(time.RFC3339), "status": "booked",
			"services": []string{"A", "A"}}, "services[1]"},
	} {
		r := ta.doRaw("PUT", "/v1/clinic/appointments/X-1", cl.admin, tc.body)
		if r.Status != 400 || field(r) != tc.field {
			t.Fatalf("%s: %d %s, want 400 naming %s", tc.name, r.Status, r.Body, tc.field)
		}
	}
	ta.must(404, "GET", "/v1/clinic/appointments/X-1", cl.admin, nil) // nothing was written
	ta.must(403, "PUT", "/v1/clinic/appointments/X-1", tok, good)
	ta.must(404, "PUT", "/v1/clinic/care/nope", cl.manager, map[string]any{"enabled": true})
	ta.must(403, "GET", "/v1/clinic/care", cl.admin, nil)

	r := ta.must(400, "PUT", "/v1/clinic/care/reminder", cl.manager, map[string]any{"text": "Hi {name}, see you {date}"})
	if field(r) != "text" || !strings.Contains(string(r.Body), "{name}") {
		t.Fatalf("unknown placeholder: %s", r.Body)
	}
	r = ta.must(400, "PUT", "/v1/clinic/care/reminder", cl.manager, map[string]any{"days_before": 2})
	if field(r) != "days_before" {
		t.Fatalf("days_before on the reminder: %s", r.Body)
	}
	var v care.ScenarioView
	ta.must(200, "PUT", "/v1/clinic/care/reminder", cl.manager, map[string]any{"text": "{first_name}, {doctor} ждёт вас {date} в {time}"}).decode(t, &v)
	if v.Text == v.DefaultText || v.Status != "off" {
		t.Fatalf("custom text: %+v", v)
	}
	ta.must(200, "PUT", "/v1/clinic/care/reminder", cl.manager, map[string]any{"text": ""}).decode(t, &v)
	if v.Text != v.DefaultText {
		t.Fatalf("empty text did not restore the default: %+v", v)
	}
	r = ta.must(400, "PUT", "/v1/clinic/review-sites", cl.manager, []map[string]string{{"name": "Spam", "url": "javascript:alert(1)"}})
	if field(r) != "[0].url" {
		t.Fatalf("bad site url: %s", r.Body)
	}
}

func TestCareServicesCSVHTTP(t *testing.T) {
	ta := careApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	post := func(body string) resp {
		t.Helper()
		return ta.do("POST", "/v1/clinic/services.csv", cl.manager, body, "Content-Type", "text/csv")
	}
	bad := "code,name,before_text,after_text\nCLEAN,Cleaning,,No coffee\nIMPL,Implant,Hello {nickname},\n"
	r := post(bad)
	if r.Status != 400 || !strings.Contains(string(r.Body), "line 3") || !strings.Contains(string(r.Body), "{nickname}") {
		t.Fatalf("bad line: %d %s", r.Status, r.Body)
	}
	var page care.ServicesPage
	ta.must(200, "GET", "/v1/clinic/services", cl.manager, nil).decode(t, &page)
	if len(page.Services) != 0 {
		t.Fatalf("a failed import wrote %d services", len(page.Services))
	}
	if r := post("code,name\nA,One\nA,Again\n"); r.Status != 400 || !strings.Contains(string(r.Body), "line 2") {
		t.Fatalf("duplicate code: %d %s", r.Status, r.Body)
	}
	if r := post("code,price\nA,100\n"); r.Status != 400 || !strings.Contains(string(r.Body), "price") {
		t.Fatalf("unknown column: %d %s", r.Status, r.Body)
	}
	good := "\ufeffcode,name,before_text,after_text\nCLEAN,Cleaning,,\"No coffee, {first_name}\"\nIMPL,Implant,Do not eat 2 hours before,\n"
	var res care.ImportResult
	r = post(good)
	if r.Status != 200 {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	r.decode(t, &res)
	if res.Imported != 2 {
		t.Fatalf("imported %+v", res)
	}
	ta.must(200, "GET", "/v1/clinic/services?limit=1", cl.manager, nil).decode(t, &page)
	if len(page.Services) != 1 || page.Next != "CLEAN" || page.Services[0].AfterText != "No coffee, {first_name}" {
		t.Fatalf("first page %+v", page)
	}
	ta.must(200, "GET", "/v1/clinic/services?after="+page.Next, cl.manager, nil).decode(t, &page)
	if len(page.Services) != 1 || page.Services[0].Code != "IMPL" {
		t.Fatalf("second page %+v", page)
	}
	var st care.ServiceText
	ta.must(200, "PUT", "/v1/clinic/services/IMPL", cl.manager, map[string]string{"after_text": "Rest today"}).decode(t, &st)
	if st.BeforeText != "" || st.AfterText != "Rest today" {
		t.Fatalf("put replaces the texts: %+v", st)
	}
	ta.must(403, "POST", "/v1/clinic/services.csv", cl.admin, "code\nA\n", "Content-Type", "text/csv")

	// A price list larger than the API's 64 KiB body limit is accepted.
	var big strings.Builder
	big.WriteString("code,name,after_text\n")
	for i := range 2000 {
		fmt.Fprintf(&big, "SVC-%04d,Service number %d,Rest today and drink water after the procedure.\n", i, i)
	}
	if big.Len() <= 64<<10 {
		t.Fatalf("the price list is only %d bytes", big.Len())
	}
	r = post(big.String())
	if r.Status != 200 {
		t.Fatalf("large import: %d %s", r.Status, r.Body)
	}
	r.decode(t, &res)
	if res.Imported != 2000 {
		t.Fatalf("large import %+v", res)
	}
}

// The birthday greeting goes to a patient whose birth date was known, not
// to one who entered it on the birthday itself (PATCH /v1/me records when).
func TestCareBirthdayHTTP(t *testing.T) {
	ta := careApp(t)
	ta.clock.set(msk(1, 9, 0).AddDate(0, 0, -10)) // 21 Nov
	cl := ta.clinicWithProgram("Smile", "smile.test")
	on := true
	if _, err := ta.deps.Care.UpdateScenario(context.Background(), cl.id, care.Birthday, care.ScenarioUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	known, knownTok, _ := ta.joinCard(cl, "+79995000031")
	ta.must(200, "PATCH", "/v1/me", knownTok, map[string]string{"first_name": "Olga", "birth_date": "1985-12-01"})
	ta.clock.set(msk(1, 11, 0))
	late, lateTok, _ := ta.joinCard(cl, "+79995000032")
	ta.must(200, "PATCH", "/v1/me", lateTok, map[string]string{"first_name": "Eva", "birth_date": "1991-12-01"})
	if n, err := ta.deps.Care.Birthdays(context.Background()); err != nil || n != 2 {
		t.Fatalf("planned %d birthdays (%v), want 2", n, err)
	}
	ta.clock.set(msk(1, 12, 0))
	ta.careTick()
	if n := scenarioCount(ta.careEvents(known), care.Birthday); n != 1 {
		t.Fatalf("%d greetings for Olga", n)
	}
	if n := scenarioCount(ta.careEvents(late), care.Birthday); n != 0 {
		t.Fatal("greeted Eva, who entered her birth date on her birthday")
	}
}

// A paid receipt is a visit the patient is asked to rate even when the
// clinic's system sends no appointments: care records it as a done visit
// (once, however often the receipt is replayed), the rating request comes
// 3 hours later with its visit id, and the patient rates that visit.
func TestCareReceiptIsARateableVisitHTTP(t *testing.T) {
	ta := careApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	pid, _, card := ta.joinCard(cl, "+79995000031")
	ta.must(200, "PUT", "/v1/clinic/care/rating", cl.manager, map[string]any{"enabled": true})

	ta.clock.set(msk(1, 12, 0))
	receipt := map[string]any{"card_id": card.ID, "receipt_id": "R-77",
		"lines": []map[string]any{{"service": "CLEAN", "amount": 500000}}, "paid_with_points": 0}
	for range 2 {
		ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, receipt)
	}
	var visit care.AppointmentView
	ta.must(200, "GET", "/v1/clinic/appointments/receipt:R-77", cl.admin, nil).decode(t, &visit)
	if visit.Status != care.StatusDone || visit.PatientID != pid || visit.CardID != card.ID || visit.Source != "receipt" {
		t.Fatalf("the receipt's visit: %+v", visit)
	}

	ta.clock.set(msk(1, 15, 5))
	ta.careTick()
	ev := ta.careEvents(pid)
	if scenarioCount(ev, care.Rating) != 1 || ev[len(ev)-1].VisitID != visit.ID {
		t.Fatalf("rating request after a receipt: %+v", ev)
	}
	tok := ta.signInPatient("+79995000031").AccessToken
	var rr care.RatingResult
	ta.must(201, "POST", "/v1/visits/"+visit.ID+"/rating", tok, map[string]any{"score": 5}).decode(t, &rr)
	if rr.Rating.ExternalID != "receipt:R-77" || rr.Rating.Score != 5 {
		t.Fatalf("rating of the receipt's visit: %+v", rr)
	}
}
