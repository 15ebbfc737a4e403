package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"time"

	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// The data export (GET /v1/me/export; GET /v1/clinic/patients/{id}/export
// for one clinic) is a JSON object of named sections, written to the
// connection as it is read: a page of entries, events or messages at a
// time, never the whole document in memory (a patient with years of
// history streams in constant memory: BenchmarkExportStream).
//
// Each section is an ExportSection. The built-in ones cover identity,
// wallet, push, news and referrals; a package built later (care: ratings
// and appointments) adds its own through Deps.ExportSections, and the
// document's schema (exportDocument) gets its field.

// ExportSubject is whose data a section writes: the patient, and for a
// clinic's export the clinic it concerns ("" for the patient's own).
type ExportSubject struct {
	PatientID string
	ClinicID  string
}

// ExportSection writes one member of the export document.
type ExportSection interface {
	// Name is the member's name (snake_case, unique).
	Name() string
	// Write writes the member's value with exactly one call of w's
	// Value or Array.
	Write(ctx context.Context, w *ExportWriter, sub ExportSubject) error
}

// ExportWriter writes JSON to the response as it goes.
type ExportWriter struct {
	w     *bufio.Writer
	first []bool // per open array or object: nothing written in it yet
}

func (w *ExportWriter) sep() {
	if n := len(w.first); n > 0 {
		if !w.first[n-1] {
			w.w.WriteByte(',')
		}
		w.first[n-1] = false
	}
}

// Value writes v as a whole JSON value.
func (w *ExportWriter) Value(v any) error {
	w.sep()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.w.Write(b)
	return err
}

// Array writes a JSON array whose items fill adds with Value (or nested
// Array/Object); it is closed even when fill fails, so the document stays
// valid JSON.
func (w *ExportWriter) Array(fill func() error) error {
	return w.open('[', ']', fill)
}

// Object writes a JSON object whose members fill adds with Field.
func (w *ExportWriter) Object(fill func() error) error {
	return w.open('{', '}', fill)
}

func (w *ExportWriter) open(o, c byte, fill func() error) error {
	w.sep()
	w.w.WriteByte(o)
	w.first = append(w.first, true)
	err := fill()
	w.first = w.first[:len(w.first)-1]
	w.w.WriteByte(c)
	// Hand what is buffered to the connection: a page at a time.
	if ferr := w.w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// Field writes the name of an object member; its value follows (Value,
// Array or Object).
func (w *ExportWriter) Field(name string) {
	w.sep()
	b, _ := json.Marshal(name)
	w.w.Write(b)
	w.w.WriteByte(':')
	w.first[len(w.first)-1] = true // the value follows without a comma
}

// exportDocument documents the export (OpenAPI); the handler streams it
// section by section. Complete is false when a section failed midway
// (Failed names them): the rest is still valid JSON.
type exportDocument struct {
	ExportedAt time.Time         `json:"exported_at" api:"required"`
	ClinicID   string            `json:"clinic_id,omitempty"`
	Profile    exportProfile     `json:"profile" api:"required"`
	Cards      []exportCard      `json:"cards" api:"required"`
	Consents   []wallet.Consent  `json:"consents" api:"required"`
	Handovers  []wallet.Handover `json:"handovers,omitempty"`
	Events     []push.Event      `json:"events,omitempty"`
	Devices    []exportDevice    `json:"devices,omitempty"`
	Sessions   []exportSession   `json:"sessions,omitempty"`
	Chats      []exportChat      `json:"chats" api:"required"`
	Votes      []exportVote      `json:"votes,omitempty"`
	Referrals  []referrals.Link  `json:"referrals" api:"required"`
	// Preferences are the patient's marketing switches (GET
	// /v1/me/preferences as stored: a clinic, or a dependant's card).
	Preferences []exportPreference `json:"preferences,omitempty"`
	// Care holds the appointments and visit ratings (with comments); the
	// care messages themselves are inbox events. Present when care runs.
	Care     *exportCare `json:"care,omitempty"`
	Complete bool        `json:"complete" api:"required"`
	Failed   []string    `json:"failed,omitempty"`
}

type exportProfile struct {
	ID        string    `json:"id" api:"required"`
	Phone     string    `json:"phone" api:"required"`
	FirstName string    `json:"first_name" api:"required"`
	LastName  string    `json:"last_name" api:"required"`
	BirthDate string    `json:"birth_date" api:"required"`
	CreatedAt time.Time `json:"created_at" api:"required"`
}

// exportCard is a card with every entry of its ledger, in the order of
// GET /v1/cards/{id}/history.
type exportCard struct {
	Card    wallet.Card    `json:"card" api:"required"`
	Balance int64          `json:"balance" api:"required"`
	Entries []wallet.Entry `json:"entries" api:"required"`
}

type exportDevice struct {
	Platform   string    `json:"platform" api:"required"`
	AppVersion string    `json:"app_version" api:"required"`
	Locale     string    `json:"locale" api:"required"`
	UpdatedAt  time.Time `json:"updated_at" api:"required"`
}

type exportSession struct {
	ID        string     `json:"id" api:"required"`
	CreatedAt time.Time  `json:"created_at" api:"required"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

type exportChat struct {
	Thread   news.ThreadView `json:"thread" api:"required"`
	Messages []news.Message  `json:"messages" api:"required"`
}

type exportPreference struct {
	ClinicID  string    `json:"clinic_id" api:"required"`
	CardID    string    `json:"card_id,omitempty"` // a dependant's card; none: the whole clinic
	Marketing bool      `json:"marketing" api:"required"`
	UpdatedAt time.Time `json:"updated_at" api:"required"`
}

// exportCare is the care section (CareExport).
type exportCare struct {
	Appointments []care.AppointmentView `json:"appointments" api:"required"`
	Ratings      []care.RatingView      `json:"ratings" api:"required"`
}

type exportVote struct {
	PostID string    `json:"post_id" api:"required"`
	Option int       `json:"option" api:"required"` // 1-based, as voted
	At     time.Time `json:"at" api:"required"`
}

// exportPage is how many records a section reads at a time.
const exportPage = 200

// section adapts a function to ExportSection.
type section struct {
	name string
	fn   func(ctx context.Context, w *ExportWriter, sub ExportSubject) error
}

func (s section) Name() string { return s.name }
func (s section) Write(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	return s.fn(ctx, w, sub)
}

// exportSections are the built-in sections, in document order; the
// patient-only ones are left out of a clinic's export.
func (s *server) exportSections(clinic bool) []ExportSection {
	out := []ExportSection{
		section{"profile", s.exportProfile},
		section{"cards", s.exportCards},
		section{"consents", s.exportConsents},
	}
	if !clinic {
		out = append(out, section{"handovers", s.exportHandovers}, section{"events", s.exportEvents},
			section{"devices", s.exportDevices}, section{"sessions", s.exportSessions},
			section{"preferences", s.exportPreferences})
	}
	out = append(out, section{"chats", s.exportChats})
	if !clinic {
		out = append(out, section{"votes", s.exportVotes})
	}
	out = append(out, section{"referrals", s.exportReferrals})
	return append(out, s.ExportSections...)
}

// writeExport streams the document.
func (s *server) writeExport(ctx context.Context, bw *bufio.Writer, sub ExportSubject, sections []ExportSection) {
	w := &ExportWriter{w: bw}
	var failed []string
	_ = w.Object(func() error {
		w.Field("exported_at")
		_ = w.Value(s.Now().UTC())
		if sub.ClinicID != "" {
			w.Field("clinic_id")
			_ = w.Value(sub.ClinicID)
		}
		for _, sec := range sections {
			w.Field(sec.Name())
			depth := len(w.first)
			if err := sec.Write(ctx, w, sub); err != nil {
				failed = append(failed, sec.Name())
				s.Logger.Error("export section failed", "section", sec.Name(), "err", err)
				if w.first[depth-1] {
					_ = w.Value(nil) // the section wrote nothing
				}
			}
		}
		w.Field("complete")
		_ = w.Value(len(failed) == 0)
		if len(failed) > 0 {
			w.Field("failed")
			_ = w.Value(failed)
		}
		return nil
	})
}

func (s *server) exportProfile(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	p, err := s.Identity.Patient(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	return w.Value(exportProfile{ID: p.ID, Phone: p.Phone, FirstName: p.FirstName, LastName: p.LastName, BirthDate: p.BirthDate, CreatedAt: p.CreatedAt})
}

func (s *server) exportCards(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	type cardRef struct {
		card    wallet.Card
		balance int64
	}
	var cards []cardRef
	if sub.ClinicID != "" {
		vs, err := s.Wallet.PatientCardsAt(ctx, sub.ClinicID, sub.PatientID)
		if err != nil && !errors.Is(err, wallet.ErrNotFound) {
			return err
		}
		for _, v := range vs {
			cards = append(cards, cardRef{v.Card, v.Balance})
		}
	} else {
		cs, err := s.Wallet.MyCards(ctx, sub.PatientID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			cards = append(cards, cardRef{c.Card, c.Balance})
		}
	}
	return w.Array(func() error {
		for _, c := range cards {
			err := w.Object(func() error {
				w.Field("card")
				if err := w.Value(c.card); err != nil {
					return err
				}
				w.Field("balance")
				if err := w.Value(c.balance); err != nil {
					return err
				}
				w.Field("entries")
				return w.Array(func() error {
					after := ""
					for {
						var page *wallet.HistoryPage
						var err error
						if sub.ClinicID != "" {
							page, err = s.Wallet.StaffHistory(ctx, sub.ClinicID, c.card.ID, after, wallet.MaxPageSize)
						} else {
							page, err = s.Wallet.History(ctx, sub.PatientID, c.card.ID, after, wallet.MaxPageSize)
						}
						if err != nil {
							return err
						}
						for i := range page.Entries {
							if err := w.Value(&page.Entries[i]); err != nil {
								return err
							}
						}
						if page.Next == "" {
							return nil
						}
						after = page.Next
					}
				})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *server) exportConsents(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	cs, err := s.Wallet.GuardianConsents(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	return w.Array(func() error {
		for _, c := range cs {
			if sub.ClinicID == "" || c.ClinicID == sub.ClinicID {
				if err := w.Value(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *server) exportHandovers(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	hs, err := s.Wallet.MyHandovers(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	return w.Value(nonNil(hs))
}

func (s *server) exportEvents(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	if s.Push == nil {
		return w.Value([]push.Event{})
	}
	return w.Array(func() error {
		var after int64
		for {
			evs, err := s.Push.Events(ctx, sub.PatientID, after, exportPage)
			if err != nil {
				return err
			}
			for i := range evs {
				if err := w.Value(&evs[i]); err != nil {
					return err
				}
			}
			if len(evs) < exportPage {
				return nil
			}
			after = evs[len(evs)-1].Seq
		}
	})
}

func (s *server) exportDevices(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	out := []exportDevice{}
	if s.Push != nil {
		ds, err := s.Push.UserDevices(ctx, sub.PatientID)
		if err != nil {
			return err
		}
		// The FCM token is a credential of the app, not data about the
		// person: it is left out.
		for _, d := range ds {
			out = append(out, exportDevice{Platform: d.Platform, AppVersion: d.AppVersion, Locale: d.Locale, UpdatedAt: d.UpdatedAt})
		}
	}
	return w.Value(out)
}

func (s *server) exportPreferences(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	out := []exportPreference{}
	if s.Push != nil {
		ps, err := s.Push.Preferences(ctx, sub.PatientID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			out = append(out, exportPreference{ClinicID: p.Clinic, CardID: p.Card, Marketing: p.Marketing, UpdatedAt: p.UpdatedAt})
		}
	}
	return w.Value(out)
}

func (s *server) exportSessions(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	ss, err := s.Identity.Sessions(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	out := make([]exportSession, 0, len(ss))
	for _, se := range ss {
		x := exportSession{ID: se.ID, CreatedAt: se.CreatedAt}
		if !se.Active() {
			t := se.RevokedAt
			x.RevokedAt = &t
		}
		out = append(out, x)
	}
	return w.Value(out)
}

func (s *server) exportChats(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	if s.News == nil {
		return w.Value([]exportChat{})
	}
	ts, err := s.News.MyThreads(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	return w.Array(func() error {
		for _, t := range ts {
			if sub.ClinicID != "" && t.ClinicID != sub.ClinicID {
				continue
			}
			err := w.Object(func() error {
				w.Field("thread")
				if err := w.Value(t); err != nil {
					return err
				}
				w.Field("messages")
				return w.Array(func() error {
					var after int64
					for {
						ms, err := s.News.ThreadMessages(ctx, sub.PatientID, t.ID, after, exportPage)
						if err != nil {
							return err
						}
						for i := range ms {
							if err := w.Value(&ms[i]); err != nil {
								return err
							}
						}
						if len(ms) < exportPage {
							return nil
						}
						after = ms[len(ms)-1].Seq
					}
				})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *server) exportVotes(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	out := []exportVote{}
	if s.News != nil {
		vs, err := s.News.PatientVotes(ctx, sub.PatientID)
		if err != nil {
			return err
		}
		for _, v := range vs {
			out = append(out, exportVote{PostID: v.PostID, Option: v.Option + 1, At: v.At})
		}
	}
	return w.Value(out)
}

func (s *server) exportReferrals(ctx context.Context, w *ExportWriter, sub ExportSubject) error {
	if s.Referrals == nil {
		return w.Value([]referrals.Link{})
	}
	ls, err := s.Referrals.PatientLinks(ctx, sub.PatientID)
	if err != nil {
		return err
	}
	return w.Array(func() error {
		for _, l := range ls {
			if sub.ClinicID == "" || l.ClinicID == sub.ClinicID {
				if err := w.Value(l); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
