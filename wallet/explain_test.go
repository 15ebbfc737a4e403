package wallet

import (
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{PercentRU(550), "5,5 %"}, {PercentEN(550), "5.5%"}, {PercentEN(1000), "10%"}, {PercentEN(5), "0.05%"},
		{MoneyRU(150050), "1\u00a0500,50\u00a0₽"}, {MoneyEN(5000000), "RUB 50,000"},
		{PointsRU(1), "1 балл"}, {PointsRU(3), "3 балла"}, {PointsRU(11), "11 баллов"}, {PointsRU(21), "21 балл"},
		{PointsEN(1), "1 point"}, {PointsEN(1500), "1,500 points"},
		{DaysRU(365), "365 дней"}, {DaysRU(2), "2 дня"}, {DaysEN(1), "1 day"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestExplain: every rule of the program is in the numbers and in words.
func TestExplain(t *testing.T) {
	seven, zero, fixed := int64(700), int64(0), int64(300)
	p := DefaultProgram("cl")
	p.Levels = []Level{{Name: "Base", CashbackBP: 500}, {Name: "Gold", MinSpend: 5_000_000, CashbackBP: 1000}}
	p.ServiceOverrides = []ServiceOverride{{Service: "IMPLANT", CashbackBP: &zero}, {Service: "XRAY", CashbackBP: &seven},
		{Service: "CLEAN", Points: &fixed}}
	p.ExcludedServices = []string{"IMPLANT", "ORTHO"}
	p.MaxShareBP = 3000
	p.WelcomeBonus = Bonus{Points: 500, BurnDays: 30}
	p.BirthdayBonus = Bonus{Points: 1000}
	r := Explain(p)
	if len(r.Cashback) != 2 || r.Cashback[1].MinSpend != 5_000_000 || r.Cashback[1].CashbackBP != 1000 ||
		!strings.Contains(r.Cashback[1].Words.RU, "50\u00a0000\u00a0₽") || !strings.Contains(r.Cashback[1].Words.EN, "10% back") {
		t.Errorf("cashback = %+v", r.Cashback)
	}
	if len(r.Services) != 4 || r.Services[0].PayWithPoints || !r.Services[1].PayWithPoints || r.Services[3].Service != "ORTHO" ||
		!strings.Contains(r.Services[0].Words.EN, "earns no points; cannot be paid with points") ||
		!strings.Contains(r.Services[2].Words.RU, "300 баллов за визит") {
		t.Errorf("services = %+v", r.Services)
	}
	if r.MaxShareBP != 3000 || r.ShareWords.EN != "Points can pay up to 30% of a bill" {
		t.Errorf("share = %d %+v", r.MaxShareBP, r.ShareWords)
	}
	if len(r.Bonuses) != 2 || r.Bonuses[0].BurnDays != 30 || r.Bonuses[1].Kind != "birthday" || r.Bonuses[1].BurnDays != 365 ||
		r.Bonuses[1].Words.RU != "1\u00a0000 баллов в день рождения; сгорают через 365 дней" {
		t.Errorf("bonuses = %+v", r.Bonuses)
	}
	if r.Burn.CashbackBurnDays != 365 || r.Burn.WarningDays != 14 || len(r.Summary) != 1+2+4+1+2+1 {
		t.Errorf("burn = %+v, summary %d", r.Burn, len(r.Summary))
	}
	none := Explain(DefaultProgram("cl"))
	if len(none.Cashback) != 1 || none.Cashback[0].Level != "" || none.ShareWords.EN != "Points cannot pay a bill" || len(none.Bonuses) != 0 {
		t.Errorf("default program = %+v", none)
	}
}
