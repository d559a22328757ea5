package dispatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
)

// RouteEdit is a dispatcher's hand on one courier's route in a draft plan: the stops in
// the order wanted (taken from other routes or the unplanned list as needed; stops of the
// route not named go back to the unplanned list), and whether a re-plan must keep the
// route as it is.
type RouteEdit struct {
	CourierID uuid.UUID
	TaskIDs   []uuid.UUID
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
	edited := d.route(v, jobs)
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
		var keep []int
		pins := map[uuid.UUID]bool{}
		for _, st := range r.Stops {
			if !wanted[st.TaskID] {
				keep = append(keep, index[st.TaskID])
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
			if len(r.Stops) > 0 {
				routes = append(routes, r)
			}
			continue
		}
		if len(keep) > 0 {
			other := d.route(ci, keep)
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

// Replan asks for a new draft from a plan, made as PlanDay's: its locked routes as they
// are, its pinned stops with their couriers, and everything else of the day's current
// demand (new stops included, stops done or cancelled since gone) given to the solver
// afresh.
func (s *Service) Replan(ctx context.Context, id uuid.UUID, version int, timeLimit time.Duration, seed uint64) (Plan, error) {
	previous, _, err := s.draft(ctx, id, version)
	if err != nil {
		return Plan{}, err
	}
	return s.accept(ctx, PlanRequest{PostOfficeID: previous.PostOfficeID, Day: previous.Day, TimeLimit: timeLimit, Seed: seed}, previous.ID)
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
