package routing

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Amount is a quantity in each capacity dimension (items, kilograms…); every amount of a
// problem has as many dimensions as its vehicles' capacities.
type Amount []int64

// Window is a span of time [Start, End] in which service may begin.
type Window struct{ Start, End float64 }

// Vehicle is a courier with their vehicle for the day.
type Vehicle struct {
	ID string
	// Start and End are location indices; End < 0 means the route ends at its last stop.
	Start, End int
	Shift      Window
	Capacity   Amount
	Skills     []string
	// MaxDuration bounds the time from leaving Start to reaching End; 0: no bound.
	MaxDuration float64
	// FixedCost is added to the objective when the vehicle is used.
	FixedCost float64
	// TravelTimeFactor multiplies the matrix's durations for this vehicle, so that one
	// matrix serves several kinds (a bicycle takes 2.0 against a motorbike's times); 0
	// means 1.
	TravelTimeFactor float64
	// MaxTrips is how many loads the vehicle may carry in its shift (0 or 1: one). Between
	// trips it returns to a depot, unloads what it picked up and loads what it delivers
	// next, which takes Reload seconds. A shipment rides within one trip.
	MaxTrips int
	Reload   float64
	// Depots are the locations where it may reload; none: its Start.
	Depots []int
}

// MaxTrips bounds Vehicle.MaxTrips: the solver keeps a place for every reload a vehicle
// may make at each of its depots.
const MaxTrips = 24

// trips is how many trips the vehicle may make, at least one.
func (v *Vehicle) trips() int { return max(v.MaxTrips, 1) }

// depot is the location of the vehicle's depot k: Depots[k], or its Start when it has
// none; -1 when there is no such depot.
func (v *Vehicle) depot(k int) int {
	switch {
	case len(v.Depots) == 0 && k == 0:
		return v.Start
	case k >= 0 && k < len(v.Depots):
		return v.Depots[k]
	}
	return -1
}

// depotCount is how many places the vehicle may reload at.
func (v *Vehicle) depotCount() int { return max(len(v.Depots), 1) }

// travelTime is how long the vehicle takes from one location to another.
func (v *Vehicle) travelTime(m Matrix, from, to int) float64 {
	if v.TravelTimeFactor > 0 {
		return m.Duration(from, to) * v.TravelTimeFactor
	}
	return m.Duration(from, to)
}

// Job is a single stop. Delivery is loaded at the start of the route (of its trip, when
// the vehicle reloads) and dropped here; Pickup is taken here and carried to the route's
// end (to the next reload).
type Job struct {
	ID       string
	Location int
	Service  float64
	// Windows are the spans in which service may begin, sorted and disjoint; none: any time.
	Windows  []Window
	Delivery Amount
	Pickup   Amount
	// Priority weighs serving this job against others (at least 1).
	Priority int
	Skills   []string
}

// Stop is one end of a shipment.
type Stop struct {
	Location int
	Service  float64
	Windows  []Window
}

// Shipment is a pickup and its delivery on the same route, pickup first: Amount rides
// between them.
type Shipment struct {
	ID       string
	Pickup   Stop
	Delivery Stop
	Amount   Amount
	Priority int
	Skills   []string
}

// Matrix gives travel between location indices.
type Matrix interface {
	// Size is the number of locations.
	Size() int
	Duration(from, to int) float64
	Distance(from, to int) float64
}

// Problem is one day to plan.
type Problem struct {
	Vehicles  []Vehicle
	Jobs      []Job
	Shipments []Shipment
	Matrix    Matrix
}

// Validate refuses a problem the solver cannot read: every error at once.
func (p *Problem) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Matrix == nil {
		return errors.New("routing: no travel matrix")
	}
	size := p.Matrix.Size()
	dims := -1
	checkAmount := func(what string, a Amount) {
		if a == nil {
			return
		}
		if dims >= 0 && len(a) != dims {
			bad("%s has %d capacity dimensions, the vehicles %d", what, len(a), dims)
		}
		for _, x := range a {
			if x < 0 {
				bad("%s is negative", what)
			}
		}
	}
	checkLocation := func(what string, l int) {
		if l < 0 || l >= size {
			bad("%s is location %d, outside the matrix (%d)", what, l, size)
		}
	}
	checkWindows := func(what string, ws []Window) {
		for i, w := range ws {
			if math.IsNaN(w.Start) || math.IsNaN(w.End) || w.End < w.Start || (i > 0 && w.Start < ws[i-1].End) {
				bad("%s has windows that are not sorted, disjoint spans", what)
				return
			}
		}
	}
	if len(p.Vehicles) == 0 {
		bad("no vehicles")
	}
	for i, v := range p.Vehicles {
		what := fmt.Sprintf("vehicle %d (%s)", i, v.ID)
		if dims < 0 {
			dims = len(v.Capacity)
		}
		checkAmount(what+" capacity", v.Capacity)
		checkLocation(what+" start", v.Start)
		if v.End >= 0 {
			checkLocation(what+" end", v.End)
		}
		checkWindows(what+" shift", []Window{v.Shift})
		if v.MaxDuration < 0 || v.FixedCost < 0 || v.TravelTimeFactor < 0 || math.IsNaN(v.TravelTimeFactor) {
			bad("%s has a negative bound or cost", what)
		}
		if v.MaxTrips < 0 || v.MaxTrips > MaxTrips {
			bad("%s may make %d trips, outside 0–%d", what, v.MaxTrips, MaxTrips)
		}
		if v.Reload < 0 || math.IsNaN(v.Reload) || math.IsInf(v.Reload, 0) {
			bad("%s reloads in %v seconds, not a time", what, v.Reload)
		}
		for k, d := range v.Depots {
			checkLocation(fmt.Sprintf("%s depot %d", what, k), d)
		}
	}
	for i, j := range p.Jobs {
		what := fmt.Sprintf("job %d (%s)", i, j.ID)
		checkLocation(what, j.Location)
		checkWindows(what, j.Windows)
		checkAmount(what+" delivery", j.Delivery)
		checkAmount(what+" pickup", j.Pickup)
		if j.Service < 0 || j.Priority < 0 {
			bad("%s has a negative service time or priority", what)
		}
	}
	for i, s := range p.Shipments {
		what := fmt.Sprintf("shipment %d (%s)", i, s.ID)
		checkLocation(what+" pickup", s.Pickup.Location)
		checkLocation(what+" delivery", s.Delivery.Location)
		checkWindows(what+" pickup", s.Pickup.Windows)
		checkWindows(what+" delivery", s.Delivery.Windows)
		checkAmount(what, s.Amount)
		if s.Pickup.Service < 0 || s.Delivery.Service < 0 || s.Priority < 0 {
			bad("%s has a negative service time or priority", what)
		}
	}
	return errors.Join(errs...)
}

// hasSkills reports whether a vehicle with have may serve what needs.
func hasSkills(have, needs []string) bool {
	for _, s := range needs {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// weight is how much serving something counts: its priority, at least 1.
func weight(priority int) int { return max(priority, 1) }
