package catalog

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"courierd/domain"
)

// Vietnam's mainland and islands, with a margin: a point outside is a typo (swapped
// latitude and longitude, a missing digit), not an address we serve.
var serviceBounds = orb.Bound{Min: orb.Point{102.0, 6.0}, Max: orb.Point{118.0, 24.0}}

// CheckPoint validates a lon/lat point that must lie in Vietnam.
func CheckPoint(p *domain.Problems, field string, pt orb.Point) {
	lon, lat := pt.Lon(), pt.Lat()
	switch {
	case math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90:
		p.Add(field, "must be a longitude in [-180, 180] and a latitude in [-90, 90]")
	case !serviceBounds.Contains(pt):
		p.Add(field, "lies outside Vietnam; check the order (longitude first) and the digits")
	}
}

// maxAreaVertices bounds a service area so that the quadratic self-intersection check,
// and every later point-in-polygon test, stays cheap.
const maxAreaVertices = 5000

// CheckArea validates a service area: at least one polygon, each ring closed with four or
// more positions, inside the service bounds, and no ring crossing itself.
func CheckArea(p *domain.Problems, field string, area orb.MultiPolygon) {
	if len(area) == 0 {
		p.Add(field, "is required: a GeoJSON Polygon or MultiPolygon")
		return
	}
	vertices := 0
	for pi, poly := range area {
		if len(poly) == 0 {
			p.Add(fmt.Sprintf("%s.coordinates[%d]", field, pi), "a polygon needs an outer ring")
		}
		for ri, ring := range poly {
			vertices += len(ring)
			if vertices > maxAreaVertices {
				p.Add(field, fmt.Sprintf("has more than %d vertices; simplify it", maxAreaVertices))
				return
			}
			if reason := ringFault(ring); reason != "" {
				name := fmt.Sprintf("%s.coordinates[%d]", field, ri)
				if len(area) > 1 {
					name = fmt.Sprintf("%s.coordinates[%d][%d]", field, pi, ri)
				}
				p.Add(name, reason)
			}
		}
	}
}

// ringFault says what is wrong with a linear ring, or "" when nothing is.
func ringFault(ring orb.Ring) string {
	if len(ring) < 4 {
		return "a ring needs at least four positions (a triangle plus the closing one)"
	}
	if !ring.Closed() {
		return "ring is not closed: the last position must equal the first"
	}
	for _, pt := range ring {
		var probe domain.Problems
		CheckPoint(&probe, "", pt)
		if probe.Err() != nil {
			return fmt.Sprintf("position [%g, %g] is not a point in Vietnam", pt.Lon(), pt.Lat())
		}
	}
	if planar.Area(ring) == 0 {
		return "ring has no area"
	}
	if i, j, ok := selfIntersection(ring); ok {
		return fmt.Sprintf("ring crosses itself (edges %d and %d)", i, j)
	}
	return ""
}

// selfIntersection finds two non-adjacent edges of a closed ring that touch. Quadratic,
// which maxAreaVertices keeps affordable.
func selfIntersection(ring orb.Ring) (int, int, bool) {
	n := len(ring) - 1 // edges; the last position repeats the first
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if j == i+1 || (i == 0 && j == n-1) {
				continue // neighbours share an endpoint by construction
			}
			if segmentsTouch(ring[i], ring[i+1], ring[j], ring[j+1]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func segmentsTouch(a, b, c, d orb.Point) bool {
	d1, d2 := orientation(c, d, a), orientation(c, d, b)
	d3, d4 := orientation(a, b, c), orientation(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// orientation is the sign of the cross product (b-a)×(c-a).
func orientation(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// onSegment reports whether c, known to be collinear with a and b, lies between them.
func onSegment(a, b, c orb.Point) bool {
	return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
}
