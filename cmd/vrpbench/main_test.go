package main

import (
	"bytes"
	"os"
	"path/filepath"
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
	if err := run(&out, paths, known, routing.Options{TimeLimit: 100 * time.Millisecond, MaxIterations: 200}, true); err != nil {
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
		if err := cityDay(&out, 60, 3, trips, 10*time.Minute, routing.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "60,3,") {
			t.Fatalf("report: %q", out.String())
		}
	}
}
