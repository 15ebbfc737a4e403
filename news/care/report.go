package care

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Report is GET /v1/clinic/care/report: per scenario, what happened to
// its messages finished in [from, to).
type Report struct {
	From      time.Time        `json:"from" api:"required"`
	To        time.Time        `json:"to" api:"required"`
	Scenarios []ScenarioReport `json:"scenarios" api:"required"`
}

// ScenarioReport counts one scenario's messages. Skipped reasons are the
// scenario's exclusions (cancelled, booked_same_day, no_after_text,
// visit_not_done, booked_again, no_birth_date, off, …) and the message
// policy's, prefixed "policy:" (quiet hours, budget, opt-out).
type ScenarioReport struct {
	Scenario string           `json:"scenario" api:"required,enum=greeting|reminder|before_visit|after_visit|rating|birthday|win_back"`
	Sent     int64            `json:"sent" api:"required"`
	Skipped  map[string]int64 `json:"skipped" api:"required"`
	Dropped  int64            `json:"dropped" api:"required"`
	// Effect: win_back counts booked_again (a new booking within 30 days
	// of the message); rating counts answered.
	Effect map[string]int64 `json:"effect,omitempty"`
}

// Report sums the clinic's care messages.
func (s *Service) Report(ctx context.Context, clinicID string, from, to time.Time) (*Report, error) {
	if !to.After(from) {
		return nil, invalid("to", "must be after from")
	}
	counts, err := s.store.MessageCounts(ctx, clinicID, from, to)
	if err != nil {
		return nil, err
	}
	rep := &Report{From: from, To: to}
	idx := map[string]*ScenarioReport{}
	for _, sc := range Scenarios {
		rep.Scenarios = append(rep.Scenarios, ScenarioReport{Scenario: sc, Skipped: map[string]int64{}})
	}
	for i := range rep.Scenarios {
		idx[rep.Scenarios[i].Scenario] = &rep.Scenarios[i]
	}
	for _, c := range counts {
		r := idx[c.Scenario]
		if r == nil {
			continue
		}
		switch c.State {
		case Sent:
			r.Sent += c.N
		case Skipped:
			r.Skipped[c.Reason] += c.N
		case Dropped:
			r.Dropped += c.N
		}
	}
	// Effects read the sent messages of the two scenarios that have one.
	wb, err := s.store.SentMessages(ctx, clinicID, WinBack, from, to)
	if err != nil {
		return nil, err
	}
	booked := int64(0)
	for _, m := range wb {
		list, err := s.store.PatientAppointments(ctx, clinicID, m.PatientID)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			if a.Created.After(m.Done) && !a.Created.After(m.Done.Add(WinBackEffect)) {
				booked++
				break
			}
		}
	}
	idx[WinBack].Effect = map[string]int64{"booked_again": booked}
	rt, err := s.store.SentMessages(ctx, clinicID, Rating, from, to)
	if err != nil {
		return nil, err
	}
	answered := int64(0)
	for _, m := range rt {
		if _, err := s.store.RatingByVisit(ctx, m.AppointmentID); err == nil {
			answered++
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	idx[Rating].Effect = map[string]int64{"answered": answered}
	return rep, nil
}

// PatientData is what care holds about one patient, for their export.
type PatientData struct {
	Appointments []AppointmentView `json:"appointments"`
	Ratings      []RatingView      `json:"ratings"`
}

// ExportPatient returns the patient's appointments and ratings at every
// clinic, as JSON values (for GET /v1/me/export).
func (s *Service) ExportPatient(ctx context.Context, patientID string) (*PatientData, error) {
	list, err := s.store.PatientAppointments(ctx, "", patientID)
	if err != nil {
		return nil, err
	}
	out := &PatientData{Appointments: []AppointmentView{}, Ratings: []RatingView{}}
	for i := range list {
		out.Appointments = append(out.Appointments, list[i].View())
	}
	rs, err := s.store.PatientRatings(ctx, patientID)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		out.Ratings = append(out.Ratings, rs[i].View())
	}
	return out, nil
}

// EraseComments blanks the patient's rating comments (for DELETE /v1/me);
// the scores stay, as facts of the clinic's reports without personal
// words. It returns how many comments it erased.
func (s *Service) EraseComments(ctx context.Context, patientID string) (int64, error) {
	return s.store.EraseComments(ctx, patientID)
}

// ReasonErased is the reason of the messages of a deleted patient.
const ReasonErased = "erased"

// ErasePatient forgets a deleted patient (DELETE /v1/me): their pending
// messages are voided so nothing is sent to the deleted account, the
// record of their birth date goes, and their rating comments are blanked
// (the scores stay, as facts of the clinic's reports). Appointments keep
// no personal text (the doctor, the service codes, the patient's opaque
// id) and stay for the clinic's reports. Idempotent: a retry finishes
// what an error left.
func (s *Service) ErasePatient(ctx context.Context, patientID string) error {
	if err := s.store.ErasePatient(ctx, patientID, s.now()); err != nil {
		return fmt.Errorf("care: erase: %w", err)
	}
	if _, err := s.store.EraseComments(ctx, patientID); err != nil {
		return fmt.Errorf("care: erase comments: %w", err)
	}
	return nil
}
