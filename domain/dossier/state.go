package dossier

import (
	"slices"

	"courierd/domain"
)

// CodeInvalidTransition is an event the current state does not allow.
const CodeInvalidTransition domain.Code = "INVALID_TRANSITION"

// State is where a dossier stands on its way from the applicant to the agency and back.
type State string

const (
	StateRequested           State = "requested"             // pickup asked for, not yet planned
	StateScheduled           State = "scheduled"             // pickup planned for a day
	StateAssigned            State = "assigned"              // pickup given to a courier
	StatePickedUp            State = "picked_up"             // a courier holds the dossier
	StateAtPostOffice        State = "at_post_office"        // the dossier waits at the post office for the agency
	StateHandedToAgency      State = "handed_to_agency"      // the agency has received it: the legal clock runs
	StateRejectedIncomplete  State = "rejected_incomplete"   // the agency refused it as incomplete; it goes back to the applicant
	StateInProcessing        State = "in_processing"         // the agency accepted it and is working on it
	StateResultReady         State = "result_ready"          // the result waits at the agency
	StateResultAtPostOffice  State = "result_at_post_office" // the result (or the refused dossier) waits at the post office
	StateOutForDelivery      State = "out_for_delivery"      // a courier carries it to the applicant
	StateDelivered           State = "delivered"             // the applicant, or their proxy, has it
	StateDeliveryFailed      State = "delivery_failed"       // an attempt failed, with a reason
	StateRedeliveryScheduled State = "redelivery_scheduled"  // another attempt is planned
	StateHeldAtPostOffice    State = "held_at_post_office"   // kept for the applicant to collect, until the hold expires
	StateReturnedToAgency    State = "returned_to_agency"    // never collected; sent back
	StateCancelled           State = "cancelled"             // withdrawn before pickup
)

// States lists every dossier state.
var States = []State{StateRequested, StateScheduled, StateAssigned, StatePickedUp, StateAtPostOffice,
	StateHandedToAgency, StateRejectedIncomplete, StateInProcessing, StateResultReady, StateResultAtPostOffice,
	StateOutForDelivery, StateDelivered, StateDeliveryFailed, StateRedeliveryScheduled, StateHeldAtPostOffice,
	StateReturnedToAgency, StateCancelled}

// Event is something that happens to a dossier.
type Event string

const (
	EventSchedulePickup     Event = "schedule_pickup"
	EventAssignPickup       Event = "assign_pickup"
	EventSetOut             Event = "set_out" // the courier set out for the pickup
	EventPickUp             Event = "pick_up"
	EventPickupFailed       Event = "pickup_failed"
	EventArrivePostOffice   Event = "arrive_post_office"
	EventHandToAgency       Event = "hand_to_agency"
	EventAgencyAccept       Event = "agency_accept"
	EventAgencyReject       Event = "agency_reject"
	EventResultReady        Event = "result_ready"
	EventCollectResult      Event = "collect_result"
	EventAssignCollection   Event = "assign_collection"
	EventDispatchDelivery   Event = "dispatch_delivery"
	EventHandToCourier      Event = "hand_to_courier" // the courier takes the result from the post office
	EventDeliver            Event = "deliver"
	EventDeliveryFail       Event = "delivery_fail"
	EventScheduleRedelivery Event = "schedule_redelivery"
	EventHold               Event = "hold"
	EventCollectAtCounter   Event = "collect_at_counter"
	EventCollectAtAgency    Event = "collect_at_agency"
	EventReturnToAgency     Event = "return_to_agency"
	EventCancel             Event = "cancel"
	EventChooseDelivery     Event = "choose_delivery" // the applicant chose how to receive the result
)

// Events lists every dossier event; eventRules (eventtable.go) says what each one does.
var Events = []Event{EventSchedulePickup, EventAssignPickup, EventSetOut, EventPickUp, EventPickupFailed, EventArrivePostOffice,
	EventHandToAgency, EventAgencyAccept, EventAgencyReject, EventResultReady, EventCollectResult, EventAssignCollection, EventDispatchDelivery,
	EventHandToCourier, EventDeliver, EventDeliveryFail, EventScheduleRedelivery, EventHold, EventCollectAtCounter, EventCollectAtAgency,
	EventReturnToAgency, EventCancel, EventChooseDelivery}

// Next is the state event leads to from s (its row's Moves), or INVALID_TRANSITION.
func Next(s State, e Event) (State, error) {
	if to, ok := eventRules[e].Moves[s]; ok {
		return to, nil
	}
	return "", domain.Errorf(CodeInvalidTransition, "a dossier that is %s cannot take the event %s", s, e)
}

// Final reports whether nothing more can happen to a dossier in s: no event moves it on.
// An unknown state is not final, it is wrong.
func (s State) Final() bool {
	if !slices.Contains(States, s) {
		return false
	}
	for _, rule := range eventRules {
		if _, exits := rule.Moves[s]; exits {
			return false
		}
	}
	return true
}

// FinalStates are the states nothing more can happen in.
func FinalStates() []State {
	var out []State
	for _, s := range States {
		if s.Final() {
			out = append(out, s)
		}
	}
	return out
}

// TaskKind is a field stop.
type TaskKind string

const (
	TaskPickup     TaskKind = "pickup"     // collect the dossier at the applicant's address
	TaskDropoff    TaskKind = "dropoff"    // hand the dossier to the agency
	TaskCollection TaskKind = "collection" // collect the result at the agency
	TaskDelivery   TaskKind = "delivery"   // hand the result to the applicant
)

// TaskState is where a field task stands.
type TaskState string

const (
	TaskOpen       TaskState = "open"        // known, not planned
	TaskScheduled  TaskState = "scheduled"   // planned for a day
	TaskAssigned   TaskState = "assigned"    // given to a courier
	TaskInProgress TaskState = "in_progress" // the courier is on the way
	TaskDone       TaskState = "done"
	TaskFailed     TaskState = "failed" // an attempt failed; it can be planned again
	TaskCancelled  TaskState = "cancelled"
)

// TaskStates lists every task state.
var TaskStates = []TaskState{TaskOpen, TaskScheduled, TaskAssigned, TaskInProgress, TaskDone, TaskFailed, TaskCancelled}

// LiveTaskStates are the states of a stop that holds its place in a slot: not yet made,
// failed or called off. (The partial index tasks_slot_use_idx repeats them in SQL.)
var LiveTaskStates = []TaskState{TaskOpen, TaskScheduled, TaskAssigned, TaskInProgress}

// FinishedTaskStates are the states a task never leaves.
var FinishedTaskStates = []TaskState{TaskDone, TaskCancelled}

// TaskEvent is something that happens to a task.
type TaskEvent string

const (
	TaskEventSchedule TaskEvent = "schedule"
	TaskEventAssign   TaskEvent = "assign"
	TaskEventUnassign TaskEvent = "unassign"
	TaskEventStart    TaskEvent = "start"
	TaskEventComplete TaskEvent = "complete"
	TaskEventFail     TaskEvent = "fail"
	TaskEventCancel   TaskEvent = "cancel"
)

// TaskEvents lists every task event.
var TaskEvents = []TaskEvent{TaskEventSchedule, TaskEventAssign, TaskEventUnassign, TaskEventStart, TaskEventComplete, TaskEventFail, TaskEventCancel}

var taskTransitions = map[TaskState]map[TaskEvent]TaskState{
	// Open and scheduled tasks complete without a courier when post-office staff do the
	// stop themselves: a batch handed to the agency, a result collected by the office.
	TaskOpen:      {TaskEventSchedule: TaskScheduled, TaskEventAssign: TaskAssigned, TaskEventComplete: TaskDone, TaskEventCancel: TaskCancelled},
	TaskScheduled: {TaskEventSchedule: TaskScheduled, TaskEventAssign: TaskAssigned, TaskEventComplete: TaskDone, TaskEventCancel: TaskCancelled},
	TaskAssigned:  {TaskEventAssign: TaskAssigned, TaskEventSchedule: TaskScheduled, TaskEventUnassign: TaskScheduled, TaskEventStart: TaskInProgress, TaskEventComplete: TaskDone, TaskEventFail: TaskFailed, TaskEventCancel: TaskCancelled},
	// The courier is on the way; the post office can still move, reassign or call it off
	// (the applicant no longer can), and a second "set out" changes nothing.
	TaskInProgress: {TaskEventAssign: TaskAssigned, TaskEventSchedule: TaskScheduled, TaskEventUnassign: TaskScheduled, TaskEventStart: TaskInProgress,
		TaskEventComplete: TaskDone, TaskEventFail: TaskFailed, TaskEventCancel: TaskCancelled},
	TaskFailed:    {TaskEventSchedule: TaskScheduled, TaskEventAssign: TaskAssigned, TaskEventCancel: TaskCancelled},
	TaskDone:      {},
	TaskCancelled: {},
}

// NextTask is the state a task event leads to, or INVALID_TRANSITION.
func NextTask(s TaskState, e TaskEvent) (TaskState, error) {
	if to, ok := taskTransitions[s][e]; ok {
		return to, nil
	}
	return "", domain.Errorf(CodeInvalidTransition, "a task that is %s cannot take the event %s", s, e)
}
