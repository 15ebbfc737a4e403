package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"carewallet/news/care"
	"carewallet/wallet"
)

// demoCare switches every care scenario on, gives two services their
// before/after texts, sets the review sites, and adds appointments: Anna's
// visit today (done, rated 3: her comment went to the managers' chat),
// Boris's online booking for tomorrow (booking bonus), Vera's visit
// yesterday (rated 5) and Dmitry's cancelled one (a win-back is planned).
func demoCare(ctx context.Context, svc *services, clinicID, staffID string, patients []string, stdout io.Writer) error {
	on := true
	for _, sc := range care.Scenarios {
		if _, err := svc.Care.UpdateScenario(ctx, clinicID, sc, care.ScenarioUpdate{Enabled: &on}); err != nil {
			return fmt.Errorf("demo care: %w", err)
		}
	}
	for code, r := range map[string]care.ServiceRequest{
		"CONS-01": {Name: "Консультация / Consultation", BeforeText: "Возьмите с собой снимки, если они есть. / Bring your X-rays if you have any."},
		"CLEAN-01": {Name: "Профессиональная чистка / Professional cleaning",
			AfterText: "2 часа не пейте кофе и чай. / No coffee or tea for 2 hours."},
	} {
		if _, err := svc.Care.PutService(ctx, clinicID, code, r); err != nil {
			return fmt.Errorf("demo care: %w", err)
		}
	}
	if _, err := svc.Care.PutReviewSites(ctx, clinicID, []care.Site{
		{Name: "Яндекс Карты", URL: "https://yandex.ru/maps/org/smile-dental-demo"},
		{Name: "2ГИС", URL: "https://2gis.ru/firm/smile-dental-demo"},
		{Name: "ПроДокторов", URL: "https://prodoctorov.ru/clinic/smile-dental-demo"},
	}); err != nil {
		return fmt.Errorf("demo care: %w", err)
	}
	now := time.Now().UTC()
	put := func(ext, patient string, starts time.Time, status, source string, services ...string) (*care.Appointment, error) {
		a, _, err := svc.Care.PutAppointment(ctx, care.Upsert{ClinicID: clinicID, ExternalID: ext, PatientID: patient, StaffID: staffID,
			AppointmentRequest: care.AppointmentRequest{StartsAt: starts, Doctor: "Dr Ivanova", Services: services, Status: status, Source: source}})
		if err != nil {
			return nil, fmt.Errorf("demo appointment %s: %w", ext, err)
		}
		return a, nil
	}
	anna, err := put("DEMO-APPT-1", patients[0], now.Add(-2*time.Hour).Truncate(time.Minute), care.StatusDone, "", "CLEAN-01")
	if err != nil {
		return err
	}
	if _, err := put("DEMO-APPT-2", patients[1], now.Add(24*time.Hour).Truncate(time.Hour), care.StatusBooked, care.SourceOnline, "CONS-01"); err != nil {
		return err
	}
	if _, err := svc.Wallet.Booking(ctx, wallet.BookingRequest{ClinicID: clinicID, PatientID: patients[1], BookingID: "DEMO-APPT-2"}); err != nil {
		return fmt.Errorf("demo booking bonus: %w", err)
	}
	vera, err := put("DEMO-APPT-3", patients[2], now.Add(-26*time.Hour).Truncate(time.Minute), care.StatusDone, "", "CONS-01")
	if err != nil {
		return err
	}
	if _, err := put("DEMO-APPT-4", patients[3], now.Add(-3*time.Hour).Truncate(time.Minute), care.StatusCancelled, ""); err != nil {
		return err
	}
	if _, err := svc.Care.Rate(ctx, patients[2], vera.ID, care.RatingRequest{Score: 5, Comment: "Всё отлично! / All great!"}); err != nil {
		return fmt.Errorf("demo rating: %w", err)
	}
	if _, err := svc.Care.Rate(ctx, patients[0], anna.ID, care.RatingRequest{Score: 3, Comment: "Долго ждала в коридоре. / I waited too long."}); err != nil {
		return fmt.Errorf("demo rating: %w", err)
	}
	rep, err := svc.Care.Tick(ctx)
	if err != nil {
		return fmt.Errorf("demo care tick: %w", err)
	}
	fmt.Fprintf(stdout, `
care: every scenario is on (GET /v1/clinic/care); services CONS-01 and CLEAN-01 have
  before/after texts; three review sites; four appointments (GET /v1/clinic/appointments/DEMO-APPT-1..4):
  Anna's visit today is done (after-visit text sent, rating request planned; she rated it 3
  and her comment is in her chat thread), Boris booked online for tomorrow (booking bonus,
  greeting sent, reminder at 16:00 the day before), Vera rated yesterday's visit 5, Dmitry
  cancelled (a win-back is planned for tomorrow 10:00); the scheduler sent %d messages now
  (GET /v1/clinic/ratings, GET /v1/clinic/care/report)
`, rep.Sent)
	return nil
}
