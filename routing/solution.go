package routing

import "slices"

// StepKind says what a route does at a step.
type StepKind int

const (
	StepJob StepKind = iota
	StepPickup
	StepDelivery
	// StepReload is a return to a depot between trips: Index is the depot's place in the
	// vehicle's Depots (0 when it reloads at its Start) and Load what it leaves with.
	StepReload
)

// Step is one stop of a route, with its schedule.
type Step struct {
	Kind StepKind
	// Index is the job's index in Problem.Jobs, or the shipment's in Problem.Shipments.
	Index     int
	Location  int
	Arrival   float64
	Wait      float64 // before service may begin
	Start     float64 // when service begins
	Departure float64
	Load      Amount // on board when leaving
}

// Route is one vehicle's day.
type Route struct {
	Vehicle   int
	Steps     []Step
	StartLoad Amount // loaded before leaving: the deliveries of its (first trip's) jobs
	Depart    float64
	Arrive    float64 // at the end location (or the last stop when the route has none)
	Distance  float64
	Duration  float64 // from departure to arrival
	Waiting   float64
}

// Unassigned is a job or shipment the plan leaves out, and why.
type Unassigned struct {
	Kind   StepKind // StepJob, or StepPickup for a shipment
	Index  int
	Reason string
}

// Solution is a plan and its totals.
type Solution struct {
	Routes     []Route
	Unassigned []Unassigned
	Distance   float64
	Duration   float64
	Vehicles   int
	// Cost is what the solver minimised (unserved work first, then distance or duration,
	// fixed costs and the vehicle tie-break).
	Cost float64
}

// Reasons an item is left out.
const (
	ReasonSkills   = "no vehicle has the skills"
	ReasonCapacity = "larger than any vehicle's capacity"
	ReasonWindow   = "no vehicle can reach it within its time windows and shift"
	ReasonNoRoom   = "no route had room for it in the time allowed"
)

// StepRef names a stop of a route: a job, one end of a shipment, or a reload (Index: the
// depot).
type StepRef struct {
	Kind  StepKind
	Index int
}

// Evaluate times vehicle v's route through stops in the order given, feasible or not:
// service begins at the first window still open on arrival, or on arrival when every
// window has closed (late); the load may pass the capacity and the route may end after
// the shift. A StepReload stop returns to the depot of its Index (the vehicle's Start
// when there is no such depot), takes the vehicle's Reload time and leaves with the
// deliveries of the trip that follows. The solver's routes are timed by it; a
// dispatcher's hand-made route is too, and Check says what it breaks.
func Evaluate(p *Problem, v int, stops []StepRef) Route {
	veh := &p.Vehicles[v]
	dims := len(veh.Capacity)
	// What each trip leaves with: the deliveries of its jobs.
	loads := []Amount{make(Amount, dims)}
	for _, st := range stops {
		switch st.Kind {
		case StepJob:
			addTo(loads[len(loads)-1], p.Jobs[st.Index].Delivery, 1)
		case StepReload:
			loads = append(loads, make(Amount, dims))
		}
	}
	r := Route{Vehicle: v, StartLoad: slices.Clone(loads[0]), Depart: veh.Shift.Start}
	load := slices.Clone(r.StartLoad)
	at, here, trip := veh.Shift.Start, veh.Start, 0
	for _, st := range stops {
		var loc int
		var service float64
		var windows []Window
		switch st.Kind {
		case StepJob:
			j := &p.Jobs[st.Index]
			loc, service, windows = j.Location, j.Service, j.Windows
			addTo(load, j.Pickup, 1)
			addTo(load, j.Delivery, -1)
		case StepPickup:
			sh := &p.Shipments[st.Index]
			loc, service, windows = sh.Pickup.Location, sh.Pickup.Service, sh.Pickup.Windows
			addTo(load, sh.Amount, 1)
		case StepDelivery:
			sh := &p.Shipments[st.Index]
			loc, service, windows = sh.Delivery.Location, sh.Delivery.Service, sh.Delivery.Windows
			addTo(load, sh.Amount, -1)
		case StepReload:
			loc, service = veh.depot(st.Index), veh.Reload
			if loc < 0 {
				loc = veh.Start
			}
			trip++
			load = slices.Clone(loads[trip])
		}
		r.Distance += p.Matrix.Distance(here, loc)
		arrival := at + veh.travelTime(p.Matrix, here, loc)
		start, _ := serviceStart(windows, arrival)
		r.Steps = append(r.Steps, Step{Kind: st.Kind, Index: st.Index, Location: loc, Arrival: arrival,
			Wait: start - arrival, Start: start, Departure: start + service, Load: slices.Clone(load)})
		r.Waiting += start - arrival
		at, here = start+service, loc
	}
	if veh.End >= 0 {
		r.Distance += p.Matrix.Distance(here, veh.End)
		at += veh.travelTime(p.Matrix, here, veh.End)
	}
	r.Arrive, r.Duration = at, at-r.Depart
	return r
}
