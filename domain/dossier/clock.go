package dossier

import (
	"fmt"
	"time"

	"courierd/domain"
	"courierd/domain/catalog"
)

// ClockConfig holds the targets of the postal legs, in working days, and how close to a
// deadline counts as at risk.
type ClockConfig struct {
	PickupLegDays   int // from the request to the agency's receipt
	DeliveryLegDays int // from the result ready to its delivery
	HoldDays        int // how long a held result waits at the post office (calendar days)
	AtRiskDays      int // a deadline within this many working days is at risk
	MaxAttempts     int // failed deliveries before the result is held
	// HandoverTTL is how long a delivery trip's handover code is good for.
	HandoverTTL time.Duration
	// HorizonDays is how far ahead (calendar days) a pickup, a delivery or a plan may be
	// booked for, whoever books it.
	HorizonDays int
	// Fix: beyond these, a fix recorded at a door is flagged for the dispatcher.
	Fix FixLimits
}

// DefaultClock: two working days for each postal leg, a week's hold, one day's warning,
// two attempts; a handover code good for a day; bookings up to 30 days ahead; a door's fix
// within 500 m of the address, to 200 m.
var DefaultClock = ClockConfig{PickupLegDays: 2, DeliveryLegDays: 2, HoldDays: 7, AtRiskDays: 1, MaxAttempts: 2, HandoverTTL: 24 * time.Hour,
	HorizonDays: 30, Fix: FixLimits{MaxDistanceM: 500, MaxAccuracyM: 200}}

// CheckBookable refuses, as field, a day a stop or a plan cannot be booked for: before
// today, past the horizon, or a day the calendar says nobody works (weekends, Tết and the
// other announced holidays and days off). day and today are civil dates.
func CheckBookable(cal catalog.Calendar, field string, day, today time.Time, horizonDays int) error {
	switch {
	case day.IsZero() || day.Before(today):
		return domain.Invalid(field, "must be today or later, as YYYY-MM-DD")
	case day.After(today.AddDate(0, 0, horizonDays)):
		return domain.Invalid(field, fmt.Sprintf("must be at most %d days ahead", horizonDays))
	case !cal.IsWorkingDay(day):
		return domain.Invalid(field, "must be a working day: not a weekend, a public holiday or an announced day off")
	}
	return nil
}

// Clock is a dossier's dates. Dates are civil dates (midnight UTC, as the calendar's).
type Clock struct {
	PickupDue       *time.Time // the pickup leg's target
	ReceivedAt      *time.Time // when the agency received the dossier
	AppointmentDate *time.Time // the legal promise: processing days after receipt
	ResultReadyAt   *time.Time
	DeliveryDue     *time.Time // the return leg's target
	HeldUntil       *time.Time
	DeliveredAt     *time.Time
}

// ClockEffect is what an event does to a dossier's dates (its row's Clock).
type ClockEffect int

const (
	ClockNone        ClockEffect = iota
	ClockReceived                // the agency received it: the appointment date is set
	ClockResultReady             // the result is ready: the return leg starts
	ClockRejected                // the agency refused it: the refused dossier's return leg starts
	ClockAttempt                 // a delivery attempt failed
	ClockHold                    // held at the counter, until HeldUntil
	ClockDelivered               // the applicant has it
)

// advanceClock sets the dates event e starts or ends.
func (s *Service) advanceClock(d *Dossier, e Event, now time.Time, cal catalog.Calendar, proc catalog.Procedure) {
	local := now.In(domain.Vietnam)
	switch effect := eventRules[e].Clock; effect {
	case ClockReceived:
		d.ReceivedAt, d.AppointmentDate = &now, ptr(cal.AddWorkingDays(local, proc.ProcessingDays))
	case ClockResultReady, ClockRejected:
		d.ResultReadyAt, d.DeliveryDue = &now, ptr(cal.AddWorkingDays(local, s.cfg.DeliveryLegDays))
		d.Rejected = effect == ClockRejected
	case ClockAttempt:
		d.FailedAttempts++
	case ClockHold:
		d.HeldUntil = ptr(civil(now).AddDate(0, 0, s.cfg.HoldDays))
	case ClockDelivered:
		d.DeliveredAt = &now
	}
}

// civil is t's civil date (domain.DateOf) in the pointer form the Clock's fields take.
func civil(t time.Time) *time.Time {
	d := domain.DateOf(t)
	return &d
}

// NextDeadline is the date the dossier's current leg is due by, or nil when nothing is
// due (delivered, returned, cancelled, or waiting on no one).
func (d *Dossier) NextDeadline() *time.Time {
	switch d.State {
	case StateRequested, StateScheduled, StateAssigned, StatePickedUp, StateAtPostOffice:
		return d.PickupDue
	case StateHandedToAgency, StateInProcessing:
		return d.AppointmentDate
	case StateResultReady, StateRejectedIncomplete, StateResultAtPostOffice, StateOutForDelivery,
		StateDeliveryFailed, StateRedeliveryScheduled:
		if d.Return {
			return d.DeliveryDue
		}
	case StateHeldAtPostOffice:
		return d.HeldUntil
	}
	return nil
}

// Due is a deadline filter for lists.
type Due string

const (
	DueToday   Due = "today"
	DueOverdue Due = "overdue"
	DueAtRisk  Due = "at_risk"
)

// DueRange turns a filter into the deadlines it selects, as [from, to] civil dates (a
// zero bound is open).
func DueRange(due Due, today time.Time, cal catalog.Calendar, cfg ClockConfig) (from, to time.Time) {
	day := *civil(today)
	switch due {
	case DueToday:
		return day, day
	case DueOverdue:
		return time.Time{}, day.AddDate(0, 0, -1)
	case DueAtRisk:
		return day.AddDate(0, 0, 1), cal.AddWorkingDays(day, cfg.AtRiskDays)
	}
	return time.Time{}, time.Time{}
}
