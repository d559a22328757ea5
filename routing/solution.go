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
	StartLoad Amount // loaded before leaving: the deliveries of its jobs
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

// StepRef names a stop of a route: a job, or one end of a shipment.
type StepRef struct {
	Kind  StepKind
	Index int
}

// Evaluate times vehicle v's route through stops in the order given, feasible or not:
// service begins at the first window still open on arrival, or on arrival when every
// window has closed (late); the load may pass the capacity and the route may end after
// the shift. The solver's routes are timed by it; a dispatcher's hand-made route is too,
// and Check says what it breaks.
func Evaluate(p *Problem, v int, stops []StepRef) Route {
	veh := &p.Vehicles[v]
	dims := len(veh.Capacity)
	r := Route{Vehicle: v, StartLoad: make(Amount, dims), Depart: veh.Shift.Start}
	type place struct {
		loc     int
		service float64
		windows []Window
		change  Amount
	}
	places := make([]place, len(stops))
	for i, st := range stops {
		change := make(Amount, dims)
		switch st.Kind {
		case StepJob:
			j := &p.Jobs[st.Index]
			addTo(r.StartLoad, j.Delivery, 1)
			addTo(change, j.Pickup, 1)
			addTo(change, j.Delivery, -1)
			places[i] = place{j.Location, j.Service, j.Windows, change}
		case StepPickup:
			sh := &p.Shipments[st.Index]
			addTo(change, sh.Amount, 1)
			places[i] = place{sh.Pickup.Location, sh.Pickup.Service, sh.Pickup.Windows, change}
		default:
			sh := &p.Shipments[st.Index]
			addTo(change, sh.Amount, -1)
			places[i] = place{sh.Delivery.Location, sh.Delivery.Service, sh.Delivery.Windows, change}
		}
	}
	load := slices.Clone(r.StartLoad)
	at, here := veh.Shift.Start, veh.Start
	for i, pl := range places {
		r.Distance += p.Matrix.Distance(here, pl.loc)
		arrival := at + veh.travelTime(p.Matrix, here, pl.loc)
		start, _ := serviceStart(pl.windows, arrival)
		addTo(load, pl.change, 1)
		r.Steps = append(r.Steps, Step{Kind: stops[i].Kind, Index: stops[i].Index, Location: pl.loc, Arrival: arrival,
			Wait: start - arrival, Start: start, Departure: start + pl.service, Load: slices.Clone(load)})
		r.Waiting += start - arrival
		at, here = start+pl.service, pl.loc
	}
	if veh.End >= 0 {
		r.Distance += p.Matrix.Distance(here, veh.End)
		at += veh.travelTime(p.Matrix, here, veh.End)
	}
	r.Arrive, r.Duration = at, at-r.Depart
	return r
}
