package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/wallet"
)

// CareInbox publishes care messages through push under the message
// policy: each carries its clinic and class, and a message the policy
// holds back (push.ErrSkipped) comes back as care.SkipError with the
// policy's reason, which care counts.
type CareInbox struct{ Push *push.Service }

// careClass maps care's message classes to push's priority classes: the
// greeting and the before/after-visit texts travel as reminders.
func careClass(scenario string) push.Class {
	if scenario == "" {
		return push.ClassService // the managers' low-rating alert
	}
	switch care.Class(scenario) {
	case care.ClassRating:
		return push.ClassRating
	case care.ClassBirthday:
		return push.ClassBirthday
	case care.ClassWinBack:
		return push.ClassWinBack
	}
	return push.ClassReminder
}

// Publish implements care.Inbox.
func (b CareInbox) Publish(ctx context.Context, userID string, n care.Note) error {
	data, err := json.Marshal(n.Data)
	if err != nil {
		return fmt.Errorf("care note: %w", err)
	}
	d := push.Draft{Key: n.Key, Type: n.Type, Data: data, Clinic: n.ClinicID, Class: careClass(n.Scenario)}
	if n.AlertTitle != "" {
		d.Alert = &push.Alert{Title: n.AlertTitle, Body: n.AlertBody}
	}
	_, err = b.Push.Publish(ctx, userID, d)
	var se *push.SkippedError
	switch {
	case errors.As(err, &se):
		return &care.SkipError{Reason: se.Reason}
	case errors.Is(err, push.ErrSkipped):
		return &care.SkipError{Reason: "policy"}
	}
	return err
}

// PublishEach implements care.BatchInbox: one note to many patients, each
// with their own text, in push's batched inbox writes.
func (b CareInbox) PublishEach(ctx context.Context, n care.Note, users []string, data []any) ([]error, error) {
	raw := make([]json.RawMessage, len(data))
	for i, d := range data {
		var err error
		if raw[i], err = json.Marshal(d); err != nil {
			return nil, fmt.Errorf("care note: %w", err)
		}
	}
	d := push.Draft{Key: n.Key, Type: n.Type, Clinic: n.ClinicID, Class: careClass(n.Scenario)}
	if n.AlertTitle != "" {
		d.Alert = &push.Alert{Title: n.AlertTitle, Body: n.AlertBody}
	}
	errs, err := b.Push.PublishPersonal(ctx, users, raw, d)
	if err != nil {
		return nil, err
	}
	for i, e := range errs {
		var se *push.SkippedError
		switch {
		case errors.As(e, &se):
			errs[i] = &care.SkipError{Reason: se.Reason}
		case errors.Is(e, push.ErrSkipped):
			errs[i] = &care.SkipError{Reason: "policy"}
		}
	}
	return errs, nil
}

// CarePatients gives care the patients' first names and birth dates
// (identity) and the clinics where they hold cards (wallet).
type CarePatients struct {
	Identity *identity.Service
	Wallet   *wallet.Service
}

// Person implements care.Patients.
func (p CarePatients) Person(ctx context.Context, id string) (care.Person, error) {
	x, err := p.Identity.Person(ctx, id)
	if err != nil {
		return care.Person{}, err
	}
	return care.Person{ID: x.ID, FirstName: x.FirstName, BirthDate: x.BirthDate}, nil
}

// BornOn implements care.Patients: patients' own accounts only.
func (p CarePatients) BornOn(ctx context.Context, monthDays []string, after string, limit int) ([]care.Person, error) {
	list, err := p.Identity.BornOn(ctx, monthDays, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]care.Person, 0, len(list))
	for _, x := range list {
		out = append(out, care.Person{ID: x.ID, FirstName: x.FirstName, BirthDate: x.BirthDate})
	}
	return out, nil
}

// Clinics implements care.Patients: where the patient holds an active card
// of their own.
func (p CarePatients) Clinics(ctx context.Context, patientID string) ([]string, error) {
	if !strings.HasPrefix(patientID, "pt_") {
		return nil, nil
	}
	cards, err := p.Wallet.MyCards(ctx, patientID)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cards {
		if c.Status == wallet.StatusActive && c.Holder.Kind == wallet.HolderSelf && !seen[c.ClinicID] {
			seen[c.ClinicID] = true
			out = append(out, c.ClinicID)
		}
	}
	return out, nil
}

// CareClinics gives care clinics' names and time zones from identity.
type CareClinics struct{ Identity *identity.Service }

// Clinic implements care.Clinics.
func (c CareClinics) Clinic(ctx context.Context, id string) (care.Clinic, error) {
	cl, err := c.Identity.Clinic(ctx, id)
	if errors.Is(err, identity.ErrNotFound) {
		return care.Clinic{}, fmt.Errorf("%w: %w", care.ErrNotFound, err)
	}
	if err != nil {
		return care.Clinic{}, err
	}
	loc, err := time.LoadLocation(cl.Timezone)
	if err != nil {
		return care.Clinic{}, fmt.Errorf("clinic %s time zone: %w", id, err)
	}
	return care.Clinic{Name: cl.Name, Location: loc}, nil
}

// CareChat writes a low rating into the patient's chat thread with the
// clinic as the patient's own message (news): it opens the thread if the
// patient never wrote, and news tells every manager of the clinic over
// their inboxes and websockets.
type CareChat struct{ News *news.Service }

// PatientWrites implements care.Chat.
func (c CareChat) PatientWrites(ctx context.Context, clinicID, patientID, text string) (string, error) {
	t, _, err := c.News.StartChat(ctx, patientID, clinicID, text)
	if errors.Is(err, news.ErrNotFound) {
		return "", fmt.Errorf("%w: %w", care.ErrNoThread, err)
	}
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// CareExport is the care section of the data export (wired through
// Deps.ExportSections): the patient's appointments and visit ratings,
// with their comments; a clinic's export holds that clinic's only. The
// care messages are inbox events, exported with the events.
type CareExport struct{ Care *care.Service }

// Name implements ExportSection.
func (CareExport) Name() string { return "care" }

// Write implements ExportSection: one appointment or rating at a time.
func (e CareExport) Write(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	d, err := e.Care.ExportPatient(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	visits := map[string]bool{} // the clinic's visits, for its ratings
	return w.Object(func() error {
		w.Field("appointments")
		if err := w.Array(func() error {
			for i := range d.Appointments {
				a := &d.Appointments[i]
				if sub.ClinicID != "" && a.ClinicID != sub.ClinicID {
					continue
				}
				visits[a.ID] = true
				if err := w.Value(a); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		w.Field("ratings")
		return w.Array(func() error {
			for i := range d.Ratings {
				if sub.ClinicID != "" && !visits[d.Ratings[i].VisitID] {
					continue
				}
				if err := w.Value(&d.Ratings[i]); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
