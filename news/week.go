package news

import (
	"context"
	"errors"
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

// NextFree is when the clinic may publish its next post: now when the
// current week (in the clinic's time zone) is free, otherwise the start of
// the first free week after it — what a refused post's next_allowed_at
// would say, asked before composing. free says whether that is now.
func (s *Service) NextFree(ctx context.Context, clinicID string) (next time.Time, free bool, err error) {
	c, err := s.opts.Clinics.Clinic(ctx, clinicID)
	if err != nil {
		return time.Time{}, false, err
	}
	now := s.now()
	next, err = s.firstFreeWeek(ctx, clinicID, now, c.Location)
	return next, err == nil && next.Equal(now), err
}

// firstFreeWeek is from itself when from's week is free, else the start
// of the first free week after it (UTC). A scheduled post may hold the
// following weeks too; the search stops after 60 weeks.
func (s *Service) firstFreeWeek(ctx context.Context, clinicID string, from time.Time, loc *time.Location) (time.Time, error) {
	next := from
	for range 60 {
		if _, err := s.store.WeekOwner(ctx, clinicID, Week(next, loc)); errors.Is(err, ErrNotFound) {
			break
		} else if err != nil {
			return time.Time{}, err
		}
		next = NextWeekStart(next, loc)
	}
	return next.UTC(), nil
}
