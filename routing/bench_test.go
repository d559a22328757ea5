package routing

import (
	"context"
	"fmt"
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

// postOfficeDay has the shape of api's BenchmarkPlanAndPublish500, the day where one load
// is not enough: 500 pickups of one dossier (10 minutes each) on a 25 × 20 grid of about
// 3.9 × 3.7 km around Phú Hòa, and the twelve couriers of the office (the demo's eight,
// carrying 30–40 each on their own shifts, and four more carrying 40 from 07:30 to 17:30),
// 445 dossiers a load in all; motorbikes at 25 km/h along great circles times 1.3. Each
// courier may make trips trips, reloading at the office in reload seconds.
func postOfficeDay(trips int, reload float64) *Problem {
	office := orb.Point{106.6800, 10.9720}
	points := []orb.Point{office}
	p := &Problem{}
	shift := func(from, to float64) Window { return Window{from * 3600, to * 3600} }
	for i, c := range []struct {
		capacity int64
		shift    Window
	}{{40, shift(7.5, 17)}, {35, shift(7.5, 17)}, {40, shift(7, 16.5)}, {30, shift(8, 17.5)}, {40, shift(7.5, 17)},
		{30, shift(7.5, 17)}, {35, shift(7, 16.5)}, {35, shift(8, 17.5)},
		{40, shift(7.5, 17.5)}, {40, shift(7.5, 17.5)}, {40, shift(7.5, 17.5)}, {40, shift(7.5, 17.5)}} {
		p.Vehicles = append(p.Vehicles, Vehicle{ID: fmt.Sprint(i), Shift: c.shift, Capacity: Amount{c.capacity}, MaxTrips: trips, Reload: reload})
	}
	for i := range 500 {
		points = append(points, orb.Point{106.665 + float64(i/25)*0.0017, 10.960 + float64(i%25)*0.0014})
		p.Jobs = append(p.Jobs, Job{ID: fmt.Sprint(i), Location: i + 1, Service: 600, Pickup: Amount{1}, Priority: 1})
	}
	p.Matrix = Haversine{Points: points, RoadFactor: 1.3, Speed: 25 / 3.6}
	return p
}

// BenchmarkPostOfficeDay plans that day as dispatch does (8 s, a vehicle cost of 1) with
// one trip per courier and with three and a 10-minute reload, and reports the stops left
// out, the distance and the reloads made.
func BenchmarkPostOfficeDay(b *testing.B) {
	for _, trips := range []int{1, 3} {
		b.Run(fmt.Sprintf("trips=%d", trips), func(b *testing.B) {
			p := postOfficeDay(trips, 600)
			for b.Loop() {
				sol, err := Solve(context.Background(), p, Options{Seed: 1, TimeLimit: 8 * time.Second, MaxIterations: 50000, VehicleCost: 1})
				if err != nil {
					b.Fatal(err)
				}
				if err := Check(p, sol); err != nil {
					b.Fatal(err)
				}
				reloads := 0
				for _, r := range sol.Routes {
					for _, st := range r.Steps {
						if st.Kind == StepReload {
							reloads++
						}
					}
				}
				b.ReportMetric(float64(len(sol.Unassigned)), "unassigned")
				b.ReportMetric(sol.Distance/1000, "km")
				b.ReportMetric(float64(reloads), "reloads")
			}
		})
	}
}
