package wallet

import (
	"fmt"
	"strconv"
	"strings"
)

// Words is one sentence in the two languages the app shows.
type Words struct {
	RU string `json:"ru"`
	EN string `json:"en"`
}

// Rules is the program as a patient reads it (GET /v1/clinics/{id}):
// every number as stored (points, basis points, minor units, days) and,
// beside each, a ready-to-show sentence in Russian and English.
type Rules struct {
	// PointValue is what one point is worth, in minor units.
	PointValue int64 `json:"point_value"`
	PointWords Words `json:"point_text"`
	// Cashback is the rate per level, lowest first, and what it takes to
	// reach each (cumulative money paid, minor units); one row without a
	// name when the program has no levels.
	Cashback []CashbackRule `json:"cashback"`
	// Services earn differently or cannot be paid with points.
	Services []ServiceRule `json:"services"`
	// MaxShareBP is the largest share of a bill payable with points (of
	// the services points can pay for); 0: points cannot pay.
	MaxShareBP int64 `json:"max_share_bp"`
	ShareWords Words `json:"max_share_text"`
	// MaxReceiptPoints caps the cashback of one bill (0: no cap).
	MaxReceiptPoints int64         `json:"max_receipt_points"`
	Bonuses          []BonusRule   `json:"bonuses"`
	Burn             BurnRule      `json:"burn"`
	Summary          []Words       `json:"summary"`
	Program          ProgramOrigin `json:"program"`
}

// ProgramOrigin names the program version the rules were read from.
type ProgramOrigin struct {
	Version int64 `json:"version"`
}

// CashbackRule is one level of the ladder.
type CashbackRule struct {
	Level      string `json:"level,omitempty"`
	CashbackBP int64  `json:"cashback_bp"`
	MinSpend   int64  `json:"min_spend"`
	Words      Words  `json:"text"`
}

// ServiceRule is a service that earns at its own rate or a fixed number
// of points, or cannot be paid with points, or both.
type ServiceRule struct {
	Service    string `json:"service"`
	CashbackBP *int64 `json:"cashback_bp,omitempty"`
	Points     *int64 `json:"points,omitempty"`
	// PayWithPoints is false for a service points cannot pay for.
	PayWithPoints bool  `json:"pay_with_points"`
	Words         Words `json:"text"`
}

// BonusRule is one fixed bonus and how long its points live.
type BonusRule struct {
	Kind     string `json:"kind" api:"enum=welcome|booking|birthday"`
	Points   int64  `json:"points"`
	BurnDays int    `json:"burn_days"`
	Words    Words  `json:"text"`
}

// BurnRule is how long cashback lives and when the patient is warned.
type BurnRule struct {
	CashbackBurnDays int   `json:"cashback_burn_days"`
	WarningDays      int   `json:"warning_days"`
	Words            Words `json:"text"`
}

// Explain puts the program into words. It is a pure function of the
// program: the same program always reads the same.
func Explain(p *Program) Rules {
	r := Rules{PointValue: p.PointValue, MaxShareBP: p.MaxShareBP, MaxReceiptPoints: p.MaxReceiptPoints,
		Cashback: []CashbackRule{}, Services: []ServiceRule{}, Bonuses: []BonusRule{}, Program: ProgramOrigin{Version: p.Version}}
	r.PointWords = Words{
		RU: fmt.Sprintf("1 балл = %s", MoneyRU(p.PointValue)),
		EN: fmt.Sprintf("1 point = %s", MoneyEN(p.PointValue)),
	}
	if len(p.Levels) == 0 {
		r.Cashback = append(r.Cashback, CashbackRule{CashbackBP: p.CashbackBP, Words: Words{
			RU: fmt.Sprintf("Кешбэк %s баллами от оплаченной суммы", PercentRU(p.CashbackBP)),
			EN: fmt.Sprintf("%s back in points on what you pay", PercentEN(p.CashbackBP)),
		}})
	}
	for _, l := range p.Levels {
		w := Words{
			RU: fmt.Sprintf("«%s»: кешбэк %s", l.Name, PercentRU(l.CashbackBP)),
			EN: fmt.Sprintf("%q: %s back", l.Name, PercentEN(l.CashbackBP)),
		}
		if l.MinSpend > 0 {
			w.RU += fmt.Sprintf(" — после оплат на %s", MoneyRU(l.MinSpend))
			w.EN += fmt.Sprintf(" once you have paid %s in total", MoneyEN(l.MinSpend))
		} else {
			w.RU += " — с первого визита"
			w.EN += " from your first visit"
		}
		r.Cashback = append(r.Cashback, CashbackRule{Level: l.Name, CashbackBP: l.CashbackBP, MinSpend: l.MinSpend, Words: w})
	}
	r.Services = serviceRules(p)
	switch {
	case p.MaxShareBP <= 0:
		r.ShareWords = Words{RU: "Баллами оплатить счёт нельзя", EN: "Points cannot pay a bill"}
	case p.MaxShareBP >= 10000:
		r.ShareWords = Words{RU: "Баллами можно оплатить весь счёт", EN: "Points can pay the whole bill"}
	default:
		r.ShareWords = Words{
			RU: fmt.Sprintf("Баллами можно оплатить до %s счёта", PercentRU(p.MaxShareBP)),
			EN: fmt.Sprintf("Points can pay up to %s of a bill", PercentEN(p.MaxShareBP)),
		}
	}
	for _, b := range []struct {
		kind   string
		bonus  Bonus
		ru, en string
	}{
		{"welcome", p.WelcomeBonus, "за вступление в программу", "for joining the program"},
		{"booking", p.BookingBonus, "за запись онлайн", "for booking online"},
		{"birthday", p.BirthdayBonus, "в день рождения", "on your birthday"},
	} {
		if b.bonus.Points <= 0 {
			continue
		}
		days := b.bonus.BurnDays
		if days <= 0 {
			days = p.CashbackBurnDays
		}
		r.Bonuses = append(r.Bonuses, BonusRule{Kind: b.kind, Points: b.bonus.Points, BurnDays: days, Words: Words{
			RU: fmt.Sprintf("%s %s; сгорают через %s", PointsRU(b.bonus.Points), b.ru, DaysRU(days)),
			EN: fmt.Sprintf("%s %s; they burn after %s", PointsEN(b.bonus.Points), b.en, DaysEN(days)),
		}})
	}
	r.Burn = BurnRule{CashbackBurnDays: p.CashbackBurnDays, WarningDays: p.BurnWarningDays, Words: Words{
		RU: fmt.Sprintf("Баллы за визиты сгорают через %s; мы напомним за %s", DaysRU(p.CashbackBurnDays), DaysRU(p.BurnWarningDays)),
		EN: fmt.Sprintf("Points from visits burn after %s; we remind you %s before", DaysEN(p.CashbackBurnDays), DaysEN(p.BurnWarningDays)),
	}}
	if p.MaxReceiptPoints > 0 {
		r.Summary = append(r.Summary, Words{
			RU: fmt.Sprintf("За один счёт начисляется не больше %s", PointsRU(p.MaxReceiptPoints)),
			EN: fmt.Sprintf("One bill earns at most %s", PointsEN(p.MaxReceiptPoints)),
		})
	}
	summary := []Words{r.PointWords}
	for _, c := range r.Cashback {
		summary = append(summary, c.Words)
	}
	for _, s := range r.Services {
		summary = append(summary, s.Words)
	}
	summary = append(summary, r.ShareWords)
	for _, b := range r.Bonuses {
		summary = append(summary, b.Words)
	}
	r.Summary = append(summary, append(r.Summary, r.Burn.Words)...)
	return r
}

// serviceRules lists the overridden services, then the excluded ones not
// overridden, each once.
func serviceRules(p *Program) []ServiceRule {
	excluded := map[string]bool{}
	for _, s := range p.ExcludedServices {
		excluded[s] = true
	}
	out := []ServiceRule{}
	seen := map[string]bool{}
	for _, o := range p.ServiceOverrides {
		r := ServiceRule{Service: o.Service, CashbackBP: o.CashbackBP, Points: o.Points, PayWithPoints: !excluded[o.Service]}
		switch {
		case o.Points != nil:
			r.Words = Words{RU: fmt.Sprintf("Услуга %s: %s за визит", o.Service, PointsRU(*o.Points)),
				EN: fmt.Sprintf("Service %s: %s per visit", o.Service, PointsEN(*o.Points))}
		case o.CashbackBP != nil && *o.CashbackBP == 0:
			r.Words = Words{RU: fmt.Sprintf("Услуга %s: баллы не начисляются", o.Service),
				EN: fmt.Sprintf("Service %s: earns no points", o.Service)}
		case o.CashbackBP != nil:
			r.Words = Words{RU: fmt.Sprintf("Услуга %s: кешбэк %s", o.Service, PercentRU(*o.CashbackBP)),
				EN: fmt.Sprintf("Service %s: %s back", o.Service, PercentEN(*o.CashbackBP))}
		}
		if !r.PayWithPoints {
			r.Words.RU += "; оплатить баллами нельзя"
			r.Words.EN += "; cannot be paid with points"
		}
		seen[o.Service] = true
		out = append(out, r)
	}
	for _, s := range p.ExcludedServices {
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, ServiceRule{Service: s, PayWithPoints: false, Words: Words{
			RU: fmt.Sprintf("Услугу %s нельзя оплатить баллами (баллы за неё начисляются)", s),
			EN: fmt.Sprintf("Service %s cannot be paid with points (it still earns)", s),
		}})
	}
	return out
}

// PercentRU writes basis points as a Russian percentage: 550 → "5,5 %".
func PercentRU(bp int64) string { return strings.ReplaceAll(percent(bp), ".", ",") + " %" }

// PercentEN writes basis points as a percentage: 550 → "5.5%".
func PercentEN(bp int64) string { return percent(bp) + "%" }

func percent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if f := bp % 100; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", f), "0")
	}
	return s
}

// MoneyRU writes minor units (kopecks) in roubles: 150050 → "1 500,50 ₽".
func MoneyRU(minor int64) string {
	s := group(minor/100, "\u00a0")
	if k := minor % 100; k != 0 {
		s += fmt.Sprintf(",%02d", k)
	}
	return s + "\u00a0₽"
}

// MoneyEN writes minor units (kopecks) in roubles: 150050 → "RUB 1,500.50".
func MoneyEN(minor int64) string {
	s := group(minor/100, ",")
	if k := minor % 100; k != 0 {
		s += fmt.Sprintf(".%02d", k)
	}
	return "RUB " + s
}

func group(n int64, sep string) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + sep + s[i:]
	}
	return s
}

// PointsRU is "1 балл", "2 балла", "5 баллов".
func PointsRU(n int64) string {
	return group(n, "\u00a0") + " " + pluralRU(n, "балл", "балла", "баллов")
}

// PointsEN is "1 point", "5 points".
func PointsEN(n int64) string {
	if n == 1 {
		return "1 point"
	}
	return group(n, ",") + " points"
}

// DaysRU is "1 день", "2 дня", "5 дней".
func DaysRU(n int) string {
	return strconv.Itoa(n) + " " + pluralRU(int64(n), "день", "дня", "дней")
}

// DaysEN is "1 day", "5 days".
func DaysEN(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// pluralRU picks the Russian plural form for n.
func pluralRU(n int64, one, few, many string) string {
	n %= 100
	if n < 0 {
		n = -n
	}
	switch {
	case n >= 11 && n <= 14:
		return many
	case n%10 == 1:
		return one
	case n%10 >= 2 && n%10 <= 4:
		return few
	}
	return many
}
