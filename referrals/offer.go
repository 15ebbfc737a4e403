package referrals

import (
	"fmt"
	"strconv"
	"strings"
)

// Offer is the referral program as a patient reads it on the clinic's
// page: the numbers and a ready-to-show sentence in Russian and English.
type Offer struct {
	Enabled bool `json:"enabled"`
	// RefereeBonus is what a friend who joins with your code gets.
	RefereeBonus Bonus `json:"referee_bonus"`
	// ReferrerPoints is the fixed bonus for each rewarded friend's visit.
	ReferrerPoints int64 `json:"referrer_points"`
	// RatesBP is what each level earns of a friend's paid bill: [0] you,
	// [1] whoever brought you, and so on.
	RatesBP  []int64 `json:"rates_bp"`
	RewardOn string  `json:"reward_on"`
	MinPaid  int64   `json:"min_paid"`
	RU       string  `json:"ru"`
	EN       string  `json:"en"`
}

// OfferOf puts the program into words (a pure function of it).
func OfferOf(p *Program) Offer {
	o := Offer{Enabled: p.Enabled, RefereeBonus: p.RefereeBonus, ReferrerPoints: p.ReferrerBonus.Points,
		RatesBP: []int64{}, RewardOn: p.RewardOn, MinPaid: p.MinPaid}
	for _, l := range p.Levels {
		o.RatesBP = append(o.RatesBP, l.RateBP)
	}
	if !p.Enabled {
		o.RU, o.EN = "Клиника сейчас не проводит программу «Приведи друга»", "The clinic runs no refer-a-friend program now"
		return o
	}
	var ru, en []string
	if b := p.RefereeBonus; b.Points > 0 {
		ru = append(ru, fmt.Sprintf("друг, пришедший по вашему коду, получит %d б. (сгорают через %d дн.)", b.Points, b.BurnDays))
		en = append(en, fmt.Sprintf("a friend who joins with your code gets %d points (burning after %d days)", b.Points, b.BurnDays))
	}
	when, whenEN := "за первый оплаченный визит друга", "for your friend's first paid visit"
	if p.RewardOn == RewardEveryPaidVisit {
		when, whenEN = "за каждый оплаченный визит друга", "for each paid visit of your friend"
		if p.WindowDays > 0 {
			when += fmt.Sprintf(" в первые %d дн.", p.WindowDays)
			whenEN += fmt.Sprintf(" in their first %d days", p.WindowDays)
		}
	}
	var gets, getsEN []string
	if p.ReferrerBonus.Points > 0 {
		gets = append(gets, fmt.Sprintf("%d б.", p.ReferrerBonus.Points))
		getsEN = append(getsEN, fmt.Sprintf("%d points", p.ReferrerBonus.Points))
	}
	if len(p.Levels) > 0 && p.Levels[0].RateBP > 0 {
		gets = append(gets, strings.ReplaceAll(bp(p.Levels[0].RateBP), ".", ",")+" % оплаченной им суммы баллами")
		getsEN = append(getsEN, bp(p.Levels[0].RateBP)+"% of what they pay, in points")
	}
	if len(gets) > 0 {
		ru = append(ru, fmt.Sprintf("вы получите %s %s", strings.Join(gets, " и "), when))
		en = append(en, fmt.Sprintf("you get %s %s", strings.Join(getsEN, " and "), whenEN))
	}
	if len(ru) == 0 {
		o.RU, o.EN = "Приглашайте друзей по своему коду", "Invite friends with your code"
		return o
	}
	o.RU = "Приведите друга: " + strings.Join(ru, "; ")
	o.EN = "Refer a friend: " + strings.Join(en, "; ")
	return o
}

func bp(v int64) string {
	s := strconv.FormatInt(v/100, 10)
	if f := v % 100; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", f), "0")
	}
	return s
}
