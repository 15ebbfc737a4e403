package news

import (
	"fmt"
	"time"
)

// The weekly limit counts calendar weeks, Monday to Sunday, in the
// clinic's time zone: a post belongs to the week its publish_at falls in
// there, so a post at 00:30 Monday in Moscow (21:30 Sunday UTC) opens a
// new week. Weeks are named by ISO 8601 ("2026-W49"), which is Monday-based
// and gives every instant exactly one name.

// Week is the ISO week of t in loc, e.g. "2026-W49".
func Week(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// WeekStart is the first instant (Monday 00:00 in loc) of the week t falls in.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	back := (int(l.Weekday()) + 6) % 7 // days since Monday
	d := l.AddDate(0, 0, -back)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// NextWeekStart is the first instant of the week after t's.
func NextWeekStart(t time.Time, loc *time.Location) time.Time {
	s := WeekStart(t, loc)
	// AddDate on the local date keeps midnight across a DST change.
	n := s.AddDate(0, 0, 7)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
}
