package catalog

import (
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// DayKind says how a calendar entry changes an ordinary week.
type DayKind string

const (
	// DayHoliday is a public holiday (Tết, Hùng Kings' day, 30/4, 1/5, 2/9, New Year).
	DayHoliday DayKind = "holiday"
	// DayOff is a compensatory rest day on what would be a working day.
	DayOff DayKind = "day_off"
	// DayWorking is a compensatory working day on a weekend, swapped for a DayOff.
	DayWorking DayKind = "working_day"
)

// CalendarDay is one announced exception to the Monday-to-Friday week. The government
// announces them each year, and Tết and Hùng Kings' day follow the lunar calendar, so they
// are data, never code.
type CalendarDay struct {
	ID   uuid.UUID
	Date time.Time // midnight UTC of the civil date
	Kind DayKind
	Name string
	Revision
}

type CalendarDayFilter struct {
	From, To time.Time // inclusive civil dates; zero means open-ended
	Kind     DayKind
}

func (d CalendarDay) Validate() error {
	var p domain.Problems
	p.Check(!d.Date.IsZero() && d.Date.Year() >= 2000 && d.Date.Year() <= 2100, "date", "must be a date between 2000 and 2100")
	p.Check(d.Date.Equal(CivilDate(d.Date)), "date", "must be a date without a time of day")
	p.Check(oneOf(d.Kind, DayHoliday, DayOff, DayWorking), "kind", "must be holiday, day_off or working_day")
	checkName(&p, "name", d.Name, 200)
	if d.Kind == DayWorking && !d.Date.IsZero() {
		p.Check(isWeekend(d.Date), "kind", "a compensatory working day falls on a Saturday or Sunday")
	}
	return p.Err()
}

// CivilDate is t's calendar date as midnight UTC, the form every CalendarDay uses.
func CivilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func isWeekend(d time.Time) bool {
	return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
}

// Calendar answers which days agencies work, from the weekly pattern and the announced
// exceptions. It is a value: build it once from the stored days of the years in question.
type Calendar struct {
	exceptions map[time.Time]DayKind
}

// NewCalendar indexes days by civil date.
func NewCalendar(days []CalendarDay) Calendar {
	c := Calendar{exceptions: make(map[time.Time]DayKind, len(days))}
	for _, d := range days {
		c.exceptions[CivilDate(d.Date)] = d.Kind
	}
	return c
}

// IsWorkingDay reports whether agencies work on date's civil day.
func (c Calendar) IsWorkingDay(date time.Time) bool {
	switch c.exceptions[CivilDate(date)] {
	case DayHoliday, DayOff:
		return false
	case DayWorking:
		return true
	}
	return !isWeekend(date)
}

// AddWorkingDays is the civil date on which n working days after received have passed:
// the day of receipt does not count, as in the legal reckoning of an appointment date.
// n = 0 answers received's date itself when it is a working day, else the next one.
func (c Calendar) AddWorkingDays(received time.Time, n int) time.Time {
	day := CivilDate(received)
	if n == 0 {
		for !c.IsWorkingDay(day) {
			day = day.AddDate(0, 0, 1)
		}
		return day
	}
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.IsWorkingDay(day) {
			n--
		}
	}
	return day
}

// WorkingDaysBetween counts working days after from up to and including to; negative when
// to is before from. It is how late a result is, in the law's unit.
func (c Calendar) WorkingDaysBetween(from, to time.Time) int {
	a, b, sign := CivilDate(from), CivilDate(to), 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	count := 0
	for d := a.AddDate(0, 0, 1); !d.After(b); d = d.AddDate(0, 0, 1) {
		if c.IsWorkingDay(d) {
			count++
		}
	}
	return sign * count
}

func (d CalendarDay) WithKey(key string) (CalendarDay, error) {
	id, err := idKey(key, "calendar day")
	d.ID = id
	return d, err
}
