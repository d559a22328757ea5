package routing

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Objective is what the solver minimises once as much work as possible is served.
type Objective int

const (
	MinDistance Objective = iota
	MinDuration
)

// Options tune a solve.
type Options struct {
	// TimeLimit bounds the search; 0 means one second. Cancelling the context also ends
	// it, with the best plan found so far.
	TimeLimit time.Duration
	Seed      uint64
	Objective Objective
	// VehicleCost is added per vehicle used: a tie-break towards fewer vehicles when it is
	// small against the distances, a real cost when it is not.
	VehicleCost float64
	// MaxIterations ends the search after so many ruin-and-recreate rounds (0: no bound).
	// A run that ends by its rounds, before the time limit, does not depend on the
	// machine's speed: it is the same for a seed.
	MaxIterations int
	// Progress, when set, is told the best plan so far: once the first plan is built,
	// then at most every ProgressEvery (0: half a second) while it improves. Calls never
	// overlap, but with several Workers they come from any of them: a slow one slows the
	// search.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Workers is how many goroutines search at once (0 or 1: one, the caller's, and the
	// solve is deterministic for a seed and MaxIterations). More run independent
	// annealings from seeds drawn from Seed that adopt the best plan any has found at each
	// new cycle; the result then depends on their timing.
	Workers int
}

// Progress is a search's state as it runs.
type Progress struct {
	Phase      string // PhaseConstruct, then PhaseImprove
	Elapsed    time.Duration
	Iterations int // ruin-and-recreate rounds so far, of all workers
	Best       Solution
}

// Phases of a search.
const (
	PhaseConstruct = "construct"
	PhaseImprove   = "improve"
)

// node is one place a route can visit: a job, one end of a shipment, or a vehicle's
// reload at one of its depots.
type node struct {
	kind      StepKind
	index     int // in Problem.Jobs or Problem.Shipments; a reload's depot
	loc       int
	service   float64
	windows   []Window
	startLoad Amount // on board from the route's start until here (a job's delivery)
	change    Amount // load change here: a job's pickup less its delivery, ± a shipment
	pair      int    // the other end of a shipment; -1 for a job
	weight    int
	skills    []string
}

// isReload reports whether node n is a reload.
func (s *solver) isReload(n int) bool { return s.nodes[n].kind == StepReload }

// solver holds one search.
type solver struct {
	p       *Problem
	opt     Options
	rng     *rand.Rand
	nodes   []node
	regular int // nodes[:regular] are jobs and shipment ends, the rest reloads
	dims    int
	trips   bool // some vehicle may make more than one trip
	// reloadsOf lists each vehicle's reload nodes, MaxTrips-1 per depot (none for a
	// vehicle of one trip): a reload out of every route is simply not used, and is never
	// left out.
	reloadsOf [][]int
	canServe  [][]bool // [vehicle][node]: skills and capacity allow it at all
	near      [][]int  // each node's nearest other nodes
	penalty   float64  // cost of leaving one unit of priority unserved
	caches    []routeCache
	started   time.Time // the time limit counts from here

	timeFactor []float64 // each vehicle's TravelTimeFactor, 1 when unset
	untilBlink int       // insertion positions until the next one skipped; -1: not drawn yet

	// shapeOf numbers each vehicle's shape: empty vehicles of one shape are interchangeable.
	shapeOf []int
	shapes  int
	// What a search changes as it goes: each worker of a solve has its own.
	scratch struct {
		routeOf, posOf []int  // each node's place in the plan being ruined
		removed        []bool // by node
		ruined         []int
		triedEmpty     []bool     // by shape
		tripCache      routeCache // a route with a reload being tried (insertWithReload)
	}

	// Travel between locations, copied from the matrix when it is small (travelTables).
	locations        int
	durations, costs []float64
}

// plan is a solution under construction: a sequence of nodes per vehicle.
type plan struct {
	// routes are never changed in place: a ruin or an insertion makes the route anew, so a
	// clone shares the routes it does not change.
	routes [][]int
	out    []int // nodes left out (a shipment by its pickup)
	cost   float64
}

func (pl plan) clone() plan {
	return plan{routes: slices.Clone(pl.routes), out: slices.Clone(pl.out), cost: pl.cost}
}

// Solve plans the problem: as much priority-weighted work as possible, then the least
// distance (or duration), fixed costs and vehicles. It is anytime: when the context ends
// or the time limit passes it returns the best plan found. For a seed it is deterministic
// when MaxIterations ends the search.
func Solve(ctx context.Context, p *Problem, opt Options) (Solution, error) {
	if err := p.Validate(); err != nil {
		return Solution{}, err
	}
	if opt.TimeLimit <= 0 {
		opt.TimeLimit = time.Second
	}
	started := time.Now()
	s := newSolver(p, opt)
	s.started = started
	best := s.run(ctx)
	return s.solution(best), nil
}

func newSolver(p *Problem, opt Options) *solver {
	s := &solver{p: p, opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x5eed)), untilBlink: -1}
	s.dims = len(p.Vehicles[0].Capacity)
	s.travelTables()
	zero := func(a Amount) Amount {
		if a == nil {
			return make(Amount, s.dims)
		}
		return a
	}
	for i, j := range p.Jobs {
		change := make(Amount, s.dims)
		addTo(change, j.Pickup, 1)
		addTo(change, j.Delivery, -1)
		s.nodes = append(s.nodes, node{kind: StepJob, index: i, loc: j.Location, service: j.Service, windows: j.Windows,
			startLoad: zero(j.Delivery), change: change, pair: -1, weight: weight(j.Priority), skills: j.Skills})
	}
	for i, sh := range p.Shipments {
		pick, drop := len(s.nodes), len(s.nodes)+1
		minus := make(Amount, s.dims)
		addTo(minus, sh.Amount, -1)
		s.nodes = append(s.nodes,
			node{kind: StepPickup, index: i, loc: sh.Pickup.Location, service: sh.Pickup.Service, windows: sh.Pickup.Windows,
				startLoad: make(Amount, s.dims), change: zero(sh.Amount), pair: drop, weight: weight(sh.Priority), skills: sh.Skills},
			node{kind: StepDelivery, index: i, loc: sh.Delivery.Location, service: sh.Delivery.Service, windows: sh.Delivery.Windows,
				startLoad: make(Amount, s.dims), change: minus, pair: pick, weight: weight(sh.Priority), skills: sh.Skills})
	}
	s.regular = len(s.nodes)
	s.reloadsOf = make([][]int, len(p.Vehicles))
	for v := range p.Vehicles {
		veh := &p.Vehicles[v]
		for d := 0; d < veh.depotCount() && veh.trips() > 1; d++ {
			for range veh.trips() - 1 {
				s.trips = true
				s.reloadsOf[v] = append(s.reloadsOf[v], len(s.nodes))
				s.nodes = append(s.nodes, node{kind: StepReload, index: d, loc: veh.depot(d), service: veh.Reload,
					startLoad: make(Amount, s.dims), change: make(Amount, s.dims), pair: -1})
			}
		}
	}
	for _, veh := range p.Vehicles {
		s.timeFactor = append(s.timeFactor, cmp.Or(veh.TravelTimeFactor, 1))
	}
	shapes := map[vehicleShape]int{}
	for v := range p.Vehicles {
		id, ok := shapes[s.shape(v)]
		if !ok {
			id = len(shapes)
			shapes[s.shape(v)] = id
		}
		s.shapeOf = append(s.shapeOf, id)
	}
	s.shapes = len(shapes)
	s.newScratch()
	s.canServe = make([][]bool, len(p.Vehicles))
	for v, veh := range p.Vehicles {
		s.canServe[v] = make([]bool, len(s.nodes))
		for n, nd := range s.nodes[:s.regular] {
			s.canServe[v][n] = hasSkills(veh.Skills, nd.skills) && fits(nd.startLoad, veh.Capacity) && fits(maxLoad(nd, s.dims), veh.Capacity)
		}
		for _, n := range s.reloadsOf[v] {
			s.canServe[v][n] = true
		}
	}
	longest := 0.0
	s.near = make([][]int, len(s.nodes)) // none for reloads: a ruin starts from a stop
	for a := range s.nodes[:s.regular] {
		var far float64
		s.near[a], far = s.nearest(a, 40)
		longest = math.Max(longest, far)
	}
	// The longest leg may also be to or from a vehicle's start or end.
	ends := map[int]bool{}
	for _, veh := range p.Vehicles {
		ends[veh.Start] = true
		if veh.End >= 0 {
			ends[veh.End] = true
		}
		for _, d := range veh.Depots {
			ends[d] = true
		}
	}
	for end := range ends {
		for _, nd := range s.nodes[:s.regular] {
			longest = max(longest, s.travelCost(end, nd.loc), s.travelCost(nd.loc, end))
		}
	}
	// Serving one more unit of priority must outweigh any saving in travel.
	s.penalty = (longest + 1) * float64(len(s.nodes)+2*len(p.Vehicles)+1) * 4
	for _, v := range p.Vehicles {
		s.penalty += v.FixedCost
	}
	s.penalty += opt.VehicleCost * float64(len(p.Vehicles))
	return s
}

// newScratch gives s its own working space: route caches and the ruin's bookkeeping.
func (s *solver) newScratch() {
	s.caches = make([]routeCache, len(s.p.Vehicles))
	s.scratch.triedEmpty = make([]bool, s.shapes)
	s.scratch.routeOf = make([]int, len(s.nodes))
	s.scratch.posOf = make([]int, len(s.nodes))
	s.scratch.removed = make([]bool, len(s.nodes))
	s.scratch.ruined = nil
	s.scratch.tripCache = routeCache{}
}

// nearest lists node a's k nearest other nodes, nearest first (ties by index), with the
// cost of its farthest node: one pass over the others keeping the best k, so that ten
// thousand stops need no sort of every pair.
func (s *solver) nearest(a, k int) ([]int, float64) {
	type cand struct {
		n    int
		cost float64
	}
	worse := func(x, y cand) bool { return x.cost > y.cost || (x.cost == y.cost && x.n > y.n) }
	heap := make([]cand, 0, k) // a max-heap on cost: the worst kept is on top
	far := 0.0
	for b := range s.nodes[:s.regular] {
		if b == a {
			continue
		}
		c := cand{b, s.travelCost(s.nodes[a].loc, s.nodes[b].loc)}
		far = math.Max(far, c.cost)
		if len(heap) < k {
			heap = append(heap, c)
			for i := len(heap) - 1; i > 0 && worse(heap[i], heap[(i-1)/2]); i = (i - 1) / 2 {
				heap[i], heap[(i-1)/2] = heap[(i-1)/2], heap[i]
			}
			continue
		}
		if !worse(heap[0], c) {
			continue
		}
		heap[0] = c
		for i := 0; ; {
			l, r, top := 2*i+1, 2*i+2, i
			if l < len(heap) && worse(heap[l], heap[top]) {
				top = l
			}
			if r < len(heap) && worse(heap[r], heap[top]) {
				top = r
			}
			if top == i {
				break
			}
			heap[i], heap[top] = heap[top], heap[i]
			i = top
		}
	}
	slices.SortFunc(heap, func(x, y cand) int {
		if worse(y, x) {
			return -1
		}
		if worse(x, y) {
			return 1
		}
		return 0
	})
	out := make([]int, len(heap))
	for i, c := range heap {
		out[i] = c.n
	}
	return out, far
}

// maxLoad is the most a node alone puts on a vehicle: its delivery, or what it picks up.
func maxLoad(n node, dims int) Amount {
	out := make(Amount, dims)
	for d := range out {
		out[d] = max(n.startLoad[d], n.startLoad[d]+n.change[d], n.change[d])
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tableLimit is the most locations whose travel the solver copies into tables: lookups
// there beat recomputing a square root or a haversine on every judgement, and 1,500
// locations take 36 MB; beyond it travel is asked of the matrix each time.
const tableLimit = 1500

// travelTables fills s.durations and s.costs when the problem is small enough.
func (s *solver) travelTables() {
	n := s.p.Matrix.Size()
	if n > tableLimit {
		return
	}
	s.locations = n
	s.durations = make([]float64, n*n)
	s.costs = make([]float64, n*n)
	for a := range n {
		for b := range n {
			s.durations[a*n+b] = s.p.Matrix.Duration(a, b)
			s.costs[a*n+b] = s.matrixCost(a, b)
		}
	}
}

// duration is vehicle v's travel time between two locations.
func (s *solver) duration(v, from, to int) float64 {
	if s.durations != nil {
		return s.durations[from*s.locations+to] * s.timeFactor[v]
	}
	return s.p.Matrix.Duration(from, to) * s.timeFactor[v]
}

func (s *solver) travelCost(from, to int) float64 {
	if s.costs != nil {
		return s.costs[from*s.locations+to]
	}
	return s.matrixCost(from, to)
}

func (s *solver) matrixCost(from, to int) float64 {
	if s.opt.Objective == MinDuration {
		return s.p.Matrix.Duration(from, to)
	}
	return s.p.Matrix.Distance(from, to)
}

// routeCost is a route's cost and whether it is feasible: the forward pass every
// insertion is judged by. Each trip starts with its deliveries on board; a reload may
// not come first, last or right after another, nor while a shipment is aboard.
func (s *solver) routeCost(v int, seq []int) (float64, bool) {
	if len(seq) == 0 {
		return 0, true
	}
	veh := &s.p.Vehicles[v]
	load := make(Amount, s.dims)
	for _, n := range seq {
		if !s.canServe[v][n] {
			return 0, false
		}
	}
	if !s.tripLoad(veh, seq, load) {
		return 0, false
	}
	at, here := veh.Shift.Start, veh.Start
	cost, travelled := veh.FixedCost+s.opt.VehicleCost, 0.0
	var aboard []int // shipments picked up and not yet delivered, by their pickup node
	reloads := 0
	for i, n := range seq {
		nd := &s.nodes[n]
		switch nd.kind {
		case StepPickup:
			aboard = append(aboard, n)
		case StepDelivery:
			k := slices.Index(aboard, nd.pair)
			if k < 0 {
				return 0, false // delivered before, or without, its pickup
			}
			aboard = slices.Delete(aboard, k, k+1)
		case StepReload:
			reloads++
			if i == 0 || i == len(seq)-1 || s.isReload(seq[i-1]) || len(aboard) > 0 || reloads >= veh.trips() {
				return 0, false
			}
		}
		leg := s.travelCost(here, nd.loc)
		cost, travelled = cost+leg, travelled+leg
		at += s.duration(v, here, nd.loc)
		start, ok := serviceStart(nd.windows, at)
		if !ok {
			return 0, false
		}
		at, here = start+nd.service, nd.loc
		if nd.kind == StepReload {
			if !s.tripLoad(veh, seq[i+1:], load) {
				return 0, false
			}
			continue
		}
		addTo(load, nd.change, 1)
		if !fits(load, veh.Capacity) {
			return 0, false
		}
	}
	if veh.End >= 0 {
		leg := s.travelCost(here, veh.End)
		cost, travelled = cost+leg, travelled+leg
		at += s.duration(v, here, veh.End)
	}
	if at > veh.Shift.End+checkTolerance || (veh.MaxDuration > 0 && at-veh.Shift.Start > veh.MaxDuration+checkTolerance) {
		return 0, false
	}
	if s.opt.Objective == MinDuration {
		// The route's whole time, service and waiting included, in place of its travel.
		cost += at - veh.Shift.Start - travelled
	}
	return cost, len(aboard) == 0
}

// tripLoad sets load to what the trip that begins seq leaves with, the deliveries up to
// the next reload, and reports whether it fits the vehicle.
func (s *solver) tripLoad(veh *Vehicle, seq []int, load Amount) bool {
	clear(load)
	for _, n := range seq {
		if s.isReload(n) {
			break
		}
		addTo(load, s.nodes[n].startLoad, 1)
	}
	return fits(load, veh.Capacity)
}

// serviceStart is when service may begin for an arrival at t: at once, or at the next
// window's opening; false when every window has closed.
func serviceStart(ws []Window, t float64) (float64, bool) {
	for _, w := range ws {
		if t <= w.End+checkTolerance {
			return max(t, w.Start), true
		}
	}
	return t, len(ws) == 0
}

// planCost totals a plan: the routes and the work left out.
func (s *solver) planCost(pl plan) float64 {
	total := 0.0
	for v, r := range pl.routes {
		c, _ := s.routeCost(v, r)
		total += c
	}
	for _, n := range pl.out {
		total += s.penalty * float64(s.nodes[n].weight)
	}
	return total
}
