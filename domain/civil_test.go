package domain_test

import (
	"testing"
	"time"

	"courierd/domain"
)

func TestVietnam(t *testing.T) {
	// Civil dates are Vietnam's: UTC+7 all year, no daylight saving.
	for _, m := range []time.Month{time.January, time.April, time.July, time.October} {
		if _, off := time.Date(2026, m, 15, 12, 0, 0, 0, time.UTC).In(domain.Vietnam).Zone(); off != 7*3600 {
			t.Errorf("Vietnam's offset in %s = %ds, want %d", m, off, 7*3600)
		}
	}
}

// TestDateOfAndMidnight: over every hour of a year (a leap day and a year's turn
// included), an instant's civil date is the Vietnam day it falls in, that day's midnight
// is at or before it and less than a day before, and Midnight undoes DateOf.
func TestDateOfAndMidnight(t *testing.T) {
	start := time.Date(2027, 12, 1, 0, 30, 0, 0, time.UTC)
	for at := start; at.Before(start.AddDate(1, 0, 0)); at = at.Add(time.Hour) {
		day := domain.DateOf(at)
		y, m, d := at.In(domain.Vietnam).Date()
		if day != time.Date(y, m, d, 0, 0, 0, 0, time.UTC) {
			t.Fatalf("DateOf(%s) = %s, want the Vietnam date %d-%02d-%02d at midnight UTC", at, day, y, m, d)
		}
		midnight := domain.Midnight(day)
		if midnight.After(at) || at.Sub(midnight) >= 24*time.Hour {
			t.Fatalf("Midnight(%s) = %s, not the start of the day holding %s", day.Format(time.DateOnly), midnight, at)
		}
		if domain.DateOf(midnight) != day {
			t.Fatalf("DateOf(Midnight(%s)) = %s", day.Format(time.DateOnly), domain.DateOf(midnight))
		}
	}
}
