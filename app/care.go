package app

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/news/care"
	"carewallet/wallet"
)

var errCareOff = &apiError{Status: 503, Code: "care_unavailable", Message: "care scenarios are not configured"}

// careOn guards the care routes when the service is off.
func (s *server) careOn(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Care == nil {
			return errCareOff
		}
		return h(c)
	}
}

// appointmentResponse answers PUT /v1/clinic/appointments/{external_id}.
type appointmentResponse struct {
	Appointment care.AppointmentView `json:"appointment" api:"required"`
	Created     bool                 `json:"created" api:"required"`
	// BookingBonus is the online-booking bonus entry (source "online",
	// the patient holds an active card, the program has the bonus); the
	// same entry on every replay.
	BookingBonus *wallet.Entry `json:"booking_bonus,omitempty"`
}

// putAppointment upserts an appointment from the clinic's scheduling
// system. The patient is found by card or by phone (created, as at
// reception, when unknown); an online booking earns the program's booking
// bonus under the key booking:{external_id}, the same key as POST
// /v1/clinic/bookings with that booking_id, so it is credited once
// whichever of the two the clinic's system calls, however often.
func (s *server) putAppointment() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		var req care.AppointmentRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		ext := c.Params("external_id")
		if (req.CardID == "") == (req.Phone == "") {
			return &apiError{Status: 400, Code: "invalid_input", Message: `give exactly one of "phone" and "card_id"`, Field: "phone"}
		}
		if err := care.CheckAppointment(ext, &req); err != nil {
			return err
		}
		u := care.Upsert{ClinicID: p.ClinicID, ExternalID: ext, CardID: req.CardID, StaffID: p.ID, AppointmentRequest: req}
		ctx := c.UserContext()
		if req.Phone != "" {
			pt, err := s.ensurePatient(c, req.Phone, "phone")
			if err != nil {
				return err
			}
			u.PatientID = pt.ID
		} else {
			card, err := s.Wallet.StaffCard(ctx, p.ClinicID, req.CardID)
			if err != nil {
				return err
			}
			u.PatientID = card.PatientID
		}
		a, created, err := s.Care.PutAppointment(ctx, u)
		if err != nil {
			return err
		}
		res := appointmentResponse{Appointment: a.View(), Created: created}
		if a.Source == care.SourceOnline {
			br := wallet.BookingRequest{ClinicID: p.ClinicID, BookingID: ext, CardID: req.CardID}
			if req.CardID == "" {
				br.PatientID = u.PatientID
			}
			e, err := s.Wallet.Booking(ctx, br)
			switch {
			case errors.Is(err, wallet.ErrNotFound), errors.Is(err, wallet.ErrCardNotActive):
				// no active card: no bonus; the appointment stands
			case err != nil:
				return err
			default:
				res.BookingBonus = e
			}
		}
		return c.JSON(res)
	})
}

func (s *server) getAppointment() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		a, err := s.Care.AppointmentOf(c.UserContext(), principal(c).ClinicID, c.Params("external_id"))
		if err != nil {
			return err
		}
		return c.JSON(a.View())
	})
}

func (s *server) putService() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		var req care.ServiceRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		t, err := s.Care.PutService(c.UserContext(), principal(c).ClinicID, c.Params("code"), req)
		if err != nil {
			return err
		}
		return c.JSON(t)
	})
}

func (s *server) listServices() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		limit, err := intQuery(c, "limit", 100, 1, 500)
		if err != nil {
			return err
		}
		page, err := s.Care.Services(c.UserContext(), principal(c).ClinicID, c.Query("after"), int(limit))
		if err != nil {
			return err
		}
		return c.JSON(page)
	})
}

// importServices is POST /v1/clinic/services.csv: the body is the CSV.
func (s *server) importServices() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		ct := string(c.Request().Header.ContentType())
		if ct != "" && !bytes.HasPrefix([]byte(ct), []byte("text/csv")) {
			return &apiError{Status: 415, Code: "unsupported_media_type", Message: "Content-Type must be text/csv"}
		}
		res, err := s.Care.ImportServices(c.UserContext(), principal(c).ClinicID, bytes.NewReader(c.Body()))
		if err != nil {
			return err
		}
		return c.JSON(res)
	})
}

type scenariosResponse struct {
	Scenarios []care.ScenarioView `json:"scenarios" api:"required"`
}

func (s *server) getCare() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		list, err := s.Care.Scenarios(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(scenariosResponse{Scenarios: list})
	})
}

func (s *server) putScenario() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		var req care.ScenarioUpdate
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		v, err := s.Care.UpdateScenario(c.UserContext(), principal(c).ClinicID, c.Params("scenario"), req)
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
}

// careRange reads ?from=&to= for the care reports (default: the last 30
// days).
func (s *server) careRange(c *fiber.Ctx) (time.Time, time.Time, error) {
	from, to, err := s.dateRange(c)
	if err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = s.Now().UTC().Add(time.Second) // up to now, inclusive
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	if !from.Before(to) {
		return from, to, &apiError{Status: 400, Code: "invalid_input", Message: "from must be before to", Field: "from"}
	}
	return from, to, nil
}

func (s *server) careReport() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		from, to, err := s.careRange(c)
		if err != nil {
			return err
		}
		rep, err := s.Care.Report(c.UserContext(), principal(c).ClinicID, from, to)
		if err != nil {
			return err
		}
		return c.JSON(rep)
	})
}

type reviewSitesResponse struct {
	Sites []care.Site `json:"sites" api:"required"`
}

func (s *server) putReviewSites() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		var req []care.Site
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		sites, err := s.Care.PutReviewSites(c.UserContext(), principal(c).ClinicID, req)
		if err != nil {
			return err
		}
		return c.JSON(reviewSitesResponse{Sites: sites})
	})
}

func (s *server) getReviewSites() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		sites, err := s.Care.ReviewSites(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(reviewSitesResponse{Sites: sites})
	})
}

func (s *server) rateVisit() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		var req care.RatingRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		res, err := s.Care.Rate(c.UserContext(), principal(c).ID, c.Params("id"), req)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(res)
	})
}

var careRangeQuery = []param{
	{Name: "from", Description: "start, inclusive: YYYY-MM-DD (clinic time zone) or RFC 3339 (default: 30 days before to)"},
	{Name: "to", Description: "end: YYYY-MM-DD includes that whole day; RFC 3339 is exclusive (default: until now)"},
}

var ratingsQuery = []param{
	{Name: "from", Description: "start, inclusive: YYYY-MM-DD (clinic time zone) or RFC 3339 (default: 30 days before to)"},
	{Name: "to", Description: "end: YYYY-MM-DD includes that whole day; RFC 3339 is exclusive (default: until now)"},
	{Name: "score", Type: "integer", Description: "only this score, 1..5"},
	{Name: "format", Description: "json (default) or csv", Enum: []string{"json", "csv"}},
}

func (s *server) clinicRatings() fiber.Handler {
	return s.careOn(func(c *fiber.Ctx) error {
		asCSV, err := wantCSV(c)
		if err != nil {
			return err
		}
		from, to, err := s.careRange(c)
		if err != nil {
			return err
		}
		score, err := intQuery(c, "score", 0, 1, 5)
		if err != nil {
			return err
		}
		rep, err := s.Care.Ratings(c.UserContext(), principal(c).ClinicID, from, to, int(score))
		if err != nil {
			return err
		}
		if !asCSV {
			return c.JSON(rep)
		}
		rows := [][]string{{"created_at", "visit_id", "external_id", "visit_at", "doctor", "staff_id", "patient_id", "score",
			"negative", "comment", "thread_id"}}
		for _, r := range rep.Ratings {
			rows = append(rows, []string{r.CreatedAt.Format(time.RFC3339), r.VisitID, r.ExternalID, r.VisitAt.Format(time.RFC3339),
				r.Doctor, r.StaffID, r.PatientID, strconv.Itoa(r.Score), strconv.FormatBool(r.Negative), r.Comment, r.ThreadID})
		}
		return sendCSV(c, "ratings", "", rows)
	})
}
