package referrals

import "testing"

func TestOfferOf(t *testing.T) {
	p := DefaultProgram("cl")
	if o := OfferOf(p); o.Enabled || o.EN != "The clinic runs no refer-a-friend program now" {
		t.Errorf("disabled: %+v", o)
	}
	p.Enabled, p.RewardOn = true, RewardEveryPaidVisit
	p.WindowDays = 90
	p.RefereeBonus = Bonus{Points: 300, BurnDays: 30}
	p.ReferrerBonus = Points{Points: 200}
	p.Levels = []Level{{RateBP: 500}, {RateBP: 150}}
	o := OfferOf(p)
	if !o.Enabled || o.RefereeBonus.Points != 300 || o.ReferrerPoints != 200 || len(o.RatesBP) != 2 || o.RatesBP[1] != 150 {
		t.Errorf("numbers: %+v", o)
	}
	wantEN := "Refer a friend: a friend who joins with your code gets 300 points (burning after 30 days); " +
		"you get 200 points and 5% of what they pay, in points for each paid visit of your friend in their first 90 days"
	if o.EN != wantEN {
		t.Errorf("EN = %q", o.EN)
	}
	if o.RU == "" {
		t.Error("no RU text")
	}
}
