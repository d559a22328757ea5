package dispatch

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/dossier"
)

// plannedDay is a generated route as the solver would time it: stops one after another
// from 08:00, some with a slot the plan meets (waiting for it to open when early).
func plannedDay(r *rand.Rand, day time.Time) []PlannedStop {
	midnight := domain.Midnight(day)
	at := midnight.Add(8*time.Hour + time.Duration(r.IntN(60))*time.Minute)
	var out []PlannedStop
	for range 1 + r.IntN(8) {
		st := PlannedStop{StopRef: StopRef{TaskID: uuid.New(), DossierID: uuid.New()}, Arrival: at, Start: at}
		if r.IntN(2) == 0 {
			open := at.Add(time.Duration(r.IntN(60)-30) * time.Minute)
			st.Start = later(at, open)
			end := st.Start.Add(time.Duration(10+r.IntN(110)) * time.Minute)
			st.Slot = &dossier.Slot{StartMin: int(open.Sub(midnight) / time.Minute), EndMin: int(end.Sub(midnight) / time.Minute)}
			st.Start = later(at, midnight.Add(time.Duration(st.Slot.StartMin)*time.Minute))
		}
		st.Departure = st.Start.Add(10 * time.Minute)
		out = append(out, st)
		at = st.Departure.Add(time.Duration(3+r.IntN(30)) * time.Minute)
	}
	return out
}

type cause struct {
	kind AlertKind
	task uuid.UUID
}

func causes(ds []Delay) map[cause]Delay {
	out := map[cause]Delay{}
	for _, d := range ds {
		out[cause{d.Kind, d.TaskID}] = d
	}
	return out
}

// TestDelays: over generated routes and times, a courier on time raises nothing; a
// courier's alert fires exactly when the delay carried to some stop reaches the threshold,
// and with no slot to wait for, the lateness is the time past the next stop's arrival; a
// stop's alert names a deadline within the threshold that the prediction misses; and time
// passing only ever adds causes, so that a cause raised stays true until dealt with.
func TestDelays(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 4))
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	th := DelayThresholds{CourierLate: 20 * time.Minute, StopDeadline: 30 * time.Minute}
	courier := uuid.New()
	for i := range 2000 {
		left := plannedDay(r, day)
		early := left[0].Arrival.Add(-time.Duration(r.IntN(120)) * time.Minute)
		if got := Delays(courier, day, left, early, th); len(got) != 0 {
			t.Fatalf("case %d: a courier before their first stop raised %+v", i, got)
		}
		behind := time.Duration(r.IntN(240)) * time.Minute
		now := left[0].Arrival.Add(behind)
		got := Delays(courier, day, left, now, th)
		all := causes(got)
		late, lateFired := all[cause{AlertCourierLate, uuid.Nil}]
		if left[0].Start.Equal(left[0].Arrival) {
			if lateFired != (behind >= th.CourierLate) || (lateFired && late.Late != behind) {
				t.Fatalf("case %d: %v behind the first stop, courier alert %v %+v", i, behind, lateFired, late)
			}
		}
		if behind < th.CourierLate && lateFired {
			t.Fatalf("case %d: %v behind cannot make the route later than that: %+v", i, behind, late)
		}
		if lateFired && late.Action != ActionMoveStops {
			t.Fatalf("case %d: a late courier's alert proposes %s", i, late.Action)
		}
		for c, d := range all {
			if c.kind != AlertStopDeadline {
				continue
			}
			if d.Due == nil || d.Due.Sub(now) > th.StopDeadline || d.Late <= 0 || d.Action != ActionCallApplicant {
				t.Fatalf("case %d: a stop's alert at %v: %+v", i, now, d)
			}
		}
		// Later, every cause still holds.
		after := causes(Delays(courier, day, left, now.Add(time.Duration(1+r.IntN(90))*time.Minute), th))
		for c := range all {
			if _, ok := after[c]; !ok {
				t.Fatalf("case %d: cause %v vanished as time passed", i, c)
			}
		}
	}
	if got := Delays(courier, day, nil, time.Now(), th); got != nil {
		t.Fatalf("a route with nothing left raised %+v", got)
	}
}

// TestDelaysWaitAbsorbs: time the plan had the courier wait for a slot to open absorbs
// delay. At 09:05 the courier is 65 minutes behind the 08:00 stop; the next stop, planned
// for 08:20 and waiting until its 09:00 slot opens, is now reached at 09:25, 25 minutes
// late, and the one after it, planned at 09:05 in a slot ending 09:35, at 09:30: the
// courier is late, neither stop is.
func TestDelaysWaitAbsorbs(t *testing.T) {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time {
		return domain.Midnight(day).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	left := []PlannedStop{
		{StopRef: StopRef{TaskID: uuid.New()}, Arrival: at(8, 0), Start: at(8, 0), Departure: at(8, 10)},
		{StopRef: StopRef{TaskID: uuid.New(), Slot: &dossier.Slot{StartMin: 9 * 60, EndMin: 9*60 + 30}}, Arrival: at(8, 20), Start: at(9, 0), Departure: at(9, 2)},
		{StopRef: StopRef{TaskID: uuid.New(), Slot: &dossier.Slot{StartMin: 8 * 60, EndMin: 9*60 + 35}}, Arrival: at(9, 5), Start: at(9, 5), Departure: at(9, 10)},
	}
	got := Delays(uuid.New(), day, left, at(9, 5), DelayThresholds{CourierLate: 20 * time.Minute, StopDeadline: 30 * time.Minute})
	if len(got) != 1 || got[0].Kind != AlertCourierLate || got[0].Late != 65*time.Minute {
		t.Fatalf("got %+v, want the courier 65 minutes late and the slotted stop on time", got)
	}
}
