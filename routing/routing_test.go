package routing_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"courierd/routing"
)

// randomProblem is a small VRPTW/PDPTW day on a 100 × 100 plane: a depot at the centre,
// jobs (deliveries and pickups) and shipments with windows, vehicles with a shift and a
// capacity, and now and then a skill.
func randomProblem(rng *rand.Rand, jobs, shipments, vehicles int) *routing.Problem {
	points := []orb.Point{{50, 50}}
	at := func() int {
		points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
		return len(points) - 1
	}
	window := func() []routing.Window {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1: // a morning and an afternoon slot
			start := rng.Float64() * 150
			return []routing.Window{{Start: start, End: start + 40}, {Start: start + 200, End: start + 260}}
		}
		start := rng.Float64() * 300
		return []routing.Window{{Start: start, End: start + 40 + rng.Float64()*120}}
	}
	p := &routing.Problem{}
	for v := 0; v < vehicles; v++ {
		veh := routing.Vehicle{ID: string(rune('A' + v)), Start: 0, End: 0, Shift: routing.Window{Start: 0, End: 600}, Capacity: routing.Amount{20}}
		if v == 0 {
			veh.Skills = []string{"cash"}
		}
		if v == 1 {
			veh.TravelTimeFactor = 1.5 // a slower kind of vehicle
		}
		p.Vehicles = append(p.Vehicles, veh)
	}
	for j := 0; j < jobs; j++ {
		job := routing.Job{ID: string(rune('a' + j)), Location: at(), Service: 5, Windows: window(), Priority: 1 + rng.IntN(2)}
		if rng.IntN(2) == 0 {
			job.Delivery = routing.Amount{int64(1 + rng.IntN(6))}
		} else {
			job.Pickup = routing.Amount{int64(1 + rng.IntN(6))}
		}
		if rng.IntN(8) == 0 {
			job.Skills = []string{"cash"}
		}
		p.Jobs = append(p.Jobs, job)
	}
	for s := 0; s < shipments; s++ {
		p.Shipments = append(p.Shipments, routing.Shipment{ID: string(rune('s' + s)),
			Pickup:   routing.Stop{Location: at(), Service: 3, Windows: window()},
			Delivery: routing.Stop{Location: at(), Service: 3, Windows: window()},
			Amount:   routing.Amount{int64(1 + rng.IntN(5))}, Priority: 1})
	}
	p.Matrix = routing.Euclidean(points)
	return p
}

// TestSolutionsPassTheChecker: on random small problems of every shape, whatever the
// solver returns passes the independent checker, and what it leaves out has a reason.
func TestSolutionsPassTheChecker(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		p := randomProblem(rng, 3+rng.IntN(15), rng.IntN(4), 1+rng.IntN(3))
		sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 300, TimeLimit: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := routing.Check(p, sol); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// bruteForce is the least distance of a plan serving everything, found by trying every
// order of every stop (jobs, and both ends of each shipment) split between the vehicles in
// every way, each judged by the checker; +Inf when no plan serves everything.
func bruteForce(p *routing.Problem) float64 {
	type stop struct {
		kind  routing.StepKind
		index int
	}
	var stops []stop
	for j := range p.Jobs {
		stops = append(stops, stop{routing.StepJob, j})
	}
	for i := range p.Shipments {
		stops = append(stops, stop{routing.StepPickup, i}, stop{routing.StepDelivery, i})
	}
	// Vehicle boundaries are stops too (index -1 - the vehicle that comes next).
	for v := 1; v < len(p.Vehicles); v++ {
		stops = append(stops, stop{-1, v})
	}
	place := func(st stop) (int, float64, []routing.Window) {
		switch st.kind {
		case routing.StepJob:
			j := p.Jobs[st.index]
			return j.Location, j.Service, j.Windows
		case routing.StepPickup:
			sh := p.Shipments[st.index].Pickup
			return sh.Location, sh.Service, sh.Windows
		}
		sh := p.Shipments[st.index].Delivery
		return sh.Location, sh.Service, sh.Windows
	}
	best := math.Inf(1)
	judge := func(order []stop) {
		var sol routing.Solution
		route := func(v int, seq []stop) {
			if len(seq) == 0 {
				return
			}
			veh := p.Vehicles[v]
			r := routing.Route{Vehicle: v, Depart: veh.Shift.Start}
			at, here := veh.Shift.Start, veh.Start
			for _, st := range seq {
				loc, service, windows := place(st)
				r.Distance += p.Matrix.Distance(here, loc)
				arrival := at + p.Matrix.Duration(here, loc)*max(veh.TravelTimeFactor, 1)
				start := arrival
				for _, w := range windows { // the first window still open
					if arrival <= w.End {
						start = math.Max(arrival, w.Start)
						break
					}
				}
				r.Steps = append(r.Steps, routing.Step{Kind: st.kind, Index: st.index, Location: loc,
					Arrival: arrival, Wait: start - arrival, Start: start, Departure: start + service})
				at, here = start+service, loc
			}
			r.Distance += p.Matrix.Distance(here, veh.End)
			sol.Routes = append(sol.Routes, r)
			sol.Distance += r.Distance
			sol.Vehicles++
		}
		v, from := 0, 0
		for k, st := range order {
			if st.kind == -1 {
				route(v, order[from:k])
				v, from = st.index, k+1
			}
		}
		route(v, order[from:])
		if sol.Distance < best && routing.Check(p, sol) == nil {
			best = sol.Distance
		}
	}
	eachOrder(stops, judge)
	return best
}

// eachOrder calls visit with every order of xs, reordering xs in place.
func eachOrder[T any](xs []T, visit func([]T)) {
	var permute func(k int)
	permute = func(k int) {
		if k == len(xs) {
			visit(xs)
			return
		}
		for i := k; i < len(xs); i++ {
			xs[k], xs[i] = xs[i], xs[k]
			permute(k + 1)
			xs[k], xs[i] = xs[i], xs[k]
		}
	}
	permute(0)
}

// matchesBruteForce solves p and holds the plan to the checker and to want, the least
// distance serving everything (+Inf: nothing does, and the solver must leave something
// out). whole reports whether everything could be served.
func matchesBruteForce(t *testing.T, p *routing.Problem, seed uint64, want float64) (sol routing.Solution, whole bool) {
	t.Helper()
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
		return sol, false
	}
	if len(sol.Unassigned) > 0 || math.Abs(sol.Distance-want) > 1e-6 {
		t.Fatalf("seed %d: solver %.4f with %d left out, brute force %.4f", seed, sol.Distance, len(sol.Unassigned), want)
	}
	return sol, true
}

// TestTinyProblemsMatchBruteForce: on tiny problems the solver finds the least distance
// that serves everything, or leaves something out when nothing serves everything: one
// vehicle with up to seven jobs; two vehicles (one with a skill the other lacks) with
// jobs and shipments under a capacity that binds.
func TestTinyProblemsMatchBruteForce(t *testing.T) {
	shapes := []struct {
		name                      string
		jobs, shipments, vehicles int
		capacity                  int64
	}{
		{"one vehicle, jobs", 7, 0, 1, 1000},
		{"two vehicles, jobs and shipments", 3, 1, 2, 8},
		{"two vehicles, shipments", 0, 2, 2, 6},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			full := 0
			for seed := uint64(1); seed <= 20; seed++ {
				rng := rand.New(rand.NewPCG(seed, 11))
				p := randomProblem(rng, shape.jobs-rng.IntN(2), shape.shipments, shape.vehicles)
				for v := range p.Vehicles {
					p.Vehicles[v].Capacity = routing.Amount{shape.capacity}
				}
				if shape.vehicles == 1 {
					for i := range p.Jobs {
						p.Jobs[i].Skills = nil
					}
				}
				if _, whole := matchesBruteForce(t, p, seed, bruteForce(p)); whole {
					full++
				}
			}
			if full < 10 {
				t.Fatalf("only %d of 20 problems can be served whole: the comparison says too little", full)
			}
		})
	}
}

// TestDeterministicForASeed: two runs with the same seed and iteration bound give the
// same plan; the checker passes both.
func TestDeterministicForASeed(t *testing.T) {
	p := randomProblem(rand.New(rand.NewPCG(3, 3)), 25, 3, 3)
	opt := routing.Options{Seed: 42, MaxIterations: 500, TimeLimit: time.Minute}
	a, _ := routing.Solve(context.Background(), p, opt)
	b, _ := routing.Solve(context.Background(), p, opt)
	if a.Cost != b.Cost || a.Distance != b.Distance || len(a.Routes) != len(b.Routes) {
		t.Fatalf("two runs differ: %.4f/%.4f vs %.4f/%.4f", a.Cost, a.Distance, b.Cost, b.Distance)
	}
	if err := routing.Check(p, a); err != nil {
		t.Fatal(err)
	}
}

// TestProgressReportsTheBestSoFar: the first report is the constructed plan, each later
// one is no worse than the one before and passes the checker, and none is better than
// what the solve returns.
func TestProgressReportsTheBestSoFar(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		p := randomProblem(rand.New(rand.NewPCG(seed, 11)), 20+int(seed)*5, 2, 3)
		var seen []routing.Progress
		sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: seed, MaxIterations: 2000, TimeLimit: time.Minute,
			ProgressEvery: time.Nanosecond, Progress: func(pr routing.Progress) { seen = append(seen, pr) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) == 0 || seen[0].Phase != routing.PhaseConstruct {
			t.Fatalf("seed %d: no report of the first plan: %d reports", seed, len(seen))
		}
		for i, pr := range seen {
			if err := routing.Check(p, pr.Best); err != nil {
				t.Fatalf("seed %d, report %d: %v", seed, i, err)
			}
			if i > 0 && (pr.Phase != routing.PhaseImprove || pr.Best.Cost > seen[i-1].Best.Cost+1e-9 || pr.Iterations < seen[i-1].Iterations) {
				t.Fatalf("seed %d, report %d: %s %.3f after %.3f", seed, i, pr.Phase, pr.Best.Cost, seen[i-1].Best.Cost)
			}
		}
		if last := seen[len(seen)-1].Best.Cost; last < sol.Cost-1e-9 {
			t.Fatalf("seed %d: reported %.3f, returned %.3f", seed, last, sol.Cost)
		}
	}
}

// TestCancelReturnsTheBestSoFar: a cancelled context still yields a checked plan.
func TestCancelReturnsTheBestSoFar(t *testing.T) {
	p := randomProblem(rand.New(rand.NewPCG(5, 5)), 30, 2, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	sol, err := routing.Solve(ctx, p, routing.Options{Seed: 1, TimeLimit: time.Hour})
	if err != nil || time.Since(began) > 5*time.Second {
		t.Fatalf("cancelled solve: %v after %v", err, time.Since(began))
	}
	if err := routing.Check(p, sol); err != nil {
		t.Fatal(err)
	}
}

// TestTravelTimeFactor: a stop that a motorbike reaches in its window is out of reach for
// a vehicle twice as slow on the same matrix, and the checker refuses a schedule that
// ignores the factor.
func TestTravelTimeFactor(t *testing.T) {
	p := &routing.Problem{
		Matrix:   routing.Euclidean{{0, 0}, {60, 0}},
		Vehicles: []routing.Vehicle{{ID: "bicycle", End: -1, Shift: routing.Window{Start: 0, End: 1000}, Capacity: routing.Amount{5}, TravelTimeFactor: 2}},
		Jobs:     []routing.Job{{ID: "door", Location: 1, Windows: []routing.Window{{Start: 0, End: 100}}, Priority: 1}},
	}
	sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: 1, MaxIterations: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(sol.Unassigned) != 1 || sol.Unassigned[0].Reason != routing.ReasonWindow {
		t.Fatalf("the bicycle needs 120 for a stop closing at 100: want it left out for its window, got %+v", sol)
	}
	p.Vehicles[0].TravelTimeFactor = 1.5
	if sol, err = routing.Solve(context.Background(), p, routing.Options{Seed: 1, MaxIterations: 50}); err != nil {
		t.Fatal(err)
	}
	if len(sol.Routes) != 1 || sol.Routes[0].Steps[0].Arrival != 90 {
		t.Fatalf("at 1.5 the stop is reached at 90: got %+v", sol)
	}
	if err := routing.Check(p, sol); err != nil {
		t.Fatal(err)
	}
	sol.Routes[0].Steps[0].Arrival, sol.Routes[0].Steps[0].Start, sol.Routes[0].Steps[0].Departure = 60, 60, 60
	if routing.Check(p, sol) == nil {
		t.Fatal("the checker accepts an arrival at 60, as if the vehicle were not slower")
	}
}

// TestUnassignedReasons: what cannot be served says why, and everything else is served.
func TestUnassignedReasons(t *testing.T) {
	p := &routing.Problem{
		Vehicles: []routing.Vehicle{{ID: "A", Start: 0, End: 0, Shift: routing.Window{Start: 0, End: 100}, Capacity: routing.Amount{10}}},
		Jobs: []routing.Job{
			{ID: "fine", Location: 1, Service: 1, Delivery: routing.Amount{2}},
			{ID: "heavy", Location: 1, Delivery: routing.Amount{11}},
			{ID: "cash", Location: 1, Skills: []string{"cash"}},
			{ID: "far", Location: 2},
			{ID: "late", Location: 1, Windows: []routing.Window{{Start: 200, End: 210}}},
		},
		Matrix: routing.Euclidean{{0, 0}, {10, 0}, {500, 0}},
	}
	sol, err := routing.Solve(context.Background(), p, routing.Options{MaxIterations: 50})
	if err != nil {
		t.Fatal(err)
	}
	if err := routing.Check(p, sol); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range sol.Unassigned {
		got[p.Jobs[u.Index].ID] = u.Reason
	}
	want := map[string]string{"heavy": routing.ReasonCapacity, "cash": routing.ReasonSkills, "far": routing.ReasonWindow, "late": routing.ReasonWindow}
	for id, reason := range want {
		if got[id] != reason {
			t.Errorf("%s: %q, want %q", id, got[id], reason)
		}
	}
	if _, left := got["fine"]; left || len(got) != len(want) {
		t.Errorf("left out: %v", got)
	}
}

// TestShipmentsPickupFirst: a direct run is served pickup then delivery on one route,
// carrying its load between them.
func TestShipmentsPickupFirst(t *testing.T) {
	p := &routing.Problem{
		Vehicles: []routing.Vehicle{{ID: "A", Start: 0, End: 0, Shift: routing.Window{Start: 0, End: 1000}, Capacity: routing.Amount{5}}},
		Shipments: []routing.Shipment{
			{ID: "s1", Pickup: routing.Stop{Location: 2}, Delivery: routing.Stop{Location: 1}, Amount: routing.Amount{5}},
			{ID: "s2", Pickup: routing.Stop{Location: 1}, Delivery: routing.Stop{Location: 2}, Amount: routing.Amount{5}},
		},
		Matrix: routing.Euclidean{{0, 0}, {10, 0}, {20, 0}},
	}
	sol, err := routing.Solve(context.Background(), p, routing.Options{MaxIterations: 200})
	if err != nil {
		t.Fatal(err)
	}
	if err := routing.Check(p, sol); err != nil {
		t.Fatal(err)
	}
	if len(sol.Unassigned) != 0 || len(sol.Routes) != 1 || len(sol.Routes[0].Steps) != 4 {
		t.Fatalf("plan: %+v", sol)
	}
}

// TestCheckerCatchesEveryViolation: each way a plan can be wrong is named by the checker.
func TestCheckerCatchesEveryViolation(t *testing.T) {
	p := &routing.Problem{
		Vehicles: []routing.Vehicle{
			{ID: "A", Start: 0, End: 0, Shift: routing.Window{Start: 0, End: 100}, Capacity: routing.Amount{10}},
			{ID: "B", Start: 0, End: 0, Shift: routing.Window{Start: 0, End: 100}, Capacity: routing.Amount{10}},
		},
		Jobs: []routing.Job{
			{ID: "j0", Location: 1, Service: 2, Windows: []routing.Window{{Start: 0, End: 50}}, Delivery: routing.Amount{4}},
			{ID: "j1", Location: 2, Service: 2, Pickup: routing.Amount{3}, Skills: []string{"cash"}},
		},
		Shipments: []routing.Shipment{{ID: "s", Pickup: routing.Stop{Location: 1}, Delivery: routing.Stop{Location: 2}, Amount: routing.Amount{2}}},
		Matrix:    routing.Euclidean{{0, 0}, {10, 0}, {20, 0}},
	}
	p.Vehicles[0].Skills = []string{"cash"}
	good, err := routing.Solve(context.Background(), p, routing.Options{MaxIterations: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := routing.Check(p, good); err != nil || len(good.Unassigned) != 0 {
		t.Fatalf("the reference plan: %v, %+v", err, good.Unassigned)
	}
	clone := func() routing.Solution {
		s := good
		s.Routes = slices.Clone(good.Routes)
		for i := range s.Routes {
			s.Routes[i].Steps = slices.Clone(good.Routes[i].Steps)
		}
		s.Unassigned = slices.Clone(good.Unassigned)
		return s
	}
	routeOf := func(s routing.Solution, kind routing.StepKind, index int) (int, int) {
		for r, route := range s.Routes {
			for k, st := range route.Steps {
				if st.Kind == kind && st.Index == index {
					return r, k
				}
			}
		}
		t.Fatalf("no step %d/%d", kind, index)
		return 0, 0
	}
	cases := map[string]struct {
		edit func(s *routing.Solution)
		want string
	}{
		"a job served twice": {func(s *routing.Solution) {
			r, k := routeOf(*s, routing.StepJob, 0)
			s.Routes[r].Steps = append(s.Routes[r].Steps, s.Routes[r].Steps[k])
		}, "served 2 times"},
		"a job dropped": {func(s *routing.Solution) {
			r, k := routeOf(*s, routing.StepJob, 0)
			s.Routes[r].Steps = slices.Delete(s.Routes[r].Steps, k, k+1)
		}, "served 0 times"},
		"service before its window": {func(s *routing.Solution) {
			p.Jobs[0].Windows[0] = routing.Window{Start: 60, End: 70}
		}, "outside its windows"},
		"over capacity": {func(s *routing.Solution) { p.Vehicles[s.Routes[0].Vehicle].Capacity = routing.Amount{1} }, "capacity"},
		"a skill missing": {func(s *routing.Solution) {
			r, _ := routeOf(*s, routing.StepJob, 1)
			p.Vehicles[s.Routes[r].Vehicle].Skills = nil
		}, "lacks a skill"},
		"delivery before pickup": {func(s *routing.Solution) {
			r, k := routeOf(*s, routing.StepPickup, 0)
			_, d := routeOf(*s, routing.StepDelivery, 0)
			s.Routes[r].Steps[k], s.Routes[r].Steps[d] = s.Routes[r].Steps[d], s.Routes[r].Steps[k]
		}, "delivered before it is picked up"},
		"the shift ends too soon": {func(s *routing.Solution) { p.Vehicles[s.Routes[0].Vehicle].Shift.End = 1 }, "after the shift's end"},
		"too long a day":          {func(s *routing.Solution) { p.Vehicles[s.Routes[0].Vehicle].MaxDuration = 1 }, "over the vehicle's maximum"},
		"a wrong total":           {func(s *routing.Solution) { s.Distance += 5 }, "reports distance"},
		"a vehicle twice": {func(s *routing.Solution) {
			s.Routes = append(s.Routes, routing.Route{Vehicle: s.Routes[0].Vehicle})
		}, "drives two routes"},
		"a departure that is not the end of service": {func(s *routing.Solution) { s.Routes[0].Steps[0].Departure -= 1 }, "service ends"},
		"left out without a reason": {func(s *routing.Solution) {
			r, k := routeOf(*s, routing.StepJob, 0)
			s.Routes[r].Steps = slices.Delete(s.Routes[r].Steps, k, k+1)
			s.Unassigned = append(s.Unassigned, routing.Unassigned{Kind: routing.StepJob, Index: 0})
		}, "without a reason"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			saved := *p
			saved.Vehicles = slices.Clone(p.Vehicles)
			saved.Jobs = slices.Clone(p.Jobs)
			saved.Jobs[0].Windows = slices.Clone(p.Jobs[0].Windows)
			defer func() { p.Vehicles, p.Jobs = saved.Vehicles, saved.Jobs }()
			p.Vehicles, p.Jobs = slices.Clone(saved.Vehicles), slices.Clone(saved.Jobs)
			p.Jobs[0].Windows = slices.Clone(saved.Jobs[0].Windows)
			s := clone()
			tc.edit(&s)
			err := routing.Check(p, s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestSolomonSample solves two public instances briefly: every customer is served, the
// checker passes, and the distance is within a few per cent of the best known.
func TestSolomonSample(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "routing", "solomon")
	for name, bks := range map[string]float64{"C101": 828.94, "R101": 1642.88} {
		f, err := os.Open(filepath.Join(dir, name+".txt"))
		if err != nil {
			t.Skipf("the public benchmark sets are not beside the checkout (%v)", err)
		}
		p, err := routing.ReadSolomon(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		sol, err := routing.Solve(context.Background(), p, routing.Options{Seed: 1, MaxIterations: 3000, TimeLimit: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := routing.Check(p, sol); err != nil || len(sol.Unassigned) > 0 {
			t.Fatalf("%s: %v, %d left out", name, err, len(sol.Unassigned))
		}
		if gap := 100 * (sol.Distance - bks) / bks; gap > 5 {
			t.Errorf("%s: %.2f, %.2f%% over the best known %.2f", name, sol.Distance, gap, bks)
		}
	}
}
