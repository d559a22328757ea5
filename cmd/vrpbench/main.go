// Command vrpbench solves public routing benchmark instances with courierd's solver,
// checks every solution, and prints one CSV row per instance and a summary per class:
//
//	vrpbench -time 2s -seed 1 -bks ../shared/data/routing/solomon/bks_distance.csv ../shared/data/routing/solomon/*.txt
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
	flag.Parse()
	if *city > 0 {
		if err := cityDay(os.Stdout, *city, *vehicles, *trips, *reload, routing.Options{TimeLimit: *limit, Seed: *seed}); err != nil {
			fmt.Fprintln(os.Stderr, "vrpbench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: vrpbench [-time 2s] [-seed 1] [-bks file.csv] instance.txt…")
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
	if err := run(os.Stdout, flag.Args(), known, routing.Options{TimeLimit: *limit, Seed: *seed, VehicleCost: *vehicleCost}, *dimacs); err != nil {
		fmt.Fprintln(os.Stderr, "vrpbench:", err)
		os.Exit(1)
	}
}

// class is an instance's benchmark class: C1, R2, RC1, LC1, c1_2…
var classOf = regexp.MustCompile(`^([a-zA-Z]+[0-9])`)

type tally struct {
	n                 int
	gap, seconds      float64
	vehicles, bksVehs int
}

func run(w io.Writer, files []string, known map[string]bks, opt routing.Options, dimacs bool) error {
	fmt.Fprintln(w, "instance,vehicles,distance,bks_vehicles,bks_distance,gap_pct,seconds")
	classes := map[string]*tally{}
	var order []string
	overall := &tally{}
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
		sol, err := routing.Solve(context.Background(), p, opt)
		seconds := time.Since(began).Seconds()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := routing.Check(p, sol); err != nil {
			return fmt.Errorf("%s: the solution fails the checker: %w", name, err)
		}
		if len(sol.Unassigned) > 0 {
			return fmt.Errorf("%s: %d jobs left out (%s)", name, len(sol.Unassigned), sol.Unassigned[0].Reason)
		}
		b, ok := known[strings.ToLower(name)]
		gap := math.NaN()
		if ok {
			gap = 100 * (sol.Distance - b.distance) / b.distance
		}
		fmt.Fprintf(w, "%s,%d,%.2f,%d,%.2f,%.2f,%.2f\n", name, sol.Vehicles, sol.Distance, b.vehicles, b.distance, gap, seconds)
		class := strings.ToUpper(classOf.FindString(name))
		if classes[class] == nil {
			classes[class] = &tally{}
			order = append(order, class)
		}
		for _, t := range []*tally{classes[class], overall} {
			t.n++
			t.seconds += seconds
			t.vehicles += sol.Vehicles
			t.bksVehs += b.vehicles
			if ok {
				t.gap += gap
			}
		}
	}
	summary := func(label string, t *tally) {
		fmt.Fprintf(w, "# %s: %d instances, average gap %.2f%%, %.2f s each, %d vehicles (best known %d)\n",
			label, t.n, t.gap/float64(t.n), t.seconds/float64(t.n), t.vehicles, t.bksVehs)
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
