package dossier_test

import (
	"testing"

	"courierd/domain/dossier"
)

// wantTaskMachine is a field stop's life, written out independently of task.go: planned,
// given to a courier (or taken back), started, then done or failed; a failed stop is
// planned again or dropped. Open and planned stops may be completed without a courier,
// when post-office staff do the stop themselves; a stop under way can only end.
var wantTaskMachine = map[dossier.TaskState]map[dossier.TaskEvent]dossier.TaskState{
	dossier.TaskOpen: {
		dossier.TaskEventSchedule: dossier.TaskScheduled,
		dossier.TaskEventAssign:   dossier.TaskAssigned,
		dossier.TaskEventComplete: dossier.TaskDone,
		dossier.TaskEventCancel:   dossier.TaskCancelled,
	},
	dossier.TaskScheduled: {
		dossier.TaskEventSchedule: dossier.TaskScheduled,
		dossier.TaskEventAssign:   dossier.TaskAssigned,
		dossier.TaskEventComplete: dossier.TaskDone,
		dossier.TaskEventCancel:   dossier.TaskCancelled,
	},
	dossier.TaskAssigned: {
		dossier.TaskEventAssign:   dossier.TaskAssigned,
		dossier.TaskEventSchedule: dossier.TaskScheduled, // moved to another day, unassigned
		dossier.TaskEventUnassign: dossier.TaskScheduled,
		dossier.TaskEventStart:    dossier.TaskInProgress,
		dossier.TaskEventComplete: dossier.TaskDone,
		dossier.TaskEventFail:     dossier.TaskFailed,
		dossier.TaskEventCancel:   dossier.TaskCancelled,
	},
	dossier.TaskInProgress: {
		dossier.TaskEventAssign:   dossier.TaskAssigned, // the post office reassigns it
		dossier.TaskEventSchedule: dossier.TaskScheduled,
		dossier.TaskEventUnassign: dossier.TaskScheduled,
		dossier.TaskEventStart:    dossier.TaskInProgress, // set out again: no change
		dossier.TaskEventComplete: dossier.TaskDone,
		dossier.TaskEventFail:     dossier.TaskFailed,
		dossier.TaskEventCancel:   dossier.TaskCancelled,
	},
	dossier.TaskFailed: {
		dossier.TaskEventSchedule: dossier.TaskScheduled,
		dossier.TaskEventAssign:   dossier.TaskAssigned,
		dossier.TaskEventCancel:   dossier.TaskCancelled,
	},
	dossier.TaskDone:      {},
	dossier.TaskCancelled: {},
}

func TestTaskMachine(t *testing.T) {
	m := machine[dossier.TaskState, dossier.TaskEvent]{states: dossier.TaskStates, events: dossier.TaskEvents,
		next: dossier.NextTask, want: wantTaskMachine,
		initial: []dossier.TaskState{dossier.TaskOpen},
		final:   []dossier.TaskState{dossier.TaskDone, dossier.TaskCancelled}}
	m.checkExhaustive(t)
	m.checkShape(t)
}
