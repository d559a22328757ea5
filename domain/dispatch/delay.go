package dispatch

import (
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// AlertKind is a cause of a delay alert. A cause alerts once: a courier once a day, a stop
// once a day, however often the rule is evaluated and by however many processes.
type AlertKind string

const (
	// AlertCourierLate: a courier's route, shifted by the delay observed, ends its stops
	// later than planned by the courier threshold or more.
	AlertCourierLate AlertKind = "courier_late"
	// AlertStopDeadline: a stop's slot ends within the stop threshold (or has ended) and
	// the courier will not be there by then.
	AlertStopDeadline AlertKind = "stop_deadline"
)

// AlertAction is what the console proposes the dispatcher does about an alert.
type AlertAction string

const (
	// ActionMoveStops: give some of the late courier's stops to another courier.
	ActionMoveStops AlertAction = "move_stops"
	// ActionCallApplicant: call the applicant to agree another time.
	ActionCallApplicant AlertAction = "call_applicant"
)

// DelayThresholds are the rule's settings (ALERT_COURIER_LATE, ALERT_STOP_DEADLINE).
type DelayThresholds struct {
	CourierLate  time.Duration
	StopDeadline time.Duration
}

// Delay is one cause found late; for AlertCourierLate TaskID and DossierID are zero.
type Delay struct {
	Kind      AlertKind
	CourierID uuid.UUID
	TaskID    uuid.UUID
	DossierID uuid.UUID
	Late      time.Duration // predicted lateness: the route's, or the stop's past its deadline
	Due       *time.Time    // the stop's deadline
	Action    AlertAction
}

// Delays applies the delay rule to one published route at now. left are the route's
// stops still to do, in the route's order, as planned. The prediction: a courier who has
// not finished the next stop by its planned arrival is at least that much behind, and
// every stop after it moves by as much, less the time the plan had them wait for a slot to
// open (a wait absorbs delay). Pure: the same route and time always give the same causes.
func Delays(courier uuid.UUID, day time.Time, left []PlannedStop, now time.Time, th DelayThresholds) []Delay {
	if len(left) == 0 {
		return nil
	}
	behind := max(now.Sub(left[0].Arrival), 0)
	midnight := domain.Midnight(day)
	var out []Delay
	var routeLate time.Duration
	shift := behind
	for _, st := range left {
		arrival := st.Arrival.Add(shift)
		start := arrival
		if st.Slot != nil {
			start = later(arrival, midnight.Add(time.Duration(st.Slot.StartMin)*time.Minute))
		}
		shift = max(start.Sub(st.Start), 0) // what is left of the delay after any wait
		routeLate = max(routeLate, shift)
		if st.Slot == nil {
			continue
		}
		due := midnight.Add(time.Duration(st.Slot.EndMin) * time.Minute)
		if start.After(due) && due.Sub(now) <= th.StopDeadline {
			out = append(out, Delay{Kind: AlertStopDeadline, CourierID: courier, TaskID: st.TaskID, DossierID: st.DossierID,
				Late: start.Sub(due), Due: &due, Action: ActionCallApplicant})
		}
	}
	if th.CourierLate > 0 && routeLate >= th.CourierLate {
		out = append([]Delay{{Kind: AlertCourierLate, CourierID: courier, Late: routeLate, Action: ActionMoveStops}}, out...)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
