package dossier_test

import (
	"slices"
	"testing"

	"courierd/domain/dossier"
)

// TestTaskStateLists: storage binds these lists in its SQL. The finished states are those
// no task event leaves; the live ones (holding a slot) are the rest but a failed stop.
func TestTaskStateLists(t *testing.T) {
	var finished, live []dossier.TaskState
	for _, s := range dossier.TaskStates {
		leaves := slices.ContainsFunc(dossier.TaskEvents, func(e dossier.TaskEvent) bool {
			_, err := dossier.NextTask(s, e)
			return err == nil
		})
		switch {
		case !leaves:
			finished = append(finished, s)
		case s != dossier.TaskFailed:
			live = append(live, s)
		}
	}
	if !slices.Equal(dossier.FinishedTaskStates, finished) {
		t.Errorf("FinishedTaskStates %v; no event leaves %v", dossier.FinishedTaskStates, finished)
	}
	if !slices.Equal(dossier.LiveTaskStates, live) {
		t.Errorf("LiveTaskStates %v; want %v", dossier.LiveTaskStates, live)
	}
}
