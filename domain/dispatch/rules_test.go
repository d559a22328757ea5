package dispatch

import (
	"testing"
	"time"

	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// TestRiskOn: a deadline before the day is overdue, on it due today, within the warning's
// working days at risk (a weekend and a holiday do not count), later on track.
func TestRiskOn(t *testing.T) {
	// Friday 2 January 2026; Monday 5 January a holiday for the test.
	friday := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	cal := catalog.NewCalendar([]catalog.CalendarDay{{Date: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Kind: catalog.DayHoliday}})
	clock := dossier.ClockConfig{AtRiskDays: 1}
	day := func(d int) *time.Time { t := friday.AddDate(0, 0, d); return &t }
	for _, tc := range []struct {
		deadline *time.Time
		want     Risk
	}{
		{nil, RiskOnTrack},
		{day(-1), RiskOverdue},
		{day(0), RiskDueToday},
		{day(3), RiskAtRisk}, // Monday is a holiday: Tuesday is the next working day
		{day(4), RiskAtRisk},
		{day(5), RiskOnTrack},
	} {
		if got := riskOn(tc.deadline, friday, cal, clock); got != tc.want {
			t.Errorf("deadline %v on %v: %s, want %s", tc.deadline, friday.Format(time.DateOnly), got, tc.want)
		}
	}
}

// TestPlannable: a plan takes pickups not yet made, results to collect at the agency for a
// dossier returned by post, and results at the post office itself; nothing done, cancelled,
// under way or in a courier's bag.
func TestPlannable(t *testing.T) {
	atOffice := dossier.Party{Kind: dossier.PartyPostOffice}
	inBag := dossier.Party{Kind: dossier.PartyCourier}
	for _, tc := range []struct {
		name  string
		d     dossier.Dossier
		t     dossier.Task
		wants bool
	}{
		{"a requested pickup", dossier.Dossier{State: dossier.StateRequested}, dossier.Task{Kind: dossier.TaskPickup, State: dossier.TaskOpen}, true},
		{"an assigned pickup, planned again", dossier.Dossier{State: dossier.StateAssigned}, dossier.Task{Kind: dossier.TaskPickup, State: dossier.TaskAssigned}, true},
		{"a pickup made", dossier.Dossier{State: dossier.StatePickedUp}, dossier.Task{Kind: dossier.TaskPickup, State: dossier.TaskDone}, false},
		{"a pickup under way", dossier.Dossier{State: dossier.StateAssigned}, dossier.Task{Kind: dossier.TaskPickup, State: dossier.TaskInProgress}, false},
		{"a result ready, returned by post", dossier.Dossier{State: dossier.StateResultReady, Return: true}, dossier.Task{Kind: dossier.TaskCollection, State: dossier.TaskOpen}, true},
		{"a result ready, fetched by the applicant", dossier.Dossier{State: dossier.StateResultReady}, dossier.Task{Kind: dossier.TaskCollection, State: dossier.TaskOpen}, false},
		{"a result still in processing", dossier.Dossier{State: dossier.StateInProcessing, Return: true}, dossier.Task{Kind: dossier.TaskCollection, State: dossier.TaskOpen}, false},
		{"a result on the shelf", dossier.Dossier{State: dossier.StateResultAtPostOffice, Holder: atOffice}, dossier.Task{Kind: dossier.TaskDelivery, State: dossier.TaskOpen}, true},
		{"a result in a courier's bag", dossier.Dossier{State: dossier.StateResultAtPostOffice, Holder: inBag}, dossier.Task{Kind: dossier.TaskDelivery, State: dossier.TaskOpen}, false},
		{"a redelivery", dossier.Dossier{State: dossier.StateRedeliveryScheduled, Holder: atOffice}, dossier.Task{Kind: dossier.TaskDelivery, State: dossier.TaskFailed}, true},
		{"a delivery out", dossier.Dossier{State: dossier.StateOutForDelivery, Holder: inBag}, dossier.Task{Kind: dossier.TaskDelivery, State: dossier.TaskAssigned}, false},
		{"a cancelled dossier", dossier.Dossier{State: dossier.StateCancelled}, dossier.Task{Kind: dossier.TaskPickup, State: dossier.TaskCancelled}, false},
	} {
		if got := plannable(tc.d, tc.t); got != tc.wants {
			t.Errorf("%s: plannable %v, want %v", tc.name, got, tc.wants)
		}
	}
}
