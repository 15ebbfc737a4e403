package care

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// The day before the visit, the reminder and the before-visit texts go out
// at 16:00 Vladivostok time, not a minute earlier, once.
func TestReminderAtSixteenClinicTime(t *testing.T) {
	for _, tc := range []struct {
		clinic string
		loc    *time.Location
	}{{"cl_v", vladivostok}, {"cl_u", time.UTC}} {
		t.Run(tc.clinic, func(t *testing.T) {
			local := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, tc.loc).UTC() }
			f := sqliteFixture(t, local(1, 10, 0))
			ctx := context.Background()
			if _, err := f.svc.PutService(ctx, tc.clinic, "IMPL", ServiceRequest{Name: "Implant", BeforeText: "Do not eat 2 hours before."}); err != nil {
				t.Fatal(err)
			}
			f.putIn(tc.clinic, "A1", "pt_1", local(5, 11, 30), StatusBooked, "IMPL")
			f.tick() // the greeting
			if got := f.at(local(4, 15, 59)); got.Sent != 0 {
				t.Fatalf("15:59 the day before: %+v, want nothing sent", got)
			}
			if got := f.at(local(4, 16, 0)); got.Sent != 2 {
				t.Fatalf("16:00 the day before: %+v, want the reminder and the before-visit texts", got)
			}
			f.at(local(4, 16, 30))
			sent := f.inbox.sent("pt_1")
			if count(sent, Reminder) != 1 || count(sent, BeforeVisit) != 1 {
				t.Fatalf("sent %v, want one reminder and one before_visit", sent)
			}
			var before Note
			for _, n := range f.inbox.notes["pt_1"] {
				if n.Scenario == BeforeVisit {
					before = n
				}
			}
			text := before.Data.(MessageData).Text
			if !strings.Contains(text, "Do not eat 2 hours before.") || !strings.Contains(text, "Anna") {
				t.Fatalf("before-visit text %q lacks the service's text or the name", text)
			}
			if strings.Contains(before.AlertTitle+before.AlertBody, "Anna") {
				t.Fatalf("the push alert %q names the patient", before.AlertTitle+before.AlertBody)
			}
			var rem Note
			for _, n := range f.inbox.notes["pt_1"] {
				if n.Scenario == Reminder {
					rem = n
				}
			}
			if text := rem.Data.(MessageData).Text; !strings.Contains(text, "05.12.2026") || !strings.Contains(text, "11:30") {
				t.Fatalf("reminder %q lacks the local date and time", text)
			}
		})
	}
}

func TestReminderNotSentWhenBookedSameDay(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 5, 9, 0))
	a := f.put("A1", "pt_1", vlat(2026, 12, 5, 18, 0), StatusBooked)
	f.at(vlat(2026, 12, 5, 16, 0))
	if n := count(f.inbox.sent("pt_1"), Reminder); n != 0 {
		t.Fatalf("%d reminders for a visit booked the same day", n)
	}
	m := f.msg("care:reminder:" + a.ID + ":2026-12-05")
	if m.State != Skipped || m.Reason != "booked_same_day" {
		t.Fatalf("reminder state %d %q, want skipped booked_same_day", m.State, m.Reason)
	}
}

// Booked the evening before: the reminder goes at once, inside the window.
func TestReminderBookedTheDayBefore(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 4, 17, 0))
	f.put("A1", "pt_1", vlat(2026, 12, 5, 10, 0), StatusBooked)
	f.tick()
	if n := count(f.inbox.sent("pt_1"), Reminder); n != 1 {
		t.Fatalf("%d reminders, want 1 at once", n)
	}
}

func TestReminderNotSentWhenCancelled(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 10, 0))
	a := f.put("A1", "pt_1", vlat(2026, 12, 5, 10, 0), StatusBooked)
	f.clock.set(vlat(2026, 12, 3, 10, 0))
	f.put("A1", "pt_1", vlat(2026, 12, 5, 10, 0), StatusCancelled)
	f.at(vlat(2026, 12, 4, 16, 0))
	if n := count(f.inbox.sent("pt_1"), Reminder); n != 0 {
		t.Fatalf("%d reminders for a cancelled visit", n)
	}
	if m := f.msg("care:reminder:" + a.ID + ":2026-12-05"); m.State != Skipped || m.Reason != "cancelled" {
		t.Fatalf("reminder state %d %q, want skipped cancelled", m.State, m.Reason)
	}
}

// A visit moved to another day is reminded of once, the day before the
// new date.
func TestReminderFollowsARescheduledVisit(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 10, 0))
	f.put("A1", "pt_1", vlat(2026, 12, 5, 10, 0), StatusBooked)
	f.put("A1", "pt_1", vlat(2026, 12, 8, 10, 0), StatusBooked)
	f.at(vlat(2026, 12, 4, 16, 0))
	if n := count(f.inbox.sent("pt_1"), Reminder); n != 0 {
		t.Fatalf("%d reminders for the old date", n)
	}
	f.at(vlat(2026, 12, 7, 16, 0))
	if n := count(f.inbox.sent("pt_1"), Reminder); n != 1 {
		t.Fatalf("%d reminders for the new date, want 1", n)
	}
}

func TestGreetingFirstBookingOnly(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 23, 0))
	f.put("A1", "pt_1", vlat(2026, 12, 10, 10, 0), StatusBooked)
	f.tick()
	f.clock.add(time.Hour)
	f.put("A2", "pt_1", vlat(2026, 12, 20, 10, 0), StatusBooked)
	f.tick()
	if n := count(f.inbox.sent("pt_1"), Greeting); n != 1 {
		t.Fatalf("%d greetings after two bookings in 90 days, want 1", n)
	}
	f.clock.add(GreetingGap + time.Hour)
	f.put("A3", "pt_1", f.clock.now().Add(72*time.Hour), StatusBooked)
	f.tick()
	if n := count(f.inbox.sent("pt_1"), Greeting); n != 2 {
		t.Fatalf("%d greetings after a booking 90 days later, want 2", n)
	}
}

func TestGreetingNotSentWhenCancelledOrArrived(t *testing.T) {
	for _, st := range []string{StatusCancelled, StatusArrived} {
		t.Run(st, func(t *testing.T) {
			f := sqliteFixture(t, vlat(2026, 12, 1, 10, 0))
			ctx := context.Background()
			// Planned but not yet sent when the status changes.
			a := f.put("A1", "pt_1", vlat(2026, 12, 1, 12, 0), StatusBooked)
			f.put("A1", "pt_1", vlat(2026, 12, 1, 12, 0), st)
			if _, err := f.svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if n := count(f.inbox.sent("pt_1"), Greeting); n != 0 {
				t.Fatalf("greeting sent for a %s appointment", st)
			}
			if m := f.msg("care:greeting:" + a.ID); m.State != Skipped || m.Reason != st {
				t.Fatalf("greeting %d %q, want skipped %s", m.State, m.Reason, st)
			}
		})
	}
}

func TestAfterVisitNeedsAnAfterText(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 9, 0))
	ctx := context.Background()
	if _, err := f.svc.PutService(ctx, "cl_v", "CLEAN", ServiceRequest{Name: "Cleaning", AfterText: "No coffee today."}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutService(ctx, "cl_v", "XRAY", ServiceRequest{Name: "X-ray"}); err != nil {
		t.Fatal(err)
	}
	f.put("A1", "pt_1", vlat(2026, 12, 1, 10, 0), StatusDone, "CLEAN")
	b := f.put("B1", "pt_2", vlat(2026, 12, 1, 10, 0), StatusDone, "XRAY")
	f.clock.add(5 * time.Minute)
	f.tick()
	if n := count(f.inbox.sent("pt_1"), AfterVisit); n != 1 {
		t.Fatalf("%d after-visit messages, want 1", n)
	}
	if n := count(f.inbox.sent("pt_2"), AfterVisit); n != 0 {
		t.Fatalf("after-visit message sent though no service has an after text")
	}
	if m := f.msg("care:after_visit:" + b.ID); m.State != Skipped || m.Reason != "no_after_text" {
		t.Fatalf("after_visit %d %q", m.State, m.Reason)
	}
}

// The rating request follows the day's last done visit by 3 hours, once.
func TestRatingAfterTheLastVisitOfTheDay(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 10, 0))
	f.put("A1", "pt_1", vlat(2026, 12, 1, 10, 0), StatusDone)
	f.clock.set(vlat(2026, 12, 1, 12, 0))
	b := f.put("A2", "pt_1", vlat(2026, 12, 1, 12, 0), StatusDone)
	if got := f.at(vlat(2026, 12, 1, 13, 30)); count(f.inbox.sent("pt_1"), Rating) != 0 {
		t.Fatalf("rating asked 3 h after the first visit: %+v", got)
	}
	f.at(vlat(2026, 12, 1, 15, 0))
	f.at(vlat(2026, 12, 1, 16, 0))
	if n := count(f.inbox.sent("pt_1"), Rating); n != 1 {
		t.Fatalf("%d rating requests, want 1", n)
	}
	if got := f.inbox.last("pt_1").Data.(MessageData).VisitID; got != b.ID {
		t.Fatalf("rating asks about %s, want the last visit %s", got, b.ID)
	}
}

func TestRatingNotAskedWhenTheVisitDidNotHappen(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 10, 0))
	a := f.put("A1", "pt_1", vlat(2026, 12, 1, 10, 0), StatusDone)
	f.clock.add(time.Hour)
	f.put("A1", "pt_1", vlat(2026, 12, 1, 10, 0), StatusNoShow) // marked done by mistake
	f.at(vlat(2026, 12, 1, 14, 0))
	if n := count(f.inbox.sent("pt_1"), Rating); n != 0 {
		t.Fatal("rating asked for a visit that did not happen")
	}
	if m := f.msg("care:rating:cl_v:pt_1:2026-12-01"); m.State != Skipped || m.Reason != "visit_not_done" {
		t.Fatalf("rating %d %q (appointment %s)", m.State, m.Reason, a.ID)
	}
}

// A message due outside its window waits for the next opening; one still
// not sendable 24 h after it was due is dropped and counted.
func TestWindowWaitsThenDrops(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	a := f.put("A1", "pt_1", vlat(2026, 12, 1, 15, 0), StatusCancelled)
	key := "care:win_back:" + a.ID
	if due := f.msg(key).Due; !due.Equal(vlat(2026, 12, 2, 10, 0)) {
		t.Fatalf("win_back due %s, want 10:00 the next day", due.In(vladivostok))
	}
	f.at(vlat(2026, 12, 2, 9, 59))
	if len(f.inbox.sent("pt_1")) != 0 {
		t.Fatal("sent before the window opened")
	}
	// The service was down all through the window: it waits for the next one.
	rep := f.at(vlat(2026, 12, 2, 20, 30))
	if rep.Postponed != 1 || f.msg(key).Due != vlat(2026, 12, 3, 10, 0) {
		t.Fatalf("after the window: %+v, due %s", rep, f.msg(key).Due.In(vladivostok))
	}
	f.at(vlat(2026, 12, 3, 10, 0))
	if n := count(f.inbox.sent("pt_1"), WinBack); n != 1 {
		t.Fatalf("%d win-backs at the next opening, want 1", n)
	}

	// The rating of a late visit, due at 10:00, finds the service down
	// until 20:00: the next opening is past its 24 hours.
	f.clock.set(vlat(2026, 12, 5, 19, 0))
	f.put("B1", "pt_2", vlat(2026, 12, 5, 18, 0), StatusDone)
	rep = f.at(vlat(2026, 12, 6, 20, 0))
	m := f.msg("care:rating:cl_v:pt_2:2026-12-05")
	if m.State != Dropped || count(f.inbox.sent("pt_2"), Rating) != 0 {
		t.Fatalf("rating %d %q, report %+v: want dropped", m.State, m.Reason, rep)
	}
}

func TestWinBackNotSentWhenBookedAgain(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	a := f.put("A1", "pt_1", vlat(2026, 12, 1, 15, 0), StatusNoShow)
	f.put("A2", "pt_1", vlat(2026, 12, 9, 15, 0), StatusBooked)
	f.at(vlat(2026, 12, 2, 10, 0))
	if n := count(f.inbox.sent("pt_1"), WinBack); n != 0 {
		t.Fatal("win-back sent though another visit is booked")
	}
	if m := f.msg("care:win_back:" + a.ID); m.Reason != "booked_again" {
		t.Fatalf("win_back reason %q", m.Reason)
	}
}

func TestBirthday(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 10, 0, 30))
	ctx := context.Background()
	f.people.put(Person{ID: "pt_b", FirstName: "Olga", BirthDate: "1990-12-10"}, "cl_v")
	f.people.put(Person{ID: "pt_n", FirstName: "Nina"}, "cl_v")
	f.people.put(Person{ID: "pt_e", FirstName: "Eva", BirthDate: "1991-12-10"}, "cl_v")
	// Eva entered her birth date on the birthday itself.
	if err := f.svc.BirthDateEntered(ctx, "pt_e", "1991-12-10"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.Birthdays(ctx); err != nil || n != 2 {
		t.Fatalf("planned %d birthdays (%v), want 2", n, err)
	}
	f.at(vlat(2026, 12, 10, 11, 59))
	if len(f.inbox.sent("pt_b")) != 0 {
		t.Fatal("birthday greeting before 12:00")
	}
	f.at(vlat(2026, 12, 10, 12, 0))
	if count(f.inbox.sent("pt_b"), Birthday) != 1 {
		t.Fatal("no birthday greeting at 12:00")
	}
	if len(f.inbox.sent("pt_n"))+len(f.inbox.sent("pt_e")) != 0 {
		t.Fatal("greeted without a birth date, or one entered on the birthday")
	}
	if m := f.msg("care:birthday:cl_v:pt_e:2026"); m.Reason != "birth_date_entered_on_birthday" {
		t.Fatalf("Eva's greeting: %d %q", m.State, m.Reason)
	}
	// Running it again plans nothing twice.
	if n, _ := f.svc.Birthdays(ctx); n != 0 {
		t.Fatalf("second pass planned %d", n)
	}
}

func TestBirthdayDaysBefore(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 7, 13, 0))
	ctx := context.Background()
	three := 3
	if _, err := f.svc.UpdateScenario(ctx, "cl_v", Birthday, ScenarioUpdate{DaysBefore: &three}); err != nil {
		t.Fatal(err)
	}
	f.people.put(Person{ID: "pt_b", FirstName: "Olga", BirthDate: "1990-12-10"}, "cl_v")
	if _, err := f.svc.Birthdays(ctx); err != nil {
		t.Fatal(err)
	}
	f.tick()
	if count(f.inbox.sent("pt_b"), Birthday) != 1 {
		t.Fatal("no greeting 3 days before")
	}
}

func TestPolicySkipsAreCounted(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	f.inbox.skip[WinBack] = "budget"
	f.put("A1", "pt_1", vlat(2026, 12, 1, 15, 0), StatusCancelled)
	f.at(vlat(2026, 12, 2, 10, 0))
	rep, err := f.svc.Report(context.Background(), "cl_v", vlat(2026, 12, 1, 0, 0), vlat(2026, 12, 3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range rep.Scenarios {
		if sc.Scenario == WinBack && (sc.Skipped["policy:budget"] != 1 || sc.Sent != 0) {
			t.Fatalf("win_back report %+v", sc)
		}
	}
}

func TestOffScenarioSendsNothing(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	off := false
	if _, err := f.svc.UpdateScenario(context.Background(), "cl_v", WinBack, ScenarioUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	f.put("A1", "pt_1", vlat(2026, 12, 1, 15, 0), StatusCancelled)
	f.at(vlat(2026, 12, 2, 10, 0))
	if len(f.inbox.sent("pt_1")) != 0 {
		t.Fatal("an off scenario sent")
	}
}

// failingStore fails Finish a number of times: the publish happened, its
// record did not (a crash between the two).
type failingStore struct {
	Store
	mu         sync.Mutex
	finishFail int
	addFail    int
}

func (s *failingStore) Finish(ctx context.Context, keys []string, state int, reason string, at time.Time) error {
	s.mu.Lock()
	fail := s.finishFail > 0
	if fail {
		s.finishFail--
	}
	s.mu.Unlock()
	if fail {
		return errors.New("crash")
	}
	return s.Store.Finish(ctx, keys, state, reason, at)
}

func (s *failingStore) AddMessage(ctx context.Context, m *Message) (bool, error) {
	s.mu.Lock()
	fail := s.addFail > 0
	if fail {
		s.addFail--
	}
	s.mu.Unlock()
	if fail {
		return false, errors.New("crash")
	}
	return s.Store.AddMessage(ctx, m)
}

// A crash after the publish and before its record: the restarted service
// publishes again under the same key, and the patient has one message.
// A crash before the planning: the scheduler plans it later.
func TestRestartNeitherResendsNorLoses(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	fs := &failingStore{Store: f.store, finishFail: 1, addFail: 1}
	f.store = fs
	f.svc = f.newService()
	ctx := context.Background()
	// The planning crashes: the appointment is stored, its message not.
	if _, _, err := f.svc.PutAppointment(ctx, Upsert{ClinicID: "cl_v", ExternalID: "A1", PatientID: "pt_1",
		AppointmentRequest: AppointmentRequest{StartsAt: vlat(2026, 12, 1, 15, 0), Status: StatusCancelled}}); err == nil {
		t.Fatal("want the injected crash")
	}
	f.clock.set(vlat(2026, 12, 2, 10, 0))
	if _, err := f.svc.Tick(ctx); err == nil {
		t.Fatal("want the injected crash of the record")
	}
	restarted := f.newService()
	if _, err := restarted.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(f.inbox.sent("pt_1"), WinBack); n != 1 {
		t.Fatalf("%d win-backs after the crashes, want exactly 1", n)
	}
}

// Two instances ticking at once deliver each message once.
func TestTwoInstancesSendOnce(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	for i := range 40 {
		f.put("A"+string(rune('a'+i%26))+string(rune('a'+i/26)), "pt_"+string(rune('a'+i%26))+string(rune('a'+i/26)),
			vlat(2026, 12, 1, 15, 0), StatusCancelled)
	}
	f.clock.set(vlat(2026, 12, 2, 10, 0))
	a, b := f.newService(), f.newService()
	var wg sync.WaitGroup
	for _, s := range []*Service{a, b} {
		wg.Go(func() {
			if _, err := s.Tick(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.inbox.writes != 40 {
		t.Fatalf("%d messages written for 40 patients", f.inbox.writes)
	}
}

func TestFailedPublishRetries(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 1, 15, 0))
	f.put("A1", "pt_1", vlat(2026, 12, 1, 15, 0), StatusCancelled)
	f.inbox.fail = 1
	if rep := f.at(vlat(2026, 12, 2, 10, 0)); rep.Failed != 1 {
		t.Fatalf("report %+v, want one failure", rep)
	}
	f.at(vlat(2026, 12, 2, 10, 1))
	if n := count(f.inbox.sent("pt_1"), WinBack); n != 1 {
		t.Fatalf("%d win-backs after a failed publish, want 1", n)
	}
}

// A birth date removed after the greeting was planned: not sent.
func TestBirthdayNotSentWithoutBirthDate(t *testing.T) {
	f := sqliteFixture(t, vlat(2026, 12, 10, 9, 0))
	ctx := context.Background()
	f.people.put(Person{ID: "pt_b", FirstName: "Olga", BirthDate: "1990-12-10"}, "cl_v")
	if n, err := f.svc.Birthdays(ctx); err != nil || n != 1 {
		t.Fatalf("planned %d (%v)", n, err)
	}
	f.people.put(Person{ID: "pt_b", FirstName: "Olga"}, "cl_v")
	f.at(vlat(2026, 12, 10, 12, 0))
	if len(f.inbox.sent("pt_b")) != 0 {
		t.Fatal("greeted without a birth date")
	}
	if m := f.msg("care:birthday:cl_v:pt_b:2026"); m.State != Skipped || m.Reason != "no_birth_date" {
		t.Fatalf("greeting %d %q", m.State, m.Reason)
	}
}

// The scheduler's rules on both stores: the window and one message per
// key through a crash of the record and a second instance, on SQLite and
// on the embedded FerretDB.
func TestSchedulerOnBothStores(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore), vlat(2026, 12, 1, 10, 0))
		ctx := context.Background()
		f.put("A1", "pt_1", vlat(2026, 12, 5, 11, 0), StatusBooked)
		f.put("A2", "pt_2", vlat(2026, 12, 1, 9, 0), StatusCancelled)
		f.tick() // greeting
		if got := f.at(vlat(2026, 12, 2, 9, 59)); got.Sent != 0 {
			t.Fatalf("before the window: %+v", got)
		}
		fs := &failingStore{Store: f.store, finishFail: 1}
		f.store = fs
		f.clock.set(vlat(2026, 12, 2, 10, 0))
		if _, err := f.newService().Tick(ctx); err == nil {
			t.Fatal("want the injected crash")
		}
		a, b2 := f.newService(), f.newService()
		for _, s := range []*Service{a, b2} {
			if _, err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(f.inbox.sent("pt_2"), WinBack); n != 1 {
			t.Fatalf("%d win-backs, want 1", n)
		}
		f.at(vlat(2026, 12, 4, 16, 0))
		if n := count(f.inbox.sent("pt_1"), Reminder); n != 1 {
			t.Fatalf("%d reminders, want 1", n)
		}
	})
}
