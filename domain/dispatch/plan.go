package dispatch

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
	"courierd/routing"
)

// Config is how plans are made.
type Config struct {
	// Travel gives travel between points; nil: great-circle distance × RoadFactor at the
	// speed of a motorbike, each other kind of vehicle scaled by its speed.
	Travel     TravelProvider
	RoadFactor float64
	// FellBack, when set, hears of each matrix that falls back to straight lines although
	// an engine is configured: the reason, the number of points and the provider's error
	// (nil for too_many_points), for the log and the metrics.
	FellBack func(reason string, points int, err error)
	// SpeedKmh is the average speed in town of each kind of vehicle.
	SpeedKmh map[catalog.VehicleKind]float64
	// Service is how long each kind of stop takes at the door or desk.
	Service map[dossier.TaskKind]time.Duration
	// TimeLimit is the solver's budget when a request names none; MaxTimeLimit caps a
	// request's.
	TimeLimit, MaxTimeLimit time.Duration
	// Delays are the delay alerts' thresholds; a zero one is the default's.
	Delays DelayThresholds
	// MaxTrips is how many loads a courier may take in a day when a request names none,
	// and Reload how long reloading at the post office between two takes.
	MaxTrips int
	Reload   time.Duration
	// RoundsPerStop bounds a plan's search by rounds, so that a plan repeats on any
	// machine (0: 100 a stop); negative: the search runs to its time limit, better on a
	// fast machine and with more time, but no longer the same twice.
	RoundsPerStop int
	// DelayCheckEvery spaces the delay checks that couriers' traffic asks for, per office
	// (see Nudge): an alert is found at most this late.
	DelayCheckEvery time.Duration
}

// DefaultConfig: roads 1.3 times the straight line; 25 km/h on a motorbike in town traffic,
// 12 on a bicycle, 20 by car, 4 on foot; ten minutes for a pickup (checking the papers and
// taking the fee), seven for a delivery (the identity check), fifteen at an agency's desk;
// up to three loads a day, ten minutes at the office to unload and load between them.
var DefaultConfig = Config{
	RoadFactor: 1.3,
	SpeedKmh: map[catalog.VehicleKind]float64{catalog.VehicleMotorbike: 25, catalog.VehicleBicycle: 12,
		catalog.VehicleCar: 20, catalog.VehicleOnFoot: 4},
	Service: map[dossier.TaskKind]time.Duration{dossier.TaskPickup: 10 * time.Minute, dossier.TaskDelivery: 7 * time.Minute,
		dossier.TaskCollection: 15 * time.Minute},
	TimeLimit:       5 * time.Second,
	MaxTimeLimit:    60 * time.Second,
	Delays:          DelayThresholds{CourierLate: 20 * time.Minute, StopDeadline: 30 * time.Minute},
	MaxTrips:        3,
	Reload:          10 * time.Minute,
	RoundsPerStop:   100,
	DelayCheckEvery: 2 * time.Second,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	c.RoadFactor = cmp.Or(c.RoadFactor, d.RoadFactor)
	if c.SpeedKmh == nil {
		c.SpeedKmh = d.SpeedKmh
	}
	if c.Service == nil {
		c.Service = d.Service
	}
	c.TimeLimit = cmp.Or(c.TimeLimit, d.TimeLimit)
	c.MaxTimeLimit = cmp.Or(c.MaxTimeLimit, d.MaxTimeLimit)
	c.Delays.CourierLate = cmp.Or(c.Delays.CourierLate, d.Delays.CourierLate)
	c.Delays.StopDeadline = cmp.Or(c.Delays.StopDeadline, d.Delays.StopDeadline)
	c.MaxTrips = cmp.Or(c.MaxTrips, d.MaxTrips)
	c.Reload = cmp.Or(c.Reload, d.Reload)
	c.RoundsPerStop = cmp.Or(c.RoundsPerStop, d.RoundsPerStop)
	c.DelayCheckEvery = cmp.Or(c.DelayCheckEvery, d.DelayCheckEvery)
	return c
}

// TravelProvider builds the travel matrix between points (longitude, latitude) for a
// motorbike; other vehicles scale its times by their speed. An error wrapping
// ErrTravelGarbage is an answer it could not use; its errors name no point.
type TravelProvider interface {
	Matrix(ctx context.Context, points []orb.Point) (routing.Matrix, error)
}

// PlanRequest asks for a plan of a post office's day.
type PlanRequest struct {
	PostOfficeID uuid.UUID
	Day          time.Time
	TimeLimit    time.Duration // 0: the configured default
	Seed         uint64
	// MaxTrips (0: the configured default, or a re-plan's previous plan's) and Reload
	// (nil: likewise) say how many loads a courier may take and how long reloading takes.
	MaxTrips int
	Reload   *time.Duration
}

// Bounds of a request's trips: more than five loads a day is no longer a courier's round,
// and a reload past two hours is a shift's break, not a reload.
const (
	MaxTripsLimit = 5
	MaxReload     = 2 * time.Hour
)

// trips settles a request's trips against the defaults (the configured ones, or a previous
// plan's), refusing what is out of range.
func (req PlanRequest) trips(maxTrips int, reload time.Duration) (int, time.Duration, error) {
	var probs domain.Problems
	if req.MaxTrips != 0 {
		probs.Check(req.MaxTrips >= 1 && req.MaxTrips <= MaxTripsLimit, "max_trips", fmt.Sprintf("must be between 1 and %d", MaxTripsLimit))
		maxTrips = req.MaxTrips
	}
	if req.Reload != nil {
		probs.Check(*req.Reload >= 0 && *req.Reload <= MaxReload, "reload_minutes", fmt.Sprintf("must be between 0 and %.0f", MaxReload.Minutes()))
		reload = *req.Reload
	}
	return maxTrips, reload, probs.Err()
}

// reference is the vehicle whose speed the matrix's times are for.
const reference = catalog.VehicleMotorbike

// PlanDay asks for a plan of the post office's day: the request is checked and the plan
// recorded as planning, with the job that makes it (MakePlan), and the answer is at once.
// The same request on the same data gives the same plan: the solver runs a fixed number of
// rounds per stop when the time allows, so that the machine's speed does not decide.
func (s *Service) PlanDay(ctx context.Context, req PlanRequest) (Plan, error) {
	if _, _, err := s.office(ctx, req.PostOfficeID); err != nil {
		return Plan{}, err
	}
	return s.accept(ctx, req, nil)
}

// accept checks a request for a plan and records it as planning with the job that makes
// it; previous is the draft re-planned (see Replan), or zero.
func (s *Service) accept(ctx context.Context, req PlanRequest, previous *Plan) (Plan, error) {
	p := auth.PrincipalFrom(ctx)
	now := s.now()
	req.Day = catalog.CivilDate(req.Day)
	today := domain.DateOf(now)
	if err := checkDay(req.Day, today); err != nil {
		return Plan{}, err
	}
	cal, err := s.catalog.Calendar(ctx, today, today.AddDate(0, 0, s.clock.HorizonDays))
	if err != nil {
		return Plan{}, err
	}
	if err := dossier.CheckBookable(cal, "date", req.Day, today, s.clock.HorizonDays); err != nil {
		return Plan{}, err
	}
	if req.TimeLimit == 0 {
		req.TimeLimit = s.cfg.TimeLimit
	}
	if req.TimeLimit < 100*time.Millisecond || req.TimeLimit > s.cfg.MaxTimeLimit {
		return Plan{}, domain.Invalid("time_limit_ms", fmt.Sprintf("must be between 100 and %d", s.cfg.MaxTimeLimit.Milliseconds()))
	}
	maxTrips, reload := s.cfg.MaxTrips, s.cfg.Reload
	previousID := uuid.Nil
	if previous != nil {
		maxTrips, reload, previousID = previous.MaxTrips, previous.Reload, previous.ID
	}
	if maxTrips, reload, err = req.trips(maxTrips, reload); err != nil {
		return Plan{}, err
	}
	plan := Plan{ID: s.newID(), PostOfficeID: req.PostOfficeID, Day: req.Day, State: PlanPlanning, Seed: req.Seed,
		TimeLimit: req.TimeLimit, MaxTrips: maxTrips, Reload: reload, CreatedBy: p.AccountID, CreatedAt: now}
	job := PlanJob{PlanID: plan.ID, Previous: previousID, ActorID: p.AccountID, Role: p.Role, Source: p.Source}
	if err := s.store.StartPlan(ctx, plan, job); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// plan makes the draft of a plan asked for, with its audit entry; from a previous plan it
// keeps the locked routes and the pinned stops (see Replan).
func (s *Service) plan(ctx context.Context, o catalog.PostOffice, asked Plan, previous *Plan) (Plan, audit.Entry, error) {
	p := auth.PrincipalFrom(ctx)
	now := s.now()
	demand, err := s.Demand(ctx, asked.PostOfficeID, asked.Day)
	if err != nil {
		return Plan{}, audit.Entry{}, err
	}
	couriers, err := s.couriers(ctx, asked.PostOfficeID)
	if err != nil {
		return Plan{}, audit.Entry{}, err
	}
	plan := asked
	plan.State, plan.Version = PlanDraft, 1
	stops := demand.All()
	pinned := map[uuid.UUID]uuid.UUID{}
	action := "plan.create"
	if previous != nil {
		// Locked routes stay whole: their couriers and stops are not the solver's.
		action = "plan.replan"
		openStops := map[uuid.UUID]StopRef{}
		for _, st := range stops {
			openStops[st.TaskID] = st.StopRef
		}
		taken, busy := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
		for _, r := range previous.Routes {
			if r.Locked {
				// As the dispatcher drew it, less the stops no longer open (done,
				// cancelled), each as it stands now so that publishing it is not stale.
				kept := r
				kept.Stops = nil
				for _, st := range r.Stops {
					if current, ok := openStops[st.TaskID]; ok {
						st.StopRef = current
						kept.Stops = append(kept.Stops, st)
						taken[st.TaskID] = true
					}
				}
				if len(kept.Stops) > 0 {
					kept.compact()
					plan.Routes = append(plan.Routes, kept)
					busy[r.CourierID] = true
				}
				continue
			}
			for _, st := range r.Stops {
				if st.Pinned {
					pinned[st.TaskID] = r.CourierID
				}
			}
		}
		stops = slices.DeleteFunc(stops, func(st Stop) bool { return taken[st.TaskID] })
		couriers = slices.DeleteFunc(couriers, func(c catalog.Courier) bool { return busy[c.ID] })
	}
	if len(couriers) == 0 {
		for _, st := range stops {
			plan.Unplanned = append(plan.Unplanned, Unplanned{StopRef: st.StopRef, Reason: "no_courier", Detail: "no courier of the post office is free to take it"})
		}
	} else if len(stops) > 0 {
		if err := s.solve(ctx, &plan, o, couriers, stops, pinned); err != nil {
			return Plan{}, audit.Entry{}, err
		}
	}
	plan.totals()
	entry := auditEntry(p, now, action, "plan", plan.ID, map[string]any{"post_office_id": plan.PostOfficeID.String(),
		"day": plan.Day.Format(time.DateOnly), "stops": len(stops), "unplanned": len(plan.Unplanned)})
	return plan, entry, nil
}

// couriers are the post office's active couriers, in a stable order.
func (s *Service) couriers(ctx context.Context, postOffice uuid.UUID) ([]catalog.Courier, error) {
	active := true
	var out []catalog.Courier
	for page := (domain.Page{Limit: domain.MaxPageLimit}); ; page.Offset += page.Limit {
		list, err := s.catalog.Couriers.List(system(ctx), catalog.CourierFilter{PostOfficeID: postOffice, Active: &active}, page)
		if err != nil {
			return nil, err
		}
		out = append(out, list.Items...)
		if len(list.Items) < page.Limit {
			return out, nil
		}
	}
}

// day is a post office's day as the solver sees it: location 0 the post office, where
// every courier starts and ends, job i the stop refs[i] at location i+1; times in seconds
// after the day's midnight.
type day struct {
	office   catalog.PostOffice
	couriers []catalog.Courier
	refs     []StopRef
	prob     *routing.Problem
	midnight time.Time
}

// newDay builds the routing problem of refs for couriers; priorities weigh the stops
// (nil: all alike).
func (s *Service) newDay(ctx context.Context, date time.Time, o catalog.PostOffice, couriers []catalog.Courier, refs []StopRef, priorities []int) (*day, error) {
	points := []orb.Point{o.Location}
	for _, st := range refs {
		points = append(points, st.Location)
	}
	matrix, err := s.matrix(ctx, points)
	if err != nil {
		return nil, err
	}
	d := &day{office: o, couriers: couriers, refs: refs, prob: &routing.Problem{Matrix: matrix},
		midnight: domain.Midnight(date)}
	for _, c := range couriers {
		speed := cmp.Or(s.cfg.SpeedKmh[c.VehicleKind], s.cfg.SpeedKmh[reference])
		d.prob.Vehicles = append(d.prob.Vehicles, routing.Vehicle{ID: c.ID.String(), Start: 0, End: 0,
			Shift:    routing.Window{Start: float64(c.ShiftStartMin * 60), End: float64(c.ShiftEndMin * 60)},
			Capacity: routing.Amount{int64(c.CapacityItems)}, Skills: c.Skills, TravelTimeFactor: s.cfg.SpeedKmh[reference] / speed})
	}
	for i, st := range refs {
		job := routing.Job{ID: st.TaskID.String(), Location: i + 1, Service: s.cfg.Service[st.Kind].Seconds(), Priority: 1, Skills: st.Skills}
		if priorities != nil {
			job.Priority = priorities[i]
		}
		if st.Slot != nil {
			job.Windows = []routing.Window{{Start: float64(st.Slot.StartMin * 60), End: float64(st.Slot.EndMin * 60)}}
		}
		if st.Kind == dossier.TaskDelivery {
			job.Delivery = routing.Amount{1} // the result leaves the post office in the bag
		} else {
			job.Pickup = routing.Amount{1} // the dossier, or the result, comes back in it
		}
		d.prob.Jobs = append(d.prob.Jobs, job)
	}
	return d, nil
}

func (d *day) at(sec float64) time.Time {
	return d.midnight.Add(time.Duration(sec * float64(time.Second))).Round(time.Second).UTC()
}

// withTrips lets every courier of the day take up to maxTrips loads, reloading at the
// post office (location 0, Depots[0]) for reload between them.
func (d *day) withTrips(maxTrips int, reload time.Duration) *day {
	for v := range d.prob.Vehicles {
		veh := &d.prob.Vehicles[v]
		veh.MaxTrips, veh.Reload, veh.Depots = maxTrips, reload.Seconds(), []int{0}
	}
	return d
}

// route times courier v's route through jobs in the order given, trips[i] the trip of
// jobs[i] (nil: one trip), with what it breaks. Each trip is timed on its own, from the
// post office (or where the route starts, for the first) back to it, the next leaving the
// vehicle's reload time after the previous came back; a trip's load is its own.
func (d *day) route(v int, jobs, trips []int) Route {
	c, veh := d.couriers[v], d.prob.Vehicles[v]
	route := Route{CourierID: c.ID, Line: orb.LineString{d.office.Location}}
	most, at := 0, 0.0
	for k, leg := range legs(trips, len(jobs)) {
		vehicle := veh
		if k > 0 {
			vehicle.Start, vehicle.Shift.Start = 0, at+veh.Reload
		}
		if leg.hi < len(jobs) {
			vehicle.End = 0 // back to the office for the next load
		}
		p := *d.prob
		p.Vehicles = []routing.Vehicle{vehicle}
		refs := make([]routing.StepRef, 0, leg.hi-leg.lo)
		for _, j := range jobs[leg.lo:leg.hi] {
			refs = append(refs, routing.StepRef{Kind: routing.StepJob, Index: j})
		}
		r := routing.Evaluate(&p, 0, refs)
		if k == 0 {
			route.Depart = d.at(r.Depart)
		} else {
			route.Reloads = append(route.Reloads, Reload{Trip: leg.trip, Arrival: d.at(at), Departure: d.at(vehicle.Shift.Start), Load: int(r.StartLoad[0])})
			route.Line = append(route.Line, d.office.Location)
		}
		most = max(most, int(r.StartLoad[0]))
		for _, step := range r.Steps {
			st := d.refs[step.Index]
			ps := PlannedStop{StopRef: st, Arrival: d.at(step.Arrival), Start: d.at(step.Start), Departure: d.at(step.Departure),
				Load: int(step.Load[0]), Trip: leg.trip}
			if st.Slot != nil && step.Start > float64(st.Slot.EndMin*60) {
				ps.LateBy = time.Duration(step.Start-float64(st.Slot.EndMin*60)) * time.Second
			}
			most = max(most, ps.Load)
			route.Stops = append(route.Stops, ps)
			route.Line = append(route.Line, st.Location)
		}
		route.DistanceM += r.Distance
		at = r.Arrive
	}
	route.Line = append(route.Line, d.office.Location)
	route.Return = d.at(at)
	route.Duration = route.Return.Sub(route.Depart)
	route.Overload = max(most-c.CapacityItems, 0)
	route.OverShift = max(time.Duration(at-float64(c.ShiftEndMin*60))*time.Second, 0)
	return route
}

// leg is one trip of a route: jobs[lo:hi], its number.
type leg struct{ lo, hi, trip int }

// legs cuts n jobs where their trip changes (nil trips: one trip); no jobs make one empty
// trip.
func legs(trips []int, n int) []leg {
	if trips == nil {
		return []leg{{0, n, 1}}
	}
	out := []leg{}
	for i := 0; i < n; i++ {
		if len(out) == 0 || trips[i] != out[len(out)-1].trip {
			out = append(out, leg{i, i, trips[i]})
		}
		out[len(out)-1].hi = i + 1
	}
	if len(out) == 0 {
		return []leg{{0, 0, 1}}
	}
	return out
}

// stepsOf are a solver's route's jobs and the trip of each: a reload starts the next.
func stepsOf(r routing.Route) (jobs, trips []int) {
	trip := 1
	for _, step := range r.Steps {
		if step.Kind == routing.StepReload {
			trip++
			continue
		}
		jobs, trips = append(jobs, step.Index), append(trips, trip)
	}
	return jobs, trips
}

// compact renumbers a route's trips 1, 2, … after stops left it without timing it again:
// a trip left without stops goes, with the reload that began it.
func (r *Route) compact() {
	trips := r.Trips()
	renumbered := consecutive(trips)
	to := map[int]int{}
	for i := range r.Stops {
		to[trips[i]], r.Stops[i].Trip = renumbered[i], renumbered[i]
	}
	var reloads []Reload
	for _, rl := range r.Reloads {
		if n, ok := to[rl.Trip]; ok && n > 1 {
			rl.Trip = n
			reloads = append(reloads, rl)
		}
	}
	r.Reloads = reloads
}

// Trips are the route's stops' trips, in order.
func (r Route) Trips() []int {
	out := make([]int, len(r.Stops))
	for i, st := range r.Stops {
		out[i] = max(st.Trip, 1) // a plan kept before trips has none: one trip
	}
	return out
}

// solve asks the solver to route stops for couriers and writes the routes and what it
// left out into plan. pinned names stops a dispatcher placed on a courier by hand: they
// stay with that courier (a skill only the two share).
func (s *Service) solve(ctx context.Context, plan *Plan, o catalog.PostOffice, couriers []catalog.Courier, stops []Stop, pinned map[uuid.UUID]uuid.UUID) error {
	refs := make([]StopRef, len(stops))
	priorities := make([]int, len(stops))
	for i, st := range stops {
		refs[i], priorities[i] = st.StopRef, priority(st.Risk)
	}
	d, err := s.newDay(ctx, plan.Day, o, couriers, refs, priorities)
	if err != nil {
		return err
	}
	plan.Travel = travelOf(d.prob.Matrix)
	d.withTrips(plan.MaxTrips, plan.Reload)
	for i, st := range refs {
		if c, ok := pinned[st.TaskID]; ok {
			d.prob.Jobs[i].Skills = append(slices.Clone(d.prob.Jobs[i].Skills), pinSkill(c))
		}
	}
	for v, c := range couriers {
		d.prob.Vehicles[v].Skills = append(slices.Clone(c.Skills), pinSkill(c.ID))
	}
	started := time.Now()
	// Rounds, not the clock, end the search when they fit in the time limit, so that a
	// plan repeats on any machine; the limit still bounds a slow one.
	search, opts, done := watched(ctx, d, routing.Options{TimeLimit: plan.TimeLimit, Seed: plan.Seed, MaxIterations: max(s.cfg.RoundsPerStop, 0) * len(stops),
		VehicleCost: 1})
	defer done()
	sol, err := routing.Solve(search, d.prob, opts)
	if err != nil {
		return fmt.Errorf("dispatch: the routing problem is malformed: %w", err)
	}
	plan.SolveTime = time.Since(started).Round(time.Millisecond)
	if err := routing.Check(d.prob, sol); err != nil {
		return fmt.Errorf("dispatch: the solver's plan fails the checker: %w", err)
	}
	for _, r := range sol.Routes {
		jobs, trips := stepsOf(r)
		route := d.route(r.Vehicle, jobs, trips)
		for i := range route.Stops {
			_, route.Stops[i].Pinned = pinned[route.Stops[i].TaskID]
		}
		plan.Routes = append(plan.Routes, route)
	}
	for _, u := range sol.Unassigned {
		reason, detail := unplannedReason(u.Reason)
		if _, ok := pinned[refs[u.Index].TaskID]; ok && u.Reason != routing.ReasonSkills {
			detail += " (pinned to a courier whose day has no room for it)"
		}
		plan.Unplanned = append(plan.Unplanned, Unplanned{StopRef: refs[u.Index], Reason: reason, Detail: detail})
	}
	return nil
}

// pinSkill is the skill that ties a pinned stop to its courier.
func pinSkill(courier uuid.UUID) string { return "pin:" + courier.String() }

// maxEngineTable is the most points asked of a routing engine: 3,000 take 144 MB.
const maxEngineTable = 3000

// matrix is the configured provider's, or great-circle travel for a motorbike when there
// is none, the day is too large for it, or it fails: a plan is made all the same, and says
// which it is on (travelOf).
func (s *Service) matrix(ctx context.Context, points []orb.Point) (routing.Matrix, error) {
	straight := func(reason string) routing.Matrix {
		return measured{routing.Haversine{Points: points, RoadFactor: s.cfg.RoadFactor, Speed: s.cfg.SpeedKmh[reference] / 3.6},
			Travel{Source: TravelStraight, Fallback: reason}}
	}
	if s.cfg.Travel == nil {
		return straight(FallbackNoEngine), nil
	}
	// A routing engine's table is held whole (two float64 per pair): past a few thousand
	// points it would take gigabytes, so a city-sized day plans on straight lines.
	if len(points) > maxEngineTable {
		s.fellBack(FallbackTooManyPoints, len(points), nil)
		return straight(FallbackTooManyPoints), nil
	}
	m, err := s.cfg.Travel.Matrix(ctx, points)
	if err == nil && m.Size() != len(points) {
		err = fmt.Errorf("%w: a table of %d points for %d", ErrTravelGarbage, m.Size(), len(points))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the plan itself was given up, not the engine
		}
		reason := fallbackReason(err)
		s.fellBack(reason, len(points), err)
		return straight(reason), nil
	}
	return measured{m, Travel{Source: TravelRoads}}, nil
}

// priority weighs a stop by its deadline: when not everything fits, what is late or due
// goes first.
func priority(r Risk) int {
	switch r {
	case RiskOverdue:
		return 4
	case RiskDueToday:
		return 3
	case RiskAtRisk:
		return 2
	}
	return 1
}

// unplannedReason turns the solver's reason into a stable word and a sentence.
func unplannedReason(r string) (string, string) {
	switch r {
	case routing.ReasonSkills:
		return "no_skill", "no courier on shift has the skill the stop needs (cash collection for a fee in cash, identity checks for a delivery)"
	case routing.ReasonCapacity:
		return "too_large", "larger than any courier's vehicle"
	case routing.ReasonWindow:
		return "window_unreachable", "no courier can reach it within its slot and their shift"
	}
	return "no_room", "the couriers' day is full: no route had room for it"
}

// Plan is one plan, for a dispatcher of its post office.
func (s *Service) Plan(ctx context.Context, id uuid.UUID) (Plan, error) {
	plan, err := s.store.Plan(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	if _, _, err := s.office(ctx, plan.PostOfficeID); err != nil {
		return Plan{}, domain.Errorf(domain.CodeNotFound, "no such plan")
	}
	return plan, nil
}

// Plans are a post office's plans for a day, newest first.
func (s *Service) Plans(ctx context.Context, postOffice uuid.UUID, day time.Time) ([]Plan, error) {
	if _, _, err := s.office(ctx, postOffice); err != nil {
		return nil, err
	}
	return s.store.Plans(ctx, postOffice, catalog.CivilDate(day))
}

// Publish makes a draft plan the day: every planned stop goes to its courier (assign the
// pickup, send for the result, send out the delivery), all in one transaction with the
// plan's own change, so that devices get their routes on their next pull and no stop is
// half given. A stop that changed since the plan was made fails it all with PLAN_STALE:
// plan again.
func (s *Service) Publish(ctx context.Context, id uuid.UUID, version int) (Plan, error) {
	plan, err := s.Plan(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	if plan.State != PlanDraft {
		return Plan{}, domain.Errorf(CodePlanNotDraft, "this plan is %s; only a draft can be published", plan.State)
	}
	if err := checkDay(plan.Day, domain.DateOf(s.now())); err != nil {
		return Plan{}, domain.Errorf(domain.CodeConflict, "this plan's day is over: plan the day ahead instead")
	}
	if plan.Version != version {
		return Plan{}, domain.Errorf(domain.CodeVersionConflict, "this plan changed since you read it (version %d, you sent %d); reload it", plan.Version, version)
	}
	p := auth.PrincipalFrom(ctx)
	var assignments []Assignment
	for _, r := range plan.Routes {
		for i, st := range r.Stops {
			a, err := s.assignment(ctx, st.StopRef, r, i, st.DossierVersion)
			if err != nil {
				return Plan{}, stale(st.StopRef, err)
			}
			assignments = append(assignments, a)
		}
	}
	now := s.now()
	entry := auditEntry(p, now, "plan.publish", "plan", plan.ID, map[string]any{"post_office_id": plan.PostOfficeID.String(),
		"day": plan.Day.Format(time.DateOnly), "assigned": len(assignments)})
	published, err := s.publish(ctx, id, version, assignments, p.AccountID, now, entry)
	if err != nil {
		if code := domain.ErrorCode(err); code == domain.CodeVersionConflict || code == dossier.CodeInvalidTransition {
			return Plan{}, domain.Errorf(CodePlanStale, "a stop of this plan changed since it was made (%v); plan the day again", err)
		}
		return Plan{}, err
	}
	return published, nil
}

// publish gives the plan's stops to their couriers and marks it published, in one
// transaction.
func (s *Service) publish(ctx context.Context, id uuid.UUID, version int, assignments []Assignment, by uuid.UUID, at time.Time, entry audit.Entry) (Plan, error) {
	tx, locked, err := s.assign(ctx, id, PlanDraft, version, assignments, "published")
	if err != nil {
		return Plan{}, err
	}
	defer tx.Rollback()
	published, err := tx.PublishPlan(ctx, locked, by, at, entry)
	if err != nil {
		return Plan{}, err
	}
	return published, tx.Commit()
}

// assignEvents are the dossier events that give each kind of stop to a courier.
var assignEvents = map[dossier.TaskKind]dossier.Event{dossier.TaskPickup: dossier.EventAssignPickup,
	dossier.TaskCollection: dossier.EventAssignCollection, dossier.TaskDelivery: dossier.EventDispatchDelivery}

// assignment decides giving stop st to route r's courier as its i-th stop (from 0), with
// its expected arrival, its trip and the reload before it, on the dossier as of version.
func (s *Service) assignment(ctx context.Context, st StopRef, r Route, i int, version int) (Assignment, error) {
	arrival := r.Stops[i].Arrival
	in := dossier.EventInput{Event: assignEvents[st.Kind], Version: version, CourierID: r.CourierID, RouteSeq: i + 1,
		PlannedArrival: &arrival, RouteTrip: r.Trips()[i]}
	if rl := r.reloadBefore(i); rl != nil {
		in.ReloadArrival, in.ReloadDeparture = &rl.Arrival, &rl.Departure
	}
	decide, err := s.dossiers.Prepare(ctx, st.DossierID, in)
	if err != nil {
		return Assignment{}, err
	}
	return Assignment{DossierID: st.DossierID, TaskID: st.TaskID, Decide: decide}, nil
}

// reloadBefore is the reload that starts the trip of route r's i-th stop when that stop is
// the trip's first: nil otherwise.
func (r Route) reloadBefore(i int) *Reload {
	trips := r.Trips()
	if i > 0 && trips[i] == trips[i-1] {
		return nil
	}
	for k := range r.Reloads {
		if r.Reloads[k].Trip == trips[i] {
			return &r.Reloads[k]
		}
	}
	return nil
}

// stale explains why a planned stop can no longer be given as planned.
func stale(st StopRef, err error) error {
	switch domain.ErrorCode(err) {
	case domain.CodeVersionConflict, dossier.CodeInvalidTransition, domain.CodeValidationFailed:
		return domain.Errorf(CodePlanStale, "the %s stop of dossier %s changed since the plan was made: plan the day again", st.Kind, st.DossierID)
	}
	return err
}
