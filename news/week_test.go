package news

import (
	"testing"
	"time"
)

func TestWeek(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		utc  string
		loc  *time.Location
		week string
		next string // next week's start, in UTC
	}{
		// Sunday 21:30 UTC is Monday 00:30 in Moscow: a new week there.
		{"2026-12-06T21:30:00Z", msk, "2026-W50", "2026-12-13T21:00:00Z"},
		{"2026-12-06T20:59:59Z", msk, "2026-W49", "2026-12-06T21:00:00Z"},
		// ISO weeks cross years: 2027-01-01 (a Friday) is in 2026-W53.
		{"2027-01-01T12:00:00Z", msk, "2026-W53", "2027-01-03T21:00:00Z"},
		// New York: DST ends Sunday 2026-11-01; the next Monday midnight is EST.
		{"2026-10-30T12:00:00Z", ny, "2026-W44", "2026-11-02T05:00:00Z"},
		{"2026-03-06T12:00:00Z", ny, "2026-W10", "2026-03-09T04:00:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.utc)
		if got := Week(at, tc.loc); got != tc.week {
			t.Errorf("Week(%s) = %s, want %s", tc.utc, got, tc.week)
		}
		if got := NextWeekStart(at, tc.loc).UTC().Format(time.RFC3339); got != tc.next {
			t.Errorf("NextWeekStart(%s) = %s, want %s", tc.utc, got, tc.next)
		}
		if ws := WeekStart(at, tc.loc); ws.After(at) || Week(ws, tc.loc) != tc.week {
			t.Errorf("WeekStart(%s) = %s", tc.utc, ws)
		}
	}
}

func FuzzWeek(f *testing.F) {
	f.Add(int64(1796000000))
	loc, _ := time.LoadLocation("Asia/Kolkata")
	f.Fuzz(func(t *testing.T, sec int64) {
		sec %= 1 << 34
		at := time.Unix(sec, 0)
		ws, next := WeekStart(at, loc), NextWeekStart(at, loc)
		if ws.After(at) || !next.After(at) || Week(ws, loc) != Week(at, loc) || Week(next, loc) == Week(at, loc) {
			t.Fatalf("%s: start %s next %s", at, ws, next)
		}
	})
}
