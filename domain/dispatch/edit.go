package dispatch

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/routing"
)

// RouteEdit is a dispatcher's hand on one courier's route in a draft plan: the stops in
// the order wanted (taken from other routes or the unplanned list as needed; stops of the
// route not named go back to the unplanned list), and whether a re-plan must keep the
// route as it is. Trips, when given, is each stop's trip (from 1, each the same as the
// previous stop's or the next, at most the plan's MaxTrips); without it the order is cut
// into trips where the bag would overflow.
type RouteEdit struct {
	CourierID uuid.UUID
	TaskIDs   []uuid.UUID
	Trips     []int
	Locked    bool
}

// draft loads a plan a dispatcher may change: theirs, a draft, of the version they read.
func (s *Service) draft(ctx context.Context, id uuid.UUID, version int) (Plan, catalog.PostOffice, error) {
	plan, err := s.Plan(ctx, id)
	if err != nil {
		return Plan{}, catalog.PostOffice{}, err
	}
	if plan.State != PlanDraft {
		return Plan{}, catalog.PostOffice{}, domain.Errorf(CodePlanNotDraft, "this plan is %s; only a draft can be changed", plan.State)
	}
	if plan.Version != version {
		return Plan{}, catalog.PostOffice{}, domain.Errorf(domain.CodeVersionConflict, "this plan changed since you read it (version %d, you sent %d); reload it", plan.Version, version)
	}
	o, _, err := s.office(ctx, plan.PostOfficeID)
	if err != nil {
		return Plan{}, catalog.PostOffice{}, err
	}
	if err := checkDay(plan.Day, domain.DateOf(s.now())); err != nil {
		return Plan{}, catalog.PostOffice{}, domain.Errorf(domain.CodeConflict, "this plan's day is over: plan the day ahead instead")
	}
	return plan, o, nil
}

// EditRoute sets one courier's route by hand. Nothing is refused for being late or too
// heavy: the route is timed as given, and each stop's lateness, the overload and the time
// past the shift's end are in the answer for the dispatcher to judge. Every stop of the
// edited route is pinned to its courier, so that a re-plan leaves it there.
func (s *Service) EditRoute(ctx context.Context, id uuid.UUID, version int, edit RouteEdit) (Plan, error) {
	plan, o, err := s.draft(ctx, id, version)
	if err != nil {
		return Plan{}, err
	}
	couriers, err := s.couriers(ctx, plan.PostOfficeID)
	if err != nil {
		return Plan{}, err
	}
	v := slices.IndexFunc(couriers, func(c catalog.Courier) bool { return c.ID == edit.CourierID })
	if v < 0 {
		return Plan{}, domain.Invalid("courier_id", "names no active courier of this plan's post office")
	}
	// Every stop of the plan, by task: where it is now.
	refs := plan.refs()
	index := map[uuid.UUID]int{}
	for i, r := range refs {
		index[r.TaskID] = i
	}
	var probs domain.Problems
	wanted := map[uuid.UUID]bool{}
	jobs := make([]int, 0, len(edit.TaskIDs))
	for i, t := range edit.TaskIDs {
		j, ok := index[t]
		probs.Check(ok, fmt.Sprintf("task_ids[%d]", i), "is not a stop of this plan")
		probs.Check(!wanted[t], fmt.Sprintf("task_ids[%d]", i), "is named twice")
		wanted[t] = true
		jobs = append(jobs, j)
	}
	if edit.Trips != nil {
		probs.Check(len(edit.Trips) == len(edit.TaskIDs), "trips", "must give one trip per task id")
		for i, trip := range edit.Trips {
			prev := 0
			if i > 0 {
				prev = edit.Trips[i-1]
			}
			probs.Check(trip == prev || trip == prev+1, fmt.Sprintf("trips[%d]", i), "must be the previous stop's trip or the next (the first: 1)")
			probs.Check(trip <= plan.MaxTrips, fmt.Sprintf("trips[%d]", i), fmt.Sprintf("must be at most the plan's max_trips, %d", plan.MaxTrips))
		}
	}
	for i, j := range jobs {
		probs.Check(hasSkills(couriers[v].Skills, refs[j].Skills), fmt.Sprintf("task_ids[%d]", i),
			fmt.Sprintf("needs %v, which this courier may not do", refs[j].Skills))
	}
	if err := probs.Err(); err != nil {
		return Plan{}, err
	}
	d, err := s.newDay(ctx, plan.Day, o, couriers, refs, nil)
	if err != nil {
		return Plan{}, err
	}
	plan.Travel = plan.Travel.retimed(d.prob.Matrix)
	d.withTrips(plan.MaxTrips, plan.Reload)
	trips := edit.Trips
	if trips == nil {
		trips = d.split(v, jobs, plan.MaxTrips)
	}
	edited := d.route(v, jobs, trips)
	edited.Locked = edit.Locked
	for i := range edited.Stops {
		edited.Stops[i].Pinned = true
	}
	// The other routes lose the stops taken; they are timed again without them.
	var routes []Route
	for _, r := range plan.Routes {
		if r.CourierID == edit.CourierID {
			for _, st := range r.Stops {
				if !wanted[st.TaskID] {
					plan.Unplanned = append(plan.Unplanned, Unplanned{StopRef: st.StopRef, Reason: "removed", Detail: "taken off the route by hand"})
				}
			}
			continue
		}
		var keep, keepTrips []int
		pins := map[uuid.UUID]bool{}
		own := r.Trips()
		for k, st := range r.Stops {
			if !wanted[st.TaskID] {
				keep, keepTrips = append(keep, index[st.TaskID]), append(keepTrips, own[k])
				pins[st.TaskID] = st.Pinned
			}
		}
		if len(keep) == len(r.Stops) {
			routes = append(routes, r)
			continue
		}
		ci := slices.IndexFunc(couriers, func(c catalog.Courier) bool { return c.ID == r.CourierID })
		if ci < 0 {
			// The courier is no longer active: their route loses the stops taken and keeps
			// its times; a re-plan gives the rest to others.
			r.Stops = slices.DeleteFunc(slices.Clone(r.Stops), func(st PlannedStop) bool { return wanted[st.TaskID] })
			r.compact()
			if len(r.Stops) > 0 {
				routes = append(routes, r)
			}
			continue
		}
		if len(keep) > 0 {
			other := d.route(ci, keep, consecutive(keepTrips))
			other.Locked = r.Locked
			for i := range other.Stops {
				other.Stops[i].Pinned = pins[other.Stops[i].TaskID]
			}
			routes = append(routes, other)
		}
	}
	if len(edited.Stops) > 0 {
		routes = append(routes, edited)
	}
	plan.Routes = routes
	plan.Unplanned = slices.DeleteFunc(plan.Unplanned, func(u Unplanned) bool { return wanted[u.TaskID] })
	plan.totals()
	p := auth.PrincipalFrom(ctx)
	entry := auditEntry(p, s.now(), "plan.edit_route", "plan", plan.ID, map[string]any{"courier_id": edit.CourierID.String(),
		"stops": len(jobs), "locked": edit.Locked, "late_stops": edited.lateStops(), "overload": edited.Overload})
	plan.Version = version + 1
	if err := s.updatePlan(ctx, plan, version, nil, entry); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// Replan asks for a new draft from a plan, made as PlanDay's: its locked routes as they are, its pinned stops
// with their couriers, and everything else of the day's current demand (new stops
// included, stops done or cancelled since gone) given to the solver afresh. Of req only
// the time limit, seed and trips count; trips not given are the previous plan's.
func (s *Service) Replan(ctx context.Context, id uuid.UUID, version int, req PlanRequest) (Plan, error) {
	previous, _, err := s.draft(ctx, id, version)
	if err != nil {
		return Plan{}, err
	}
	req.PostOfficeID, req.Day = previous.PostOfficeID, previous.Day
	return s.accept(ctx, req, &previous)
}

// split cuts courier v's stops jobs, in their order, into trips: a trip ends before the
// stop that would overflow the bag while trips remain; the last takes the rest, overloaded
// if it must be (the dispatcher sees it).
func (d *day) split(v int, jobs []int, maxTrips int) []int {
	capacity := d.prob.Vehicles[v].Capacity[0]
	trips := make([]int, len(jobs))
	trip, first := 1, 0
	for i := range jobs {
		if trip < maxTrips && i > first && d.peak(jobs[first:i+1]) > capacity {
			trip, first = trip+1, i
		}
		trips[i] = trip
	}
	return trips
}

// peak is the most a trip through jobs carries: its deliveries at the start, then each
// stop's pickup in and delivery out.
func (d *day) peak(jobs []int) int64 {
	first := func(a routing.Amount) int64 {
		if len(a) == 0 {
			return 0
		}
		return a[0]
	}
	var load int64
	for _, j := range jobs {
		load += first(d.prob.Jobs[j].Delivery)
	}
	most := load
	for _, j := range jobs {
		load += first(d.prob.Jobs[j].Pickup) - first(d.prob.Jobs[j].Delivery)
		most = max(most, load)
	}
	return most
}

// consecutive renumbers trips left with gaps (a trip's stops all taken away) 1, 2, … in
// order.
func consecutive(trips []int) []int {
	out := make([]int, len(trips))
	n := 0
	for i, t := range trips {
		if i == 0 || t != trips[i-1] {
			n++
		}
		out[i] = n
	}
	return out
}

// refs are every stop of the plan, routed or not.
func (p Plan) refs() []StopRef {
	var out []StopRef
	for _, r := range p.Routes {
		for _, st := range r.Stops {
			out = append(out, st.StopRef)
		}
	}
	for _, u := range p.Unplanned {
		out = append(out, u.StopRef)
	}
	return out
}

// totals adds up the plan's routes.
func (p *Plan) totals() {
	p.DistanceM, p.Duration = 0, 0
	for _, r := range p.Routes {
		p.DistanceM += r.DistanceM
		p.Duration += r.Duration
	}
}

func (r Route) lateStops() int {
	n := 0
	for _, st := range r.Stops {
		if st.LateBy > 0 {
			n++
		}
	}
	return n
}
