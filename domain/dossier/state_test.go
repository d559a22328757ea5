package dossier_test

import (
	"slices"
	"testing"

	"courierd/domain"
	"courierd/domain/dossier"
)

// wantDossierMachine is the dossier's journey as the postal service runs it, written out
// independently of state.go: pickup (planned, given to a courier, collected or failed),
// the post office, the agency (accepts or refuses as incomplete, also during processing),
// the result (or refused papers) collected back, then delivery, failed attempts, a hold
// at the counter and, if never collected, the return to the agency. Cancelling is only
// possible while the applicant still has the papers.
var wantDossierMachine = map[dossier.State]map[dossier.Event]dossier.State{
	dossier.StateRequested: {
		dossier.EventSchedulePickup: dossier.StateScheduled,
		dossier.EventAssignPickup:   dossier.StateAssigned,
		dossier.EventCancel:         dossier.StateCancelled,
	},
	dossier.StateScheduled: {
		dossier.EventSchedulePickup: dossier.StateScheduled, // moved to another day
		dossier.EventAssignPickup:   dossier.StateAssigned,
		dossier.EventCancel:         dossier.StateCancelled,
	},
	dossier.StateAssigned: {
		dossier.EventAssignPickup:   dossier.StateAssigned, // another courier
		dossier.EventSchedulePickup: dossier.StateScheduled,
		dossier.EventSetOut:         dossier.StateAssigned, // the courier is on the way
		dossier.EventPickUp:         dossier.StatePickedUp,
		dossier.EventPickupFailed:   dossier.StateRequested,
		dossier.EventCancel:         dossier.StateCancelled,
	},
	dossier.StatePickedUp: {
		dossier.EventArrivePostOffice: dossier.StateAtPostOffice,
		dossier.EventHandToAgency:     dossier.StateHandedToAgency, // straight to the agency
	},
	dossier.StateAtPostOffice: {
		dossier.EventHandToAgency: dossier.StateHandedToAgency,
	},
	dossier.StateHandedToAgency: {
		dossier.EventAgencyAccept:     dossier.StateInProcessing,
		dossier.EventAgencyReject:     dossier.StateRejectedIncomplete,
		dossier.EventAssignCollection: dossier.StateHandedToAgency, // a courier sent for the result
		dossier.EventChooseDelivery:   dossier.StateHandedToAgency, // the applicant says how they want the result
	},
	dossier.StateInProcessing: {
		dossier.EventResultReady:      dossier.StateResultReady,
		dossier.EventAgencyReject:     dossier.StateRejectedIncomplete, // a gap found while processing
		dossier.EventAssignCollection: dossier.StateInProcessing,
		dossier.EventChooseDelivery:   dossier.StateInProcessing,
	},
	dossier.StateRejectedIncomplete: {
		dossier.EventCollectResult:    dossier.StateResultAtPostOffice,
		dossier.EventCollectAtAgency:  dossier.StateDelivered, // fetched at the agency's desk
		dossier.EventAssignCollection: dossier.StateRejectedIncomplete,
		dossier.EventChooseDelivery:   dossier.StateRejectedIncomplete,
	},
	dossier.StateResultReady: {
		dossier.EventCollectResult:    dossier.StateResultAtPostOffice,
		dossier.EventCollectAtAgency:  dossier.StateDelivered,
		dossier.EventAssignCollection: dossier.StateResultReady,
		dossier.EventChooseDelivery:   dossier.StateResultReady,
	},
	dossier.StateResultAtPostOffice: {
		dossier.EventDispatchDelivery: dossier.StateOutForDelivery,
		dossier.EventCollectAtCounter: dossier.StateDelivered,
		dossier.EventHold:             dossier.StateHeldAtPostOffice,
		dossier.EventArrivePostOffice: dossier.StateResultAtPostOffice, // a courier collected it
		dossier.EventChooseDelivery:   dossier.StateResultAtPostOffice,
	},
	dossier.StateOutForDelivery: {
		dossier.EventHandToCourier: dossier.StateOutForDelivery, // the courier takes it at the counter
		dossier.EventDeliver:       dossier.StateDelivered,
		dossier.EventDeliveryFail:  dossier.StateDeliveryFailed,
	},
	dossier.StateDeliveryFailed: {
		dossier.EventScheduleRedelivery: dossier.StateRedeliveryScheduled,
		dossier.EventHold:               dossier.StateHeldAtPostOffice,
	},
	dossier.StateRedeliveryScheduled: {
		dossier.EventArrivePostOffice: dossier.StateRedeliveryScheduled, // back from a failed attempt
		dossier.EventDispatchDelivery: dossier.StateOutForDelivery,
		dossier.EventHold:             dossier.StateHeldAtPostOffice,
		dossier.EventChooseDelivery:   dossier.StateRedeliveryScheduled, // another day or slot
	},
	dossier.StateHeldAtPostOffice: {
		dossier.EventArrivePostOffice:   dossier.StateHeldAtPostOffice, // the courier brings it back
		dossier.EventCollectAtCounter:   dossier.StateDelivered,
		dossier.EventScheduleRedelivery: dossier.StateRedeliveryScheduled,
		dossier.EventReturnToAgency:     dossier.StateReturnedToAgency,
	},
	dossier.StateDelivered:        {},
	dossier.StateReturnedToAgency: {},
	dossier.StateCancelled:        {},
}

var (
	dossierInitial = []dossier.State{dossier.StateRequested, dossier.StateHandedToAgency} // with or without pickup
	dossierFinal   = []dossier.State{dossier.StateDelivered, dossier.StateReturnedToAgency, dossier.StateCancelled}
	// beforeAgency are the states in which the post, not the agency, has the papers.
	beforeAgency = []dossier.State{dossier.StateRequested, dossier.StateScheduled, dossier.StateAssigned,
		dossier.StatePickedUp, dossier.StateAtPostOffice}
)

// machine is what the dossier and the task machines have in common, so that one set of
// checks serves both.
type machine[S, E ~string] struct {
	states  []S
	events  []E
	next    func(S, E) (S, error)
	want    map[S]map[E]S
	initial []S
	final   []S
}

// checkExhaustive tries every state with every event, grouped by outcome.
func (m machine[S, E]) checkExhaustive(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		n := 0
		for _, s := range m.states {
			for _, e := range m.events {
				to, ok := m.want[s][e]
				if !ok {
					continue
				}
				n++
				got, err := m.next(s, e)
				if err != nil || got != to {
					t.Errorf("%s --%s--> %q, %v; want %s", s, e, got, err, to)
				}
			}
		}
		if n == 0 {
			t.Fatal("no allowed transitions checked")
		}
	})
	t.Run("refused", func(t *testing.T) {
		n := 0
		for _, s := range m.states {
			for _, e := range m.events {
				if _, ok := m.want[s][e]; ok {
					continue
				}
				n++
				got, err := m.next(s, e)
				if err == nil {
					t.Errorf("%s --%s--> %s; want INVALID_TRANSITION", s, e, got)
				} else if code := domain.ErrorCode(err); code != dossier.CodeInvalidTransition || got != "" {
					t.Errorf("%s --%s--> %q, code %s; want \"\" and %s", s, e, got, code, dossier.CodeInvalidTransition)
				}
			}
		}
		if n == 0 {
			t.Fatal("no refused transitions checked")
		}
	})
	t.Run("unknown state or event", func(t *testing.T) {
		cases := []struct {
			s S
			e E
		}{{"", m.events[0]}, {"bogus", m.events[0]}, {m.states[0], ""}, {m.states[0], "bogus"}, {"", ""}}
		for _, c := range cases {
			if got, err := m.next(c.s, c.e); domain.ErrorCode(err) != dossier.CodeInvalidTransition {
				t.Errorf("%q --%q--> %q, %v; want INVALID_TRANSITION", c.s, c.e, got, err)
			}
		}
	})
}

// reach is every state next leads to from the given ones.
func (m machine[S, E]) reach(from ...S) map[S]bool {
	seen := map[S]bool{}
	queue := slices.Clone(from)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		for _, e := range m.events {
			if to, err := m.next(s, e); err == nil {
				queue = append(queue, to)
			}
		}
	}
	return seen
}

// checkShape checks the lists and the graph's properties against the real next.
func (m machine[S, E]) checkShape(t *testing.T) {
	t.Run("lists have no duplicates", func(t *testing.T) {
		if d := duplicates(m.states); len(d) > 0 {
			t.Errorf("states listed twice: %v", d)
		}
		if d := duplicates(m.events); len(d) > 0 {
			t.Errorf("events listed twice: %v", d)
		}
	})
	t.Run("lists cover the expected machine", func(t *testing.T) {
		tableStates, tableEvents := map[S]bool{}, map[E]bool{}
		for s, out := range m.want {
			tableStates[s] = true
			for e, to := range out {
				tableEvents[e], tableStates[to] = true, true
			}
		}
		if got, want := setOf(m.states), tableStates; !sameSet(got, want) {
			t.Errorf("state list %v, want exactly the table's %v", keys(got), keys(want))
		}
		// Every listed event is used somewhere: an event no state accepts is dead code or
		// a forgotten transition.
		if got, want := setOf(m.events), tableEvents; !sameSet(got, want) {
			t.Errorf("event list %v, want exactly the table's %v", keys(got), keys(want))
		}
	})
	t.Run("every state is reachable from an initial state", func(t *testing.T) {
		seen := m.reach(m.initial...)
		for _, s := range m.states {
			if !seen[s] {
				t.Errorf("%s cannot be reached from %v", s, m.initial)
			}
		}
	})
	t.Run("final states have no exits", func(t *testing.T) {
		for _, s := range m.final {
			for _, e := range m.events {
				if to, err := m.next(s, e); err == nil {
					t.Errorf("final %s --%s--> %s", s, e, to)
				}
			}
		}
	})
	t.Run("no dead ends", func(t *testing.T) {
		// Every other state has an exit, and some path from it ends: no state, or loop of
		// states, can trap an item forever.
		for _, s := range m.states {
			if slices.Contains(m.final, s) {
				continue
			}
			seen := m.reach(s)
			if !slices.ContainsFunc(m.final, func(f S) bool { return seen[f] }) {
				t.Errorf("no final state can be reached from %s", s)
			}
		}
	})
}

func TestDossierMachine(t *testing.T) {
	m := machine[dossier.State, dossier.Event]{states: dossier.States, events: dossier.Events, next: dossier.Next,
		want: wantDossierMachine, initial: dossierInitial, final: dossierFinal}
	m.checkExhaustive(t)
	m.checkShape(t)

	t.Run("Final", func(t *testing.T) {
		for _, s := range dossier.States {
			if got, want := s.Final(), slices.Contains(dossierFinal, s); got != want {
				t.Errorf("%s.Final() = %v, want %v", s, got, want)
			}
		}
	})

	t.Run("never back over the agency line", func(t *testing.T) {
		// Once the agency has the papers the legal clock runs; nothing may move the dossier
		// back to a pickup state (a pickup failure may, before that line).
		for _, s := range dossier.States {
			if slices.Contains(beforeAgency, s) {
				continue
			}
			for _, e := range dossier.Events {
				if to, err := dossier.Next(s, e); err == nil && slices.Contains(beforeAgency, to) {
					t.Errorf("%s --%s--> %s goes back before the agency", s, e, to)
				}
			}
		}
	})

	t.Run("cancelled only before pickup", func(t *testing.T) {
		// Once a courier holds the papers they must be carried somewhere, not cancelled.
		for _, s := range dossier.States {
			_, err := dossier.Next(s, dossier.EventCancel)
			canCancel := err == nil
			wantCancel := slices.Contains([]dossier.State{dossier.StateRequested, dossier.StateScheduled, dossier.StateAssigned}, s)
			if canCancel != wantCancel {
				t.Errorf("cancel from %s allowed = %v, want %v", s, canCancel, wantCancel)
			}
		}
	})
}

// TestWireNames: states and events are stored and sent by name, so a renamed constant
// would orphan stored rows and break clients.
func TestWireNames(t *testing.T) {
	states := []string{"requested", "scheduled", "assigned", "picked_up", "at_post_office", "handed_to_agency",
		"rejected_incomplete", "in_processing", "result_ready", "result_at_post_office", "out_for_delivery",
		"delivered", "delivery_failed", "redelivery_scheduled", "held_at_post_office", "returned_to_agency", "cancelled"}
	events := []string{"schedule_pickup", "assign_pickup", "pick_up", "pickup_failed", "arrive_post_office",
		"hand_to_agency", "agency_accept", "agency_reject", "result_ready", "collect_result", "assign_collection", "dispatch_delivery",
		"deliver", "delivery_fail", "schedule_redelivery", "hold", "collect_at_counter", "collect_at_agency", "return_to_agency", "cancel",
		"set_out", "choose_delivery", "hand_to_courier"}
	taskStates := []string{"open", "scheduled", "assigned", "in_progress", "done", "failed", "cancelled"}
	taskEvents := []string{"schedule", "assign", "unassign", "start", "complete", "fail", "cancel"}
	check := func(name string, got, want []string) {
		if !sameSet(setOf(got), setOf(want)) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	check("dossier states", strs(dossier.States), states)
	check("dossier events", strs(dossier.Events), events)
	check("task states", strs(dossier.TaskStates), taskStates)
	check("task events", strs(dossier.TaskEvents), taskEvents)
}

func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

func duplicates[S comparable](list []S) []S {
	seen, dup := map[S]bool{}, []S(nil)
	for _, s := range list {
		if seen[s] {
			dup = append(dup, s)
		}
		seen[s] = true
	}
	return dup
}

func setOf[S comparable](list []S) map[S]bool {
	set := make(map[S]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
}

func sameSet[S comparable](a, b map[S]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys[S ~string](set map[S]bool) []S {
	out := make([]S, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
