package routing

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// TestInsertJobAgreesWithAFullPass: on random plans, the constant-time judgement of a
// job's insertion gives the same feasibility and cost as recomputing the whole route.
func TestInsertJobAgreesWithAFullPass(t *testing.T) {
	checked := 0
	for seed := uint64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		points := []orb.Point{{50, 50}}
		p := &Problem{}
		for v := 0; v < 3; v++ {
			end := 0
			if v == 2 {
				end = -1 // a route that ends at its last stop
			}
			p.Vehicles = append(p.Vehicles, Vehicle{Start: 0, End: end, Shift: Window{0, 400 + rng.Float64()*400}, Capacity: Amount{15, 10}})
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
			before, _ := s.routeCost(v, seq)
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
			for _, n := range pl.out {
				compare(v, route, n)
			}
			// The same for a node taken out of this very route and put back elsewhere.
			for k, n := range route {
				compare(v, append(append([]int{}, route[:k]...), route[k+1:]...), n)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d insertions compared", checked)
	}
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
