package routing

import (
	"math"
	"slices"
)

// A vehicle that may make several trips has reload nodes (solver.reloadsOf) that only its
// routes visit. No node needs one as such: a reload enters a route together with a stop
// that fits nowhere else (insertWithReload), leaves it when a ruin takes it or when the
// route does as well without it (dropReloads), and never stands first, last or next to
// another (tidy).

// insertWithReload serves node n (a job, or a shipment by its pickup), which fits no route
// as it is, by opening a trip for it: one of a vehicle's unused reloads goes in with it,
// at the cheapest places where both fit. It reports whether there was any.
func (s *solver) insertWithReload(pl *plan, caches []routeCache, n int) bool {
	pair := s.nodes[n].pair
	fastNode := pair < 0 && len(s.nodes[n].windows) <= 1
	best, bestV := math.Inf(1), -1
	var bestRoute []int
	consider := func(v int, delta float64, route func() []int) {
		if delta < best {
			best, bestV, bestRoute = delta, v, route()
		}
	}
	var withR, cand []int
	c := &s.scratch.tripCache
	for v, route := range pl.routes {
		if len(route) == 0 || !s.canServe[v][n] || s.reloadsOf[v] == nil || s.reloadCount(route) >= s.p.Vehicles[v].trips()-1 {
			continue
		}
		fast := fastNode && caches[v].fast
		if fast && !s.loadBinds(v, route, &caches[v], n) {
			continue // a reload would only add time
		}
		before, _ := s.routeCost(v, route)
		for _, r := range s.freeReloads(v, route) {
			// A trip of its own, last or first.
			for _, first := range []bool{false, true} {
				cand = cand[:0]
				if !first {
					cand = append(append(cand, route...), r)
				}
				cand = append(cand, n)
				if pair >= 0 {
					cand = append(cand, pair)
				}
				if first {
					cand = append(append(cand, r), route...)
				}
				if after, ok := s.routeCost(v, cand); ok {
					consider(v, after-before, func() []int { return slices.Clone(cand) })
				}
			}
			// Or a reload between two stops, and the node anywhere (a slow node: next to it).
			for j := 1; j < len(route); j++ {
				if s.isReload(route[j-1]) || s.isReload(route[j]) {
					continue
				}
				if fast {
					// The reload judged as a stop of no load, then the node in the route with it;
					// travel only grows (by the triangle inequality), so a reload that costs more than the best alone is no use.
					base, ok := s.insertJob(v, route, &caches[v], r, j)
					if !ok || base >= best || caches[v].aboard[j] > 0 {
						continue
					}
					withR = insertAt(withR[:0], route, j, r, -1, -1)
					s.cache(v, withR, c)
					for i := 0; i <= len(withR); i++ {
						if delta, ok := s.insertJob(v, withR, c, n, i); ok {
							consider(v, base+delta, func() []int { return insertAt(nil, withR, i, n, -1, -1) })
						}
					}
					continue
				}
				withR = insertAt(withR[:0], route, j, r, -1, -1)
				if _, ok := s.routeCost(v, withR); !ok {
					continue
				}
				for _, i := range []int{j, j + 1} {
					cand = insertAt(cand[:0], withR, i, n, i, pair)
					if after, ok := s.routeCost(v, cand); ok {
						consider(v, after-before, func() []int { return slices.Clone(cand) })
					}
				}
			}
		}
	}
	if bestV < 0 {
		return false
	}
	pl.routes[bestV] = bestRoute
	pl.cost += best - s.penalty*float64(s.nodes[n].weight)
	s.cache(bestV, bestRoute, &caches[bestV])
	return true
}

// loadBinds reports whether node n would overload some trip of a cached route wherever
// it went: only then can a reload help it in.
func (s *solver) loadBinds(v int, route []int, c *routeCache, n int) bool {
	capacity, most := s.p.Vehicles[v].Capacity, maxLoad(s.nodes[n], s.dims)
	for i := 0; i <= len(route); i++ {
		for k := range s.dims {
			if c.load[i*s.dims+k]+most[k] > capacity[k] {
				return true
			}
		}
	}
	return false
}

// reloadCount is how many reloads a route makes.
func (s *solver) reloadCount(route []int) int {
	count := 0
	for _, n := range route {
		if s.isReload(n) {
			count++
		}
	}
	return count
}

// freeReloads gives one reload node of vehicle v that the route does not use for each
// depot that has one left.
func (s *solver) freeReloads(v int, route []int) []int {
	var out []int
	depot := -1
	for _, r := range s.reloadsOf[v] {
		if s.nodes[r].index != depot && !slices.Contains(route, r) {
			out = append(out, r)
			depot = s.nodes[r].index
		}
	}
	return out
}

// dropReloads takes out of every route the reloads it does as well without.
func (s *solver) dropReloads(pl *plan) {
	for v, route := range pl.routes {
		if s.reloadsOf[v] == nil || s.reloadCount(route) == 0 {
			continue
		}
		cost, _ := s.routeCost(v, route)
		for k := 0; k < len(route); k++ {
			if !s.isReload(route[k]) {
				continue
			}
			without := slices.Delete(slices.Clone(route), k, k+1)
			if after, ok := s.routeCost(v, without); ok && after <= cost {
				pl.cost += after - cost
				route, cost = without, after
				k--
			}
		}
		pl.routes[v] = route
	}
}

// ruinReloads settles the reloads of route r, which a ruin made kept: a reload it took
// stays out only when the trips it joins still fit (otherwise every reload stays), and
// then none is left first, last or next to another.
func (s *solver) ruinReloads(v int, r, kept []int) []int {
	removed := s.scratch.removed
	if _, ok := s.routeCost(v, s.tidy(slices.Clone(kept))); !ok {
		kept = kept[:0]
		for _, n := range r {
			if !removed[n] || s.isReload(n) {
				kept = append(kept, n)
			}
		}
	}
	for _, n := range r {
		if s.isReload(n) {
			removed[n] = false
		}
	}
	return s.tidy(kept)
}

// tidy drops, in place, the reloads a ruin left first, last or next to another.
func (s *solver) tidy(route []int) []int {
	out := route[:0]
	for _, n := range route {
		if s.isReload(n) && (len(out) == 0 || s.isReload(out[len(out)-1])) {
			continue
		}
		out = append(out, n)
	}
	if len(out) > 0 && s.isReload(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return out
}
