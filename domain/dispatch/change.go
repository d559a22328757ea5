package dispatch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// running is a published plan as it stands now: per route, the stops done (kept as they
// were) and the stops still to do, from where and when the courier goes on.
type running struct {
	plan     Plan
	office   catalog.PostOffice
	couriers []catalog.Courier
	states   map[uuid.UUID]dossier.TaskState
	routes   []runningRoute
}

type runningRoute struct {
	courier  int // in couriers; -1: no longer active
	finished []PlannedStop
	left     []StopRef
	trips    []int     // of the stops left
	from     StopRef   // where the courier goes on from (a position, or the post office)
	at       time.Time // and when
	carried  int       // dossiers and results picked up already, in the bag
}

// runningPlan loads the day's published plan for a change.
func (s *Service) runningPlan(ctx context.Context, id uuid.UUID, version int) (*running, error) {
	plan, err := s.Plan(ctx, id)
	if err != nil {
		return nil, err
	}
	if plan.State != PlanPublished {
		return nil, domain.Errorf(domain.CodeConflict, "this plan is %s: only the published plan of a day runs", plan.State)
	}
	if plan.Version != version {
		return nil, domain.Errorf(domain.CodeVersionConflict, "this plan changed since you read it (version %d, you sent %d); reload it", plan.Version, version)
	}
	o, _, err := s.office(ctx, plan.PostOfficeID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if plan.Day.Before(domain.DateOf(now)) {
		return nil, domain.Errorf(domain.CodeConflict, "this plan's day is over")
	}
	couriers, err := s.couriers(ctx, plan.PostOfficeID)
	if err != nil {
		return nil, err
	}
	positions, states, err := s.progress(ctx, plan)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, r := range plan.Routes {
		ids = append(ids, r.CourierID)
	}
	run := &running{plan: plan, office: o, couriers: couriers, states: states}
	for _, r := range plan.Routes {
		rr := runningRoute{courier: slices.IndexFunc(couriers, func(c catalog.Courier) bool { return c.ID == r.CourierID })}
		if r.Released {
			rr.courier = -1
		}
		rr.from, rr.at = goesOnFrom(o, r, positions, plan.Day, now)
		latest, trips := latestVisits(r), r.Trips()
		for k, st := range r.Stops {
			state := states[st.TaskID]
			switch {
			case !latest[k] || state == dossier.TaskDone || state == dossier.TaskFailed || state == dossier.TaskCancelled:
				rr.finished = append(rr.finished, st)
				if latest[k] && state == dossier.TaskDone && st.Kind != dossier.TaskDelivery {
					rr.carried++
				}
			default:
				rr.left, rr.trips = append(rr.left, st.StopRef), append(rr.trips, trips[k])
			}
		}
		run.routes = append(run.routes, rr)
	}
	// Couriers on shift without a route can take stops too, from the post office.
	midnight := domain.Midnight(plan.Day)
	for ci, c := range couriers {
		if slices.Contains(ids, c.ID) {
			continue
		}
		start := midnight.Add(time.Duration(c.ShiftStartMin) * time.Minute)
		if start.Before(now) {
			start = now
		}
		run.plan.Routes = append(run.plan.Routes, Route{CourierID: c.ID})
		run.routes = append(run.routes, runningRoute{courier: ci, from: StopRef{Location: o.Location}, at: start})
	}
	return run, nil
}

// goesOnFrom is where and when a courier continues their route: from their latest GPS
// point when it was taken on the plan's day, otherwise from the post office; not before
// now, nor before the route's planned departure.
func goesOnFrom(o catalog.PostOffice, r Route, positions map[uuid.UUID]Position, day, now time.Time) (StopRef, time.Time) {
	from, at := StopRef{Location: o.Location}, now
	if r.Depart.After(at) {
		at = r.Depart
	}
	if pos, ok := positions[r.CourierID]; ok && domain.DateOf(pos.At).Equal(day) {
		from = StopRef{Location: pos.Location}
	}
	return from, at
}

// latestVisits marks, for each stop of a route, whether it is its task's latest visit: a
// stop that failed and was inserted again is visited twice, and only the second counts.
func latestVisits(r Route) []bool {
	out := make([]bool, len(r.Stops))
	seen := map[uuid.UUID]bool{}
	for k := len(r.Stops) - 1; k >= 0; k-- {
		out[k] = !seen[r.Stops[k].TaskID]
		seen[r.Stops[k].TaskID] = true
	}
	return out
}

// placement is where a stop goes: route, position among the stops left, added distance.
type placement struct {
	route, at int
	added     float64
}

// cheapest finds the feasible place for st that adds the least distance to the routes
// still running (skipping route skip), timing each candidate from where its courier is
// now: no stop late, no overload, back before the shift ends.
func (s *Service) cheapest(ctx context.Context, run *running, st StopRef, skip int) (placement, bool, error) {
	best, found := placement{added: math.Inf(1)}, false
	for ri, rr := range run.routes {
		if ri == skip || rr.courier < 0 || !hasSkills(run.couriers[rr.courier].Skills, st.Skills) {
			continue
		}
		// One day holds the stops left and the new one (job n+1): every candidate order is
		// timed on it, so the travel between them is asked once per route, not per position.
		c := run.couriers[rr.courier]
		c.CapacityItems -= rr.carried
		d, err := s.dayFrom(ctx, run.plan, run.office, c, rr.from, rr.at, append(slices.Clone(rr.left), st))
		if err != nil {
			return placement{}, false, err
		}
		n := len(rr.left)
		base := d.route(0, upTo(n), rr.trips)
		for at := 0; at <= n; at++ {
			r := d.route(0, slices.Insert(upTo(n), at, n+1), tripAt(rr.trips, at))
			if r.Overload > 0 || r.OverShift > 0 || r.lateStops() > 0 {
				continue
			}
			if added := r.DistanceM - base.DistanceM; added < best.added {
				best, found = placement{route: ri, at: at, added: added}, true
			}
		}
	}
	return best, found, nil
}

// timeLeft times the stops seq of a running route from where and when its courier goes
// on, with what they already carry.
func (s *Service) timeLeft(ctx context.Context, run *running, rr runningRoute, seq []StopRef) (Route, error) {
	c := run.couriers[rr.courier]
	c.CapacityItems -= rr.carried
	return s.timeFrom(ctx, run.plan, run.office, c, rr.from, rr.at, seq, rr.trips)
}

// tripAt is trips with a stop inserted at position at, in the trip of the stop before it
// (the first: of the stop after it).
func tripAt(trips []int, at int) []int {
	trip := 1
	if at > 0 {
		trip = trips[at-1]
	} else if len(trips) > 0 {
		trip = trips[0]
	}
	return slices.Insert(slices.Clone(trips), at, trip)
}

// rebuild writes a running route back into the plan: the stops finished as they were,
// the stops left as timed now.
func (s *Service) rebuild(ctx context.Context, run *running, ri int) error {
	rr := run.routes[ri]
	r := &run.plan.Routes[ri]
	if rr.courier < 0 {
		return nil // no longer active: the route stays as it was drawn
	}
	if len(rr.left) == 0 {
		r.Stops = rr.finished
		r.compact()
		return nil
	}
	timed, err := s.timeLeft(ctx, run, rr, rr.left)
	if err != nil {
		return err
	}
	pinned := map[uuid.UUID]bool{}
	for _, st := range r.Stops {
		pinned[st.TaskID] = st.Pinned
	}
	r.Stops = append(slices.Clone(rr.finished), timed.Stops...)
	// The reloads before the first trip left stand; those after it are timed again.
	r.Reloads = append(slices.DeleteFunc(slices.Clone(r.Reloads), func(rl Reload) bool { return rl.Trip > rr.trips[0] }), timed.Reloads...)
	for i := len(rr.finished); i < len(r.Stops); i++ {
		r.Stops[i].Pinned = pinned[r.Stops[i].TaskID]
	}
	r.Return, r.Overload, r.OverShift = timed.Return, timed.Overload, timed.OverShift
	if len(rr.finished) == 0 {
		r.Depart = rr.at
	}
	return nil
}

// Insert puts a stop that came after the plan was published (an urgent pickup, a result
// just ready) into the running day at its cheapest feasible place among the stops still to
// do, and gives it to that courier, in one transaction with the plan's change; their
// device gets it on the next pull. A stop that fits nowhere is refused with no_room.
func (s *Service) Insert(ctx context.Context, id uuid.UUID, version int, task uuid.UUID) (Plan, error) {
	run, err := s.runningPlan(ctx, id, version)
	if err != nil {
		return Plan{}, err
	}
	demand, err := s.Demand(ctx, run.plan.PostOfficeID, run.plan.Day)
	if err != nil {
		return Plan{}, err
	}
	stops := demand.All()
	i := slices.IndexFunc(stops, func(st Stop) bool { return st.TaskID == task })
	if i < 0 {
		return Plan{}, domain.Invalid("task_id", "is not an open stop of this post office that a plan may take")
	}
	for _, r := range run.plan.Routes {
		if slices.ContainsFunc(r.Stops, func(st PlannedStop) bool { return st.TaskID == task && run.states[task] != dossier.TaskFailed }) {
			return Plan{}, domain.Invalid("task_id", "is already in this plan")
		}
	}
	st := stops[i]
	where, ok, err := s.cheapest(ctx, run, st.StopRef, -1)
	if err != nil {
		return Plan{}, err
	}
	if !ok {
		return Plan{}, domain.Errorf(domain.CodeConflict, "no courier's day has room for this stop within its slot, their capacity and shift; plan it by hand or for another day")
	}
	rr := &run.routes[where.route]
	rr.left, rr.trips = slices.Insert(rr.left, where.at, st.StopRef), tripAt(rr.trips, where.at)
	if err := s.rebuild(ctx, run, where.route); err != nil {
		return Plan{}, err
	}
	courier := run.couriers[rr.courier].ID
	a, err := s.placed(ctx, run, where.route, st.StopRef, st.DossierVersion)
	if err != nil {
		return Plan{}, err
	}
	run.plan.Unplanned = slices.DeleteFunc(run.plan.Unplanned, func(u Unplanned) bool { return u.TaskID == task })
	return s.amend(ctx, run, version, []Assignment{a}, "plan.insert", map[string]any{"task_id": task.String(),
		"courier_id": courier.String(), "added_m": math.Round(where.added)})
}

// Release takes a courier out of the running day (fallen ill, vehicle broken down): their
// pickups and collections still to do go, one by one, to the cheapest feasible place in the
// other couriers' routes and are reassigned, so that they leave the released courier's
// device and reach the new courier's; results out for delivery are in the released
// courier's bag and stay listed as such (in_bag) until brought back. Stops that fit nowhere
// go to the unplanned list. One transaction.
func (s *Service) Release(ctx context.Context, id uuid.UUID, version int, courier uuid.UUID) (Plan, error) {
	run, err := s.runningPlan(ctx, id, version)
	if err != nil {
		return Plan{}, err
	}
	gone := slices.IndexFunc(run.plan.Routes, func(r Route) bool { return r.CourierID == courier })
	if gone < 0 {
		return Plan{}, domain.Invalid("courier_id", "has no route in this plan")
	}
	if run.plan.Routes[gone].Released {
		return Plan{}, domain.Errorf(domain.CodeConflict, "this courier was already released from the day")
	}
	// A stop the courier is on the way to stays theirs until they report it done or
	// failed; a result in their bag cannot change hands on paper.
	var moving, kept []StopRef
	var keptTrips []int
	for k, st := range run.routes[gone].left {
		if run.states[st.TaskID] == dossier.TaskInProgress {
			kept, keptTrips = append(kept, st), append(keptTrips, run.routes[gone].trips[k])
		} else {
			moving = append(moving, st)
		}
	}
	run.routes[gone].left, run.routes[gone].trips = kept, keptTrips
	if run.routes[gone].courier >= 0 {
		if err := s.rebuild(ctx, run, gone); err != nil {
			return Plan{}, err
		}
	} else {
		run.plan.Routes[gone].Stops = slices.DeleteFunc(run.plan.Routes[gone].Stops, func(p PlannedStop) bool {
			return slices.ContainsFunc(moving, func(m StopRef) bool { return m.TaskID == p.TaskID })
		})
		run.plan.Routes[gone].compact()
	}
	run.routes[gone].courier = -1 // takes nothing more
	run.plan.Routes[gone].Released = true
	type movedStop struct {
		stop  StopRef
		route int
	}
	var taken []movedStop
	var assignments []Assignment
	for _, st := range moving {
		if st.Kind == dossier.TaskDelivery {
			run.plan.Unplanned = append(run.plan.Unplanned, Unplanned{StopRef: st, Reason: "in_bag",
				Detail: "the result is in the released courier's bag: have it brought back to the post office, then plan it again"})
			continue
		}
		where, ok, err := s.cheapest(ctx, run, st, gone)
		if err != nil {
			return Plan{}, err
		}
		if !ok {
			run.plan.Unplanned = append(run.plan.Unplanned, Unplanned{StopRef: st, Reason: "no_room",
				Detail: "no other courier's day has room for it; it is still assigned to the released courier: assign it by hand or plan it for another day"})
			continue
		}
		rr := &run.routes[where.route]
		rr.left, rr.trips = slices.Insert(rr.left, where.at, st), tripAt(rr.trips, where.at)
		taken = append(taken, movedStop{st, where.route})
	}
	for ri := range run.routes {
		if ri != gone {
			if err := s.rebuild(ctx, run, ri); err != nil {
				return Plan{}, err
			}
		}
	}
	for _, m := range taken {
		d, _, err := s.dossiers.Get(ctx, m.stop.DossierID)
		if err != nil {
			return Plan{}, err
		}
		a, err := s.placed(ctx, run, m.route, m.stop, d.Version)
		if err != nil {
			return Plan{}, err
		}
		assignments = append(assignments, a)
	}
	return s.amend(ctx, run, version, assignments, "plan.release", map[string]any{"courier_id": courier.String(),
		"reassigned": len(taken), "left_out": len(moving) - len(taken)})
}

// placed decides giving stop st to the courier of running route ri, at its place and time
// there, on the dossier as of version.
func (s *Service) placed(ctx context.Context, run *running, ri int, st StopRef, version int) (Assignment, error) {
	r := run.plan.Routes[ri]
	// The latest visit: a stop that failed earlier in the day may come again.
	i := len(r.Stops) - 1
	for i >= 0 && r.Stops[i].TaskID != st.TaskID {
		i--
	}
	if i < 0 {
		return Assignment{}, fmt.Errorf("dispatch: stop %s is not on the route it was placed on", st.TaskID)
	}
	return s.assignment(ctx, st, r, i, version)
}

// amend keeps a running plan's change with its assignments, in one transaction. Each
// route's line, distance and duration are those of its whole day, done stops included.
func (s *Service) amend(ctx context.Context, run *running, version int, assignments []Assignment, action string, detail map[string]any) (Plan, error) {
	plan := run.plan
	plan.Routes = slices.DeleteFunc(plan.Routes, func(r Route) bool { return len(r.Stops) == 0 && !r.Released })
	for i := range plan.Routes {
		r := &plan.Routes[i]
		c := slices.IndexFunc(run.couriers, func(c catalog.Courier) bool { return c.ID == r.CourierID })
		if c < 0 {
			continue // no longer active: the route stays as it was drawn
		}
		refs := make([]StopRef, len(r.Stops))
		jobs := make([]int, len(r.Stops))
		for k, st := range r.Stops {
			refs[k], jobs[k] = st.StopRef, k
		}
		d, err := s.newDay(ctx, plan.Day, run.office, run.couriers[c:c+1], refs, nil)
		if err != nil {
			return Plan{}, err
		}
		plan.Travel = plan.Travel.retimed(d.prob.Matrix)
		whole := d.withTrips(plan.MaxTrips, plan.Reload).route(0, jobs, r.Trips())
		r.Line, r.DistanceM, r.Duration = whole.Line, whole.DistanceM, whole.Duration
	}
	plan.totals()
	plan.Version = version + 1
	entry := auditEntry(auth.PrincipalFrom(ctx), s.now(), action, "plan", plan.ID, detail)
	if err := s.updatePlan(ctx, plan, version, assignments, entry); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// hasSkills reports whether have covers need.
func hasSkills(have, need []string) bool {
	for _, n := range need {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}
