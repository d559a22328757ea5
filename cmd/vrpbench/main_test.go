package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"courierd/routing"
)

// TestRunPrintsCheckedRows: a small Solomon-format instance and a Li & Lim one are solved,
// checked and reported as CSV rows with their gap to the best known, then per class.
func TestRunPrintsCheckedRows(t *testing.T) {
	dir := t.TempDir()
	solomon := `T101

VEHICLE
NUMBER     CAPACITY
  3         50

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME
    0      50         50          0          0       1000          0
    1      60         50         10          0       1000         10
    2      40         50         10          0       1000         10
    3      50         60         10          0       1000         10
`
	lilim := "3\t50\t1\n0\t50\t50\t0\t0\t1000\t0\t0\t0\n1\t60\t50\t10\t0\t1000\t10\t0\t2\n2\t40\t50\t-10\t0\t1000\t10\t1\t0\n"
	files := map[string]string{"T101.txt": solomon, "lt101.txt": lilim}
	var paths []string
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	var out bytes.Buffer
	known := map[string]bks{"t101": {vehicles: 1, distance: 60}}
	if err := run(&out, paths, known, routing.Options{TimeLimit: 100 * time.Millisecond, MaxIterations: 200}, true, nil); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"instance,vehicles,distance,bks_vehicles,bks_distance,gap_pct,seconds\n",
		"T101,1,", ",1,60.00,", "lt101,1,40.00,", "# T1: 1 instances", "# all: 2 instances"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
}

// TestCityDay: a small generated city day is planned, checked and reported, with one trip
// per courier and with three.
func TestCityDay(t *testing.T) {
	for _, trips := range []int{1, 3} {
		var out bytes.Buffer
		if err := cityDay(&out, 60, 3, trips, 10*time.Minute, routing.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}, nil); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "60,3,") {
			t.Fatalf("report: %q", out.String())
		}
	}
}

// writeSolomon writes a random Solomon-format instance that every plan can serve whole:
// wide windows, vehicles enough for everyone.
func writeSolomon(t *testing.T, rng *rand.Rand, path string, customers int) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nVEHICLE\nNUMBER     CAPACITY\n  %d         100\n\nCUSTOMER\n", filepath.Base(path), customers)
	b.WriteString("CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n")
	b.WriteString("    0      50         50          0          0       5000          0\n")
	for c := 1; c <= customers; c++ {
		ready := rng.IntN(1000)
		fmt.Fprintf(&b, "%5d %6d %10d %10d %10d %10d %10d\n", c, rng.IntN(101), rng.IntN(101), 1+rng.IntN(30), ready, ready+1000+rng.IntN(2000), 10)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rows reads run's CSV rows (not the summaries) into maps by column.
func rows(t *testing.T, text string) ([]map[string]string, []string) {
	var header []string
	var out []map[string]string
	var summaries []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			summaries = append(summaries, line)
		case header == nil:
			header = strings.Split(line, ",")
		default:
			cells := strings.Split(line, ",")
			if len(cells) != len(header) {
				t.Fatalf("row %q has %d cells, the header %d", line, len(cells), len(header))
			}
			row := map[string]string{}
			for i, h := range header {
				row[h] = cells[i]
			}
			out = append(out, row)
		}
	}
	return out, summaries
}

// TestAveragesCountOnlyBestKnown: on generated sets where some, none or all instances
// have a best-known value, each summary averages the gaps of those with one and says how
// many of how many they are; an instance without one never counts as 0 %.
func TestAveragesCountOnlyBestKnown(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 6))
		dir := t.TempDir()
		m := 2 + rng.IntN(4)
		known := map[string]bks{}
		var paths []string
		for i := range m {
			name := fmt.Sprintf("G%d%02d", 1+rng.IntN(2), i)
			path := filepath.Join(dir, name+".txt")
			writeSolomon(t, rng, path, 5+rng.IntN(15))
			paths = append(paths, path)
			// Seed 1 has no best-known values, seed 2 all, the others some.
			if seed == 2 || (seed > 2 && rng.IntN(2) == 0) {
				known[strings.ToLower(name)] = bks{vehicles: 1, distance: 200 + rng.Float64()*800}
			}
		}
		var out bytes.Buffer
		if err := run(&out, paths, known, routing.Options{Seed: seed, MaxIterations: 100, TimeLimit: time.Minute}, false, nil); err != nil {
			t.Fatal(err)
		}
		got, summaries := rows(t, out.String())
		sum, counted := 0.0, 0
		for _, row := range got {
			if row["bks_distance"] == "0.00" {
				if row["gap_pct"] != "NaN" {
					t.Fatalf("seed %d: %s has no best-known value but a gap %s", seed, row["instance"], row["gap_pct"])
				}
				continue
			}
			gap, err := strconv.ParseFloat(row["gap_pct"], 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += gap
			counted++
		}
		all := summaries[len(summaries)-1]
		if counted == 0 {
			if !strings.Contains(all, "none with a best-known value") {
				t.Fatalf("seed %d: %q", seed, all)
			}
			continue
		}
		var n, of int
		var avg float64
		rest := all[strings.Index(all, "vehicles; ")+len("vehicles; "):]
		if _, err := fmt.Sscanf(rest, "%d of %d with a best-known value: average gap %f%%", &n, &of, &avg); err != nil {
			t.Fatalf("seed %d: %q: %v", seed, all, err)
		}
		if n != counted || of != m || math.Abs(avg-sum/float64(counted)) > 0.006 {
			t.Fatalf("seed %d: summary %q; the rows give %d of %d, %.3f %%", seed, all, counted, m, sum/float64(counted))
		}
	}
}

// TestCurveNeverRises: the distances of a curve, read from one run per instance, never
// rise from one checkpoint to the next, and the last is the run's result.
func TestCurveNeverRises(t *testing.T) {
	curve, err := parseCurve("10ms,30ms,60ms,100ms")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		path := filepath.Join(t.TempDir(), fmt.Sprintf("C%d01.txt", seed))
		writeSolomon(t, rng, path, 20+rng.IntN(40))
		var out bytes.Buffer
		if err := run(&out, []string{path}, nil, routing.Options{Seed: seed}, false, curve); err != nil {
			t.Fatal(err)
		}
		got, _ := rows(t, out.String())
		prev := math.Inf(1)
		for _, c := range curve {
			d, err := strconv.ParseFloat(got[0][fmt.Sprintf("distance_%gs", c.Seconds())], 64)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(d) {
				if !math.IsInf(prev, 1) {
					t.Fatalf("seed %d: no plan at %v after one before", seed, c)
				}
				continue
			}
			if d > prev {
				t.Fatalf("seed %d: %.2f at %v after %.2f", seed, d, c, prev)
			}
			prev = d
		}
		if got[0]["distance"] != fmt.Sprintf("%.2f", prev) {
			t.Fatalf("seed %d: the curve ends at %.2f, the run at %s", seed, prev, got[0]["distance"])
		}
	}
	if _, err := parseCurve("1s,0.5s"); err == nil {
		t.Fatal("a descending curve is accepted")
	}
}
