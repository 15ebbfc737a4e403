package app

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/problem"
	"carewallet/push"
	"carewallet/wallet"
)

// Notification preferences (GET/PUT /v1/me/preferences) and the clinic's
// message policy (GET/PUT /v1/clinic/message-policy). The rules live in
// push (policy.go); these handlers check who may set what.

// maxPreferenceItems bounds one PUT.
const maxPreferenceItems = 100

type clinicPreference struct {
	ClinicID  string `json:"clinic_id" api:"required"`
	Marketing *bool  `json:"marketing" api:"required"`
}

type cardPreference struct {
	CardID    string `json:"card_id" api:"required"`
	ClinicID  string `json:"clinic_id,omitempty"` // in answers: the card's clinic
	Marketing *bool  `json:"marketing" api:"required"`
}

// preferencesRequest changes the listed switches; others keep theirs.
type preferencesRequest struct {
	Clinics []clinicPreference `json:"clinics,omitempty"`
	Cards   []cardPreference   `json:"cards,omitempty"`
}

// preferencesResponse lists every clinic where the caller holds a card
// (own or a dependant's) and every dependant's card the caller guards,
// with marketing on unless switched off.
type preferencesResponse struct {
	Clinics []clinicPreference `json:"clinics" api:"required"`
	Cards   []cardPreference   `json:"cards" api:"required"`
}

// preferenceScope is what the caller may set: their clinics and the
// dependants' cards they guard (card → clinic).
func (s *server) preferenceScope(c *fiber.Ctx) (clinics []string, cards map[string]string, order []string, err error) {
	mine, err := s.Wallet.MyCards(c.UserContext(), principal(c).ID)
	if err != nil {
		return nil, nil, nil, err
	}
	seen := map[string]bool{}
	cards = map[string]string{}
	for _, cd := range mine {
		if cd.Status != wallet.StatusActive {
			continue
		}
		if !seen[cd.ClinicID] {
			seen[cd.ClinicID] = true
			clinics = append(clinics, cd.ClinicID)
		}
		if cd.Holder.Kind == wallet.HolderDependant {
			cards[cd.ID] = cd.ClinicID
			order = append(order, cd.ID)
		}
	}
	return clinics, cards, order, nil
}

func (s *server) preferencesView(c *fiber.Ctx) (preferencesResponse, error) {
	clinics, cards, order, err := s.preferenceScope(c)
	if err != nil {
		return preferencesResponse{}, err
	}
	prefs, err := s.Push.Preferences(c.UserContext(), principal(c).ID)
	if err != nil {
		return preferencesResponse{}, err
	}
	off := map[[2]string]bool{}
	for _, p := range prefs {
		if !p.Marketing {
			off[[2]string{p.Clinic, p.Card}] = true
		}
	}
	out := preferencesResponse{Clinics: []clinicPreference{}, Cards: []cardPreference{}}
	for _, cl := range clinics {
		on := !off[[2]string{cl, ""}]
		out.Clinics = append(out.Clinics, clinicPreference{ClinicID: cl, Marketing: &on})
	}
	for _, id := range order {
		on := !off[[2]string{cards[id], id}]
		out.Cards = append(out.Cards, cardPreference{CardID: id, ClinicID: cards[id], Marketing: &on})
	}
	return out, nil
}

func (s *server) getPreferences() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		v, err := s.preferencesView(c)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

func invalidPref(field, format string, args ...any) error {
	return problem.Invalidf(push.ErrInvalidPolicy, field, format, args...)
}

// putPreferences validates every entry before storing any: a clinic must
// be one where the caller holds a card, a card one of the dependants'
// cards the caller guards, and nothing may be listed twice.
func (s *server) putPreferences() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		var req preferencesRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if len(req.Clinics)+len(req.Cards) > maxPreferenceItems {
			return invalidPref("clinics", "at most %d entries in one request", maxPreferenceItems)
		}
		clinics, cards, _, err := s.preferenceScope(c)
		if err != nil {
			return err
		}
		mine := map[string]bool{}
		for _, cl := range clinics {
			mine[cl] = true
		}
		var prefs []push.Preference
		seen := map[string]bool{}
		for i, p := range req.Clinics {
			field := fmt.Sprintf("clinics[%d]", i)
			switch {
			case p.ClinicID == "":
				return invalidPref(field+".clinic_id", "required")
			case p.Marketing == nil:
				return invalidPref(field+".marketing", "required: true or false")
			case !mine[p.ClinicID]:
				return invalidPref(field+".clinic_id", "you hold no card of this clinic")
			case seen[p.ClinicID]:
				return invalidPref(field+".clinic_id", "listed twice")
			}
			seen[p.ClinicID] = true
			prefs = append(prefs, push.Preference{Clinic: p.ClinicID, Marketing: *p.Marketing})
		}
		for i, p := range req.Cards {
			field := fmt.Sprintf("cards[%d]", i)
			clinic, ok := cards[p.CardID]
			switch {
			case p.CardID == "":
				return invalidPref(field+".card_id", "required")
			case p.Marketing == nil:
				return invalidPref(field+".marketing", "required: true or false")
			case p.ClinicID != "":
				return invalidPref(field+".clinic_id", "is set by the server: leave it out")
			case !ok:
				return invalidPref(field+".card_id", "not a dependant's card you guard")
			case seen[p.CardID]:
				return invalidPref(field+".card_id", "listed twice")
			}
			seen[p.CardID] = true
			prefs = append(prefs, push.Preference{Clinic: clinic, Card: p.CardID, Marketing: *p.Marketing})
		}
		if err := s.Push.SetPreferences(c.UserContext(), principal(c).ID, prefs); err != nil {
			return err
		}
		v, err := s.preferencesView(c)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// messagePolicy is a clinic's message policy in the API's terms.
type messagePolicy struct {
	QuietFrom    string `json:"quiet_from" api:"required"` // HH:MM clinic time; equal to quiet_to: no quiet hours
	QuietTo      string `json:"quiet_to" api:"required"`
	WeeklyBudget *int   `json:"weekly_budget" api:"required"`
}

func viewPolicy(p push.Policy) messagePolicy {
	b := p.WeeklyBudget
	return messagePolicy{QuietFrom: hhmm(p.QuietFrom), QuietTo: hhmm(p.QuietTo), WeeklyBudget: &b}
}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// parseHHMM reads a time of day "HH:MM" (00:00..23:59) as minutes.
func parseHHMM(field, v string) (int, error) {
	t, err := time.Parse("15:04", v)
	if err != nil || len(v) != 5 {
		return 0, invalidPref(field, "must be a time of day HH:MM (00:00..23:59)")
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (s *server) getMessagePolicy() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		p, err := s.Push.ClinicPolicy(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(viewPolicy(p))
	}
}

func (s *server) putMessagePolicy() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		var req messagePolicy
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		from, err := parseHHMM("quiet_from", req.QuietFrom)
		if err != nil {
			return err
		}
		to, err := parseHHMM("quiet_to", req.QuietTo)
		if err != nil {
			return err
		}
		if req.WeeklyBudget == nil {
			return invalidPref("weekly_budget", "required: 0..%d messages a week", push.MaxWeeklyBudget)
		}
		p := push.Policy{QuietFrom: from, QuietTo: to, WeeklyBudget: *req.WeeklyBudget}
		if err := s.Push.SetClinicPolicy(c.UserContext(), principal(c).ClinicID, p); err != nil {
			return err
		}
		return c.JSON(viewPolicy(p))
	}
}

// heldCount is one line of the policy report.
type heldCount struct {
	Class  string `json:"class" api:"required,enum=burn_warning|reminder|rating|news|birthday|win_back"`
	Reason string `json:"reason" api:"required,enum=budget|opted_out|deferred"`
	Count  int64  `json:"count"`
}

type heldReport struct {
	From   string      `json:"from"`
	To     string      `json:"to"`
	Counts []heldCount `json:"counts" api:"required"`
}

var heldReportQuery = []param{
	{Name: "from", Description: "first clinic-local day, YYYY-MM-DD (default: 6 days before to)"},
	{Name: "to", Description: "last clinic-local day, YYYY-MM-DD (default: today)"},
}

// messagePolicyReport: how many messages the policy held back at the
// clinic per class and reason over a period of clinic-local days.
func (s *server) messagePolicyReport() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		clinic := principal(c).ClinicID
		loc, err := s.Identity.ClinicLocation(c.UserContext(), clinic)
		if err != nil {
			return err
		}
		to := s.Now().In(loc).Format(time.DateOnly)
		if v := c.Query("to"); v != "" {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				return invalidPref("to", "must be a date YYYY-MM-DD")
			}
			to = v
		}
		end, _ := time.Parse(time.DateOnly, to)
		from := end.AddDate(0, 0, -6).Format(time.DateOnly)
		if v := c.Query("from"); v != "" {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				return invalidPref("from", "must be a date YYYY-MM-DD")
			}
			from = v
		}
		if from > to {
			return invalidPref("from", "must not be after to")
		}
		ts, err := s.Push.Tallies(c.UserContext(), clinic, from, to)
		if err != nil {
			return err
		}
		out := heldReport{From: from, To: to, Counts: []heldCount{}}
		for _, t := range ts {
			out.Counts = append(out.Counts, heldCount{Class: t.Class.String(), Reason: t.Reason, Count: t.N})
		}
		return c.JSON(out)
	}
}
