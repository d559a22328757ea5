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
	pl := s.search(context.Background())
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
	pl := s.search(context.Background())
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

// postOfficeDay has the shape of domain/dispatch's BenchmarkPlanDay500: 500 stops within
// about 5 km of Thủ Dầu Một's post office (a third deliveries of one item needing an
// identity check, a few 15-minute collections, the rest 10-minute pickups of one item,
// every fourth of those taking cash), half with a two-hour slot; twelve couriers on
// 07:30–17:30 shifts, motorbikes at 25 km/h carrying 40, every fifth a bicycle at 12 km/h
// carrying 15; travel along great circles times 1.3. Each courier may make trips trips,
// reloading at the office in reload seconds.
func postOfficeDay(trips int, reload float64) *Problem {
	rng := rand.New(rand.NewPCG(1, 1))
	office := orb.Point{106.6519, 10.9804}
	points := []orb.Point{office}
	p := &Problem{}
	for i := range 12 {
		veh := Vehicle{ID: fmt.Sprint(i), Shift: Window{450 * 60, 1050 * 60}, Capacity: Amount{40}, MaxTrips: trips, Reload: reload}
		if i%5 == 4 {
			veh.Capacity, veh.TravelTimeFactor = Amount{15}, 25.0/12
		}
		switch i % 3 {
		case 0:
			veh.Skills = []string{"cash", "identity"}
		case 1:
			veh.Skills = []string{"identity"}
		}
		p.Vehicles = append(p.Vehicles, veh)
	}
	for i := range 500 {
		points = append(points, orb.Point{office[0] + (rng.Float64()*2-1)*0.045, office[1] + (rng.Float64()*2-1)*0.045})
		job := Job{ID: fmt.Sprint(i), Location: i + 1, Service: 600, Pickup: Amount{1}, Priority: 1}
		switch {
		case i%3 == 0:
			job.Service, job.Skills, job.Pickup, job.Delivery = 420, []string{"identity"}, nil, Amount{1}
		case i%17 == 1:
			job.Service = 900
		case i%4 == 1:
			job.Skills = []string{"cash"}
		}
		if rng.IntN(2) == 0 {
			start := float64(480+60*rng.IntN(8)) * 60
			job.Windows = []Window{{start, start + 7200}}
		}
		p.Jobs = append(p.Jobs, job)
	}
	p.Matrix = Haversine{Points: points, RoadFactor: 1.3, Speed: 25 / 3.6}
	return p
}

// BenchmarkPostOfficeDay plans the 500-stop day as domain/dispatch does (10 s, a vehicle
// cost of 1) with one trip per courier and with three and a 10-minute reload, and
// reports the stops left out, the distance and the reloads made.
func BenchmarkPostOfficeDay(b *testing.B) {
	for _, trips := range []int{1, 3} {
		b.Run(fmt.Sprintf("trips=%d", trips), func(b *testing.B) {
			p := postOfficeDay(trips, 600)
			for b.Loop() {
				sol, err := Solve(context.Background(), p, Options{Seed: 1, TimeLimit: 10 * time.Second, MaxIterations: 50000, VehicleCost: 1})
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
