package dispatch

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain/catalog"
	"courierd/domain/dossier"
	"courierd/routing"
)

// randomDay is a post office's day of n stops (a mix of pickups and deliveries) around Thủ
// Dầu Một for couriers of capacity items, built as newDay builds it, on straight lines.
func randomDay(rng *rand.Rand, n, couriers, capacity, maxTrips int, reload time.Duration) *day {
	office := catalog.PostOffice{Location: orb.Point{106.65, 10.98}}
	points := []orb.Point{office.Location}
	d := &day{office: office, midnight: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}
	for range couriers {
		c := catalog.Courier{ID: uuid.New(), ShiftStartMin: 420, ShiftEndMin: 1140, CapacityItems: capacity, VehicleKind: catalog.VehicleMotorbike}
		d.couriers = append(d.couriers, c)
	}
	for range n {
		kind := dossier.TaskPickup
		if rng.IntN(3) == 0 {
			kind = dossier.TaskDelivery
		}
		p := orb.Point{106.65 + (rng.Float64()-0.5)*0.06, 10.98 + (rng.Float64()-0.5)*0.06}
		points = append(points, p)
		d.refs = append(d.refs, StopRef{TaskID: uuid.New(), Kind: kind, Location: p})
	}
	d.prob = &routing.Problem{Matrix: routing.Haversine{Points: points, RoadFactor: 1.3, Speed: 25 / 3.6}}
	for i, st := range d.refs {
		job := routing.Job{ID: st.TaskID.String(), Location: i + 1, Service: 420}
		if st.Kind == dossier.TaskDelivery {
			job.Delivery = routing.Amount{1}
		} else {
			job.Pickup = routing.Amount{1}
		}
		d.prob.Jobs = append(d.prob.Jobs, job)
	}
	for _, c := range d.couriers {
		d.prob.Vehicles = append(d.prob.Vehicles, routing.Vehicle{ID: c.ID.String(), Start: 0, End: 0,
			Shift: routing.Window{Start: float64(c.ShiftStartMin * 60), End: float64(c.ShiftEndMin * 60)}, Capacity: routing.Amount{int64(c.CapacityItems)}})
	}
	return d.withTrips(maxTrips, reload)
}

// tripLoads are, for each stop of a route in trips, what the courier carries leaving it,
// and for each trip what it leaves the office with, reckoned by hand: a trip loads its
// deliveries, each pickup adds one, each delivery takes one off.
func tripLoads(d *day, jobs, trips []int) (after []int, start map[int]int) {
	start = map[int]int{}
	for i, j := range jobs {
		if d.refs[j].Kind == dossier.TaskDelivery {
			start[trips[i]]++
		}
	}
	load := map[int]int{}
	for i, j := range jobs {
		if _, ok := load[trips[i]]; !ok {
			load[trips[i]] = start[trips[i]]
		}
		if d.refs[j].Kind == dossier.TaskDelivery {
			load[trips[i]]--
		} else {
			load[trips[i]]++
		}
		after = append(after, load[trips[i]])
	}
	return after, start
}

// TestSplitCutsWhereTheBagOverflows: a dispatcher's order is cut into trips 1, 2, … so that
// no trip but a forced last one overflows, and each cut is needed: the trip with the next
// stop added would overflow.
func TestSplitCutsWhereTheBagOverflows(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 10))
	for range 500 {
		n, capacity, maxTrips := 1+rng.IntN(30), 1+rng.IntN(6), 1+rng.IntN(MaxTripsLimit)
		d := randomDay(rng, n, 1, capacity, maxTrips, 10*time.Minute)
		jobs := rng.Perm(n)
		trips := d.split(0, jobs, maxTrips)
		if trips[0] != 1 {
			t.Fatalf("the first stop on trip %d", trips[0])
		}
		peak := func(lo, hi int) int { // by hand, over jobs[lo:hi] as one trip
			_, start := tripLoads(d, jobs[lo:hi], make([]int, hi-lo))
			after, _ := tripLoads(d, jobs[lo:hi], make([]int, hi-lo))
			return max(start[0], slices.Max(after))
		}
		lo := 0
		for i := 1; i <= n; i++ {
			if i < n && trips[i] == trips[i-1] {
				continue
			}
			if i < n && trips[i] != trips[i-1]+1 {
				t.Fatalf("trips %v skip a number", trips)
			}
			last := i == n
			if p := peak(lo, i); p > capacity && !(last && trips[i-1] == maxTrips) {
				t.Fatalf("trip %d of %v carries %d, over %d (at most %d trips)", trips[lo], trips, p, capacity, maxTrips)
			}
			if !last && peak(lo, i+1) <= capacity {
				t.Fatalf("trip %d of %v was cut though the next stop fits (capacity %d)", trips[lo], trips, capacity)
			}
			lo = i
		}
		if trips[n-1] > maxTrips {
			t.Fatalf("%d trips, at most %d", trips[n-1], maxTrips)
		}
	}
}

// TestRouteTimesEachTrip: a route in trips keeps the order and trips given; each trip
// leaves the office with its deliveries and its loads are its own; a reload begins when
// the courier is back from the previous trip's last stop and lasts the reload time; the
// distance is the sum of the trips' own, office to office; one trip is timed as the
// solver times a route.
func TestRouteTimesEachTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 11))
	for range 300 {
		n, maxTrips := 1+rng.IntN(20), 1+rng.IntN(MaxTripsLimit)
		reload := time.Duration(rng.IntN(120)) * time.Minute
		d := randomDay(rng, n, 1, 1+rng.IntN(6), maxTrips, reload)
		jobs := rng.Perm(n)
		var trips []int
		trip := 1
		for i := range jobs {
			if i > 0 && trip < maxTrips && rng.IntN(3) == 0 {
				trip++
			}
			trips = append(trips, trip)
		}
		r := d.route(0, jobs, trips)
		if len(r.Stops) != n || len(r.Reloads) != trips[n-1]-1 || len(r.Line) != n+trips[n-1]+1 {
			t.Fatalf("%d stops, %d reloads, %d points for %d stops in %d trips", len(r.Stops), len(r.Reloads), len(r.Line), n, trips[n-1])
		}
		after, start := tripLoads(d, jobs, trips)
		m := d.prob.Matrix
		distance, here := 0.0, 0
		for i, st := range r.Stops {
			if st.TaskID != d.refs[jobs[i]].TaskID || st.Trip != trips[i] || st.Load != after[i] {
				t.Fatalf("stop %d: task %v trip %d load %d, want %v %d %d", i, st.TaskID, st.Trip, st.Load, d.refs[jobs[i]].TaskID, trips[i], after[i])
			}
			if i > 0 && trips[i] != trips[i-1] {
				rl := r.Reloads[trips[i]-2]
				back := r.Stops[i-1].Departure.Add(time.Duration(m.Duration(here, 0) * float64(time.Second)))
				if rl.Trip != trips[i] || rl.Load != start[trips[i]] || absDiff(rl.Arrival, back) > time.Second ||
					rl.Departure.Sub(rl.Arrival) != reload || st.Arrival.Before(rl.Departure) {
					t.Fatalf("reload %+v before stop %d (back %v, load %d, reload %v, arrival %v)", rl, i, back, start[trips[i]], reload, st.Arrival)
				}
				distance += m.Distance(here, 0)
				here = 0
			}
			distance += m.Distance(here, jobs[i]+1)
			here = jobs[i] + 1
		}
		distance += m.Distance(here, 0)
		if math.Abs(distance-r.DistanceM) > 1e-6*distance {
			t.Fatalf("distance %.1f, the trips' own add up to %.1f", r.DistanceM, distance)
		}
		// One trip: as the solver's evaluation of the whole route.
		one := d.route(0, jobs, nil)
		refs := make([]routing.StepRef, n)
		for i, j := range jobs {
			refs[i] = routing.StepRef{Kind: routing.StepJob, Index: j}
		}
		whole := routing.Evaluate(d.prob, 0, refs)
		if len(one.Reloads) != 0 || math.Abs(one.DistanceM-whole.Distance) > 1e-6 || !one.Return.Equal(d.at(whole.Arrive)) {
			t.Fatalf("one trip: %.1f m back %v; evaluated %.1f m back %v", one.DistanceM, one.Return, whole.Distance, d.at(whole.Arrive))
		}
	}
}

func absDiff(a, b time.Time) time.Duration {
	if a.After(b) {
		return a.Sub(b)
	}
	return b.Sub(a)
}

// TestSolverReloadsBecomeTrips: generated days beyond one load of every courier together
// (not beyond three) are served whole by the solver with reloads at the office, and a
// route read from the solver's steps is timed as the solver timed it, trip by trip, never
// over capacity. Needs the solver's multi-trip search (routing/, StepReload).
func TestSolverReloadsBecomeTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 12))
	for seed := range 6 {
		couriers := 2 + rng.IntN(3)
		capacity := 2 + rng.IntN(4)
		n := capacity*couriers + 1 + rng.IntN(capacity*couriers)
		d := randomDay(rng, n, couriers, capacity, 3, time.Duration(5+rng.IntN(20))*time.Minute)
		sol, err := routing.Solve(context.Background(), d.prob, routing.Options{TimeLimit: 2 * time.Second, Seed: uint64(seed), MaxIterations: 100 * n, VehicleCost: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := routing.Check(d.prob, sol); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(sol.Unassigned) != 0 {
			t.Fatalf("seed %d: %d of %d stops left out for %d couriers of %d items and 3 trips", seed, len(sol.Unassigned), n, couriers, capacity)
		}
		for _, sr := range sol.Routes {
			jobs, trips := stepsOf(sr)
			r := d.route(sr.Vehicle, jobs, trips)
			k := 0
			for _, step := range sr.Steps {
				if step.Kind == routing.StepReload {
					continue
				}
				st := r.Stops[k]
				if absDiff(st.Arrival, d.at(step.Arrival)) > time.Second || st.Load != int(step.Load[0]) || st.Load > capacity {
					t.Fatalf("seed %d, stop %d: arrives %v carrying %d; the solver says %v carrying %d (capacity %d)",
						seed, k, st.Arrival, st.Load, d.at(step.Arrival), step.Load[0], capacity)
				}
				k++
			}
			for _, rl := range r.Reloads {
				if rl.Load > capacity {
					t.Fatalf("seed %d: leaves the office for trip %d with %d items", seed, rl.Trip, rl.Load)
				}
			}
		}
	}
}

// TestCompactAfterStopsLeave: stops taken off a route of several trips leave its trips
// numbered 1, 2, … in order, each stop's trip the same as its neighbours' where it was, and
// one reload before each trip after the first, the one that began it.
func TestCompactAfterStopsLeave(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 13))
	for range 1000 {
		n := 1 + rng.IntN(15)
		var r Route
		trip := 1
		for i := range n {
			if i > 0 && rng.IntN(3) == 0 {
				trip++
				r.Reloads = append(r.Reloads, Reload{Trip: trip, Load: trip * 100})
			}
			r.Stops = append(r.Stops, PlannedStop{StopRef: StopRef{TaskID: uuid.New()}, Trip: trip})
		}
		before := r.Trips()
		r.Stops = slices.DeleteFunc(r.Stops, func(PlannedStop) bool { return rng.IntN(2) == 0 })
		was := map[uuid.UUID]int{}
		for _, st := range r.Stops {
			was[st.TaskID] = st.Trip
		}
		r.compact()
		after := r.Trips()
		for i := range after {
			if (i == 0 && after[i] != 1) || (i > 0 && after[i] != after[i-1] && after[i] != after[i-1]+1) {
				t.Fatalf("trips %v after compacting (were %v)", after, before)
			}
			if i > 0 && (after[i] == after[i-1]) != (was[r.Stops[i].TaskID] == was[r.Stops[i-1].TaskID]) {
				t.Fatalf("trips %v after compacting do not follow %v", after, before)
			}
		}
		last := 0
		if len(after) > 0 {
			last = after[len(after)-1]
		}
		if len(r.Reloads) != max(last-1, 0) {
			t.Fatalf("%d reloads for %d trips", len(r.Reloads), last)
		}
		for k, rl := range r.Reloads {
			first := slices.IndexFunc(r.Stops, func(st PlannedStop) bool { return st.Trip == rl.Trip })
			if rl.Trip != k+2 || first < 0 || rl.Load != was[r.Stops[first].TaskID]*100 {
				t.Fatalf("reload %+v before trip %d, whose first stop was on trip %d", rl, k+2, was[r.Stops[first].TaskID])
			}
		}
	}
}
