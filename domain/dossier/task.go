package dossier

import (
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// FailureReason is why a pickup or delivery attempt failed.
type FailureReason string

const (
	FailNotAtHome       FailureReason = "not_at_home"
	FailRefused         FailureReason = "refused"
	FailWrongAddress    FailureReason = "wrong_address"
	FailIdentityUnknown FailureReason = "identity_not_proven"
	FailOther           FailureReason = "other"
)

// Slot is the part of the scheduled day the applicant will be there, in minutes after
// midnight, Vietnam time.
type Slot struct{ StartMin, EndMin int }

// Task is one field stop of a dossier. Version grows on every change, so that a device or
// a dispatcher acting on an old copy is told instead of overwriting.
type Task struct {
	ID           uuid.UUID
	DossierID    uuid.UUID
	PostOfficeID uuid.UUID
	Kind         TaskKind
	State        TaskState
	CourierID    uuid.UUID
	ScheduledFor *time.Time
	Slot         *Slot
	// RouteSeq and PlannedArrival place the stop in its courier's published route: its
	// position (from 1) and when the courier is expected there. Nil when it was assigned
	// outside a plan.
	RouteSeq       *int
	PlannedArrival *time.Time
	// RouteTrip is the stop's trip in that route (from 1), and ReloadArrival and
	// ReloadDeparture, on the first stop of a trip after the first, when the courier is
	// back at the post office to reload before it and leaves again.
	RouteTrip                      *int
	ReloadArrival, ReloadDeparture *time.Time
	Attempts                       int
	FailureReason                  FailureReason
	Version                        int
	UpdatedAt                      time.Time
}

// unroute takes the task out of its courier's published route.
func (t *Task) unroute() {
	t.RouteSeq, t.PlannedArrival, t.RouteTrip, t.ReloadArrival, t.ReloadDeparture = nil, nil, nil, nil, nil
}

// apply moves the task by event, bumping its version.
func (t *Task) apply(e TaskEvent, now time.Time) error {
	next, err := NextTask(t.State, e)
	if err != nil {
		return err
	}
	t.State, t.Version, t.UpdatedAt = next, t.Version+1, now
	return nil
}

// TaskFilter narrows a task list; zero fields do not filter.
type TaskFilter struct {
	Kind          TaskKind
	State         TaskState
	CourierID     uuid.UUID
	PostOfficeIDs []uuid.UUID
	ScheduledFor  time.Time
}

// taskOf finds the dossier's task of kind.
func taskOf(tasks []Task, kind TaskKind) (*Task, error) {
	for i := range tasks {
		if tasks[i].Kind == kind {
			return &tasks[i], nil
		}
	}
	return nil, domain.Errorf(CodeInvalidTransition, "this dossier has no %s stop", kind)
}
