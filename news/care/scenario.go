package care

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"carewallet/app/text"
)

// Scenarios.
const (
	Greeting    = "greeting"
	Reminder    = "reminder"
	BeforeVisit = "before_visit"
	AfterVisit  = "after_visit"
	Rating      = "rating"
	Birthday    = "birthday"
	WinBack     = "win_back"
)

// Scenarios lists every scenario in the order managers see them.
var Scenarios = []string{Greeting, Reminder, BeforeVisit, AfterVisit, Rating, Birthday, WinBack}

// Placeholders a scenario's text may use.
var Placeholders = []string{"{first_name}", "{clinic}", "{date}", "{time}", "{doctor}"}

// Limits.
const (
	MaxText       = 1000 // characters of a scenario's text or a service's text
	MaxDaysBefore = 14   // the birthday greeting at most this many days early
	// DropAfter: a message still not sendable this long after it was due
	// is dropped and counted.
	DropAfter = 24 * time.Hour
	// GreetingGap: a booking is a first booking when the patient had none
	// at the clinic in this long.
	GreetingGap = 90 * 24 * time.Hour
	// RatingDelay: the rating request follows the day's last done visit.
	RatingDelay = 3 * time.Hour
	// WinBackEffect: a win-back worked when the patient booked within it.
	WinBackEffect = 30 * 24 * time.Hour
)

// window is a scenario's send window in the clinic's local time, in
// minutes after midnight: [From, To). Any time is {0, 1440}.
type window struct{ From, To int }

var anyTime = window{0, 24 * 60}

// scenarioDef is what does not change per clinic.
type scenarioDef struct {
	window  window
	class   string // the message class (push.Class) the app maps
	alertRU string
	alertEN string
	textRU  string
	textEN  string
}

// Classes of care messages, mapped by the app to push's message classes
// (the policy's priority order): reminder (greeting, reminder, before and
// after the visit), rating, birthday, win_back.
const (
	ClassReminder = "reminder"
	ClassRating   = "rating"
	ClassBirthday = "birthday"
	ClassWinBack  = "win_back"
)

var defs = map[string]scenarioDef{
	Greeting: {anyTime, ClassReminder, "Добро пожаловать", "Welcome",
		"{first_name}, спасибо, что выбрали {clinic}! Ждём вас {date} в {time}.",
		"{first_name}, thank you for choosing {clinic}! See you on {date} at {time}."},
	Reminder: {window{16 * 60, 21 * 60}, ClassReminder, "Напоминание о визите", "Visit reminder",
		"{first_name}, напоминаем: завтра, {date}, в {time} вас ждёт {doctor} в {clinic}.",
		"{first_name}, a reminder: {doctor} expects you at {clinic} tomorrow, {date}, at {time}."},
	BeforeVisit: {window{16 * 60, 21 * 60}, ClassReminder, "Перед визитом", "Before your visit",
		"{first_name}, как подготовиться к завтрашнему визиту в {clinic}:",
		"{first_name}, how to prepare for tomorrow's visit to {clinic}:"},
	AfterVisit: {anyTime, ClassReminder, "После визита", "After your visit",
		"{first_name}, рекомендации после визита к {doctor}:",
		"{first_name}, advice after your visit to {doctor}:"},
	Rating: {window{10 * 60, 20 * 60}, ClassRating, "Оцените визит", "Rate your visit",
		"{first_name}, как прошёл визит к {doctor}? Оцените его от 1 до 5.",
		"{first_name}, how was your visit to {doctor}? Rate it from 1 to 5."},
	Birthday: {window{12 * 60, 20 * 60}, ClassBirthday, "С днём рождения", "Happy birthday",
		"{first_name}, {clinic} поздравляет вас с днём рождения!",
		"{first_name}, {clinic} wishes you a happy birthday!"},
	WinBack: {window{10 * 60, 20 * 60}, ClassWinBack, "Мы вас ждём", "We are waiting for you",
		"{first_name}, жаль, что визит не состоялся. Запишитесь снова — {clinic} ждёт вас.",
		"{first_name}, sorry we missed you. Book again — {clinic} is waiting for you."},
}

// DefaultText is a scenario's text until a manager changes it: Russian,
// then English.
func DefaultText(scenario string) string {
	d := defs[scenario]
	return d.textRU + "\n" + d.textEN
}

// Class is the message class of a scenario's messages.
func Class(scenario string) string { return defs[scenario].class }

// Setting is a clinic's choice for one scenario.
type Setting struct {
	ClinicID   string
	Scenario   string
	Enabled    bool
	Text       string // "" is the default text
	DaysBefore int    // birthday: days before the birthday (0: on the day)
}

// ScenarioView is one scenario as GET /v1/clinic/care shows it.
type ScenarioView struct {
	Scenario    string   `json:"scenario" api:"required,enum=greeting|reminder|before_visit|after_visit|rating|birthday|win_back"`
	Enabled     bool     `json:"enabled" api:"required"`
	Text        string   `json:"text" api:"required"`
	DefaultText string   `json:"default_text" api:"required"`
	Window      string   `json:"window" api:"required"`
	DaysBefore  *int     `json:"days_before,omitempty"`
	Status      string   `json:"status" api:"required,enum=working|problems|off"`
	Reasons     []string `json:"reasons" api:"required"`
}

// ScenarioUpdate is PUT /v1/clinic/care/{scenario}.
type ScenarioUpdate struct {
	Enabled *bool   `json:"enabled,omitempty"`
	Text    *string `json:"text,omitempty"` // "" restores the default text
	// DaysBefore is the birthday scenario's only setting.
	DaysBefore *int `json:"days_before,omitempty"`
}

func (w window) String() string {
	if w == anyTime {
		return "any time (quiet hours apply)"
	}
	return fmt.Sprintf("%02d:%02d–%02d:%02d", w.From/60, w.From%60, w.To/60, w.To%60)
}

// CheckText validates a message text: 1..MaxText characters, lines
// without control characters, and only the known placeholders.
func CheckText(field, v string) (string, error) {
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	if v == "" {
		return "", invalid(field, "is required")
	}
	if n := utf8.RuneCountInString(v); n > MaxText {
		return "", invalid(field, "must be at most %d characters, not %d", MaxText, n)
	}
	for _, line := range strings.Split(v, "\n") {
		if m := text.Line(line, MaxText); m != "" {
			return "", invalid(field, "%s", m)
		}
	}
	rest := v
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", invalid(field, "has a { without its }; placeholders are %s", strings.Join(Placeholders, " "))
		}
		ph := rest[i : i+j+1]
		known := false
		for _, p := range Placeholders {
			known = known || p == ph
		}
		if !known {
			return "", invalid(field, "unknown placeholder %s; use %s", ph, strings.Join(Placeholders, " "))
		}
		rest = rest[i+j+1:]
	}
	return v, nil
}

// Vars are the values of the placeholders.
type Vars struct {
	FirstName, Clinic, Date, Time, Doctor string
}

// Render fills the placeholders of a checked text.
func Render(tmpl string, v Vars) string {
	return strings.NewReplacer("{first_name}", v.FirstName, "{clinic}", v.Clinic, "{date}", v.Date,
		"{time}", v.Time, "{doctor}", v.Doctor).Replace(tmpl)
}

// settings returns the clinic's settings for every scenario (defaults for
// those never set: off).
func (s *Service) settings(ctx context.Context, clinicID string) (map[string]Setting, error) {
	list, err := s.store.Settings(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Setting, len(Scenarios))
	for _, sc := range Scenarios {
		out[sc] = Setting{ClinicID: clinicID, Scenario: sc}
	}
	for _, st := range list {
		out[st.Scenario] = st
	}
	return out, nil
}

func (st Setting) text() string {
	if st.Text != "" {
		return st.Text
	}
	return DefaultText(st.Scenario)
}

// Scenarios is GET /v1/clinic/care: every scenario with its state and
// what stops it from working.
func (s *Service) Scenarios(ctx context.Context, clinicID string) ([]ScenarioView, error) {
	set, err := s.settings(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	svc, err := s.store.ServiceCounts(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	sites, err := s.store.ReviewSites(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	out := make([]ScenarioView, 0, len(Scenarios))
	for _, sc := range Scenarios {
		st := set[sc]
		v := ScenarioView{Scenario: sc, Enabled: st.Enabled, Text: st.text(), DefaultText: DefaultText(sc),
			Window: defs[sc].window.String(), Reasons: []string{}}
		if sc == Birthday {
			d := st.DaysBefore
			v.DaysBefore = &d
		}
		if !s.opts.PushConfigured {
			v.Reasons = append(v.Reasons, "push is not configured: messages reach the app's inbox only")
		}
		switch sc {
		case AfterVisit:
			if svc.After == 0 {
				v.Reasons = append(v.Reasons, "no service has an after-visit text: nothing is sent")
			}
		case BeforeVisit:
			if svc.Before == 0 {
				v.Reasons = append(v.Reasons, "no service has a before-visit text: only the general text is sent")
			}
		case Rating:
			if len(sites) == 0 {
				v.Reasons = append(v.Reasons, "no review sites set: good ratings cannot be shared")
			}
		}
		switch {
		case !st.Enabled:
			v.Status = "off"
		case len(v.Reasons) > 0:
			v.Status = "problems"
		default:
			v.Status = "working"
		}
		out = append(out, v)
	}
	return out, nil
}

// UpdateScenario is PUT /v1/clinic/care/{scenario}.
func (s *Service) UpdateScenario(ctx context.Context, clinicID, scenario string, u ScenarioUpdate) (*ScenarioView, error) {
	if _, ok := defs[scenario]; !ok {
		return nil, fmt.Errorf("%w: no scenario %q", ErrNotFound, scenario)
	}
	set, err := s.settings(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	st := set[scenario]
	if u.Enabled == nil && u.Text == nil && u.DaysBefore == nil {
		return nil, invalid("enabled", "give enabled, text or days_before")
	}
	if u.Enabled != nil {
		st.Enabled = *u.Enabled
	}
	if u.Text != nil {
		st.Text = ""
		if strings.TrimSpace(*u.Text) != "" {
			if st.Text, err = CheckText("text", *u.Text); err != nil {
				return nil, err
			}
		}
	}
	if u.DaysBefore != nil {
		if scenario != Birthday {
			return nil, invalid("days_before", "only the birthday scenario has days_before")
		}
		if *u.DaysBefore < 0 || *u.DaysBefore > MaxDaysBefore {
			return nil, invalid("days_before", "must be 0..%d", MaxDaysBefore)
		}
		st.DaysBefore = *u.DaysBefore
	}
	if err := s.store.PutSetting(ctx, st); err != nil {
		return nil, err
	}
	views, err := s.Scenarios(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	for i := range views {
		if views[i].Scenario == scenario {
			return &views[i], nil
		}
	}
	return nil, ErrNotFound
}
