package routing

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// Euclidean is travel on a plane, the benchmarks' convention: the distance between two
// points is their straight-line distance and takes as long to travel.
type Euclidean []orb.Point

func (e Euclidean) Size() int { return len(e) }

func (e Euclidean) Distance(from, to int) float64 {
	dx, dy := e[from][0]-e[to][0], e[from][1]-e[to][1]
	return math.Sqrt(dx*dx + dy*dy)
}

func (e Euclidean) Duration(from, to int) float64 { return e.Distance(from, to) }

// Haversine is travel on roads estimated from the great-circle distance between points
// (longitude, latitude): metres times RoadFactor, at Speed metres per second. Computed on
// demand, so ten thousand stops cost no matrix at all.
type Haversine struct {
	Points     []orb.Point
	RoadFactor float64 // road distance over straight-line distance, about 1.3 in towns
	Speed      float64 // metres per second
}

func (h Haversine) Size() int { return len(h.Points) }

func (h Haversine) Distance(from, to int) float64 {
	return geo.Distance(h.Points[from], h.Points[to]) * h.RoadFactor
}

func (h Haversine) Duration(from, to int) float64 { return h.Distance(from, to) / h.Speed }

// Dense is a matrix given whole (from a routing engine), row by row.
type Dense struct {
	n                   int
	durations, distance []float64
}

// NewDense takes n×n durations and distances, row-major.
func NewDense(n int, durations, distances []float64) (*Dense, error) {
	if len(durations) != n*n || len(distances) != n*n {
		return nil, fmt.Errorf("routing: a %d-location matrix needs %d durations and distances, got %d and %d", n, n*n, len(durations), len(distances))
	}
	return &Dense{n: n, durations: durations, distance: distances}, nil
}

func (d *Dense) Size() int                     { return d.n }
func (d *Dense) Duration(from, to int) float64 { return d.durations[from*d.n+to] }
func (d *Dense) Distance(from, to int) float64 { return d.distance[from*d.n+to] }
