package dispatch

import (
	"slices"
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

// TestPlannableLists: storage reads only stops of PlannableKinds in PlannableTaskStates,
// so each listed kind and state must be plannable for some dossier (the lists are no
// wider than the rule), and the states are every state but the finished and the under way.
func TestPlannableLists(t *testing.T) {
	kinds := map[dossier.TaskKind]bool{}
	states := map[dossier.TaskState]bool{}
	for _, kind := range []dossier.TaskKind{dossier.TaskPickup, dossier.TaskDropoff, dossier.TaskCollection, dossier.TaskDelivery} {
		for _, ts := range dossier.TaskStates {
			for _, ds := range dossier.States {
				for _, holder := range []dossier.PartyKind{dossier.PartyPostOffice, dossier.PartyCourier, dossier.PartyAgency} {
					for _, choice := range []dossier.DeliveryChoice{"", dossier.ChoiceHome, dossier.ChoicePostOffice} {
						for _, ret := range []bool{false, true} {
							d := dossier.Dossier{State: ds, Holder: dossier.Party{Kind: holder}, DeliveryChoice: choice, Return: ret}
							if plannable(d, dossier.Task{Kind: kind, State: ts}) {
								kinds[kind], states[ts] = true, true
							}
						}
					}
				}
			}
		}
	}
	for _, k := range PlannableKinds {
		if !kinds[k] {
			t.Errorf("no stop of kind %s is ever plannable", k)
		}
	}
	if len(kinds) != len(PlannableKinds) {
		t.Errorf("plannable kinds %v; PlannableKinds %v", kinds, PlannableKinds)
	}
	var want []dossier.TaskState
	for _, s := range dossier.TaskStates {
		if !slices.Contains(dossier.FinishedTaskStates, s) && s != dossier.TaskInProgress {
			want = append(want, s)
			if !states[s] {
				t.Errorf("no stop in state %s is ever plannable", s)
			}
		}
	}
	if !slices.Equal(PlannableTaskStates, want) {
		t.Errorf("PlannableTaskStates %v; want every state but the finished and the under way: %v", PlannableTaskStates, want)
	}
}
