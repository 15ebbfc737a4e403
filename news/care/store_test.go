package care

import (
	"context"
	"errors"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// TestStoreConformance runs the store primitives on SQLite and on the
// embedded FerretDB: the unique keys, the version check, the due index
// query and the report's sums.
func TestStoreConformance(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

		a := &Appointment{ID: "ap_1", ClinicID: "cl", ExternalID: "E1", PatientID: "pt", StartsAt: t0, Doctor: "Dr",
			Services: []string{"X"}, Status: StatusBooked, Created: t0, Updated: t0, StatusAt: t0, Version: 1}
		if err := s.InsertAppointment(ctx, a); err != nil {
			t.Fatal(err)
		}
		dup := *a
		dup.ID = "ap_2"
		if err := s.InsertAppointment(ctx, &dup); !errors.Is(err, errDuplicate) {
			t.Fatalf("second (clinic, external id): %v, want duplicate", err)
		}
		got, err := s.AppointmentByExternal(ctx, "cl", "E1")
		if err != nil || got.ID != "ap_1" || got.Services[0] != "X" || !got.StartsAt.Equal(t0) {
			t.Fatalf("by external: %+v %v", got, err)
		}
		un, err := s.Unplanned(ctx, 10)
		if err != nil || len(un) != 1 {
			t.Fatalf("unplanned %d %v, want 1", len(un), err)
		}
		next := *got
		next.Status, next.Version = StatusCancelled, 2
		if err := s.UpdateAppointment(ctx, &next, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateAppointment(ctx, &next, 1); !errors.Is(err, errVersionMoved) {
			t.Fatalf("stale update: %v", err)
		}
		if err := s.SetPlanned(ctx, "ap_1", 2); err != nil {
			t.Fatal(err)
		}
		if un, _ := s.Unplanned(ctx, 10); len(un) != 0 {
			t.Fatalf("%d unplanned after SetPlanned", len(un))
		}
		list, err := s.PatientAppointments(ctx, "cl", "pt")
		if err != nil || len(list) != 1 || list[0].Status != StatusCancelled {
			t.Fatalf("patient appointments %+v %v", list, err)
		}
		if _, err := s.Appointment(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing appointment: %v", err)
		}

		// The outbox: one row per key; due reads pending rows only.
		for i, due := range []time.Time{t0.Add(2 * time.Hour), t0, t0.Add(48 * time.Hour)} {
			m := &Message{Key: "k" + string(rune('0'+i)), ClinicID: "cl", PatientID: "pt", Scenario: WinBack, AppointmentID: "ap_1",
				Due: due, Deadline: due.Add(DropAfter), Created: t0}
			if ok, err := s.AddMessage(ctx, m); err != nil || !ok {
				t.Fatalf("add %s: %v %v", m.Key, ok, err)
			}
			if ok, err := s.AddMessage(ctx, m); err != nil || ok {
				t.Fatalf("add %s again: %v %v, want false", m.Key, ok, err)
			}
		}
		due, err := s.DueMessages(ctx, t0.Add(3*time.Hour), 10)
		if err != nil || len(due) != 2 || due[0].Key != "k1" || due[1].Key != "k0" {
			t.Fatalf("due %+v %v, want k1 then k0", due, err)
		}
		if err := s.Reschedule(ctx, "k1", t0.Add(5*time.Hour), "ap_9"); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.Message(ctx, "k1"); !m.Due.Equal(t0.Add(5*time.Hour)) || m.AppointmentID != "ap_9" {
			t.Fatalf("rescheduled %+v", m)
		}
		done := t0.Add(4 * time.Hour)
		if err := s.Finish(ctx, []string{"k0"}, Sent, "", done); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(ctx, []string{"k0", "k2"}, Skipped, "booked_again", done); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.Message(ctx, "k0"); m.State != Sent {
			t.Fatalf("a finished message changed again: %+v", m)
		}
		counts, err := s.MessageCounts(ctx, "cl", t0, t0.Add(24*time.Hour))
		if err != nil || len(counts) != 2 {
			t.Fatalf("counts %+v %v", counts, err)
		}
		sent, err := s.SentMessages(ctx, "cl", WinBack, t0, t0.Add(24*time.Hour))
		if err != nil || len(sent) != 1 || sent[0].Key != "k0" {
			t.Fatalf("sent %+v %v", sent, err)
		}
		if due, _ := s.DueMessages(ctx, t0.Add(100*time.Hour), 10); len(due) != 1 || due[0].Key != "k1" {
			t.Fatalf("due after finishing %+v", due)
		}

		// Settings, services, review sites, birth dates.
		if err := s.PutSetting(ctx, Setting{ClinicID: "cl", Scenario: Birthday, Enabled: true, DaysBefore: 3}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSetting(ctx, Setting{ClinicID: "cl", Scenario: Birthday, Enabled: true, DaysBefore: 5, Text: "Hi {first_name}"}); err != nil {
			t.Fatal(err)
		}
		sets, err := s.Settings(ctx, "cl")
		if err != nil || len(sets) != 1 || sets[0].DaysBefore != 5 || sets[0].Text != "Hi {first_name}" {
			t.Fatalf("settings %+v %v", sets, err)
		}
		if err := s.PutServices(ctx, "cl", []ServiceText{{Code: "A", AfterText: "after"}, {Code: "B", BeforeText: "before"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutServices(ctx, "cl", []ServiceText{{Code: "B", Name: "Bee"}}); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Services(ctx, "cl", []string{"B", "Z"})
		if err != nil || len(svc) != 1 || svc[0].Name != "Bee" || svc[0].BeforeText != "" {
			t.Fatalf("services %+v %v", svc, err)
		}
		if c, err := s.ServiceCounts(ctx, "cl"); err != nil || c.After != 1 || c.Before != 0 {
			t.Fatalf("service counts %+v %v", c, err)
		}
		if all, err := s.AllServices(ctx, "cl", "A", 10); err != nil || len(all) != 1 || all[0].Code != "B" {
			t.Fatalf("all services after A: %+v %v", all, err)
		}
		if sites, err := s.ReviewSites(ctx, "cl"); err != nil || len(sites) != 0 {
			t.Fatalf("no sites yet: %+v %v", sites, err)
		}
		if err := s.PutReviewSites(ctx, "cl", []Site{{Name: "2GIS", URL: "https://2gis.ru/x"}}); err != nil {
			t.Fatal(err)
		}
		if sites, err := s.ReviewSites(ctx, "cl"); err != nil || len(sites) != 1 || sites[0].Name != "2GIS" {
			t.Fatalf("sites %+v %v", sites, err)
		}
		if at, err := s.BirthDateEntered(ctx, "pt", "1990-01-02"); err != nil || !at.IsZero() {
			t.Fatalf("never entered: %v %v", at, err)
		}
		for _, at := range []time.Time{t0, t0.Add(time.Hour)} {
			if err := s.PutBirthDate(ctx, "pt", "1990-01-02", at); err != nil {
				t.Fatal(err)
			}
		}
		if at, err := s.BirthDateEntered(ctx, "pt", "1990-01-02"); err != nil || !at.Equal(t0) {
			t.Fatalf("entered at %v %v, want the first time", at, err)
		}

		// One rating per visit.
		r := &VisitRating{VisitID: "ap_1", ClinicID: "cl", PatientID: "pt", Score: 2, Comment: "slow", Created: t0}
		if err := s.InsertRating(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertRating(ctx, r); !errors.Is(err, errDuplicate) {
			t.Fatalf("second rating: %v, want duplicate", err)
		}
		if err := s.SetRatingThread(ctx, "ap_1", "th_1"); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Ratings(ctx, "cl", t0, t0.Add(time.Hour), 2, 10)
		if err != nil || len(rs) != 1 || rs[0].ThreadID != "th_1" {
			t.Fatalf("ratings %+v %v", rs, err)
		}
		if rs, _ := s.Ratings(ctx, "cl", t0, t0.Add(time.Hour), 5, 10); len(rs) != 0 {
			t.Fatalf("score filter: %+v", rs)
		}
		if n, err := s.EraseComments(ctx, "pt"); err != nil || n != 1 {
			t.Fatalf("erase %d %v", n, err)
		}
		if rs, _ := s.PatientRatings(ctx, "pt"); len(rs) != 1 || rs[0].Comment != "" || rs[0].Score != 2 {
			t.Fatalf("after erase %+v", rs)
		}
	})
}

// TestStoreErasePatient: a deleted patient's pending messages are voided
// (finished ones and other patients' stay), their birth-date records go,
// and a retry changes nothing more.
func TestStoreErasePatient(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for _, m := range []Message{{Key: "gone-pending", PatientID: "pt_gone"}, {Key: "gone-sent", PatientID: "pt_gone"},
			{Key: "kept", PatientID: "pt_kept"}} {
			m.ClinicID, m.Scenario, m.Due, m.Deadline, m.Created = "cl", Reminder, t0, t0.Add(DropAfter), t0
			if _, err := s.AddMessage(ctx, &m); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Finish(ctx, []string{"gone-sent"}, Sent, "", t0); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"pt_gone", "pt_kept"} {
			if err := s.PutBirthDate(ctx, p, "1971-04-05", t0); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if err := s.ErasePatient(ctx, "pt_gone", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if m, _ := s.Message(ctx, "gone-pending"); m.State != Void || m.Reason != ReasonErased || !m.Done.Equal(t0.Add(time.Hour)) {
			t.Fatalf("the deleted patient's pending message %+v", m)
		}
		if m, _ := s.Message(ctx, "gone-sent"); m.State != Sent {
			t.Fatalf("a sent message changed: %+v", m)
		}
		due, err := s.DueMessages(ctx, t0.Add(time.Hour), 10)
		if err != nil || len(due) != 1 || due[0].Key != "kept" {
			t.Fatalf("due after erasing %+v %v, want only the other patient's", due, err)
		}
		if at, _ := s.BirthDateEntered(ctx, "pt_gone", "1971-04-05"); !at.IsZero() {
			t.Fatal("the deleted patient's birth date is still recorded")
		}
		if at, _ := s.BirthDateEntered(ctx, "pt_kept", "1971-04-05"); !at.Equal(t0) {
			t.Fatal("another patient's birth date went")
		}
	})
}
