package routing

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestInsertJobAgreesWithAFullPass: on random plans, the constant-time judgement of a
// job's insertion gives the same feasibility and cost as recomputing the whole route, on
// routes of one trip and on routes that reload between trips.
func TestInsertJobAgreesWithAFullPass(t *testing.T) {
	for _, trips := range []int{1, 3} {
		checked, reloads := 0, 0
		for seed := uint64(1); seed <= 30; seed++ {
			checked += insertJobAgrees(t, seed, trips, &reloads)
		}
		if checked < 1000 || (trips > 1 && reloads < 30) {
			t.Fatalf("%d trips: only %d insertions compared, %d reloads in the plans", trips, checked, reloads)
		}
	}
}

// insertJobAgrees compares both judgements on one random plan, returning how many.
func insertJobAgrees(t *testing.T, seed uint64, trips int, reloads *int) (checked int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	points := []orb.Point{{50, 50}}
	p := &Problem{}
	for v := 0; v < 3; v++ {
		end := 0
		if v == 2 {
			end = -1 // a route that ends at its last stop
		}
		p.Vehicles = append(p.Vehicles, Vehicle{Start: 0, End: end, Shift: Window{0, 400 + rng.Float64()*400}, Capacity: Amount{15, 10},
			MaxTrips: trips, Reload: 10, Depots: []int{0, 1}[:1+v%2]})
		if trips > 1 {
			p.Vehicles[v].Capacity = Amount{6, 5}
		}
	}
	for j := 0; j < 30; j++ {
		points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
		job := Job{Location: j + 1, Service: rng.Float64() * 10, Priority: 1}
		if rng.IntN(3) > 0 {
			start := rng.Float64() * 500
			job.Windows = []Window{{start, start + 30 + rng.Float64()*150}}
		}
		if rng.IntN(2) == 0 {
			job.Delivery = Amount{int64(rng.IntN(5)), int64(rng.IntN(4))}
		} else {
			job.Pickup = Amount{int64(rng.IntN(5)), int64(rng.IntN(4))}
		}
		p.Jobs = append(p.Jobs, job)
	}
	p.Matrix = Euclidean(points)
	s := newSolver(p, Options{Seed: seed, MaxIterations: 50})
	pl := s.run(context.Background())
	var c routeCache
	scratch := []int{}
	// compare judges inserting n at every place of seq both ways.
	compare := func(v int, seq []int, n int) {
		s.cache(v, seq, &c)
		if !c.fast {
			t.Fatal("a plain route was not judged fast")
		}
		before, feasible := s.routeCost(v, seq)
		if !feasible {
			return // a reload taken out may join two trips that do not fit together
		}
		for i := 0; i <= len(seq); i++ {
			delta, ok := s.insertJob(v, seq, &c, n, i)
			scratch = insertAt(scratch[:0], seq, i, n, -1, -1)
			after, full := s.routeCost(v, scratch)
			if ok != full || (ok && math.Abs(delta-(after-before)) > 1e-6) {
				t.Fatalf("seed %d vehicle %d node %d at %d: fast %v %.4f, full %v %.4f", seed, v, n, i, ok, delta, full, after-before)
			}
			checked++
		}
	}
	for v, route := range pl.routes {
		for _, n := range route {
			if s.isReload(n) {
				*reloads++
			}
		}
		for _, n := range pl.out {
			compare(v, route, n)
		}
		// The same for a node taken out of this very route and put back elsewhere.
		for k, n := range route {
			compare(v, append(append([]int{}, route[:k]...), route[k+1:]...), n)
		}
		// A free reload between two stops, as insertWithReload judges it.
		s.cache(v, route, &c)
		before, _ := s.routeCost(v, route)
		for _, r := range s.freeReloads(v, route) {
			if s.reloadCount(route) >= trips-1 {
				break
			}
			for j := 1; j < len(route); j++ {
				if s.isReload(route[j-1]) || s.isReload(route[j]) {
					continue
				}
				delta, ok := s.insertJob(v, route, &c, r, j)
				after, full := s.routeCost(v, insertAt(nil, route, j, r, -1, -1))
				if ok != full || (ok && math.Abs(delta-(after-before)) > 1e-6) {
					t.Fatalf("seed %d vehicle %d reload %d at %d: fast %v %.4f, full %v %.4f", seed, v, r, j, ok, delta, full, after-before)
				}
				checked++
			}
		}
	}
	return checked
}

// TestNearestMatchesASort: the kept nearest nodes are those a full sort would give.
func TestNearestMatchesASort(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	points := []orb.Point{{0, 0}}
	p := &Problem{Vehicles: []Vehicle{{Shift: Window{0, 1}, Capacity: Amount{1}}}}
	for j := 0; j < 300; j++ {
		points = append(points, orb.Point{float64(rng.IntN(50)), float64(rng.IntN(50))}) // ties on purpose
		p.Jobs = append(p.Jobs, Job{Location: j + 1})
	}
	p.Matrix = Euclidean(points)
	s := newSolver(p, Options{})
	for a := range s.nodes {
		want := []int{}
		for b := range s.nodes {
			if b != a {
				want = append(want, b)
			}
		}
		dist := func(b int) float64 { return s.travelCost(s.nodes[a].loc, s.nodes[b].loc) }
		slices.SortStableFunc(want, func(x, y int) int { return cmpFloat(dist(x), dist(y)) })
		if got := s.near[a]; !slices.Equal(got, want[:40]) {
			t.Fatalf("node %d: %v, want %v", a, got, want[:40])
		}
	}
}

// TestTripsKeepTheCostExact: through the ruins, insertions with a reload and dropped
// reloads of a search, judged in constant time or by full passes, the cost the plan
// carries is the cost of its routes recomputed, and every route is feasible.
func TestTripsKeepTheCostExact(t *testing.T) {
	reloads := 0
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 43))
		points := []orb.Point{{50, 50}, {20, 80}}
		p := &Problem{}
		for v := range 2 {
			p.Vehicles = append(p.Vehicles, Vehicle{Start: 0, End: 0, Shift: Window{0, 1500}, Capacity: Amount{int64(4 + rng.IntN(4))},
				MaxTrips: 2 + rng.IntN(3), Reload: 5, Depots: []int{0, 1}[:1+v]})
			if seed%2 == 0 {
				p.Vehicles[v].MaxDuration = 1400 // every judgement a full pass
			}
		}
		for j := range 25 {
			points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
			job := Job{Location: j + 2, Service: 3, Priority: 1, Delivery: Amount{int64(1 + rng.IntN(3))}}
			if rng.IntN(3) == 0 {
				job.Delivery, job.Pickup = nil, job.Delivery
			}
			p.Jobs = append(p.Jobs, job)
		}
		p.Matrix = Euclidean(points)
		s := newSolver(p, Options{Seed: seed, MaxIterations: 300, TimeLimit: time.Minute})
		s.started = time.Now()
		pl := s.run(context.Background())
		for _, r := range pl.routes {
			reloads += s.reloadCount(r)
		}
		if want := s.planCost(pl); math.Abs(pl.cost-want) > 1e-6*math.Max(1, want) {
			t.Fatalf("seed %d: the plan carries %.6f, its routes cost %.6f", seed, pl.cost, want)
		}
		for v, r := range pl.routes {
			if _, ok := s.routeCost(v, r); !ok {
				t.Fatalf("seed %d: route %d %v is not feasible", seed, v, r)
			}
		}
	}
	if reloads < 10 {
		t.Fatalf("only %d reloads in 20 plans: the test says little", reloads)
	}
}

// TestInsertShipmentAgreesWithAFullPass: on random plans of shipments and jobs, the
// cheapest place the cache finds for a shipment's two ends costs what the cheapest of a
// full pass over every pair of places costs, is feasible, and is found exactly when one
// exists; on routes that end at their last stop and with a cost per vehicle too.
func TestInsertShipmentAgreesWithAFullPass(t *testing.T) {
	checked, found := 0, 0
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		points := []orb.Point{{50, 50}}
		p := &Problem{}
		for v := range 3 {
			end := 0
			if v == 2 {
				end = -1
			}
			p.Vehicles = append(p.Vehicles, Vehicle{Start: 0, End: end, Shift: Window{0, 500 + rng.Float64()*500}, Capacity: Amount{int64(6 + rng.IntN(8))},
				FixedCost: float64(seed % 3 * 20)})
		}
		window := func() []Window {
			if rng.IntN(4) == 0 {
				return nil
			}
			start := rng.Float64() * 600
			return []Window{{start, start + 40 + rng.Float64()*200}}
		}
		for range 18 {
			at := len(points)
			points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100}, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
			p.Shipments = append(p.Shipments, Shipment{Amount: Amount{int64(1 + rng.IntN(5))}, Priority: 1,
				Pickup: Stop{Location: at, Service: rng.Float64() * 10, Windows: window()}, Delivery: Stop{Location: at + 1, Service: rng.Float64() * 10, Windows: window()}})
		}
		for range 6 {
			points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
			p.Jobs = append(p.Jobs, Job{Location: len(points) - 1, Service: 5, Windows: window(), Priority: 1, Delivery: Amount{int64(rng.IntN(3))}})
		}
		p.Matrix = Euclidean(points)
		s := newSolver(p, Options{Seed: seed, MaxIterations: 40, VehicleCost: float64(seed%2) * 100})
		pl := s.run(context.Background())
		var c routeCache
		scratch := []int{}
		compare := func(v int, seq []int, n int) {
			before, feasible := s.routeCost(v, seq)
			if !feasible {
				t.Fatalf("seed %d: route %v of the plan is not feasible", seed, seq)
			}
			s.cache(v, seq, &c)
			fast := insertion{delta: math.Inf(1)}
			s.insertShipment(v, seq, &c, n, 0, &fast)
			full := insertion{delta: math.Inf(1)}
			for i := 0; i <= len(seq); i++ {
				for j := i; j <= len(seq); j++ {
					scratch = insertAt(scratch[:0], seq, i, n, j, s.nodes[n].pair)
					if after, ok := s.routeCost(v, scratch); ok && after-before < full.delta {
						full = insertion{vehicle: v, at: i, pairAt: j, delta: after - before, ok: true}
					}
				}
			}
			if fast.ok != full.ok || (fast.ok && math.Abs(fast.delta-full.delta) > 1e-6) {
				t.Fatalf("seed %d vehicle %d shipment node %d in %v: fast %+v, full %+v", seed, v, n, seq, fast, full)
			}
			if fast.ok {
				after, ok := s.routeCost(v, insertAt(nil, seq, fast.at, n, fast.pairAt, s.nodes[n].pair))
				if !ok || math.Abs(after-before-fast.delta) > 1e-6 {
					t.Fatalf("seed %d: the fast place %+v is feasible %v at %.4f", seed, fast, ok, after-before)
				}
				found++
			}
			checked++
		}
		for v, route := range pl.routes {
			for _, n := range pl.out {
				if s.nodes[n].kind == StepPickup {
					compare(v, route, n)
				}
			}
			// A shipment taken out of this very route and put back.
			for _, n := range route {
				if s.nodes[n].kind != StepPickup {
					continue
				}
				rest := slices.DeleteFunc(slices.Clone(route), func(m int) bool { return m == n || m == s.nodes[n].pair })
				compare(v, rest, n)
			}
			compare(v, nil, p0(s)) // an empty route: the vehicle's own cost counts
		}
	}
	if checked < 500 || found < checked/4 || found == checked {
		t.Fatalf("%d judgements, %d with a place: the cases say little", checked, found)
	}
}

// p0 is the first shipment's pickup node.
func p0(s *solver) int {
	return slices.IndexFunc(s.nodes, func(nd node) bool { return nd.kind == StepPickup })
}
