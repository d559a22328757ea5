package domain

import "time"

// Vietnam keeps one time zone and no daylight saving: civil dates are counted in it, by
// every area (the calendar, dossiers' deadlines, plans, slots, couriers' days).
var Vietnam = time.FixedZone("ICT", 7*3600)

// DateOf is the civil date of the instant t in Vietnam, as midnight UTC: the form the
// calendar's days and every stored date take.
func DateOf(t time.Time) time.Time {
	y, m, d := t.In(Vietnam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Midnight is the instant a civil date (as DateOf gives it) begins in Vietnam.
func Midnight(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, Vietnam)
}
