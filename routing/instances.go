package routing

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// ReadSolomon reads a VRPTW instance in the Solomon / Gehring & Homberger format: a name,
// the fleet (number, capacity), then one line per customer (number, x, y, demand, ready
// time, due date, service time), the depot first. Every vehicle leaves from and returns
// to the depot within its window; customers' demands are deliveries loaded there. Travel
// is Euclidean, as the literature reports it.
func ReadSolomon(r io.Reader) (*Problem, error) {
	lines, err := numericLines(r)
	if err != nil {
		return nil, err
	}
	if len(lines) < 2 || len(lines[0]) != 2 {
		return nil, fmt.Errorf("solomon: no fleet line (number, capacity)")
	}
	fleet, capacity, err := fleetOf(lines[0], "solomon")
	if err != nil {
		return nil, err
	}
	var points []orb.Point
	p := &Problem{}
	for i, f := range lines[1:] {
		if len(f) != 7 {
			return nil, fmt.Errorf("solomon: customer line %d has %d fields, want 7", i+1, len(f))
		}
		points = append(points, orb.Point{f[1], f[2]})
		if i == 0 {
			for v := 0; v < fleet; v++ {
				p.Vehicles = append(p.Vehicles, Vehicle{ID: fmt.Sprint(v + 1), Start: 0, End: 0, Shift: Window{f[4], f[5]}, Capacity: Amount{capacity}})
			}
			continue
		}
		p.Jobs = append(p.Jobs, Job{ID: strconv.Itoa(int(f[0])), Location: i, Service: f[6], Windows: []Window{{f[4], f[5]}},
			Delivery: Amount{int64(f[3])}, Priority: 1})
	}
	p.Matrix = Euclidean(points)
	return p, nil
}

// ReadLiLim reads a PDPTW instance in the Li & Lim format: the fleet (number, capacity,
// speed), then one line per task (number, x, y, demand, ready time, due date, service
// time, pickup sibling, delivery sibling), the depot first. A task with a delivery
// sibling is a pickup; each pickup and its delivery make a shipment.
func ReadLiLim(r io.Reader) (*Problem, error) {
	lines, err := numericLines(r)
	if err != nil {
		return nil, err
	}
	if len(lines) < 2 || len(lines[0]) < 2 {
		return nil, fmt.Errorf("li&lim: no fleet line (number, capacity, speed)")
	}
	fleet, capacity, err := fleetOf(lines[0], "li&lim")
	if err != nil {
		return nil, err
	}
	tasks := lines[1:]
	points := make([]orb.Point, len(tasks))
	byNumber := map[int]int{}
	for i, f := range tasks {
		if len(f) != 9 {
			return nil, fmt.Errorf("li&lim: task line %d has %d fields, want 9", i+1, len(f))
		}
		points[i] = orb.Point{f[1], f[2]}
		byNumber[int(f[0])] = i
	}
	depot := tasks[0]
	p := &Problem{Matrix: Euclidean(points)}
	for v := 0; v < fleet; v++ {
		p.Vehicles = append(p.Vehicles, Vehicle{ID: fmt.Sprint(v + 1), Start: 0, End: 0, Shift: Window{depot[4], depot[5]}, Capacity: Amount{capacity}})
	}
	for i, f := range tasks[1:] {
		if f[8] == 0 { // a delivery: read with its pickup
			continue
		}
		d, ok := byNumber[int(f[8])]
		if !ok {
			return nil, fmt.Errorf("li&lim: task %d names a missing delivery %d", int(f[0]), int(f[8]))
		}
		g := tasks[d]
		p.Shipments = append(p.Shipments, Shipment{ID: strconv.Itoa(int(f[0])),
			Pickup:   Stop{Location: i + 1, Service: f[6], Windows: []Window{{f[4], f[5]}}},
			Delivery: Stop{Location: d, Service: g[6], Windows: []Window{{g[4], g[5]}}},
			Amount:   Amount{int64(f[3])}, Priority: 1})
	}
	return p, nil
}

// maxInstanceFleet bounds the vehicles a file may ask for: the published sets have at most
// a few hundred, and a number read from a file must not decide how much memory is taken.
const maxInstanceFleet = 10_000

// fleetOf reads a fleet line's number of vehicles and capacity.
func fleetOf(line []float64, format string) (int, int64, error) {
	fleet, capacity := line[0], line[1]
	if fleet != math.Trunc(fleet) || fleet < 1 || fleet > maxInstanceFleet {
		return 0, 0, fmt.Errorf("%s: the fleet is %v vehicles; want a whole number from 1 to %d", format, fleet, maxInstanceFleet)
	}
	if capacity < 0 || capacity > math.MaxInt32 {
		return 0, 0, fmt.Errorf("%s: the vehicles' capacity is %v; want 0 to %d", format, capacity, math.MaxInt32)
	}
	return int(fleet), int64(capacity), nil
}

// numericLines reads the lines made only of numbers; headings and blank lines are skipped.
// Infinities and NaN, which strconv reads as numbers, are refused.
func numericLines(r io.Reader) ([][]float64, error) {
	var out [][]float64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		row := make([]float64, 0, len(fields))
		for _, f := range fields {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				row = nil
				break
			}
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, fmt.Errorf("%q is not a finite number", f)
			}
			row = append(row, x)
		}
		if row != nil {
			out = append(out, row)
		}
	}
	return out, sc.Err()
}
