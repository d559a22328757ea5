package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/paulmach/orb"

	"courierd/routing"
)

// cityProblem is a post office's day in a city like Thủ Dầu Một: stops scattered within
// about 15 km of the office, half with a four-hour slot, each a delivery or a pickup of one
// or two dossiers; motorbike couriers on a 07:30–17:30 shift carrying 60 at most; travel
// from the great-circle distance times 1.3, at 8 m/s. Times are seconds from midnight.
// Each courier may make trips loads, reloading at the office in reload.
func cityProblem(stops, vehicles int, seed uint64, trips int, reload time.Duration) *routing.Problem {
	rng := rand.New(rand.NewPCG(seed, 2025))
	office := orb.Point{106.6519, 10.9804}
	points := []orb.Point{office}
	p := &routing.Problem{}
	for v := 0; v < vehicles; v++ {
		p.Vehicles = append(p.Vehicles, routing.Vehicle{ID: fmt.Sprintf("courier%03d", v+1), Start: 0, End: 0,
			Shift: routing.Window{Start: 7.5 * 3600, End: 17.5 * 3600}, Capacity: routing.Amount{60}, MaxTrips: trips, Reload: reload.Seconds()})
	}
	for i := 0; i < stops; i++ {
		points = append(points, orb.Point{office[0] + (rng.Float64()-0.5)*0.27, office[1] + (rng.Float64()-0.5)*0.27})
		job := routing.Job{ID: fmt.Sprint(i + 1), Location: i + 1, Service: float64(180 + rng.IntN(120)), Priority: 1}
		if rng.IntN(2) == 0 {
			start := float64(8*3600 + rng.IntN(5)*3600)
			job.Windows = []routing.Window{{Start: start, End: start + 4*3600}}
		}
		amount := routing.Amount{int64(1 + rng.IntN(2))}
		if rng.IntN(2) == 0 {
			job.Delivery = amount
		} else {
			job.Pickup = amount
		}
		p.Jobs = append(p.Jobs, job)
	}
	p.Matrix = routing.Haversine{Points: points, RoadFactor: 1.3, Speed: 8}
	return p
}

// cityDay plans a generated city day and reports whether the plan is feasible, how much
// it serves, the reloads made, the time taken and the process's peak memory; with a curve,
// the distance and stops left out at each checkpoint of the one run.
func cityDay(w io.Writer, stops, vehicles, trips int, reload time.Duration, opt routing.Options, curve []time.Duration) error {
	p := cityProblem(stops, vehicles, opt.Seed, trips, reload)
	began := time.Now()
	// Reading a plan of thousands of stops for each report costs the search time: one a
	// tenth of a second at most.
	rec := watch(&opt, curve, 100*time.Millisecond)
	sol, err := routing.Solve(context.Background(), p, opt)
	if err != nil {
		return err
	}
	seconds := time.Since(began).Seconds()
	if err := routing.Check(p, sol); err != nil {
		return fmt.Errorf("the city plan fails the checker: %w", err)
	}
	reloads := 0
	for _, r := range sol.Routes {
		for _, st := range r.Steps {
			if st.Kind == routing.StepReload {
				reloads++
			}
		}
	}
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	fmt.Fprintf(w, "stops,vehicles,workers,routes,unassigned,reloads,distance_km,seconds,peak_rss_mb\n%d,%d,%d,%d,%d,%d,%.1f,%.1f,%.0f\n",
		stops, vehicles, max(opt.Workers, 1), sol.Vehicles, len(sol.Unassigned), reloads, sol.Distance/1000, seconds, float64(usage.Maxrss)/1024)
	rec.finish(sol)
	for i, c := range curve {
		if rec.ok[i] {
			fmt.Fprintf(w, "# at %gs: %d unassigned, %.1f km\n", c.Seconds(), len(rec.at[i].Unassigned), rec.at[i].Distance/1000)
		}
	}
	return nil
}
