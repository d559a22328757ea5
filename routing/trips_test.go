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

// bruteForceTrips is the least distance of a plan serving every job, found by trying
// every order of the jobs, each vehicle's reloads and the boundaries between vehicles
// (the last of which parks the reloads not used), each plan timed by Evaluate and judged
// by the checker; +Inf when none serves all.
func bruteForceTrips(p *routing.Problem) float64 {
	const boundary, parked = -1, -1
	type token struct {
		kind    routing.StepKind
		index   int // a job; a reload's vehicle; the vehicle a boundary opens
		vehicle int
	}
	var tokens []token
	for j := range p.Jobs {
		tokens = append(tokens, token{kind: routing.StepJob, index: j})
	}
	for v, veh := range p.Vehicles {
		for range max(veh.MaxTrips, 1) - 1 {
			tokens = append(tokens, token{kind: routing.StepReload, vehicle: v})
		}
		if v > 0 {
			tokens = append(tokens, token{kind: boundary, vehicle: v})
		}
	}
	tokens = append(tokens, token{kind: boundary, vehicle: parked})
	best := math.Inf(1)
	judge := func(order []token) {
		var sol routing.Solution
		v, refs := 0, []routing.StepRef{}
		flush := func() {
			if len(refs) > 0 {
				r := routing.Evaluate(p, v, refs)
				sol.Routes = append(sol.Routes, r)
				sol.Distance += r.Distance
				sol.Vehicles++
			}
			refs = refs[:0]
		}
		for _, tk := range order {
			switch tk.kind {
			case boundary:
				flush()
				v = tk.vehicle
			case routing.StepReload:
				if v == parked {
					continue
				}
				if tk.vehicle != v {
					return // another vehicle's reload
				}
				refs = append(refs, routing.StepRef{Kind: routing.StepReload})
			default:
				if v == parked {
					return // a job not served
				}
				refs = append(refs, routing.StepRef{Kind: routing.StepJob, Index: tk.index})
			}
		}
		flush()
		if sol.Distance < best-1e-9 && routing.Check(p, sol) == nil {
			best = sol.Distance
		}
	}
	var permute func(k int)
	permute = func(k int) {
		if k == len(tokens) {
			judge(tokens)
			return
		}
		for i := k; i < len(tokens); i++ {
			tokens[k], tokens[i] = tokens[i], tokens[k]
			permute(k + 1)
			tokens[k], tokens[i] = tokens[i], tokens[k]
		}
	}
	permute(0)
	return best
}

// TestTinyTripProblemsMatchBruteForce: on tiny days under a capacity that binds, the
// solver finds the least distance that serves everything with the trips allowed, or
// leaves something out when nothing serves everything.
func TestTinyTripProblemsMatchBruteForce(t *testing.T) {
	shapes := []struct {
		name            string
		jobs, vehicles  int
		trips, capacity int64
	}{
		{"one vehicle, three trips", 5, 1, 3, 4},
		{"two vehicles, two trips each", 4, 2, 2, 3},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			full, reloaded := 0, 0
			for seed := uint64(1); seed <= 20; seed++ {
				rng := rand.New(rand.NewPCG(seed, 29))
				p := randomProblem(rng, shape.jobs, 0, shape.vehicles)
				for v := range p.Vehicles {
					p.Vehicles[v].Capacity = routing.Amount{shape.capacity}
					p.Vehicles[v].MaxTrips = int(shape.trips)
					p.Vehicles[v].Reload = float64(rng.IntN(15))
					p.Vehicles[v].Skills = nil
				}
				for i := range p.Jobs {
					p.Jobs[i].Skills = nil
					amount := routing.Amount{int64(1 + rng.IntN(3))}
					if p.Jobs[i].Delivery != nil {
						p.Jobs[i].Delivery = amount
					} else {
						p.Jobs[i].Pickup = amount
					}
				}
				want := bruteForceTrips(p)
				sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 2000, TimeLimit: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				if err := routing.Check(p, sol); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if math.IsInf(want, 1) {
					if len(sol.Unassigned) == 0 {
						t.Fatalf("seed %d: brute force finds no plan serving all, the solver served all", seed)
					}
					continue
				}
				full++
				reloaded += min(reloads(sol), 1)
				if len(sol.Unassigned) > 0 || math.Abs(sol.Distance-want) > 1e-6 {
					t.Fatalf("seed %d: solver %.4f with %d left out, brute force %.4f", seed, sol.Distance, len(sol.Unassigned), want)
				}
			}
			if full < 8 || reloaded < 4 {
				t.Fatalf("%d of 20 problems can be served whole, %d of them with a reload: the comparison says too little", full, reloaded)
			}
		})
	}
}
