package routing

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// insertion is where a node (with its pair, for a shipment) would go, and at what cost.
type insertion struct {
	vehicle    int
	at, pairAt int // positions in the route before the insertion; pairAt for the delivery
	delta      float64
	ok         bool
}

// bestInsertion finds the cheapest feasible place for node n (a job, or a shipment by
// its pickup) across the plan's routes; each position is skipped with a small chance
// (a blink), which keeps the search from repeating itself.
func (s *solver) bestInsertion(pl *plan, caches []routeCache, n int, blink float64, scratch []int) insertion {
	best := insertion{delta: math.Inf(1)}
	fastNode := s.nodes[n].pair < 0 && len(s.nodes[n].windows) <= 1
	// A shipment's pair is judged from the cache on routes of one trip.
	fastPair := s.nodes[n].pair >= 0 && !s.trips && len(s.nodes[n].windows) <= 1 && len(s.nodes[s.nodes[n].pair].windows) <= 1
	triedEmpty := s.scratch.triedEmpty
	clear(triedEmpty)
	for v := range pl.routes {
		if !s.canServe[v][n] {
			continue
		}
		route := pl.routes[v]
		if len(route) == 0 {
			if triedEmpty[s.shapeOf[v]] {
				continue
			}
			triedEmpty[s.shapeOf[v]] = true
		}
		if fastNode && caches[v].fast {
			for i := 0; i <= len(route); i++ {
				if s.blinks(blink) {
					continue
				}
				if delta, ok := s.insertJob(v, route, &caches[v], n, i); ok && delta < best.delta {
					best = insertion{vehicle: v, at: i, pairAt: -1, delta: delta, ok: true}
				}
			}
			continue
		}
		pair := s.nodes[n].pair
		if fastPair && caches[v].fast && s.canServe[v][pair] {
			s.insertShipment(v, route, &caches[v], n, blink, &best)
			continue
		}
		before, _ := s.routeCost(v, route)
		for i := 0; i <= len(route); i++ {
			if pair < 0 {
				if s.blinks(blink) {
					continue
				}
				scratch = insertAt(scratch[:0], route, i, n, -1, -1)
				if after, ok := s.routeCost(v, scratch); ok && after-before < best.delta {
					best = insertion{vehicle: v, at: i, pairAt: -1, delta: after - before, ok: true}
				}
				continue
			}
			for j := i; j <= len(route); j++ {
				if s.blinks(blink) {
					continue
				}
				scratch = insertAt(scratch[:0], route, i, n, j, pair)
				if after, ok := s.routeCost(v, scratch); ok && after-before < best.delta {
					best = insertion{vehicle: v, at: i, pairAt: j, delta: after - before, ok: true}
				}
			}
		}
	}
	return best
}

// blinks says whether to skip one insertion position, each with the given chance. It
// draws the number of positions until the next skip rather than a number per position:
// the same odds, and most positions then cost no random draw.
func (s *solver) blinks(chance float64) bool {
	if chance <= 0 {
		return false
	}
	if s.untilBlink < 0 {
		s.untilBlink = int(math.Log(1-s.rng.Float64()) / math.Log1p(-chance))
	}
	if s.untilBlink > 0 {
		s.untilBlink--
		return false
	}
	s.untilBlink = -1
	return true
}

// vehicleShape is what makes two empty vehicles interchangeable for an insertion.
type vehicleShape struct {
	start, end int
	shift      Window
	maxDur     float64
	fixed      float64
	capacity   string
	skills     string
	trips      int
	reload     float64
	depots     string
}

func (s *solver) shape(v int) vehicleShape {
	veh := s.p.Vehicles[v]
	return vehicleShape{veh.Start, veh.End, veh.Shift, veh.MaxDuration, veh.FixedCost, amountKey(veh.Capacity), stringsKey(veh.Skills),
		veh.trips(), veh.Reload, fmt.Sprint(veh.Depots)}
}

func amountKey(a Amount) string {
	b := make([]byte, 0, 8*len(a))
	for _, x := range a {
		for k := 0; k < 8; k++ {
			b = append(b, byte(x>>(8*k)))
		}
	}
	return string(b)
}

func stringsKey(ss []string) string {
	out := ""
	for _, s := range ss {
		out += s + "\x00"
	}
	return out
}

// insertAt writes route with n inserted before position i and, when pair ≥ 0, pair
// inserted before original position j (j ≥ i), into dst.
func insertAt(dst, route []int, i, n, j, pair int) []int {
	for k := 0; k <= len(route); k++ {
		if k == i {
			dst = append(dst, n)
		}
		if pair >= 0 && k == j {
			dst = append(dst, pair)
		}
		if k < len(route) {
			dst = append(dst, route[k])
		}
	}
	return dst
}

func (s *solver) apply(pl *plan, n int, ins insertion) {
	pair := s.nodes[n].pair
	route := pl.routes[ins.vehicle]
	pl.routes[ins.vehicle] = insertAt(make([]int, 0, len(route)+2), route, ins.at, n, ins.pairAt, pair)
	pl.cost += ins.delta
}

// recreate inserts the left-out nodes one by one, each at its cheapest place, in an
// order drawn at random among a few that work well. Of the nodes that were already left
// out before the last ruin (the first carried of pl.out) at most maxCarried are tried, so
// that a plan with thousands left out still turns quickly. It reports false when stop
// said to end midway; what was not tried stays out.
func (s *solver) recreate(pl *plan, blink float64, carried int, stop func() bool) bool {
	return s.recreateIn(pl, blink, carried, stop, true)
}

// recreateIn is recreate, drawing an order or (ordered false) keeping pl.out's.
func (s *solver) recreateIn(pl *plan, blink float64, carried int, stop func() bool, draw bool) bool {
	const maxCarried = 100
	out := pl.out
	pl.out = nil
	if carried > maxCarried {
		old := out[:carried]
		s.rng.Shuffle(len(old), func(i, j int) { old[i], old[j] = old[j], old[i] })
		pl.out = append(pl.out, old[maxCarried:]...)
		out = out[carried-maxCarried:]
		copy(out, old[:maxCarried])
	}
	if draw {
		s.order(out)
	}
	scratch := make([]int, 0, 64)
	caches := s.caches[:len(pl.routes)]
	for v, r := range pl.routes {
		s.cache(v, r, &caches[v])
	}
	for i, n := range out {
		if i%32 == 31 && stop() {
			pl.out = append(pl.out, out[i:]...)
			return false
		}
		ins := s.bestInsertion(pl, caches, n, blink, scratch)
		if !ins.ok {
			if s.trips && s.insertWithReload(pl, caches, n) {
				continue
			}
			pl.out = append(pl.out, n)
			continue
		}
		pl.cost -= s.penalty * float64(s.nodes[n].weight)
		s.apply(pl, n, ins)
		s.cache(ins.vehicle, pl.routes[ins.vehicle], &caches[ins.vehicle])
	}
	if s.trips {
		s.dropReloads(pl)
	}
	return true
}

// order sorts nodes to insert: at random, by priority and load, by distance from the
// first vehicle's start (far first, or near first), or by the opening of their windows.
func (s *solver) order(ns []int) {
	home := s.p.Vehicles[0].Start
	key := func(n int) float64 { return 0 }
	switch s.rng.IntN(5) {
	case 0:
		s.rng.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
		return
	case 1:
		key = func(n int) float64 {
			nd := s.nodes[n]
			total := 0.0
			for d := range nd.startLoad {
				total += float64(nd.startLoad[d] + max(nd.change[d], 0))
			}
			return -float64(nd.weight)*1e9 - total
		}
	case 2:
		key = func(n int) float64 { return -s.travelCost(home, s.nodes[n].loc) }
	case 3:
		key = func(n int) float64 { return s.travelCost(home, s.nodes[n].loc) }
	case 4:
		key = func(n int) float64 {
			if len(s.nodes[n].windows) == 0 {
				return 0
			}
			return s.nodes[n].windows[0].Start
		}
	}
	s.rng.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
	slices.SortStableFunc(ns, func(a, b int) int { return cmpFloat(key(a), key(b)) })
}

// ruin removes strings of stops from routes near a random stop (after SISR, Christiaens
// and Vanden Berghe 2020): about meanRemoved stops from strings of at most maxString,
// each from a different route; a shipment leaves whole.
func (s *solver) ruin(pl *plan, meanRemoved, maxString float64) {
	routeOf, posOf := s.scratch.routeOf, s.scratch.posOf
	for n := range routeOf {
		routeOf[n] = -1
	}
	var served []int
	avgLen, used := 0.0, 0
	for v, r := range pl.routes {
		for k, n := range r {
			routeOf[n], posOf[n] = v, k
			if kind := s.nodes[n].kind; kind != StepDelivery && kind != StepReload {
				served = append(served, n)
			}
		}
		if len(r) > 0 {
			avgLen += float64(len(r))
			used++
		}
	}
	if len(served) == 0 {
		return
	}
	avgLen /= float64(max(used, 1))
	lmax := math.Min(maxString, avgLen)
	strings := 4*meanRemoved/(1+lmax) - 1
	ks := int(s.rng.Float64()*strings) + 1
	seed := served[s.rng.IntN(len(served))]
	ruined := s.scratch.ruined[:0] // routes, in the order they were ruined
	removed := s.scratch.removed
	for _, c := range append([]int{seed}, s.near[seed]...) {
		if len(ruined) >= ks {
			break
		}
		v := routeOf[c]
		if v < 0 || slices.Contains(ruined, v) {
			continue
		}
		route := pl.routes[v]
		l := min(len(route), int(s.rng.Float64()*lmax)+1)
		first := max(0, min(posOf[c]-s.rng.IntN(l), len(route)-l))
		for _, n := range route[first : first+l] {
			removed[n] = true
			if p := s.nodes[n].pair; p >= 0 {
				removed[p] = true // a shipment leaves whole
			}
		}
		ruined = append(ruined, v)
	}
	start := len(pl.out)
	for _, v := range ruined {
		r := pl.routes[v]
		before, _ := s.routeCost(v, r)
		kept := r[:0:0]
		for _, n := range r {
			switch kind := s.nodes[n].kind; {
			case !removed[n]:
				kept = append(kept, n)
			case kind != StepDelivery && kind != StepReload: // a reload is not left out
				pl.out = append(pl.out, n)
			}
		}
		if s.trips {
			kept = s.ruinReloads(v, r, kept)
		}
		pl.routes[v] = kept
		after, _ := s.routeCost(v, kept)
		pl.cost += after - before
	}
	slices.Sort(pl.out[start:])
	for _, n := range pl.out[start:] {
		removed[n] = false
		if p := s.nodes[n].pair; p >= 0 {
			removed[p] = false
		}
		pl.cost += s.penalty * float64(s.nodes[n].weight)
	}
	s.scratch.ruined = ruined
}

// construct builds the first plan: every node inserted at its cheapest place, in the
// order of a nearest-neighbour chain.
func (s *solver) construct(stop func() bool) plan {
	first := plan{routes: make([][]int, len(s.p.Vehicles))}
	for n, nd := range s.nodes[:s.regular] {
		if nd.kind != StepDelivery {
			first.out = append(first.out, n)
		}
	}
	first.cost = s.planCost(first)
	first.out = s.chain(first.out)
	s.recreateIn(&first, 0, 0, stop, false)
	return first
}

// Annealing cycles. Temperatures are on the scale of a short edge (the mean to the
// nearest neighbours): from ten of them down to a thirtieth of one, tuned on Solomon's
// classes. A cycle cools over a number of rounds, and the next starts again, as hot, from
// the best plan so far, twice as long. Lengths are set by the problem's size, never by
// the time limit: a longer run is the shorter one continued, so its best is never worse.
// Doubling makes that hold at any speed: whenever a run stops, the last cycle it finished
// is at least a quarter of its rounds (but for the first), cooled all the way.
const hotEdges, coldEdges = 10, 1.0 / 30

// firstCycle is the first cycle's length for n nodes. The scale is 300 rounds a node up to
// 100 nodes (about a second on a Solomon instance), then fewer a node, as each round's
// insertions scan more routes: 9,500 rounds at 1,000 nodes, 3,000 at 10,000. The first
// cycle is a thirty-second of it, so that a fifth of a second already ends cold, and 2 s
// end a cycle of a whole scale. A bound on the rounds under two scales is the budget of
// one cooling, as in dispatch's deterministic plans.
func (s *solver) firstCycle() int {
	n := float64(max(len(s.nodes), 1))
	scale := 300 * n
	if n > 100 {
		scale = 30000 * math.Sqrt(100/n)
	}
	if m := s.opt.MaxIterations; m > 0 && m < 2*int(scale) {
		return m
	}
	return max(int(scale/32), 1)
}

// search improves the plan by ruin and recreate under cycles of simulated annealing until
// the time is up, the context ends or the iterations run out, telling x of each better
// plan and restarting each cycle from x's best.
func (s *solver) search(ctx context.Context, current plan, x *exchange) {
	deadline := s.started.Add(s.opt.TimeLimit)
	stop := func() bool { return ctx.Err() != nil || time.Now().After(deadline) }
	best := current
	edge := s.meanEdge()
	t0, tf := edge*hotEdges, edge*coldEdges
	cycle, cycleStart := s.firstCycle(), 0
	for it := 0; s.opt.MaxIterations == 0 || it < s.opt.MaxIterations; it++ {
		if stop() {
			break
		}
		if it-cycleStart == cycle {
			cycleStart, cycle = it, 2*cycle
			best = x.adopt(best)
			current = best
		}
		progress := float64(it-cycleStart) / float64(cycle)
		temperature := t0 * math.Pow(tf/t0, progress)
		candidate := current.clone()
		carried := len(candidate.out)
		s.ruin(&candidate, 10, 10)
		if !s.recreate(&candidate, 0.01, carried, stop) {
			break // cut short: the candidate is not a whole attempt
		}
		x.rounds.Add(1)
		if candidate.cost < current.cost-temperature*math.Log(s.rng.Float64()) {
			current = candidate
			if current.cost < best.cost-1e-9 {
				best = current
				x.offer(best)
			}
		}
	}
}

// chain orders nodes so that each is near the one before: from the node nearest the
// first vehicle's start, on to the nearest not yet taken among its neighbours, or, when
// they are all taken, to the next nearest the start. Built in that order, routes grow
// through neighbourhoods instead of criss-crossing the map.
func (s *solver) chain(ns []int) []int {
	home := s.p.Vehicles[0].Start
	byHome := slices.Clone(ns)
	slices.SortStableFunc(byHome, func(a, b int) int {
		return cmpFloat(s.travelCost(home, s.nodes[a].loc), s.travelCost(home, s.nodes[b].loc))
	})
	wanted := make(map[int]bool, len(ns))
	for _, n := range ns {
		wanted[n] = true
	}
	out := make([]int, 0, len(ns))
	next := 0
	for len(out) < len(ns) {
		for !wanted[byHome[next]] {
			next++
		}
		n := byHome[next]
		for {
			wanted[n] = false
			out = append(out, n)
			found := false
			for _, m := range s.near[n] {
				if wanted[m] {
					n, found = m, true
					break
				}
			}
			if !found {
				break
			}
		}
	}
	return out
}

func (s *solver) meanEdge() float64 {
	total, count := 0.0, 0
	for a := range s.nodes {
		for _, b := range s.near[a][:min(len(s.near[a]), 5)] {
			total += s.travelCost(s.nodes[a].loc, s.nodes[b].loc)
			count++
		}
	}
	if count == 0 || total == 0 {
		return 1
	}
	return total / float64(count)
}

// solution turns a plan into routes with their schedules, and says why anything was left
// out.
func (s *solver) solution(pl plan) Solution {
	var out Solution
	for v, seq := range pl.routes {
		if len(seq) == 0 {
			continue
		}
		refs := make([]StepRef, len(seq))
		for i, n := range seq {
			refs[i] = StepRef{Kind: s.nodes[n].kind, Index: s.nodes[n].index}
		}
		r := Evaluate(s.p, v, refs)
		out.Routes = append(out.Routes, r)
		out.Distance += r.Distance
		out.Duration += r.Duration
		out.Vehicles++
	}
	for _, n := range pl.out {
		out.Unassigned = append(out.Unassigned, Unassigned{Kind: s.nodes[n].kind, Index: s.nodes[n].index, Reason: s.reason(n)})
	}
	out.Cost = pl.cost
	return out
}

// reason says why a node could not be served: the first rule no vehicle can meet.
func (s *solver) reason(n int) string {
	skills, capacity := false, false
	for v, veh := range s.p.Vehicles {
		if hasSkills(veh.Skills, s.nodes[n].skills) {
			skills = true
			if s.canServe[v][n] {
				capacity = true
				seq := []int{n}
				if p := s.nodes[n].pair; p >= 0 {
					seq = append(seq, p)
				}
				if _, ok := s.routeCost(v, seq); ok {
					return ReasonNoRoom
				}
			}
		}
	}
	switch {
	case !skills:
		return ReasonSkills
	case !capacity:
		return ReasonCapacity
	}
	return ReasonWindow
}
