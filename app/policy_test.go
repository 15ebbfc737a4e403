package app

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/push"
	"carewallet/push/pushtest"
	"carewallet/wallet"
)

// policyApp is the test app with push through the FCM emulator, news on
// its own database file, and the clock at 2026-12-03 12:30 UTC (22:30 in
// Vladivostok, a Thursday).
func policyApp(t *testing.T) (*testApp, *fcmEmulator) {
	t.Helper()
	ta := newTestApp(t, func(o *identity.Options) {
		o.Limits = identity.Limits{CodesPerClientHour: 1000, CodesPerMinute: 1000, CodesPerHour: 1000,
			ChecksPerClientHour: 1000, ChecksPerMinute: 1000}
	})
	ta.clock.set(time.Date(2026, 12, 3, 12, 30, 0, 0, time.UTC))
	emu := &fcmEmulator{Server: pushtest.New(pushtest.Config{})}
	srv := httptest.NewServer(emu.Server)
	t.Cleanup(srv.Close)
	emu.url = srv.URL
	ta.deps.Push = ta.pushService(srv.URL)
	ta.deps.News = ta.newsService(ta.db, nil, 0)
	ta.f = New(ta.deps)
	return ta, emu
}

// fcmEmulator is the FCM emulator with its address.
type fcmEmulator struct {
	*pushtest.Server
	url string
}

// URL is the emulator's base address.
func (e *fcmEmulator) URL() string { return e.url }

var burnNotes int

// walletBurnNote is a burn warning as the wallet's burn job sends it.
func walletBurnNote(clinic string) wallet.Notification {
	burnNotes++
	return wallet.Notification{Key: fmt.Sprint("burnwarn:test:", burnNotes), Type: wallet.NoteBurnWarning,
		Data: map[string]any{"clinic_id": clinic}, AlertTitle: "Points about to burn", AlertBody: "100 points burn soon",
		Clinic: clinic, Class: wallet.ClassBurnWarning}
}

// pushService starts a push service (one app instance) over the test
// database, sending to the emulator at url.
func (ta *testApp) pushService(url string) *push.Service {
	ta.t.Helper()
	ctx := context.Background()
	store, err := push.NewSQLiteStore(ctx, ta.db)
	if err != nil {
		ta.t.Fatal(err)
	}
	sender, err := push.NewFCMSender(ctx, push.FCMConfig{Project: "test", Endpoint: url})
	if err != nil {
		ta.t.Fatal(err)
	}
	svc := push.NewService(store, push.Options{Now: ta.clock.now, Sender: sender, Zones: ClinicLocations{ta.deps.Identity},
		PushWorkers: 1, DeferInterval: time.Hour})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(runCtx) }()
	ta.t.Cleanup(func() { cancel(); <-done; svc.Close() })
	return svc
}

// vladClinic is a clinic in Asia/Vladivostok (UTC+10, no DST) with the
// example program.
func (ta *testApp) vladClinic(domain string) clinicFixture {
	ta.t.Helper()
	c, err := ta.deps.Identity.CreateClinic(context.Background(), "Vlad Dental", "Asia/Vladivostok")
	if err != nil {
		ta.t.Fatal(err)
	}
	if _, err := ta.deps.Identity.AddStaff(context.Background(), identity.NewStaff{ClinicID: c.ID, Email: "boss@" + domain,
		Password: "manager-password", Role: identity.RoleManager}); err != nil {
		ta.t.Fatal(err)
	}
	m := ta.staffLogin("boss@"+domain, "manager-password")
	ta.must(200, "PUT", "/v1/clinic/program", m.AccessToken, exampleProgram)
	ta.must(201, "POST", "/v1/clinic/staff", m.AccessToken, map[string]string{
		"email": "desk@" + domain, "password": "reception-pass", "role": "admin", "name": "Desk"})
	return clinicFixture{id: c.ID, manager: m.AccessToken, admin: ta.staffLogin("desk@"+domain, "reception-pass").AccessToken}
}

// waitPushes waits until the emulator holds n messages for token.
func waitPushes(t *testing.T, emu *fcmEmulator, token string, n int) {
	t.Helper()
	for range 4000 {
		if len(emu.Messages(token)) >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s: %d pushes, want %d", token, len(emu.Messages(token)), n)
}

// settlePushes waits until the push pipeline has accounted for n pushes.
func settlePushes(t *testing.T, p *push.Service, n int64) push.Stats {
	t.Helper()
	for range 4000 {
		if st := p.Stats(); st.Sent+st.Failed+st.Dropped >= n {
			return st
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("push pipeline did not settle: %+v", p.Stats())
	return push.Stats{}
}

func (ta *testApp) publishPost(cl clinicFixture, title string) news.ManagerView {
	ta.t.Helper()
	var v news.ManagerView
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": title, "body": "b"}).decode(ta.t, &v)
	if _, err := ta.deps.News.Fanout(context.Background()); err != nil {
		ta.t.Fatal(err)
	}
	ta.must(200, "GET", "/v1/clinic/news/"+v.ID, cl.manager, nil).decode(ta.t, &v)
	return v
}

func heldCounts(ta *testApp, cl clinicFixture, query string) map[string]int64 {
	ta.t.Helper()
	var rep heldReport
	ta.must(200, "GET", "/v1/clinic/message-policy/report"+query, cl.manager, nil).decode(ta.t, &rep)
	out := map[string]int64{}
	for _, c := range rep.Counts {
		out[c.Class+"/"+c.Reason] = c.Count
	}
	return out
}

// TestMessagesQuietHoursAndOptOut: a news post at 22:30 in Vladivostok
// reaches every inbox at once; the push to a patient waits for 09:00
// local and is sent once even with a restarted second instance sending
// due pushes too; a patient who switched marketing off gets the inbox
// event and never a push. The report counts both.
func TestMessagesQuietHoursAndOptOut(t *testing.T) {
	ta, emu := policyApp(t)
	ctx := context.Background()
	cl := ta.vladClinic("vlad.test")
	alice, aliceTok, _ := ta.joinCard(cl, "+79993000001")
	bob, bobTok, _ := ta.joinCard(cl, "+79993000002")
	for tok, dev := range map[string]string{aliceTok: "tok-alice", bobTok: "tok-bob"} {
		ta.must(204, "PUT", "/v1/me/devices", tok, map[string]string{"token": dev, "platform": "android"})
	}
	off, on := false, true
	ta.must(200, "PUT", "/v1/me/preferences", bobTok, map[string]any{"clinics": []any{map[string]any{"clinic_id": cl.id, "marketing": off}}})

	v := ta.publishPost(cl, "Night post")
	if ta.countEvents(alice, news.NotePost) != 1 || ta.countEvents(bob, news.NotePost) != 1 || v.Recipients != 2 {
		t.Fatalf("inbox: alice %d, bob %d; view %+v", ta.countEvents(alice, news.NotePost), ta.countEvents(bob, news.NotePost), v)
	}
	if st := ta.deps.Push.Stats(); st.Deferred != 1 || st.OptedOut != 1 || st.Sent != 0 {
		t.Fatalf("stats at 22:30: %+v", st)
	}
	held := heldCounts(ta, cl, "")
	if held["news/deferred"] != 1 || held["news/opted_out"] != 1 || len(held) != 2 {
		t.Fatalf("report: %v", held)
	}

	// 08:59 local: still quiet. A second instance starts (a restart).
	second := ta.pushService(emu.URL())
	ta.clock.set(time.Date(2026, 12, 3, 22, 59, 0, 0, time.UTC))
	if n, err := ta.deps.Push.SendDue(ctx); err != nil || n != 0 {
		t.Fatalf("08:59: %d, %v", n, err)
	}
	ta.clock.set(time.Date(2026, 12, 3, 23, 0, 0, 0, time.UTC))
	n1, err1 := second.SendDue(ctx)
	n2, err2 := ta.deps.Push.SendDue(ctx)
	if n1+n2 != 1 || err1 != nil || err2 != nil {
		t.Fatalf("09:00: %d+%d, %v %v", n1, n2, err1, err2)
	}
	waitPushes(t, emu, "tok-alice", 1)
	settlePushes(t, second, int64(n1))
	settlePushes(t, ta.deps.Push, int64(n2))
	if got := len(emu.Messages("tok-alice")); got != 1 {
		t.Fatalf("alice got %d pushes", got)
	}
	if got := len(emu.Messages("tok-bob")); got != 0 {
		t.Fatalf("bob (opted out) got %d pushes", got)
	}
	cl.manager = ta.staffLogin("boss@vlad.test", "manager-password").AccessToken // the clock moved past the token's life
	bobTok = ta.signInPatient("+79993000002").AccessToken
	ta.must(200, "GET", "/v1/clinic/news/"+v.ID, cl.manager, nil).decode(t, &v)
	if v.PushesSent != 1 || v.PushesFailed != 0 {
		t.Fatalf("post view: %+v", v)
	}

	// Switched on again, bob gets the next week's post at once (daytime).
	ta.must(200, "PUT", "/v1/me/preferences", bobTok, map[string]any{"clinics": []any{map[string]any{"clinic_id": cl.id, "marketing": on}}})
	ta.clock.set(time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)) // Tuesday 12:00 local
	cl.manager = ta.staffLogin("boss@vlad.test", "manager-password").AccessToken
	ta.publishPost(cl, "Day post")
	waitPushes(t, emu, "tok-bob", 1)
	waitPushes(t, emu, "tok-alice", 2)
}

// TestMessagesBudget: with a weekly budget of 1, a patient who already had
// a burn warning this week is skipped by the news fan-out (no inbox event,
// no push), counted in the post view and the report; the budget is
// per clinic-local week.
func TestMessagesBudget(t *testing.T) {
	ta, emu := policyApp(t)
	ctx := context.Background()
	ta.clock.set(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)) // Thursday 12:00 local
	cl := ta.vladClinic("vlad.test")
	ta.must(200, "PUT", "/v1/clinic/message-policy", cl.manager, map[string]any{"quiet_from": "21:00", "quiet_to": "09:00", "weekly_budget": 1})
	alice, aliceTok, _ := ta.joinCard(cl, "+79993000011")
	bob, bobTok, _ := ta.joinCard(cl, "+79993000012")
	for tok, dev := range map[string]string{aliceTok: "tok-alice", bobTok: "tok-bob"} {
		ta.must(204, "PUT", "/v1/me/devices", tok, map[string]string{"token": dev, "platform": "android"})
	}
	// The wallet's burn warning, through the same notifier the burn job uses.
	if err := (WalletNotifier{ta.deps.Push}).Notify(ctx, alice, walletBurnNote(cl.id)); err != nil {
		t.Fatal(err)
	}
	v := ta.publishPost(cl, "Budget post")
	if v.Recipients != 1 || v.Skipped != 1 {
		t.Fatalf("post view %+v", v)
	}
	if ta.countEvents(alice, news.NotePost) != 0 || ta.countEvents(bob, news.NotePost) != 1 {
		t.Fatal("the budget did not skip alice's news")
	}
	waitPushes(t, emu, "tok-bob", 1)
	waitPushes(t, emu, "tok-alice", 1) // the burn warning
	settlePushes(t, ta.deps.Push, 2)
	if got := len(emu.Messages("tok-alice")); got != 1 {
		t.Fatalf("alice got %d pushes", got)
	}
	// A second burn warning for alice this week is skipped too; the wallet
	// sees no error (it is done with it).
	if err := (WalletNotifier{ta.deps.Push}).Notify(ctx, alice, walletBurnNote(cl.id)); err != nil {
		t.Fatal(err)
	}
	held := heldCounts(ta, cl, "?from=2026-12-01&to=2026-12-03")
	if held["news/budget"] != 1 || held["burn_warning/budget"] != 1 || len(held) != 2 {
		t.Fatalf("report: %v", held)
	}
	if held := heldCounts(ta, cl, "?from=2026-11-01&to=2026-11-30"); len(held) != 0 {
		t.Fatalf("report for November: %v", held)
	}
	// Next Monday (local) alice's budget is fresh.
	ta.clock.set(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
	cl.manager = ta.staffLogin("boss@vlad.test", "manager-password").AccessToken
	ta.publishPost(cl, "Monday post")
	if ta.countEvents(alice, news.NotePost) != 1 {
		t.Fatal("a new week did not renew the budget")
	}
	ta.mustRaw(400, "GET", "/v1/clinic/message-policy/report?from=yesterday", cl.manager, nil)
	ta.must(400, "GET", "/v1/clinic/message-policy/report?from=2026-12-05&to=2026-12-01", cl.manager, nil)
}

// TestMessagesPushCountsPerDevice: the manager's post view counts pushes
// per device from FCM's answers: a patient with two phones counts twice,
// a token FCM says is gone counts as failed.
func TestMessagesPushCountsPerDevice(t *testing.T) {
	ta, emu := policyApp(t)
	ta.clock.set(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC))
	cl := ta.vladClinic("vlad.test")
	_, aliceTok, _ := ta.joinCard(cl, "+79993000021")
	_, bobTok, _ := ta.joinCard(cl, "+79993000022")
	ta.must(204, "PUT", "/v1/me/devices", aliceTok, map[string]string{"token": "tok-a1", "platform": "android"})
	ta.must(204, "PUT", "/v1/me/devices", aliceTok, map[string]string{"token": "tok-a2", "platform": "ios"})
	ta.must(204, "PUT", "/v1/me/devices", bobTok, map[string]string{"token": "tok-b", "platform": "android"})
	emu.Unregister("tok-a2")
	v := ta.publishPost(cl, "Per device")
	settlePushes(t, ta.deps.Push, 3)
	ta.must(200, "GET", "/v1/clinic/news/"+v.ID, cl.manager, nil).decode(t, &v)
	if v.PushesSent != 2 || v.PushesFailed != 1 || v.Recipients != 2 {
		t.Fatalf("post view %+v", v)
	}
	var page news.ManagerPage
	ta.must(200, "GET", "/v1/clinic/news", cl.manager, nil).decode(t, &page)
	if len(page.Posts) != 1 || page.Posts[0].PushesSent != 2 || page.Posts[0].PushesFailed != 1 {
		t.Fatalf("list %+v", page.Posts)
	}
}

// TestPreferencesPerCardAndValidation: a guardian switches marketing off
// for a dependant's card: messages about that card reach the inbox without
// a push, messages about the guardian's own card still push, burn warnings
// always push. Invalid input is a 400 naming the field and writes nothing.
func TestPreferencesPerCardAndValidation(t *testing.T) {
	ta, emu := policyApp(t)
	ctx := context.Background()
	ta.clock.set(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC))
	cl := ta.vladClinic("vlad.test")
	other := ta.vladClinic("other.test")
	mom, momTok, own := ta.joinCard(cl, "+79993000031")
	child := map[string]string{"guardian_phone": "+79993000031", "first_name": "Masha", "last_name": "Petrova", "birth_date": "2018-06-01"}
	kidCard := ta.issueConfirmed(cl, child, mom)
	_, strangerTok, _ := ta.joinCard(other, "+79993000032")
	ta.must(204, "PUT", "/v1/me/devices", momTok, map[string]string{"token": "tok-mom", "platform": "android"})

	var prefs preferencesResponse
	ta.must(200, "GET", "/v1/me/preferences", momTok, nil).decode(t, &prefs)
	if len(prefs.Clinics) != 1 || prefs.Clinics[0].ClinicID != cl.id || !*prefs.Clinics[0].Marketing ||
		len(prefs.Cards) != 1 || prefs.Cards[0].CardID != kidCard || prefs.Cards[0].ClinicID != cl.id || !*prefs.Cards[0].Marketing {
		t.Fatalf("defaults: %+v", prefs)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"clinics": []any{map[string]any{"clinic_id": other.id, "marketing": false}}}, "clinics[0].clinic_id"},
		{map[string]any{"clinics": []any{map[string]any{"clinic_id": cl.id}}}, "clinics[0].marketing"},
		{map[string]any{"clinics": []any{map[string]any{"clinic_id": cl.id, "marketing": true}, map[string]any{"clinic_id": cl.id, "marketing": false}}}, "clinics[1].clinic_id"},
		{map[string]any{"cards": []any{map[string]any{"card_id": own.ID, "marketing": false}}}, "cards[0].card_id"},
		{map[string]any{"cards": []any{map[string]any{"card_id": kidCard, "clinic_id": cl.id, "marketing": false}}}, "cards[0].clinic_id"},
		{map[string]any{"clinics": []any{map[string]any{"clinic_id": cl.id, "marketing": false}}, "cards": []any{map[string]any{"card_id": "cd_nope", "marketing": false}}}, "cards[0].card_id"},
	} {
		r := ta.mustRaw(400, "PUT", "/v1/me/preferences", momTok, c.body)
		var e errorBody
		r.decode(t, &e)
		if e.Error.Field != c.field {
			t.Fatalf("%v: field %q, want %q (%s)", c.body, e.Error.Field, c.field, r.Body)
		}
	}
	ta.mustRaw(400, "PUT", "/v1/me/preferences", momTok, `{"clinics":[{"clinic_id":"x","marketing":"no"}]}`)
	ta.mustRaw(400, "PUT", "/v1/me/preferences", momTok, `{"extra":1}`)
	// The stranger cannot switch the child's card.
	ta.mustRaw(400, "PUT", "/v1/me/preferences", strangerTok, map[string]any{"cards": []any{map[string]any{"card_id": kidCard, "marketing": false}}})
	ta.must(403, "GET", "/v1/me/preferences", cl.manager, nil)
	if p, _ := ta.deps.Push.Preferences(ctx, mom); len(p) != 0 {
		t.Fatalf("invalid requests wrote %+v", p)
	}

	ta.must(200, "PUT", "/v1/me/preferences", momTok, map[string]any{"cards": []any{map[string]any{"card_id": kidCard, "marketing": false}}}).decode(t, &prefs)
	if *prefs.Cards[0].Marketing || !*prefs.Clinics[0].Marketing {
		t.Fatalf("after PUT: %+v", prefs)
	}
	send := func(key, card string, class push.Class) {
		t.Helper()
		_, err := ta.deps.Push.Publish(ctx, mom, push.Draft{Key: key, Type: "care.test", Clinic: cl.id, Class: class, Card: card,
			Alert: &push.Alert{Title: "Vlad Dental", Body: "Напоминание / Reminder"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ta.must(200, "PUT", "/v1/clinic/message-policy", cl.manager, map[string]any{"quiet_from": "00:00", "quiet_to": "00:00", "weekly_budget": 10})
	send("care:kid", kidCard, push.ClassReminder)
	send("care:own", own.ID, push.ClassReminder)
	send("burn:kid", kidCard, push.ClassBurnWarning)
	send("code:kid", kidCard, push.ClassCode)
	settlePushes(t, ta.deps.Push, 3)
	if got := len(emu.Messages("tok-mom")); got != 3 {
		t.Fatalf("mom got %d pushes, want 3 (own reminder, burn warning, code)", got)
	}
	if ta.countEvents(mom, "care.test") != 4 {
		t.Fatal("an opted-out message is missing from the inbox")
	}
}

// TestMessagePolicySettings: managers read the defaults and set the
// policy; bad values are a 400 naming the field and change nothing;
// reception admins cannot.
func TestMessagePolicySettings(t *testing.T) {
	ta, _ := policyApp(t)
	cl := ta.vladClinic("vlad.test")
	var p messagePolicy
	ta.must(200, "GET", "/v1/clinic/message-policy", cl.manager, nil).decode(t, &p)
	if p.QuietFrom != "21:00" || p.QuietTo != "09:00" || *p.WeeklyBudget != 2 {
		t.Fatalf("defaults %+v", p)
	}
	ta.must(403, "GET", "/v1/clinic/message-policy", cl.admin, nil)
	ta.must(403, "PUT", "/v1/clinic/message-policy", cl.admin, map[string]any{"quiet_from": "22:00", "quiet_to": "08:00", "weekly_budget": 3})
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"quiet_from": "25:00", "quiet_to": "08:00", "weekly_budget": 3}, "quiet_from"},
		{map[string]any{"quiet_from": "9:00", "quiet_to": "08:00", "weekly_budget": 3}, "quiet_from"},
		{map[string]any{"quiet_from": "22:00", "quiet_to": "8am", "weekly_budget": 3}, "quiet_to"},
		{map[string]any{"quiet_from": "22:00", "quiet_to": "08:00", "weekly_budget": 51}, "weekly_budget"},
		{map[string]any{"quiet_from": "22:00", "quiet_to": "08:00", "weekly_budget": -1}, "weekly_budget"},
		{map[string]any{"quiet_from": "22:00", "quiet_to": "08:00"}, "weekly_budget"},
	} {
		r := ta.mustRaw(400, "PUT", "/v1/clinic/message-policy", cl.manager, c.body)
		var e errorBody
		r.decode(t, &e)
		if e.Error.Field != c.field {
			t.Fatalf("%v: field %q, want %q", c.body, e.Error.Field, c.field)
		}
	}
	ta.mustRaw(400, "PUT", "/v1/clinic/message-policy", cl.manager, `{"quiet_from":"22:00","quiet_to":"08:00","weekly_budget":"2"}`)
	ta.must(200, "GET", "/v1/clinic/message-policy", cl.manager, nil).decode(t, &p)
	if p.QuietFrom != "21:00" || *p.WeeklyBudget != 2 {
		t.Fatalf("a bad request changed the policy: %+v", p)
	}
	ta.must(200, "PUT", "/v1/clinic/message-policy", cl.manager, map[string]any{"quiet_from": "22:30", "quiet_to": "07:45", "weekly_budget": 0})
	ta.must(200, "GET", "/v1/clinic/message-policy", cl.manager, nil).decode(t, &p)
	if p.QuietFrom != "22:30" || p.QuietTo != "07:45" || *p.WeeklyBudget != 0 {
		t.Fatalf("after PUT %+v", p)
	}
	// Another clinic keeps the defaults.
	other := ta.vladClinic("other.test")
	ta.must(200, "GET", "/v1/clinic/message-policy", other.manager, nil).decode(t, &p)
	if *p.WeeklyBudget != 2 {
		t.Fatalf("another clinic: %+v", p)
	}
}
