package catalog_test

import (
	"testing"
	"time"

	"courierd/domain/catalog"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// tet2026 is a week of exceptions like the one the government announces around Tết.
var tet2026 = catalog.NewCalendar([]catalog.CalendarDay{
	{Date: day("2026-02-14"), Kind: catalog.DayWorking, Name: "làm bù"}, // Saturday worked…
	{Date: day("2026-02-16"), Kind: catalog.DayHoliday, Name: "Tết"},
	{Date: day("2026-02-17"), Kind: catalog.DayHoliday, Name: "Tết"},
	{Date: day("2026-02-18"), Kind: catalog.DayHoliday, Name: "Tết"},
	{Date: day("2026-02-19"), Kind: catalog.DayHoliday, Name: "Tết"},
	{Date: day("2026-02-20"), Kind: catalog.DayOff, Name: "nghỉ bù"}, // …for this Friday off
	{Date: day("2026-04-27"), Kind: catalog.DayOff, Name: "nghỉ bù Giỗ Tổ"},
})

func TestIsWorkingDay(t *testing.T) {
	cases := map[string]bool{
		"2026-02-13": true,  // ordinary Friday
		"2026-02-14": true,  // compensatory working Saturday
		"2026-02-15": false, // Sunday
		"2026-02-17": false, // Tết holiday
		"2026-02-20": false, // compensatory day off
		"2026-02-21": false, // ordinary Saturday
		"2026-02-23": true,  // ordinary Monday
	}
	for date, want := range cases {
		if got := tet2026.IsWorkingDay(day(date)); got != want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", date, got, want)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	cases := []struct {
		name     string
		received time.Time
		days     int
		want     string
	}{
		{"ordinary week", day("2026-03-02"), 3, "2026-03-05"},
		{"over a weekend", day("2026-03-05"), 3, "2026-03-10"},
		{"received on Saturday", day("2026-03-07"), 1, "2026-03-09"},
		{"across Tết", day("2026-02-12"), 3, "2026-02-23"}, // Fri 13, Sat 14 (worked), Mon 23
		{"received late in the day, local time", time.Date(2026, 3, 2, 22, 30, 0, 0, time.FixedZone("ICT", 7*3600)), 1, "2026-03-03"},
		{"same day when working", day("2026-03-02"), 0, "2026-03-02"},
		{"same day on a holiday is the next working day", day("2026-02-17"), 0, "2026-02-23"},
		{"compensatory Monday", day("2026-04-24"), 1, "2026-04-28"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tet2026.AddWorkingDays(tc.received, tc.days); !got.Equal(day(tc.want)) {
				t.Fatalf("got %s, want %s", got.Format("2006-01-02"), tc.want)
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	if got := tet2026.WorkingDaysBetween(day("2026-02-12"), day("2026-02-23")); got != 3 {
		t.Errorf("across Tết: got %d, want 3", got)
	}
	if got := tet2026.WorkingDaysBetween(day("2026-02-23"), day("2026-02-12")); got != -3 {
		t.Errorf("backwards: got %d, want -3", got)
	}
	// AddWorkingDays and WorkingDaysBetween agree on every start in a year.
	for start := day("2026-01-01"); start.Year() == 2026; start = start.AddDate(0, 0, 1) {
		for n := 1; n <= 15; n += 7 {
			end := tet2026.AddWorkingDays(start, n)
			if got := tet2026.WorkingDaysBetween(start, end); got != n {
				t.Fatalf("from %s: AddWorkingDays(%d) = %s but WorkingDaysBetween says %d", start.Format("2006-01-02"), n, end.Format("2006-01-02"), got)
			}
		}
	}
}
