package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"carewallet/app/storage"
	"carewallet/app/storage/storagetest"
	"carewallet/news/care"
	"carewallet/push"
)

type benchCareClinics struct{}

func (benchCareClinics) Clinic(ctx context.Context, id string) (care.Clinic, error) {
	loc, err := time.LoadLocation("Asia/Vladivostok")
	return care.Clinic{Name: "Smile Dental", Location: loc}, err
}

// benchCarePatients names every patient without a database read: the
// benchmark measures the scheduler and the inbox, not identity.
type benchCarePatients struct{}

func (benchCarePatients) Person(ctx context.Context, id string) (care.Person, error) {
	return care.Person{ID: id, FirstName: "Anna"}, nil
}
func (benchCarePatients) BornOn(context.Context, []string, string, int) ([]care.Person, error) {
	return nil, nil
}
func (benchCarePatients) Clinics(context.Context, string) ([]string, error) { return nil, nil }

// benchAppointments writes n booked appointments of the clinic and, for
// each, one pending reminder due at due, straight into the tables (in
// chunks, one transaction each): planning them is not what is measured.
func benchAppointments(b *testing.B, db *storage.SQLite, prefix string, n int, startsAt, due time.Time) []string {
	ctx := context.Background()
	const chunk = 50
	users := make([]string, 0, n)
	for start := 0; start < n; start += chunk {
		m := min(chunk, n-start)
		appts := make([]any, 0, m*17)
		msgs := make([]any, 0, m*12)
		for j := range m {
			i := start + j
			id, pt := fmt.Sprintf("ap_%s%07d", prefix, i), fmt.Sprintf("pt_%07d", i)
			users = append(users, pt)
			ts := storage.Nanos(due.Add(-48 * time.Hour))
			appts = append(appts, id, "cl_bench", prefix+fmt.Sprint(i), pt, "", storage.Nanos(startsAt), "Dr Ivanova", "[]",
				care.StatusBooked, "", "", false, ts, ts, ts, 1, 1)
			msgs = append(msgs, fmt.Sprintf("care:reminder:%s:%s", id, startsAt.Format(time.DateOnly)), "cl_bench", pt, care.Reminder, id,
				startsAt.In(vladivostokZone).Format(time.DateOnly), storage.Nanos(due), storage.Nanos(startsAt), 0, "", ts, 0)
		}
		err := db.Tx(ctx, func(q storage.Querier) error {
			if _, err := q.ExecContext(ctx, `INSERT INTO care_appointments (id, clinic_id, external_id, patient_id, card_id, starts_at,
				doctor, services, status, source, staff_id, greet, created, updated, status_at, version, planned) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?),", m), ","), appts...); err != nil {
				return err
			}
			_, err := q.ExecContext(ctx, `INSERT INTO care_messages (key, clinic_id, patient_id, scenario, appointment_id, date, due,
				deadline, state, reason, created, done) VALUES `+strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?,?),", m), ","), msgs...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return users
}

var vladivostokZone, _ = time.LoadLocation("Asia/Vladivostok")

func benchCare(b *testing.B, db *storage.SQLite, now func() time.Time) (*care.Service, *push.Service) {
	ctx := context.Background()
	pushStore, err := push.NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	careStore, err := care.NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	pushes := push.NewService(pushStore, push.Options{})
	b.Cleanup(func() { pushes.Close() })
	svc := care.NewService(careStore, care.Options{Now: now, Inbox: CareInbox{pushes}, Patients: benchCarePatients{},
		Clinics: benchCareClinics{}})
	on := true
	if _, err := svc.UpdateScenario(ctx, "cl_bench", care.Reminder, care.ScenarioUpdate{Enabled: &on}); err != nil {
		b.Fatal(err)
	}
	return svc, pushes
}

// BenchmarkCareScheduler sends BENCH_APPOINTMENTS (default 100,000)
// reminders due in one window (16:00 the day before, Vladivostok time):
// one scheduler pass reads them from the due index, checks each
// appointment's exclusions, renders the text and writes each patient's
// inbox event (push.Publish on SQLite, keyed), then records the outcomes.
// The baseline, in the same run, is the raw push fan-out of one event to
// the same number of users (push.PublishMany, batched, one text for all)
// on a fresh database of its own. No FCM: the inbox writes are the work.
//
//	go test -run '^$' -bench CareScheduler -benchtime 1x ./app/
func BenchmarkCareScheduler(b *testing.B) {
	ctx := context.Background()
	n := envInt("BENCH_APPOINTMENTS", 100_000)
	db := storagetest.SQLite(b)
	visit := time.Date(2026, 12, 5, 10, 0, 0, 0, vladivostokZone)
	due := time.Date(2026, 12, 4, 16, 0, 0, 0, vladivostokZone)
	clock := &testClock{t: due.Add(time.Minute)}
	svc, pushes := benchCare(b, db, clock.now)
	// The baseline writes to a database of its own: a second 100,000-event
	// batch into the same inbox runs slower whichever goes second.
	rawStore, err := push.NewSQLiteStore(ctx, storagetest.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	raw := push.NewService(rawStore, push.Options{})
	defer raw.Close()
	var schedTime, rawTime time.Duration
	for i := range b.N {
		b.StopTimer()
		users := benchAppointments(b, db, fmt.Sprintf("r%d_", i), n, visit.UTC(), due.UTC())
		b.StartTimer()
		// The baseline first, then the scheduler.
		t0 := time.Now()
		if err := raw.PublishMany(ctx, users, push.Draft{Key: fmt.Sprintf("raw:%d", i), Type: care.NoteMessage,
			Data: json.RawMessage(`{"scenario":"reminder","text":"Anna, a reminder: Dr Ivanova expects you tomorrow at 10:00."}`)}); err != nil {
			b.Fatal(err)
		}
		rawTime += time.Since(t0)
		t0 = time.Now()
		rep, err := svc.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		schedTime += time.Since(t0)
		if rep.Sent != n {
			b.Fatalf("tick %+v, want %d sent", rep, n)
		}
	}
	b.StopTimer()
	if st, rs := pushes.Stats(), raw.Stats(); st.EventsWritten != int64(b.N*n) || rs.EventsWritten != int64(b.N*n) {
		b.Fatalf("events written %d and %d, want %d each", st.EventsWritten, rs.EventsWritten, b.N*n)
	}
	total := float64(b.N * n)
	b.ReportMetric(total/schedTime.Seconds(), "care-msgs/s")
	b.ReportMetric(total/rawTime.Seconds(), "raw-publishmany-msgs/s")
	b.ReportMetric(schedTime.Seconds()/rawTime.Seconds(), "care/raw-time")
}

// BenchmarkCareIdleTick is one scheduler pass when nothing is due, over
// BENCH_FUTURE (default 1,000,000) appointments each with a reminder due
// in the future: two reads of partial indexes (unplanned appointments,
// pending messages by due time), no scan.
//
//	go test -run '^$' -bench CareIdleTick ./app/
func BenchmarkCareIdleTick(b *testing.B) {
	ctx := context.Background()
	n := envInt("BENCH_FUTURE", 1_000_000)
	db := storagetest.SQLite(b)
	visit := time.Date(2027, 3, 5, 10, 0, 0, 0, vladivostokZone)
	due := time.Date(2027, 3, 4, 16, 0, 0, 0, vladivostokZone)
	clock := &testClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	svc, _ := benchCare(b, db, clock.now)
	benchAppointments(b, db, "f", n, visit.UTC(), due.UTC())
	b.ResetTimer()
	for range b.N {
		rep, err := svc.Tick(ctx)
		if err != nil || rep != (care.TickReport{}) {
			b.Fatalf("idle tick %+v %v", rep, err)
		}
	}
}
