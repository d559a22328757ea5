package routing_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"courierd/routing"
)

// tripProblem is randomProblem with vehicles that may reload: 1–4 trips, small capacities,
// a reload time, and now and then a second depot to reload at.
func tripProblem(rng *rand.Rand, jobs, shipments, vehicles int) *routing.Problem {
	p := randomProblem(rng, jobs, shipments, vehicles)
	points := p.Matrix.(routing.Euclidean)
	points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100}) // a second depot
	p.Matrix = points
	for v := range p.Vehicles {
		veh := &p.Vehicles[v]
		veh.MaxTrips = 1 + rng.IntN(4)
		veh.Reload = float64(rng.IntN(20))
		veh.Capacity = routing.Amount{int64(5 + rng.IntN(6))}
		if rng.IntN(3) == 0 {
			veh.Depots = []int{0, len(points) - 1}
		}
	}
	return p
}

// reloads counts the reload steps of a solution.
func reloads(sol routing.Solution) int {
	count := 0
	for _, r := range sol.Routes {
		for _, st := range r.Steps {
			if st.Kind == routing.StepReload {
				count++
			}
		}
	}
	return count
}

// TestTripsPassTheChecker: on random problems whose vehicles may reload, whatever the
// solver returns passes the checker, and the solver does reload.
func TestTripsPassTheChecker(t *testing.T) {
	total := 0
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 17))
		p := tripProblem(rng, 5+rng.IntN(25), rng.IntN(4), 1+rng.IntN(3))
		sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 300, TimeLimit: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := routing.Check(p, sol); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		total += reloads(sol)
	}
	if total < 20 {
		t.Fatalf("only %d reloads in 60 problems with small loads: the solver hardly uses trips", total)
	}
}

// TestTripsServeWhatOneLoadCannot: a day whose deliveries exceed what the fleet carries
// at once but fit in k loads each within the shift is served whole when the vehicles may
// make k trips, and is not when they may make one.
func TestTripsServeWhatOneLoadCannot(t *testing.T) {
	counted := 0
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 23))
		p, refs := witnessPlan(rng)
		// The shift: the witness plan's longest route with a tenth to spare.
		longest := 0.0
		for v := range p.Vehicles {
			longest = math.Max(longest, routing.Evaluate(p, v, refs[v]).Duration)
		}
		for v := range p.Vehicles {
			p.Vehicles[v].Shift.End = longest * 1.1
		}
		var witness routing.Solution
		for v := range p.Vehicles {
			r := routing.Evaluate(p, v, refs[v])
			witness.Routes = append(witness.Routes, r)
			witness.Distance += r.Distance
			witness.Vehicles++
		}
		if err := routing.Check(p, witness); err != nil {
			t.Fatalf("seed %d: the witness plan: %v", seed, err)
		}
		var delivered, fleet int64
		for _, j := range p.Jobs {
			if j.Delivery != nil {
				delivered += j.Delivery[0]
			}
		}
		for _, v := range p.Vehicles {
			fleet += v.Capacity[0]
		}
		sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 500, TimeLimit: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := routing.Check(p, sol); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(sol.Unassigned) > 0 {
			t.Fatalf("seed %d: %d of %d jobs left out though %d trips serve them all", seed, len(sol.Unassigned), len(p.Jobs), p.Vehicles[0].MaxTrips)
		}
		if delivered <= fleet {
			continue // one trip might do: nothing to say of it
		}
		counted++
		for v := range p.Vehicles {
			p.Vehicles[v].MaxTrips = 1
		}
		if one, _ := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 50}); len(one.Unassigned) == 0 {
			t.Fatalf("seed %d: one trip serves %d delivered over a fleet of %d", seed, delivered, fleet)
		}
	}
	if counted < 20 {
		t.Fatalf("only %d of 40 days need more than one load", counted)
	}
}

// witnessPlan is a day and, per vehicle, an order of its stops in k trips that each fit
// one load: each vehicle's jobs come in k groups whose deliveries and pickups together
// fill at most its capacity.
func witnessPlan(rng *rand.Rand) (*routing.Problem, [][]routing.StepRef) {
	vehicles, trips := 1+rng.IntN(3), 2+rng.IntN(3)
	points := []orb.Point{{50, 50}}
	p := &routing.Problem{}
	refs := make([][]routing.StepRef, vehicles)
	for v := range vehicles {
		capacity := int64(4 + rng.IntN(5))
		p.Vehicles = append(p.Vehicles, routing.Vehicle{ID: string(rune('A' + v)), End: 0, Capacity: routing.Amount{capacity},
			MaxTrips: trips, Reload: float64(5 + rng.IntN(10)), Shift: routing.Window{Start: 0, End: math.MaxFloat64}})
		for g := range trips {
			if g > 0 {
				refs[v] = append(refs[v], routing.StepRef{Kind: routing.StepReload})
			}
			for used := int64(0); used < capacity; {
				amount := min(int64(1+rng.IntN(3)), capacity-used)
				used += amount
				points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
				job := routing.Job{ID: "j", Location: len(points) - 1, Service: 2, Delivery: routing.Amount{amount}}
				if rng.IntN(6) == 0 {
					job.Delivery, job.Pickup = nil, routing.Amount{amount}
				}
				refs[v] = append(refs[v], routing.StepRef{Kind: routing.StepJob, Index: len(p.Jobs)})
				p.Jobs = append(p.Jobs, job)
			}
		}
	}
	p.Matrix = routing.Euclidean(points)
	return p, refs
}
