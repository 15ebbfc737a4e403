package care

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"carewallet/app/text"
)

// Appointment statuses.
const (
	StatusBooked    = "booked"
	StatusConfirmed = "confirmed"
	StatusArrived   = "arrived"
	StatusDone      = "done"
	StatusCancelled = "cancelled"
	StatusNoShow    = "no_show"
)

// Statuses lists the appointment statuses.
var Statuses = []string{StatusBooked, StatusConfirmed, StatusArrived, StatusDone, StatusCancelled, StatusNoShow}

// Limits of an appointment.
const (
	MaxExternalID = 64
	MaxDoctor     = 120
	MaxServices   = 50
	MaxCode       = 64
	MaxSource     = 32
)

// SourceOnline is the source of a booking made online: it earns the
// program's booking bonus (once per appointment).
const SourceOnline = "online"

// Appointment is a visit booked in the clinic's scheduling system.
type Appointment struct {
	ID         string
	ClinicID   string
	ExternalID string
	PatientID  string
	CardID     string
	StartsAt   time.Time
	Doctor     string
	Services   []string
	Status     string
	Source     string
	StaffID    string // the staff account that sent the latest change
	// Greet: the first booking of the patient at the clinic in
	// GreetingGap, decided when the appointment first arrived.
	Greet    bool
	Created  time.Time
	Updated  time.Time
	StatusAt time.Time // when the status last changed
	Version  int64
	Planned  int64 // the version whose messages are planned
}

// AppointmentRequest is PUT /v1/clinic/appointments/{external_id}: the
// patient by phone (created as reception does when unknown) or by card.
type AppointmentRequest struct {
	Phone    string    `json:"phone,omitempty"`
	CardID   string    `json:"card_id,omitempty"`
	StartsAt time.Time `json:"starts_at" api:"required"`
	Doctor   string    `json:"doctor,omitempty"`
	Services []string  `json:"services,omitempty"`
	Status   string    `json:"status" api:"required,enum=booked|confirmed|arrived|done|cancelled|no_show"`
	Source   string    `json:"source,omitempty"`
}

// Upsert is an appointment as the app resolved it: the patient found.
type Upsert struct {
	ClinicID, ExternalID, PatientID, CardID, StaffID string
	AppointmentRequest
}

// AppointmentView is an appointment as the API shows it.
type AppointmentView struct {
	ID         string    `json:"id" api:"required"`
	ExternalID string    `json:"external_id" api:"required"`
	ClinicID   string    `json:"clinic_id" api:"required"`
	PatientID  string    `json:"patient_id" api:"required"`
	CardID     string    `json:"card_id,omitempty"`
	StartsAt   time.Time `json:"starts_at" api:"required"`
	Doctor     string    `json:"doctor" api:"required"`
	Services   []string  `json:"services" api:"required"`
	Status     string    `json:"status" api:"required,enum=booked|confirmed|arrived|done|cancelled|no_show"`
	Source     string    `json:"source" api:"required"`
	CreatedAt  time.Time `json:"created_at" api:"required"`
	UpdatedAt  time.Time `json:"updated_at" api:"required"`
}

// View is the appointment as the API shows it.
func (a *Appointment) View() AppointmentView {
	svc := a.Services
	if svc == nil {
		svc = []string{}
	}
	return AppointmentView{ID: a.ID, ExternalID: a.ExternalID, ClinicID: a.ClinicID, PatientID: a.PatientID, CardID: a.CardID,
		StartsAt: a.StartsAt, Doctor: a.Doctor, Services: svc, Status: a.Status, Source: a.Source,
		CreatedAt: a.Created, UpdatedAt: a.Updated}
}

// CheckAppointment validates what the clinic's system sent, before any
// patient is looked up or created.
func CheckAppointment(externalID string, r *AppointmentRequest) error {
	if m := text.ID(externalID, MaxExternalID); m != "" {
		return invalid("external_id", "%s", m)
	}
	if r.StartsAt.IsZero() {
		return invalid("starts_at", "is required (RFC 3339)")
	}
	if y := r.StartsAt.Year(); y < 2000 || y > 2100 {
		return invalid("starts_at", "must be a date between 2000 and 2100")
	}
	r.StartsAt = r.StartsAt.UTC().Truncate(time.Second)
	if !slices.Contains(Statuses, r.Status) {
		return invalid("status", "must be one of %s", strings.Join(Statuses, ", "))
	}
	r.Doctor = strings.TrimSpace(r.Doctor)
	if m := text.Line(r.Doctor, MaxDoctor); m != "" {
		return invalid("doctor", "%s", m)
	}
	if len(r.Services) > MaxServices {
		return invalid("services", "at most %d services", MaxServices)
	}
	seen := map[string]bool{}
	for i, c := range r.Services {
		if m := text.ID(c, MaxCode); m != "" {
			return invalid(fmt.Sprintf("services[%d]", i), "%s", m)
		}
		if seen[c] {
			return invalid(fmt.Sprintf("services[%d]", i), "%s is listed twice", c)
		}
		seen[c] = true
	}
	if r.Source != "" {
		if m := text.ID(r.Source, MaxSource); m != "" {
			return invalid("source", "%s", m)
		}
	}
	return nil
}

// PutAppointment is PUT /v1/clinic/appointments/{external_id}: it inserts
// the appointment or rewrites it (an unchanged one is left alone, so a
// replay changes nothing), then plans its messages. created says whether
// it is new.
func (s *Service) PutAppointment(ctx context.Context, u Upsert) (*Appointment, bool, error) {
	if err := CheckAppointment(u.ExternalID, &u.AppointmentRequest); err != nil {
		return nil, false, err
	}
	if u.PatientID == "" {
		return nil, false, invalid("phone", "give phone or card_id")
	}
	for range 20 {
		now := s.now()
		cur, err := s.store.AppointmentByExternal(ctx, u.ClinicID, u.ExternalID)
		if errors.Is(err, ErrNotFound) {
			a := &Appointment{ID: newID("ap_"), ClinicID: u.ClinicID, ExternalID: u.ExternalID, Created: now, Updated: now,
				StatusAt: now, Version: 1}
			apply(a, u)
			if a.Greet, err = s.firstBooking(ctx, a); err != nil {
				return nil, false, err
			}
			err = s.store.InsertAppointment(ctx, a)
			if errors.Is(err, errDuplicate) {
				continue // another request inserted it: update that one
			}
			if err != nil {
				return nil, false, err
			}
			return a, true, s.planAndMark(ctx, a)
		}
		if err != nil {
			return nil, false, err
		}
		next := *cur
		apply(&next, u)
		if sameAppointment(cur, &next) {
			if cur.Planned < cur.Version {
				return cur, false, s.planAndMark(ctx, cur)
			}
			return cur, false, nil
		}
		if next.Status != cur.Status {
			next.StatusAt = now
		}
		next.Updated, next.Version = now, cur.Version+1
		err = s.store.UpdateAppointment(ctx, &next, cur.Version)
		if errors.Is(err, errVersionMoved) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return &next, false, s.planAndMark(ctx, &next)
	}
	return nil, false, fmt.Errorf("care: appointment %s: too many concurrent changes", u.ExternalID)
}

func apply(a *Appointment, u Upsert) {
	a.PatientID, a.CardID, a.StaffID = u.PatientID, u.CardID, u.StaffID
	a.StartsAt, a.Doctor, a.Status, a.Source = u.StartsAt, u.Doctor, u.Status, u.Source
	a.Services = slices.Clone(u.Services)
}

func sameAppointment(a, b *Appointment) bool {
	return a.PatientID == b.PatientID && a.CardID == b.CardID && a.StartsAt.Equal(b.StartsAt) && a.Doctor == b.Doctor &&
		a.Status == b.Status && a.Source == b.Source && slices.Equal(a.Services, b.Services)
}

// firstBooking: the patient had no appointment at the clinic booked in
// the last GreetingGap.
func (s *Service) firstBooking(ctx context.Context, a *Appointment) (bool, error) {
	if a.Status != StatusBooked && a.Status != StatusConfirmed {
		return false, nil
	}
	prev, err := s.store.PatientAppointments(ctx, a.ClinicID, a.PatientID)
	if err != nil {
		return false, err
	}
	for _, p := range prev {
		if p.ID != a.ID && p.Created.After(a.Created.Add(-GreetingGap)) {
			return false, nil
		}
	}
	return true, nil
}

// AppointmentOf returns one of the clinic's appointments by external id.
func (s *Service) AppointmentOf(ctx context.Context, clinicID, externalID string) (*Appointment, error) {
	return s.store.AppointmentByExternal(ctx, clinicID, externalID)
}

func (s *Service) planAndMark(ctx context.Context, a *Appointment) error {
	if err := s.plan(ctx, a); err != nil {
		return err
	}
	s.wake()
	return s.store.SetPlanned(ctx, a.ID, a.Version)
}
