package routing

import "math"

// routeCache holds what judging an insertion into a route needs, so that a job's place is
// judged in constant time instead of by a pass over the route: when each stop is left,
// the latest each service may begin without making a later stop late, and the load
// before and after each stop with its running maxima within its trip (a reload empties
// the vehicle and loads the next trip's deliveries).
type routeCache struct {
	// fast: the constant-time judgement applies (every stop has at most one window, the
	// vehicle has no maximum duration, the objective is distance).
	fast     bool
	depart   []float64 // leaving stop k; depart[0] is leaving the start
	latest   []float64 // latest service start at stop k (index k+1), latest arrival at the end (last)
	load     []int64   // on board after stop k (index k+1), dims values each; index 0: at the start
	prefixMx []int64   // max of load[0..k] within k's trip
	suffixMx []int64   // max of load[k..] within k's trip
	// aboard counts the shipments on board after stop k (index k+1), where a reload may
	// not go; kept only when some vehicle may reload.
	aboard []int
}

func (s *solver) fastRoute(v int, seq []int) bool {
	if s.opt.Objective != MinDistance || s.p.Vehicles[v].MaxDuration > 0 {
		return false
	}
	for _, n := range seq {
		if len(s.nodes[n].windows) > 1 {
			return false
		}
	}
	return true
}

// cache computes a route's cache.
func (s *solver) cache(v int, seq []int, c *routeCache) {
	c.fast = s.fastRoute(v, seq)
	if !c.fast {
		return
	}
	veh := &s.p.Vehicles[v]
	L, d := len(seq), s.dims
	c.depart = grow(c.depart, L+1)
	c.latest = grow(c.latest, L+1)
	c.load = growInt(c.load, (L+1)*d)
	c.prefixMx = growInt(c.prefixMx, (L+1)*d)
	c.suffixMx = growInt(c.suffixMx, (L+1)*d)
	s.tripLoad(veh, seq, c.load[:d])
	if s.trips {
		c.aboard = growAboard(c.aboard, L+1)
		c.aboard[0] = 0
		for i, n := range seq {
			c.aboard[i+1] = c.aboard[i]
			switch s.nodes[n].kind {
			case StepPickup:
				c.aboard[i+1]++
			case StepDelivery:
				c.aboard[i+1]--
			}
		}
	}
	at, here := veh.Shift.Start, veh.Start
	c.depart[0] = at
	for i, n := range seq {
		nd := &s.nodes[n]
		arrival := at + s.duration(v, here, nd.loc)
		start, _ := serviceStart(nd.windows, arrival)
		at, here = start+nd.service, nd.loc
		c.depart[i+1] = at
		if nd.kind == StepReload {
			s.tripLoad(veh, seq[i+1:], c.load[(i+1)*d:(i+2)*d])
			continue
		}
		for k := 0; k < d; k++ {
			c.load[(i+1)*d+k] = c.load[i*d+k] + nd.change[k]
		}
	}
	// Backwards: the latest arrival at the end, then the latest service start at each stop.
	next := veh.Shift.End
	nextLoc := veh.End
	c.latest[L] = next
	for i := L - 1; i >= 0; i-- {
		nd := &s.nodes[seq[i]]
		leave := next
		if nextLoc >= 0 {
			leave -= s.duration(v, nd.loc, nextLoc)
		}
		latest := leave - nd.service
		if len(nd.windows) == 1 {
			latest = math.Min(latest, nd.windows[0].End)
		}
		c.latest[i] = latest
		next, nextLoc = latest, nd.loc
	}
	// latest[i] is stop i's latest service start; latest[L] the latest arrival at the end.
	for k := 0; k < d; k++ {
		c.prefixMx[k] = c.load[k]
		c.suffixMx[L*d+k] = c.load[L*d+k]
	}
	for i := 1; i <= L; i++ {
		if s.isReload(seq[i-1]) { // load i is the first of a trip
			copy(c.prefixMx[i*d:(i+1)*d], c.load[i*d:(i+1)*d])
			continue
		}
		for k := 0; k < d; k++ {
			c.prefixMx[i*d+k] = max(c.prefixMx[(i-1)*d+k], c.load[i*d+k])
		}
	}
	for i := L - 1; i >= 0; i-- {
		if s.isReload(seq[i]) { // load i is the last of a trip
			copy(c.suffixMx[i*d:(i+1)*d], c.load[i*d:(i+1)*d])
			continue
		}
		for k := 0; k < d; k++ {
			c.suffixMx[i*d+k] = max(c.suffixMx[(i+1)*d+k], c.load[i*d+k])
		}
	}
}

// insertJob judges putting job n before stop i of a cached route: whether it is feasible
// and what it adds to the cost.
func (s *solver) insertJob(v int, seq []int, c *routeCache, n, i int) (float64, bool) {
	veh := &s.p.Vehicles[v]
	nd := &s.nodes[n]
	capacity := veh.Capacity
	d := s.dims
	for k := 0; k < d; k++ {
		// Before the new stop everything carries its delivery too; after it, its pickup.
		if c.prefixMx[i*d+k]+nd.startLoad[k] > capacity[k] {
			return 0, false
		}
		if c.load[i*d+k]+nd.startLoad[k]+nd.change[k] > capacity[k] {
			return 0, false
		}
		if i < len(seq) && !s.isReload(seq[i]) && c.suffixMx[(i+1)*d+k]+nd.startLoad[k]+nd.change[k] > capacity[k] {
			return 0, false
		}
	}
	prev := veh.Start
	if i > 0 {
		prev = s.nodes[seq[i-1]].loc
	}
	arrival := c.depart[i] + s.duration(v, prev, nd.loc)
	start, ok := serviceStart(nd.windows, arrival)
	if !ok {
		return 0, false
	}
	leave := start + nd.service
	var added float64
	if i < len(seq) {
		next := s.nodes[seq[i]].loc
		if leave+s.duration(v, nd.loc, next) > c.latest[i]+checkTolerance {
			return 0, false
		}
		added = s.travelCost(prev, nd.loc) + s.travelCost(nd.loc, next) - s.travelCost(prev, next)
	} else {
		arriveEnd := leave
		added = s.travelCost(prev, nd.loc)
		if veh.End >= 0 {
			arriveEnd += s.duration(v, nd.loc, veh.End)
			added += s.travelCost(nd.loc, veh.End) - s.travelCost(prev, veh.End)
		}
		if arriveEnd > c.latest[len(seq)]+checkTolerance {
			return 0, false
		}
	}
	if len(seq) == 0 {
		added += veh.FixedCost + s.opt.VehicleCost
	}
	return added, true
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func growAboard(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func growInt(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n)
	}
	return b[:n]
}
