package dossier_test

import (
	"testing"
	"time"

	"courierd/domain"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

func date(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// clockDates gives every clock field a different date, so a wrong answer names itself.
var clockDates = map[string]time.Time{
	"pickup_due":       date("2026-05-04"),
	"received_at":      date("2026-05-05"),
	"appointment_date": date("2026-05-20"),
	"result_ready_at":  date("2026-05-18"),
	"delivery_due":     date("2026-05-25"),
	"held_until":       date("2026-06-01"),
	"delivered_at":     date("2026-05-26"),
}

func clockedDossier(s dossier.State, ret bool) dossier.Dossier {
	at := func(name string) *time.Time { return ptrTo(clockDates[name]) }
	return dossier.Dossier{State: s, Pickup: true, Return: ret, Clock: dossier.Clock{
		PickupDue: at("pickup_due"), ReceivedAt: at("received_at"), AppointmentDate: at("appointment_date"),
		ResultReadyAt: at("result_ready_at"), DeliveryDue: at("delivery_due"), HeldUntil: at("held_until"),
		DeliveredAt: at("delivered_at")}}
}

func TestNextDeadline(t *testing.T) {
	// Which date the current leg is judged by; "" is none. withReturn and withoutReturn
	// differ only on the way back, which the post runs only when it brings the result.
	groups := []struct {
		name                      string
		states                    []dossier.State
		withReturn, withoutReturn string
	}{
		{"the pickup leg runs to pickup_due", []dossier.State{dossier.StateRequested, dossier.StateScheduled,
			dossier.StateAssigned, dossier.StatePickedUp, dossier.StateAtPostOffice}, "pickup_due", "pickup_due"},
		{"at the agency the legal appointment date", []dossier.State{dossier.StateHandedToAgency,
			dossier.StateInProcessing}, "appointment_date", "appointment_date"},
		{"the way back runs to delivery_due when the post returns it", []dossier.State{dossier.StateResultReady,
			dossier.StateRejectedIncomplete, dossier.StateResultAtPostOffice, dossier.StateOutForDelivery,
			dossier.StateDeliveryFailed, dossier.StateRedeliveryScheduled}, "delivery_due", ""},
		{"a held result until the hold ends", []dossier.State{dossier.StateHeldAtPostOffice}, "held_until", "held_until"},
		{"nothing is due once final", []dossier.State{dossier.StateDelivered, dossier.StateReturnedToAgency,
			dossier.StateCancelled}, "", ""},
	}
	covered := map[dossier.State]bool{}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, s := range g.states {
				covered[s] = true
				for _, ret := range []bool{true, false} {
					want := g.withReturn
					if !ret {
						want = g.withoutReturn
					}
					d := clockedDossier(s, ret)
					got := d.NextDeadline()
					switch {
					case want == "" && got != nil:
						t.Errorf("%s (return %v): NextDeadline = %s, want none", s, ret, got.Format(time.DateOnly))
					case want != "" && (got == nil || !got.Equal(clockDates[want])):
						t.Errorf("%s (return %v): NextDeadline = %v, want %s (%s)", s, ret, got, want, clockDates[want].Format(time.DateOnly))
					}
				}
			}
		})
	}
	for _, s := range dossier.States {
		if !covered[s] {
			t.Errorf("state %s has no expected deadline in this test", s)
		}
	}

	t.Run("a date not yet set is no deadline", func(t *testing.T) {
		// A dossier lodged at the agency never had a pickup date; a missing date must not
		// turn into some other field's.
		for _, s := range dossier.States {
			d := dossier.Dossier{State: s, Return: true}
			if got := d.NextDeadline(); got != nil {
				t.Errorf("%s with an empty clock: NextDeadline = %v, want nil", s, got)
			}
		}
	})
}

// mayDays2026 is the calendar around 30/4 and 1/5 in 2026: Reunification Day (Thursday)
// and Labour Day (Friday) run into the weekend; Monday 27/4 is the day off for Hùng
// Kings' day, which fell on Sunday.
var mayDays2026 = catalog.NewCalendar([]catalog.CalendarDay{
	{Date: date("2026-04-27"), Kind: catalog.DayOff, Name: "nghỉ bù Giỗ Tổ Hùng Vương"},
	{Date: date("2026-04-30"), Kind: catalog.DayHoliday, Name: "Ngày Giải phóng miền Nam"},
	{Date: date("2026-05-01"), Kind: catalog.DayHoliday, Name: "Quốc tế Lao động"},
})

func TestDueRange(t *testing.T) {
	utc := func(s string) time.Time {
		at, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			panic(err)
		}
		return at
	}
	ict := func(s string) time.Time {
		at, err := time.ParseInLocation("2006-01-02 15:04", s, domain.Vietnam)
		if err != nil {
			panic(err)
		}
		return at
	}
	oneDay := dossier.DefaultClock
	twoDays := dossier.DefaultClock
	twoDays.AtRiskDays = 2
	open := time.Time{}

	type dueCase struct {
		name     string
		now      time.Time
		cfg      dossier.ClockConfig
		from, to time.Time
	}
	groups := []struct {
		due   dossier.Due
		cases []dueCase
	}{
		{dossier.DueToday, []dueCase{
			{"23:30 in Vietnam (16:30 UTC) is still the 29th", utc("2026-04-29 16:30"), oneDay, date("2026-04-29"), date("2026-04-29")},
			{"the same instant given in Vietnam time", ict("2026-04-29 23:30"), oneDay, date("2026-04-29"), date("2026-04-29")},
			{"18:00 UTC on the 29th is already the 30th", utc("2026-04-29 18:00"), oneDay, date("2026-04-30"), date("2026-04-30")},
			{"00:30 in Vietnam, still the 28th in UTC", utc("2026-04-28 17:30"), oneDay, date("2026-04-29"), date("2026-04-29")},
			{"a holiday is still today", utc("2026-04-30 03:00"), oneDay, date("2026-04-30"), date("2026-04-30")},
		}},
		{dossier.DueOverdue, []dueCase{
			{"before the 29th, open at the start", utc("2026-04-29 16:30"), oneDay, open, date("2026-04-28")},
			{"18:00 UTC: the 29th itself is now overdue", utc("2026-04-29 18:00"), oneDay, open, date("2026-04-29")},
			{"across the new year", ict("2026-01-01 08:00"), oneDay, open, date("2025-12-31")},
		}},
		{dossier.DueAtRisk, []dueCase{
			// From the 29th one working day ahead: 30/4 and 1/5 are holidays, then the
			// weekend, so Monday 4/5.
			{"one working day over holidays and a weekend", utc("2026-04-29 16:30"), oneDay, date("2026-04-30"), date("2026-05-04")},
			{"two working days over holidays and a weekend", utc("2026-04-29 16:30"), twoDays, date("2026-04-30"), date("2026-05-05")},
			{"on the holiday itself (Vietnam time)", utc("2026-04-29 18:00"), oneDay, date("2026-05-01"), date("2026-05-04")},
			{"Friday, over the weekend and a day off", ict("2026-04-24 10:00"), oneDay, date("2026-04-25"), date("2026-04-28")},
			{"an ordinary Tuesday", ict("2026-05-05 10:00"), oneDay, date("2026-05-06"), date("2026-05-06")},
		}},
		{"", []dueCase{
			{"no filter selects nothing", utc("2026-04-29 16:30"), oneDay, open, open},
		}},
		{"someday", []dueCase{
			{"an unknown filter selects nothing", utc("2026-04-29 16:30"), oneDay, open, open},
		}},
	}
	for _, g := range groups {
		t.Run(string(g.due), func(t *testing.T) {
			for _, c := range g.cases {
				from, to := dossier.DueRange(g.due, c.now, mayDays2026, c.cfg)
				if !from.Equal(c.from) || !to.Equal(c.to) {
					t.Errorf("%s: DueRange(%s, %s) = [%s, %s], want [%s, %s]", c.name, g.due, c.now.Format(time.RFC3339),
						show(from), show(to), show(c.from), show(c.to))
				}
			}
		})
	}

	t.Run("the three ranges tile the calendar", func(t *testing.T) {
		// For every hour of a year: overdue ends the day before today, at risk starts the
		// day after, and at risk spans exactly AtRiskDays working days, ending on one.
		for _, cfg := range []dossier.ClockConfig{oneDay, twoDays} {
			for at := utc("2026-01-01 00:00"); at.Year() == 2026; at = at.Add(time.Hour) {
				day := domain.DateOf(at)
				tf, tt := dossier.DueRange(dossier.DueToday, at, mayDays2026, cfg)
				of, ot := dossier.DueRange(dossier.DueOverdue, at, mayDays2026, cfg)
				rf, rt := dossier.DueRange(dossier.DueAtRisk, at, mayDays2026, cfg)
				working := 0
				for d := rf; !d.After(rt); d = d.AddDate(0, 0, 1) {
					if mayDays2026.IsWorkingDay(d) {
						working++
					}
				}
				if !tf.Equal(day) || !tt.Equal(day) || !of.IsZero() || !ot.Equal(day.AddDate(0, 0, -1)) ||
					!rf.Equal(day.AddDate(0, 0, 1)) || working != cfg.AtRiskDays || !mayDays2026.IsWorkingDay(rt) {
					t.Fatalf("at %s (AtRiskDays %d): today [%s, %s], overdue [%s, %s], at risk [%s, %s] with %d working days",
						at.Format(time.RFC3339), cfg.AtRiskDays, show(tf), show(tt), show(of), show(ot), show(rf), show(rt), working)
				}
			}
		}
	})
}

func show(d time.Time) string {
	if d.IsZero() {
		return "open"
	}
	return d.UTC().Format("2006-01-02 15:04 MST")
}
