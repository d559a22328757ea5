package routing

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// benchProblem is a 200-customer VRPTW day on a plane, wide windows.
func benchProblem() *Problem {
	rng := rand.New(rand.NewPCG(1, 1))
	points := []orb.Point{{50, 50}}
	p := &Problem{}
	for v := 0; v < 25; v++ {
		p.Vehicles = append(p.Vehicles, Vehicle{Start: 0, End: 0, Shift: Window{0, 1000}, Capacity: Amount{200}})
	}
	for j := 0; j < 200; j++ {
		points = append(points, orb.Point{rng.Float64() * 100, rng.Float64() * 100})
		start := rng.Float64() * 700
		p.Jobs = append(p.Jobs, Job{Location: j + 1, Service: 10, Windows: []Window{{start, start + 200}}, Delivery: Amount{int64(1 + rng.IntN(20))}})
	}
	p.Matrix = Euclidean(points)
	return p
}

// BenchmarkBestInsertion is the hot path of every recreate: the cheapest place for one
// customer across a 200-customer plan.
func BenchmarkBestInsertion(b *testing.B) {
	p := benchProblem()
	s := newSolver(p, Options{Seed: 1, MaxIterations: 200})
	s.started = time.Now()
	pl := s.run(context.Background())
	scratch := make([]int, 0, 64)
	caches := make([]routeCache, len(pl.routes))
	for v, r := range pl.routes {
		s.cache(v, r, &caches[v])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := i % len(s.nodes)
		s.bestInsertion(&pl, caches, n, 0, scratch)
	}
}

// BenchmarkRuinRecreate is one round of the search on the same plan.
func BenchmarkRuinRecreate(b *testing.B) {
	p := benchProblem()
	s := newSolver(p, Options{Seed: 1, MaxIterations: 200})
	s.started = time.Now()
	pl := s.run(context.Background())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := pl.clone()
		s.ruin(&c, 10, 10)
		s.recreate(&c, 0.01, 0, func() bool { return false })
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rounds/s")
}

// BenchmarkSolve200 is a whole solve of the 200-customer day for one second.
func BenchmarkSolve200(b *testing.B) {
	p := benchProblem()
	for i := 0; i < b.N; i++ {
		sol, err := Solve(context.Background(), p, Options{Seed: 1, TimeLimit: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		if err := Check(p, sol); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sol.Distance, "distance")
	}
}
