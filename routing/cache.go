package routing

import (
	"math"
	"slices"
)

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
	// builtFor is the vehicle and stops the cache was computed for: a round's recreate
	// rebuilds only the routes its ruin changed.
	builtFor []int
	built    bool
	vehicle  int
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

// cache computes a route's cache, unless it holds it already.
func (s *solver) cache(v int, seq []int, c *routeCache) {
	if c.built && c.vehicle == v && slices.Equal(c.builtFor, seq) {
		return
	}
	c.built, c.vehicle, c.builtFor = true, v, append(c.builtFor[:0], seq...)
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

// insertShipment judges every place for shipment pickup p and its delivery in a cached
// route of one trip, keeping the cheapest feasible one in best: the delivery before
// original stop j ≥ i, the pickup before stop i. For each pickup place the times are
// carried forward stop by stop while the shipment is aboard, so all pairs cost O(L²)
// instead of a full pass each. Each pair is skipped with the chance blink.
func (s *solver) insertShipment(v int, seq []int, c *routeCache, p int, blink float64, best *insertion) {
	veh := &s.p.Vehicles[v]
	pick, drop := &s.nodes[p], &s.nodes[s.nodes[p].pair]
	d, L := s.dims, len(seq)
	// loc is where original stop k is, the vehicle's end for k = L (-1: none).
	loc := func(k int) int {
		if k < L {
			return s.nodes[seq[k]].loc
		}
		return veh.End
	}
	// leg is a leg's cost, nothing to no end.
	leg := func(a, b int) float64 {
		if b < 0 {
			return 0
		}
		return s.travelCost(a, b)
	}
	// aboard is whether the load at index k (before original stop k) still fits with the
	// shipment on board.
	aboard := func(k int) bool {
		for x := 0; x < d; x++ {
			if c.load[k*d+x]+pick.change[x] > veh.Capacity[x] {
				return false
			}
		}
		return true
	}
	fixed := 0.0
	if L == 0 {
		fixed = veh.FixedCost + s.opt.VehicleCost
	}
	for i := 0; i <= L; i++ {
		if !aboard(i) {
			continue
		}
		prev := veh.Start
		if i > 0 {
			prev = s.nodes[seq[i-1]].loc
		}
		start, ok := serviceStart(pick.windows, c.depart[i]+s.duration(v, prev, pick.loc))
		if !ok {
			continue
		}
		pickAdded := s.travelCost(prev, pick.loc) - leg(prev, loc(i)) + fixed
		here, leave := pick.loc, start+pick.service // the last place visited, and when it was left
		for j := i; j <= L; j++ {
			if j > i { // stop j-1 is now visited with the shipment aboard
				k := j - 1
				nd := &s.nodes[seq[k]]
				if !aboard(k + 1) {
					break
				}
				st, ok := serviceStart(nd.windows, leave+s.duration(v, here, nd.loc))
				if !ok {
					break
				}
				here, leave = nd.loc, st+nd.service
			}
			if s.blinks(blink) {
				continue
			}
			dropStart, ok := serviceStart(drop.windows, leave+s.duration(v, here, drop.loc))
			if !ok {
				continue
			}
			next, arrive := loc(j), dropStart+drop.service
			if next >= 0 {
				arrive += s.duration(v, drop.loc, next)
			}
			if arrive > c.latest[j]+checkTolerance {
				continue
			}
			added := pickAdded + s.travelCost(here, drop.loc) + leg(drop.loc, next)
			if j > i {
				added += leg(pick.loc, loc(i)) - leg(here, next)
			}
			if added < best.delta {
				*best = insertion{vehicle: v, at: i, pairAt: j, delta: added, ok: true}
			}
		}
	}
}
