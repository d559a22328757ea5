// Command vrpbench solves public routing benchmark instances with courierd's solver,
// checks every solution, and prints one CSV row per instance and a summary per class:
//
//	vrpbench -time 2s -seed 1 -bks ../shared/data/routing/solomon/bks_distance.csv ../shared/data/routing/solomon/*.txt
//	vrpbench -curve 0.2s,1s,2s,10s,30s -workers 2 -bks … files…
//
// Solomon and Gehring & Homberger files are read as VRPTW, Li & Lim files (lc…, lr…,
// lrc…) as PDPTW. Distances are real Euclidean, the literature's convention.
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"courierd/routing"
)

type bks struct {
	vehicles int
	distance float64
}

func main() {
	limit := flag.Duration("time", 2*time.Second, "time per instance")
	seed := flag.Uint64("seed", 1, "random seed")
	bksPath := flag.String("bks", "", "CSV of best-known results (instance,vehicles,distance,…)")
	dimacs := flag.Bool("dimacs", false, "truncate each distance to one decimal, the DIMACS convention of the 1000-customer best-known results")
	vehicleCost := flag.Float64("vehicle-cost", 0, "cost of each vehicle used: 0 minimises distance alone; a large one minimises vehicles first, as hierarchical best-known results do")
	city := flag.Int("city", 0, "instead of files, plan a generated city day of this many stops (haversine travel), and report its time and peak memory")
	vehicles := flag.Int("vehicles", 200, "couriers of the generated city day")
	trips := flag.Int("trips", 1, "loads each courier of the city day may carry, reloading at the office between them")
	reload := flag.Duration("reload", 10*time.Minute, "time to unload and reload at the office between trips")
	workers := flag.Int("workers", 1, "goroutines searching each instance at once")
	curveFlag := flag.String("curve", "", "print the best distance at these times (\"default\": 0.2s,1s,2s,10s,30s) from one run per instance, which lasts the last of them; -time is ignored")
	flag.Parse()
	opt := routing.Options{TimeLimit: *limit, Seed: *seed, VehicleCost: *vehicleCost, Workers: *workers}
	curve, err := parseCurve(*curveFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vrpbench:", err)
		os.Exit(2)
	}
	if len(curve) > 0 {
		opt.TimeLimit = curve[len(curve)-1]
	}
	if *city > 0 {
		if err := cityDay(os.Stdout, *city, *vehicles, *trips, *reload, opt, curve); err != nil {
			fmt.Fprintln(os.Stderr, "vrpbench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: vrpbench [-time 2s] [-seed 1] [-workers 1] [-curve default] [-bks file.csv] instance.txt…")
		os.Exit(2)
	}
	known := map[string]bks{}
	if *bksPath != "" {
		var err error
		if known, err = readBKS(*bksPath); err != nil {
			fmt.Fprintln(os.Stderr, "vrpbench:", err)
			os.Exit(1)
		}
	}
	if err := run(os.Stdout, flag.Args(), known, opt, *dimacs, curve); err != nil {
		fmt.Fprintln(os.Stderr, "vrpbench:", err)
		os.Exit(1)
	}
}

// parseCurve reads -curve: checkpoints, ascending.
func parseCurve(s string) ([]time.Duration, error) {
	if s == "" {
		return nil, nil
	}
	if s == "default" {
		s = "0.2s,1s,2s,10s,30s"
	}
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 || (len(out) > 0 && d <= out[len(out)-1]) {
			return nil, fmt.Errorf("-curve wants ascending positive durations, not %q", part)
		}
		out = append(out, d)
	}
	return out, nil
}

// recorder keeps, from a run's progress reports, the best plan at each checkpoint of a
// curve. One run serves every checkpoint because the search's schedule does not depend on
// its time limit: what a 30 s run has at 2 s is what a 2 s run returns (but for the
// machine's noise). Reports come at most every so often, so a checkpoint may miss an
// improvement made in that span before it; the one at the time limit is the result.
type recorder struct {
	curve []time.Duration
	at    []routing.Solution // one per checkpoint passed
	ok    []bool             // whether a plan existed by then
	last  *routing.Solution
}

// watch makes opt report to a new recorder, at most every so often.
func watch(opt *routing.Options, curve []time.Duration, every time.Duration) *recorder {
	r := &recorder{curve: curve}
	if len(curve) > 0 {
		opt.ProgressEvery = every
		opt.Progress = r.progress
	}
	return r
}

func (r *recorder) progress(pr routing.Progress) {
	r.pass(pr.Elapsed)
	r.last = &pr.Best
}

// pass records the last plan at each checkpoint before t.
func (r *recorder) pass(t time.Duration) {
	for len(r.at) < len(r.curve) && t > r.curve[len(r.at)] {
		r.ok = append(r.ok, r.last != nil)
		if r.last != nil {
			r.at = append(r.at, *r.last)
		} else {
			r.at = append(r.at, routing.Solution{})
		}
	}
}

// finish closes the curve with the run's result at its last checkpoint.
func (r *recorder) finish(sol routing.Solution) {
	if len(r.curve) == 0 {
		return
	}
	r.pass(r.curve[len(r.curve)-1])
	r.at = append(r.at[:len(r.curve)-1], sol)
	r.ok = append(r.ok[:len(r.curve)-1], true)
}

// distances are the curve's best distances, NaN before the first plan.
func (r *recorder) distances() []float64 {
	out := make([]float64, len(r.at))
	for i, sol := range r.at {
		out[i] = math.NaN()
		if r.ok[i] {
			out[i] = sol.Distance
		}
	}
	return out
}

// class is an instance's benchmark class: C1, R2, RC1, LC1, c1_2…
var classOf = regexp.MustCompile(`^([a-zA-Z]+[0-9])`)

type tally struct {
	n, counted        int // instances, and those with a best-known value
	gap, seconds      float64
	vehicles, bksVehs int
	curveGap          []float64
}

// run solves each file, checks it and prints its row, then a summary per class and for
// all. Averages of gaps count only the instances with a best-known value, and say how
// many those are. With a curve, each row and summary gives the distance and gap at each
// checkpoint.
func run(w io.Writer, files []string, known map[string]bks, opt routing.Options, dimacs bool, curve []time.Duration) error {
	header := "instance,vehicles,distance,bks_vehicles,bks_distance,gap_pct,seconds"
	for _, c := range curve {
		header += fmt.Sprintf(",distance_%gs,gap_pct_%gs", c.Seconds(), c.Seconds())
	}
	fmt.Fprintln(w, header)
	classes := map[string]*tally{}
	var order []string
	overall := &tally{curveGap: make([]float64, len(curve))}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		p, err := read(path, name)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if dimacs {
			p.Matrix = truncated{p.Matrix}
		}
		began := time.Now()
		rec := watch(&opt, curve, time.Millisecond)
		sol, err := routing.Solve(context.Background(), p, opt)
		seconds := time.Since(began).Seconds()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rec.finish(sol)
		at := rec.distances()
		if err := routing.Check(p, sol); err != nil {
			return fmt.Errorf("%s: the solution fails the checker: %w", name, err)
		}
		if len(sol.Unassigned) > 0 {
			return fmt.Errorf("%s: %d jobs left out (%s)", name, len(sol.Unassigned), sol.Unassigned[0].Reason)
		}
		b, ok := known[strings.ToLower(name)]
		gapOf := func(d float64) float64 {
			if !ok {
				return math.NaN()
			}
			return 100 * (d - b.distance) / b.distance
		}
		gap := gapOf(sol.Distance)
		row := fmt.Sprintf("%s,%d,%.2f,%d,%.2f,%.2f,%.2f", name, sol.Vehicles, sol.Distance, b.vehicles, b.distance, gap, seconds)
		for _, d := range at {
			row += fmt.Sprintf(",%.2f,%.2f", d, gapOf(d))
		}
		fmt.Fprintln(w, row)
		class := strings.ToUpper(classOf.FindString(name))
		if classes[class] == nil {
			classes[class] = &tally{curveGap: make([]float64, len(curve))}
			order = append(order, class)
		}
		for _, t := range []*tally{classes[class], overall} {
			t.n++
			t.seconds += seconds
			t.vehicles += sol.Vehicles
			if ok {
				t.counted++
				t.gap += gap
				t.bksVehs += b.vehicles
				for i, d := range at {
					t.curveGap[i] += gapOf(d)
				}
			}
		}
	}
	summary := func(label string, t *tally) {
		fmt.Fprintf(w, "# %s: %d instances, %.2f s each, %d vehicles", label, t.n, t.seconds/float64(t.n), t.vehicles)
		if t.counted == 0 {
			fmt.Fprintf(w, "; none with a best-known value\n")
			return
		}
		fmt.Fprintf(w, "; %d of %d with a best-known value: average gap %.2f%%, best known %d vehicles",
			t.counted, t.n, t.gap/float64(t.counted), t.bksVehs)
		for i, c := range curve {
			fmt.Fprintf(w, "; %gs %.2f%%", c.Seconds(), t.curveGap[i]/float64(t.counted))
		}
		fmt.Fprintln(w)
	}
	for _, c := range order {
		summary(c, classes[c])
	}
	summary("all", overall)
	return nil
}

func read(path, name string) (*routing.Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.HasPrefix(strings.ToLower(name), "l") {
		return routing.ReadLiLim(f)
	}
	return routing.ReadSolomon(f)
}

func readBKS(path string) (map[string]bks, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]bks{}
	for _, row := range rows[1:] {
		if len(row) < 3 {
			continue
		}
		v, _ := strconv.Atoi(row[1])
		d, err := strconv.ParseFloat(row[2], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad distance %q for %s", path, row[2], row[0])
		}
		out[strings.ToLower(row[0])] = bks{vehicles: v, distance: d}
	}
	return out, nil
}

// truncated is a matrix whose distances and durations are cut to one decimal.
type truncated struct{ routing.Matrix }

func (t truncated) Distance(from, to int) float64 {
	return math.Floor(t.Matrix.Distance(from, to)*10) / 10
}

func (t truncated) Duration(from, to int) float64 { return t.Distance(from, to) }
