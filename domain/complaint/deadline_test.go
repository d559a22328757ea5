package complaint_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"courierd/domain"
	"courierd/domain/complaint"
)

// TestDeadlineOverGeneratedDates files complaints at random instants over a decade (leap
// years, months' ends, Vietnam's midnight either side of UTC's) and checks each deadline
// against the Civil Code's reckoning, stated independently of the code: a month's deadline
// ends on the same day of the month so many months on, or on that month's last day when
// it has no such day; a day's deadline ends so many days after the filing day; the answer
// is late from the next midnight in Vietnam, and a later filing never has an earlier one.
func TestDeadlineOverGeneratedDates(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 20000 {
		filed := start.Add(time.Duration(rng.Int64N(int64(10 * 365 * 24 * time.Hour))))
		d := complaint.Deadline{Months: 1 + rng.IntN(2)}
		if rng.IntN(2) == 0 {
			d = complaint.Deadline{Days: 1 + rng.IntN(59)}
		}
		local := filed.In(domain.Vietnam)
		last := d.LastDay(filed)
		if d.Months > 0 {
			months := (last.Year()*12 + int(last.Month())) - (local.Year()*12 + int(local.Month()))
			endOfMonth := last.AddDate(0, 0, 1).Day() == 1
			if months != d.Months || !(last.Day() == local.Day() || last.Day() < local.Day() && endOfMonth) {
				t.Fatalf("%s filed %s (Vietnam): last day %s", d, local, last.Format(time.DateOnly))
			}
		} else if days := int(last.Sub(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24); days != d.Days {
			t.Fatalf("%s filed %s (Vietnam): last day %s, %d days on", d, local, last.Format(time.DateOnly), days)
		}
		due := d.Due(filed).In(domain.Vietnam)
		if due.Hour() != 0 || due.Minute() != 0 || due.Add(-time.Nanosecond).Format(time.DateOnly) != last.Format(time.DateOnly) {
			t.Fatalf("%s filed %s: due %s, last day %s", d, local, due, last.Format(time.DateOnly))
		}
		later := filed.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		if d.Due(later).Before(d.Due(filed)) {
			t.Fatalf("%s: filed %s due %s, later %s due earlier %s", d, filed, d.Due(filed), later, d.Due(later))
		}
		c := complaint.Complaint{State: complaint.Open, FiledAt: filed, DueAt: d.Due(filed)}
		if c.Overdue(due.Add(-time.Nanosecond)) || !c.Overdue(due) {
			t.Fatalf("%s: overdue flips at %s, not at the deadline", d, due)
		}
		c.State = complaint.Answered
		if c.Overdue(due.Add(time.Hour)) {
			t.Fatal("an answered complaint is never overdue")
		}
	}
}

// TestDeadlineKnownDays pins the reckoning on days read off a calendar.
func TestDeadlineKnownDays(t *testing.T) {
	for _, c := range []struct {
		filed    string // an instant in Vietnam
		deadline string
		last     string
	}{
		{"2026-03-15T10:00", "2mo", "2026-05-15"},
		{"2025-12-31T09:00", "2mo", "2026-02-28"},
		{"2027-12-31T09:00", "2mo", "2028-02-29"},
		{"2026-01-31T09:00", "1mo", "2026-02-28"},
		{"2026-11-30T23:59", "2mo", "2027-01-30"},
		{"2026-12-05T23:30", "15d", "2026-12-20"},
		{"2026-12-06T00:30", "15d", "2026-12-21"},
	} {
		filed, err := time.ParseInLocation("2006-01-02T15:04", c.filed, domain.Vietnam)
		if err != nil {
			t.Fatal(err)
		}
		d, err := complaint.ParseDeadline(c.deadline)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.LastDay(filed).Format(time.DateOnly); got != c.last {
			t.Errorf("%s filed %s: last day %s, want %s", c.deadline, c.filed, got, c.last)
		}
	}
	for _, bad := range []string{"", "2", "0d", "-3d", "3mo", "60d", "2 mo", "1w", "d", "mo"} {
		if _, err := complaint.ParseDeadline(bad); err == nil {
			t.Errorf("deadline %q accepted", bad)
		}
	}
	for _, good := range []string{"2mo", "1mo", "59d", "1d"} {
		if d, err := complaint.ParseDeadline(good); err != nil || d.String() != good {
			t.Errorf("deadline %q: %v %v", good, d, err)
		}
	}
}
