package care

import (
	"context"
	"fmt"
	"time"
)

// Message states in the outbox.
const (
	Pending = 0
	Sent    = 1
	Skipped = 2 // an exclusion or the message policy held it back
	Dropped = 3 // not sendable within DropAfter of its time
	Void    = 4 // obsolete (the visit moved to another day): not counted
)

// Message is one planned care message: the outbox row. Its Key is also
// its inbox key, so it is delivered at most once per patient.
type Message struct {
	Key           string
	ClinicID      string
	PatientID     string
	Scenario      string
	AppointmentID string // "" for birthday
	Date          string // the local date it is about: the visit's, the birthday's
	Due           time.Time
	Deadline      time.Time
	State         int
	Reason        string
	Created       time.Time
	Done          time.Time
}

// localDate is t's date in loc at midnight.
func localDate(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// atMinute is the instant minutes after the midnight of day (a local
// date), in day's location.
func atMinute(day time.Time, minutes int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), minutes/60, minutes%60, 0, 0, day.Location())
}

// next is the first instant at or after t inside the window, in loc.
func (w window) next(t time.Time, loc *time.Location) time.Time {
	if w == anyTime {
		return t
	}
	day := localDate(t, loc)
	l := t.In(loc)
	m := l.Hour()*60 + l.Minute()
	switch {
	case m < w.From:
		return atMinute(day, w.From).UTC()
	case m >= w.To:
		return atMinute(day.AddDate(0, 0, 1), w.From).UTC()
	}
	return t
}

func (w window) contains(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	m := l.Hour()*60 + l.Minute()
	return m >= w.From && m < w.To
}

// plan adds the messages the appointment's current state calls for. It
// depends only on the stored appointment, and every message's key is
// deterministic, so planning again (a replay, a restart, another
// instance) adds nothing twice. Exclusions that depend on the moment of
// sending are checked when the message is sent.
func (s *Service) plan(ctx context.Context, a *Appointment) error {
	c, err := s.opts.Clinics.Clinic(ctx, a.ClinicID)
	if err != nil {
		return err
	}
	loc := c.Location
	now := s.now()
	add := func(scenario, key, date string, nominal, deadline time.Time, state int, reason string) error {
		m := &Message{Key: key, ClinicID: a.ClinicID, PatientID: a.PatientID, Scenario: scenario, AppointmentID: a.ID,
			Date: date, Due: defs[scenario].window.next(nominal, loc), Deadline: deadline, State: state, Reason: reason, Created: now}
		if state != Pending {
			m.Done = now
		}
		_, err := s.store.AddMessage(ctx, m)
		return err
	}
	if a.Greet {
		if err := add(Greeting, "care:greeting:"+a.ID, localDate(a.Created, loc).Format(time.DateOnly),
			a.Created, a.Created.Add(DropAfter), Pending, ""); err != nil {
			return err
		}
	}
	switch a.Status {
	case StatusBooked, StatusConfirmed:
		if !a.StartsAt.After(now) {
			return nil
		}
		visitDay := localDate(a.StartsAt, loc)
		date := visitDay.Format(time.DateOnly)
		nominal := atMinute(visitDay.AddDate(0, 0, -1), defs[Reminder].window.From).UTC()
		deadline := nominal.Add(DropAfter)
		if a.StartsAt.Before(deadline) {
			deadline = a.StartsAt
		}
		state, reason := Pending, ""
		if localDate(a.Created, loc).Equal(visitDay) {
			state, reason = Skipped, "booked_same_day"
		}
		for _, sc := range []string{Reminder, BeforeVisit} {
			if err := add(sc, fmt.Sprintf("care:%s:%s:%s", sc, a.ID, date), date, nominal, deadline, state, reason); err != nil {
				return err
			}
		}
	case StatusDone:
		day := localDate(a.StatusAt, loc).Format(time.DateOnly)
		if err := add(AfterVisit, "care:after_visit:"+a.ID, day, a.StatusAt, a.StatusAt.Add(DropAfter), Pending, ""); err != nil {
			return err
		}
		// One rating request per patient and day, after the day's last
		// done visit: a later visit moves the pending request.
		key := fmt.Sprintf("care:rating:%s:%s:%s", a.ClinicID, a.PatientID, day)
		nominal := a.StatusAt.Add(RatingDelay)
		if err := add(Rating, key, day, nominal, nominal.Add(DropAfter), Pending, ""); err != nil {
			return err
		}
		m, err := s.store.Message(ctx, key)
		if err != nil {
			return err
		}
		if m.State == Pending && m.AppointmentID != a.ID {
			if prev, err := s.store.Appointment(ctx, m.AppointmentID); err != nil || prev.StatusAt.Before(a.StatusAt) {
				due := defs[Rating].window.next(nominal, loc)
				if err := s.store.Reschedule(ctx, key, due, a.ID); err != nil {
					return err
				}
			}
		}
	case StatusCancelled, StatusNoShow:
		day := localDate(a.StatusAt, loc)
		nominal := atMinute(day.AddDate(0, 0, 1), defs[WinBack].window.From).UTC()
		if err := add(WinBack, "care:win_back:"+a.ID, day.Format(time.DateOnly), nominal, nominal.Add(DropAfter), Pending, ""); err != nil {
			return err
		}
	}
	return nil
}
