package care

import (
	"context"
	"fmt"
	"time"
)

// Birthdays plans the birthday greetings due today in each clinic's time
// zone: for every patient born on a month-day near today who holds a card
// at a clinic with the scenario on, the greeting of that clinic's
// days_before lands on today (key care:birthday:{clinic}:{patient}:{year},
// so running it again, or on another instance, plans nothing twice). It
// returns how many it planned. Only patients' own birthdays are greeted;
// a dependant's is the guardian's to celebrate.
func (s *Service) Birthdays(ctx context.Context) (int, error) {
	now := s.now()
	var mds []string
	seen := map[string]bool{}
	for d := -1; d <= MaxDaysBefore+1; d++ {
		t := now.AddDate(0, 0, d)
		for _, md := range monthDays(t) {
			if !seen[md] {
				seen[md] = true
				mds = append(mds, md)
			}
		}
	}
	p := &pass{clinics: map[string]Clinic{}, settings: map[string]map[string]Setting{}}
	planned, after := 0, ""
	for {
		people, err := s.opts.Patients.BornOn(ctx, mds, after, s.opts.Batch)
		if err != nil {
			return planned, fmt.Errorf("care: birthdays: %w", err)
		}
		if len(people) == 0 {
			return planned, nil
		}
		for _, person := range people {
			after = person.ID
			n, err := s.planBirthday(ctx, p, person, now)
			if err != nil {
				return planned, err
			}
			planned += n
		}
	}
}

// monthDays are the birth month-days celebrated on t's UTC date (28 Feb
// also celebrates 29 Feb in a common year).
func monthDays(t time.Time) []string {
	md := t.Format("01-02")
	if md == "02-28" && !isLeap(t.Year()) {
		return []string{md, "02-29"}
	}
	return []string{md}
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// birthdayIn is the person's birthday in year y (29 Feb → 28 Feb in a
// common year) as a local date in loc.
func birthdayIn(birth string, y int, loc *time.Location) (time.Time, bool) {
	b, err := time.Parse(time.DateOnly, birth)
	if err != nil {
		return time.Time{}, false
	}
	m, d := b.Month(), b.Day()
	if m == time.February && d == 29 && !isLeap(y) {
		d = 28
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc), true
}

func (s *Service) planBirthday(ctx context.Context, p *pass, person Person, now time.Time) (int, error) {
	if person.BirthDate == "" {
		return 0, nil
	}
	clinics, err := s.opts.Patients.Clinics(ctx, person.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, clinicID := range clinics {
		st, err := s.setting(ctx, p, clinicID, Birthday)
		if err != nil {
			return n, err
		}
		if !st.Enabled {
			continue
		}
		c, err := s.clinic(ctx, p, clinicID)
		if err != nil {
			return n, err
		}
		today := localDate(now, c.Location)
		for _, y := range []int{today.Year(), today.Year() + 1} {
			bday, ok := birthdayIn(person.BirthDate, y, c.Location)
			if !ok || !bday.AddDate(0, 0, -st.DaysBefore).Equal(today) {
				continue
			}
			nominal := atMinute(today, defs[Birthday].window.From).UTC()
			m := &Message{Key: fmt.Sprintf("care:birthday:%s:%s:%d", clinicID, person.ID, y), ClinicID: clinicID,
				PatientID: person.ID, Scenario: Birthday, Date: bday.Format(time.DateOnly),
				Due: defs[Birthday].window.next(nominal, c.Location), Deadline: nominal.Add(DropAfter), Created: now}
			added, err := s.store.AddMessage(ctx, m)
			if err != nil {
				return n, err
			}
			if added {
				n++
			}
		}
	}
	return n, nil
}

// birthdayExcluded: no birth date any more, or another one (void), or the
// birth date was entered on the birthday itself.
func (s *Service) birthdayExcluded(ctx context.Context, p *pass, m *Message) (string, bool, error) {
	person, err := s.opts.Patients.Person(ctx, m.PatientID)
	if err != nil {
		return "", false, err
	}
	if person.BirthDate == "" {
		return "no_birth_date", false, nil
	}
	c, err := s.clinic(ctx, p, m.ClinicID)
	if err != nil {
		return "", false, err
	}
	bday, err := time.ParseInLocation(time.DateOnly, m.Date, c.Location)
	if err != nil {
		return "", false, err
	}
	if b, ok := birthdayIn(person.BirthDate, bday.Year(), c.Location); !ok || !b.Equal(bday) {
		return "birth_date_changed", true, nil
	}
	entered, err := s.store.BirthDateEntered(ctx, m.PatientID, person.BirthDate)
	if err != nil {
		return "", false, err
	}
	if !entered.IsZero() && localDate(entered, c.Location).Equal(bday) {
		return "birth_date_entered_on_birthday", false, nil
	}
	return "", false, nil
}

// BirthDateEntered records that the patient entered (or changed) their
// birth date now; the birthday greeting is not sent when that happened on
// the birthday itself. The app calls it when a profile's birth date
// changes.
func (s *Service) BirthDateEntered(ctx context.Context, patientID, birthDate string) error {
	if birthDate == "" {
		return nil
	}
	return s.store.PutBirthDate(ctx, patientID, birthDate, s.now())
}
