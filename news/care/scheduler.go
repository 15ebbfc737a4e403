package care

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Note types (inbox events) of care messages.
const (
	NoteMessage        = "care.message"         // data: MessageData
	NoteNegativeRating = "care.negative_rating" // to managers; data: NegativeData
)

// MessageData is the inbox payload of a care message; the rendered text
// lives here only, never in the push alert.
type MessageData struct {
	Scenario      string    `json:"scenario"`
	ClinicID      string    `json:"clinic_id"`
	AppointmentID string    `json:"appointment_id,omitempty"`
	StartsAt      time.Time `json:"starts_at,omitzero"`
	Text          string    `json:"text"`
	// VisitID is set on the rating request: POST /v1/visits/{visit_id}/rating.
	VisitID string `json:"visit_id,omitempty"`
}

// TickReport counts what one scheduler pass did.
type TickReport struct {
	Planned, Sent, Skipped, Dropped, Postponed, Failed int
}

// retryAfter is how long a message whose publish failed waits.
const retryAfter = time.Minute

// Run plans and sends due messages every interval until ctx ends, and
// looks for birthdays once an hour. Every instance may run it: messages
// are keyed, so two instances deliver each at most once.
func (s *Service) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastBirthdays time.Time
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		if now := s.now(); now.Sub(lastBirthdays) >= time.Hour {
			if _, err := s.Birthdays(ctx); err != nil && ctx.Err() == nil && onErr != nil {
				onErr(err)
			} else {
				lastBirthdays = now
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// wake asks Run for a pass now (an appointment just became due).
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Tick plans appointments whose planning a crash interrupted, then sends
// every due message. When nothing is due it is one indexed read.
func (s *Service) Tick(ctx context.Context) (TickReport, error) {
	var rep TickReport
	for {
		list, err := s.store.Unplanned(ctx, s.opts.Batch)
		if err != nil || len(list) == 0 {
			if err != nil {
				return rep, err
			}
			break
		}
		for i := range list {
			if err := s.planAndMark(ctx, &list[i]); err != nil {
				return rep, err
			}
			rep.Planned++
		}
		if len(list) < s.opts.Batch {
			break
		}
	}
	for {
		due, err := s.store.DueMessages(ctx, s.now(), s.opts.Batch)
		if err != nil || len(due) == 0 {
			return rep, err
		}
		progress, err := s.sendBatch(ctx, due, &rep)
		if err != nil {
			return rep, err
		}
		if !progress || len(due) < s.opts.Batch {
			return rep, nil
		}
	}
}

// pass caches what one batch reads more than once.
type pass struct {
	clinics  map[string]Clinic
	settings map[string]map[string]Setting
	services map[string]ServiceText // clinic/code
	appts    map[string]*Appointment
}

func (s *Service) clinic(ctx context.Context, p *pass, id string) (Clinic, error) {
	if c, ok := p.clinics[id]; ok {
		return c, nil
	}
	c, err := s.opts.Clinics.Clinic(ctx, id)
	if err == nil {
		p.clinics[id] = c
	}
	return c, err
}

func (s *Service) setting(ctx context.Context, p *pass, clinicID, scenario string) (Setting, error) {
	if m, ok := p.settings[clinicID]; ok {
		return m[scenario], nil
	}
	m, err := s.settings(ctx, clinicID)
	if err != nil {
		return Setting{}, err
	}
	p.settings[clinicID] = m
	return m[scenario], nil
}

// outcome is what becomes of one due message.
type outcome struct {
	state  int
	reason string
}

// sendBatch decides, renders and publishes each message, then records the
// outcomes grouped by state and reason. The publish comes first: a stop
// before the record repeats the publish on restart, and the inbox key
// makes the repeat deliver nothing. Messages that share an inbox key (one
// scenario, clinic and day) go to the inbox together when it takes
// batches (BatchInbox).
func (s *Service) sendBatch(ctx context.Context, due []Message, rep *TickReport) (bool, error) {
	p := &pass{clinics: map[string]Clinic{}, settings: map[string]map[string]Setting{}, services: map[string]ServiceText{},
		appts: map[string]*Appointment{}}
	var ids []string
	for _, m := range due {
		if m.AppointmentID != "" {
			ids = append(ids, m.AppointmentID)
		}
	}
	if len(ids) > 0 {
		list, err := s.store.Appointments(ctx, ids)
		if err != nil {
			return false, err
		}
		for i := range list {
			p.appts[list[i].ID] = &list[i]
		}
	}
	finished := map[outcome][]string{}
	progress := false
	type group struct {
		note  Note
		users []string
		data  []any
		msgs  []*Message
	}
	groups := map[string]*group{}
	var order []string
	for i := range due {
		m := &due[i]
		o, err := s.decide(ctx, p, m, s.now())
		if err != nil {
			return progress, err
		}
		switch o.state {
		case -1: // postponed to the window's next opening
			rep.Postponed++
			progress = true
			continue
		case Pending:
		default:
			finished[o] = append(finished[o], m.Key)
			continue
		}
		n, err := s.render(ctx, p, m)
		if err != nil {
			return progress, err
		}
		g := groups[n.Key]
		if g == nil {
			g = &group{note: n}
			groups[n.Key] = g
			order = append(order, n.Key)
		}
		g.users, g.data, g.msgs = append(g.users, m.PatientID), append(g.data, n.Data), append(g.msgs, m)
	}
	batch, _ := s.opts.Inbox.(BatchInbox)
	for _, k := range order {
		g := groups[k]
		errs := make([]error, len(g.msgs))
		if batch != nil {
			var err error
			if errs, err = batch.PublishEach(ctx, g.note, g.users, g.data); err != nil {
				for i := range errs {
					errs[i] = err
				}
			}
		} else {
			for i := range g.msgs {
				n := g.note
				n.Data = g.data[i]
				errs[i] = s.opts.Inbox.Publish(ctx, g.users[i], n)
			}
		}
		for i, m := range g.msgs {
			o, retry := s.published(ctx, m, errs[i])
			if ctx.Err() != nil {
				return progress, ctx.Err()
			}
			if retry {
				rep.Failed++
				if err := s.store.Reschedule(ctx, m.Key, s.now().Add(retryAfter), ""); err != nil {
					return progress, err
				}
				progress = true
				continue
			}
			finished[o] = append(finished[o], m.Key)
		}
	}
	for o, keys := range finished {
		if err := s.store.Finish(ctx, keys, o.state, o.reason, s.now()); err != nil {
			return progress, err
		}
		progress = true
		switch o.state {
		case Sent:
			rep.Sent += len(keys)
		case Skipped:
			rep.Skipped += len(keys)
		case Dropped:
			rep.Dropped += len(keys)
		}
	}
	return progress, nil
}

// published turns a publish's result into the message's outcome; retry:
// it failed and may be tried again before its deadline.
func (s *Service) published(ctx context.Context, m *Message, err error) (outcome, bool) {
	var se *SkipError
	switch {
	case err == nil:
		return outcome{Sent, ""}, false
	case errors.As(err, &se):
		return outcome{Skipped, "policy:" + se.Reason}, false
	case errors.Is(err, ErrSkipped):
		return outcome{Skipped, "policy"}, false
	case s.now().Add(retryAfter).After(m.Deadline):
		return outcome{Dropped, "undeliverable"}, false
	}
	return outcome{}, true
}

// BatchInbox is an Inbox that writes one note to many users at once, each
// with their own payload (data[i] for users[i]), answering one error per
// user (nil, a *SkipError, or a failure) and an error that failed them all.
type BatchInbox interface {
	Inbox
	PublishEach(ctx context.Context, n Note, users []string, data []any) ([]error, error)
}

// InboxKey is the key a message is published under, unique per user: one
// message of a scenario per patient, clinic and day (the visit's day, the
// day of the change, the birthday). Messages sharing it are written in one
// batch; a second one for the same patient that day is already there.
func InboxKey(m *Message) string {
	return "care:" + m.Scenario + ":" + m.ClinicID + ":" + m.Date
}

// decide applies the scenario's exclusions and its window at now: Pending
// means send now; state -1 means it was postponed.
func (s *Service) decide(ctx context.Context, p *pass, m *Message, now time.Time) (outcome, error) {
	st, err := s.setting(ctx, p, m.ClinicID, m.Scenario)
	if err != nil {
		return outcome{}, err
	}
	if !st.Enabled {
		return outcome{Skipped, "off"}, nil
	}
	if reason, void, err := s.excluded(ctx, p, m, now); err != nil {
		return outcome{}, err
	} else if void {
		return outcome{Void, reason}, nil
	} else if reason != "" {
		return outcome{Skipped, reason}, nil
	}
	c, err := s.clinic(ctx, p, m.ClinicID)
	if err != nil {
		return outcome{}, err
	}
	w := defs[m.Scenario].window
	if w.contains(now, c.Location) && !now.After(m.Deadline) {
		return outcome{state: Pending}, nil
	}
	next := w.next(now, c.Location)
	if next.After(m.Deadline) {
		return outcome{Dropped, "not_sendable_in_time"}, nil
	}
	if err := s.store.Reschedule(ctx, m.Key, next, ""); err != nil {
		return outcome{}, err
	}
	return outcome{state: -1}, nil
}

// excluded returns the reason a scenario's rule holds the message back
// (its "not sent when" column), or void when the message no longer
// applies at all (the visit moved to another day).
func (s *Service) excluded(ctx context.Context, p *pass, m *Message, now time.Time) (reason string, void bool, err error) {
	a := p.appts[m.AppointmentID]
	if m.AppointmentID != "" && a == nil {
		return "appointment_gone", true, nil
	}
	switch m.Scenario {
	case Greeting:
		if a.Status == StatusCancelled || a.Status == StatusArrived {
			return a.Status, false, nil
		}
	case Reminder, BeforeVisit:
		c, err := s.clinic(ctx, p, m.ClinicID)
		if err != nil {
			return "", false, err
		}
		if localDate(a.StartsAt, c.Location).Format(time.DateOnly) != m.Date {
			return "rescheduled", true, nil
		}
		if a.Status == StatusCancelled {
			return "cancelled", false, nil
		}
		if a.Status != StatusBooked && a.Status != StatusConfirmed {
			return a.Status, false, nil
		}
	case AfterVisit:
		texts, err := s.serviceTexts(ctx, p, a)
		if err != nil {
			return "", false, err
		}
		if !slices.ContainsFunc(texts, func(t ServiceText) bool { return t.AfterText != "" }) {
			return "no_after_text", false, nil
		}
	case Rating:
		if a.Status != StatusDone {
			return "visit_not_done", false, nil
		}
		if _, err := s.store.RatingByVisit(ctx, a.ID); err == nil {
			return "already_rated", false, nil
		} else if !errors.Is(err, ErrNotFound) {
			return "", false, err
		}
	case WinBack:
		if a.Status != StatusCancelled && a.Status != StatusNoShow {
			return "visit_rebooked", false, nil
		}
		list, err := s.store.PatientAppointments(ctx, m.ClinicID, m.PatientID)
		if err != nil {
			return "", false, err
		}
		for _, o := range list {
			if o.ID != a.ID && (o.Status == StatusBooked || o.Status == StatusConfirmed) && o.StartsAt.After(now) {
				return "booked_again", false, nil
			}
		}
	case Birthday:
		return s.birthdayExcluded(ctx, p, m)
	}
	return "", false, nil
}

func (s *Service) serviceTexts(ctx context.Context, p *pass, a *Appointment) ([]ServiceText, error) {
	var missing []string
	for _, c := range a.Services {
		if _, ok := p.services[a.ClinicID+"/"+c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		got, err := s.store.Services(ctx, a.ClinicID, missing)
		if err != nil {
			return nil, err
		}
		for _, c := range missing {
			p.services[a.ClinicID+"/"+c] = ServiceText{Code: c}
		}
		for _, t := range got {
			p.services[a.ClinicID+"/"+t.Code] = t
		}
	}
	out := make([]ServiceText, 0, len(a.Services))
	for _, c := range a.Services {
		out = append(out, p.services[a.ClinicID+"/"+c])
	}
	return out, nil
}

// render builds the message's note: its text in the data, the clinic's
// name and a generic line in the alert, the inbox key.
func (s *Service) render(ctx context.Context, p *pass, m *Message) (Note, error) {
	c, err := s.clinic(ctx, p, m.ClinicID)
	if err != nil {
		return Note{}, err
	}
	st, err := s.setting(ctx, p, m.ClinicID, m.Scenario)
	if err != nil {
		return Note{}, err
	}
	person, err := s.opts.Patients.Person(ctx, m.PatientID)
	if err != nil {
		return Note{}, err
	}
	v := Vars{FirstName: person.FirstName, Clinic: c.Name}
	data := MessageData{Scenario: m.Scenario, ClinicID: m.ClinicID}
	body := st.text()
	if a := p.appts[m.AppointmentID]; a != nil {
		l := a.StartsAt.In(c.Location)
		v.Date, v.Time, v.Doctor = l.Format("02.01.2006"), l.Format("15:04"), a.Doctor
		data.AppointmentID, data.StartsAt = a.ID, a.StartsAt
		var extra []string
		switch m.Scenario {
		case BeforeVisit, AfterVisit:
			texts, err := s.serviceTexts(ctx, p, a)
			if err != nil {
				return Note{}, err
			}
			for _, t := range texts {
				x := t.BeforeText
				if m.Scenario == AfterVisit {
					x = t.AfterText
				}
				if x != "" {
					extra = append(extra, x)
				}
			}
		case Rating:
			data.VisitID = a.ID
		}
		if len(extra) > 0 {
			body += "\n" + strings.Join(extra, "\n")
		}
	}
	if v.FirstName == "" {
		v.FirstName = "Здравствуйте / Hello"
	}
	data.Text = Render(body, v)
	d := defs[m.Scenario]
	return Note{Key: InboxKey(m), Type: NoteMessage, ClinicID: m.ClinicID, Scenario: m.Scenario,
		Data: data, AlertTitle: c.Name, AlertBody: fmt.Sprintf("%s / %s", d.alertRU, d.alertEN)}, nil
}
