package complaint

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"courierd/domain"
)

// Deadline is how long the post has to answer a complaint, counted in Vietnam's civil
// days from the day it was filed: a number of months or of days.
//
// The law's ceiling is the default: the Law on Postal Services (Luật Bưu chính,
// 49/2010/QH12), article 39 clause 3(a), gives at most two months from receipt of a
// complaint about a domestic postal service. The period is reckoned as the Civil Code
// reckons one (2015, articles 147 and 148): it starts the day after the filing, and a month
// ends on the same day of the month, or on the month's last day when it has no such day.
type Deadline struct {
	Months, Days int
}

// LegalDeadline is the Law on Postal Services' two months.
var LegalDeadline = Deadline{Months: 2}

// ParseDeadline reads a deadline written as months ("2mo") or days ("15d"), at most the
// law's two months.
func ParseDeadline(s string) (Deadline, error) {
	digits, months := strings.CutSuffix(s, "mo")
	if !months {
		var days bool
		if digits, days = strings.CutSuffix(s, "d"); !days {
			return Deadline{}, fmt.Errorf("must be months (2mo) or days (15d)")
		}
	}
	n, err := strconv.Atoi(digits)
	d := Deadline{Days: n}
	if months {
		d = Deadline{Months: n}
	}
	if err != nil || n < 1 || d.longerThan(LegalDeadline) {
		return Deadline{}, fmt.Errorf("must be at least one day and at most the law's two months (2mo, or 59d)")
	}
	return d, nil
}

// longerThan reports whether d can run past other: days against other's shortest months.
func (d Deadline) longerThan(other Deadline) bool {
	if d.Months > 0 {
		return d.Months > other.Months
	}
	// Two months from a day in December or January can be as short as 59 days.
	return d.Days > other.Months*30-1
}

func (d Deadline) String() string {
	if d.Months > 0 {
		return strconv.Itoa(d.Months) + "mo"
	}
	return strconv.Itoa(d.Days) + "d"
}

// LastDay is the civil date (as domain.DateOf gives it) of the deadline's last day for a
// complaint filed at filed.
func (d Deadline) LastDay(filed time.Time) time.Time {
	day := domain.DateOf(filed)
	if d.Months == 0 {
		return day.AddDate(0, 0, d.Days)
	}
	y, m, dd := day.Date()
	first := time.Date(y, m+time.Month(d.Months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(dd, last), 0, 0, 0, 0, time.UTC)
}

// Due is the instant an answer to a complaint filed at filed becomes late: the end of the
// deadline's last day in Vietnam.
func (d Deadline) Due(filed time.Time) time.Time {
	return domain.Midnight(d.LastDay(filed).AddDate(0, 0, 1))
}
