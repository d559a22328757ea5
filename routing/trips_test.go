package routing_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
		if rng.IntN(4) == 0 {
			veh.MaxDuration = 300 + rng.Float64()*300
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

// TestTripsPassTheChecker: on random problems whose vehicles may reload (some with a
// maximum duration, some planned for the least duration), whatever the solver returns
// passes the checker, and the solver does reload.
func TestTripsPassTheChecker(t *testing.T) {
	total := 0
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 17))
		p := tripProblem(rng, 5+rng.IntN(25), rng.IntN(4), 1+rng.IntN(3))
		objective := routing.Objective(rng.IntN(2))
		sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 300, TimeLimit: time.Minute, Objective: objective})
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
	eachOrder(tokens, judge)
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
				if sol, whole := matchesBruteForce(t, p, seed, bruteForceTrips(p)); whole {
					full++
					reloaded += min(reloads(sol), 1)
				}
			}
			if full < 8 || reloaded < 4 {
				t.Fatalf("%d of 20 problems can be served whole, %d of them with a reload: the comparison says too little", full, reloaded)
			}
		})
	}
}

// TestCheckerCatchesTripViolations: on generated days served in several trips, each way a
// trip can be wrong is named by the checker, and the plan without the fault passes.
func TestCheckerCatchesTripViolations(t *testing.T) {
	for seed := uint64(1); seed <= 15; seed++ {
		rng := rand.New(rand.NewPCG(seed, 31))
		p, refs := witnessPlan(rng)
		n := len(p.Matrix.(routing.Euclidean))
		p.Matrix = append(p.Matrix.(routing.Euclidean), orb.Point{10, 10}, orb.Point{90, 90})
		p.Shipments = []routing.Shipment{{ID: "s", Pickup: routing.Stop{Location: n}, Delivery: routing.Stop{Location: n + 1}, Amount: routing.Amount{1}}}
		good := routing.Solution{Unassigned: []routing.Unassigned{{Kind: routing.StepPickup, Index: 0, Reason: routing.ReasonNoRoom}}}
		for v := range p.Vehicles {
			r := routing.Evaluate(p, v, refs[v])
			good.Routes = append(good.Routes, r)
			good.Distance += r.Distance
			good.Vehicles++
		}
		if err := routing.Check(p, good); err != nil {
			t.Fatalf("seed %d: the reference plan: %v", seed, err)
		}
		// The first reload of the first route, and the route's refs edited and timed anew.
		k := slices.IndexFunc(refs[0], func(r routing.StepRef) bool { return r.Kind == routing.StepReload })
		reload := refs[0][k]
		before, after := refs[0][:k:k], refs[0][k+1:]
		retime := func(s *routing.Solution, stops ...[]routing.StepRef) {
			s.Routes[0] = routing.Evaluate(p, 0, slices.Concat(stops...))
		}
		pickup, delivery := routing.StepRef{Kind: routing.StepPickup}, routing.StepRef{Kind: routing.StepDelivery}
		cases := map[string]struct {
			edit func(s *routing.Solution)
			want string
		}{
			"more trips than allowed": {func(s *routing.Solution) { p.Vehicles[0].MaxTrips = 1 }, "trips, the vehicle may make 1"},
			"no such depot":           {func(s *routing.Solution) { s.Routes[0].Steps[k].Index = 3 }, "no such depot"},
			"a reload elsewhere":      {func(s *routing.Solution) { s.Routes[0].Steps[k].Location = n }, "at location"},
			"a reload too short": {func(s *routing.Solution) { p.Vehicles[0].Reload += 5 },
				"step " + strconv.Itoa(k) + ": departs"},
			"a trip over capacity": {func(s *routing.Solution) {
				most := s.Routes[0].StartLoad[0]
				for _, st := range s.Routes[0].Steps {
					most = max(most, st.Load[0])
				}
				p.Vehicles[0].Capacity = routing.Amount{most - 1}
			}, "capacity"},
			"a reload first": {func(s *routing.Solution) {
				retime(s, []routing.StepRef{reload}, before, after)
			}, "a reload first, last or right after another"},
			"a reload last": {func(s *routing.Solution) {
				retime(s, before, after, []routing.StepRef{reload})
			}, "a reload first, last or right after another"},
			"two reloads in a row": {func(s *routing.Solution) {
				p.Vehicles[0].MaxTrips++
				retime(s, before, []routing.StepRef{reload, reload}, after)
			}, "a reload first, last or right after another"},
			"a shipment across a reload": {func(s *routing.Solution) {
				s.Unassigned = nil
				p.Vehicles[0].Capacity = routing.Amount{100}
				retime(s, before, []routing.StepRef{pickup, reload, delivery}, after)
			}, "carried across a reload"},
		}
		for name, tc := range cases {
			saved := slices.Clone(p.Vehicles)
			s := good
			s.Routes = slices.Clone(good.Routes)
			s.Routes[0].Steps = slices.Clone(good.Routes[0].Steps)
			tc.edit(&s)
			err := routing.Check(p, s)
			p.Vehicles = saved
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("seed %d, %s: got %v, want an error naming %q", seed, name, err, tc.want)
			}
		}
	}
}

// TestTripsDeterministicAndReported: with trips, two runs with the same seed and
// iteration bound give the same plan, and every plan the progress hook is told passes
// the checker, none worse than the one before.
func TestTripsDeterministicAndReported(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		p := tripProblem(rand.New(rand.NewPCG(seed, 37)), 30, 2, 2)
		var seen []routing.Progress
		opt := routing.Options{Seed: seed, MaxIterations: 500, TimeLimit: time.Minute, ProgressEvery: time.Nanosecond,
			Progress: func(pr routing.Progress) { seen = append(seen, pr) }}
		a, _ := routing.Solve(context.Background(), p, opt)
		reports := len(seen)
		b, _ := routing.Solve(context.Background(), p, opt)
		if a.Cost != b.Cost || a.Distance != b.Distance || reloads(a) != reloads(b) {
			t.Fatalf("seed %d: two runs differ: %.4f/%.4f/%d vs %.4f/%.4f/%d", seed, a.Cost, a.Distance, reloads(a), b.Cost, b.Distance, reloads(b))
		}
		for i, pr := range seen[:reports] {
			if err := routing.Check(p, pr.Best); err != nil {
				t.Fatalf("seed %d, report %d: %v", seed, i, err)
			}
			if i > 0 && pr.Best.Cost > seen[i-1].Best.Cost+1e-9 {
				t.Fatalf("seed %d, report %d: %.3f after %.3f", seed, i, pr.Best.Cost, seen[i-1].Best.Cost)
			}
		}
		if reports == 0 || seen[reports-1].Best.Cost < a.Cost-1e-9 {
			t.Fatalf("seed %d: %d reports, the last better than the plan returned", seed, reports)
		}
	}
}

// TestValidateRefusesBadTrips: a negative trip count or too many, a reload time that is
// negative or not a number, and a depot outside the matrix are each refused, naming the
// vehicle; the same vehicle without the fault is accepted.
func TestValidateRefusesBadTrips(t *testing.T) {
	faults := []struct {
		want  string
		fault func(v *routing.Vehicle, size int, rng *rand.Rand)
	}{
		{"trips", func(v *routing.Vehicle, _ int, _ *rand.Rand) { v.MaxTrips = -1 }},
		{"trips", func(v *routing.Vehicle, _ int, _ *rand.Rand) { v.MaxTrips = routing.MaxTrips + 1 }},
		{"reloads in", func(v *routing.Vehicle, _ int, rng *rand.Rand) {
			v.Reload = []float64{-1, math.NaN(), math.Inf(1)}[rng.IntN(3)]
		}},
		{"depot", func(v *routing.Vehicle, size int, rng *rand.Rand) {
			v.Depots = append(v.Depots, []int{-1, size}[rng.IntN(2)])
		}},
	}
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 41))
		p := tripProblem(rng, 5, 1, 1+rng.IntN(3))
		if err := p.Validate(); err != nil {
			t.Fatalf("seed %d: a sound problem refused: %v", seed, err)
		}
		for _, f := range faults {
			v := rng.IntN(len(p.Vehicles))
			saved := p.Vehicles[v]
			saved.Depots = slices.Clone(saved.Depots)
			f.fault(&p.Vehicles[v], p.Matrix.Size(), rng)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), f.want) || !strings.Contains(err.Error(), "vehicle "+strconv.Itoa(v)) {
				t.Fatalf("seed %d, vehicle %d: %+v: got %v, want an error naming %q", seed, v, p.Vehicles[v], err, f.want)
			}
			if _, err := routing.Solve(context.Background(), p, routing.Options{MaxIterations: 1}); err == nil {
				t.Fatalf("seed %d: the solver takes a problem Validate refuses", seed)
			}
			p.Vehicles[v] = saved
		}
	}
}
