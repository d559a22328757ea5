package dispatch

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// Position is a courier's latest GPS point.
type Position struct {
	Location   orb.Point
	At         time.Time
	AccuracyM  float64
	BatteryPct *int
}

// LiveStop is a stop still to do, with when the courier will now get there.
type LiveStop struct {
	PlannedStop
	State         dossier.TaskState
	Predicted     time.Time     // arrival, from where the courier is now
	PredictedLate time.Duration // service would begin this long after the slot's end
}

// LiveRoute is one courier's progress through a published plan.
type LiveRoute struct {
	CourierID       uuid.UUID
	Position        *Position // nil: no GPS point yet
	Done, Failed    int
	Remaining       []LiveStop
	BehindPlan      time.Duration // the next stop's predicted arrival past its planned one
	PredictedReturn time.Time
}

// Live is a day as it runs: the published plan's routes with positions and progress.
type Live struct {
	PlanID uuid.UUID
	Day    time.Time
	AsOf   time.Time
	Routes []LiveRoute
}

// Positions are the latest GPS points of a post office's active couriers, whether or not
// a plan is published: the map shows the couriers while the dispatcher plans. A courier
// who never sent one is absent.
func (s *Service) Positions(ctx context.Context, postOffice uuid.UUID) (map[uuid.UUID]Position, error) {
	if _, _, err := s.office(ctx, postOffice); err != nil {
		return nil, err
	}
	couriers, err := s.couriers(ctx, postOffice)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(couriers))
	for i, c := range couriers {
		ids[i] = c.ID
	}
	return s.store.Positions(ctx, ids)
}

// Live follows a post office's published plan for a day: each courier's latest position
// and battery, stops done and failed, and the stops left with their arrival predicted from
// the courier's position now (or from the post office, before the first GPS point).
func (s *Service) Live(ctx context.Context, postOffice uuid.UUID, day time.Time) (Live, error) {
	o, _, err := s.office(ctx, postOffice)
	if err != nil {
		return Live{}, err
	}
	plan, err := s.published(ctx, postOffice, day)
	if err != nil {
		return Live{}, err
	}
	positions, states, err := s.progress(ctx, plan)
	if err != nil {
		return Live{}, err
	}
	all, err := s.couriers(ctx, postOffice)
	if err != nil {
		return Live{}, err
	}
	now := s.now()
	live := Live{PlanID: plan.ID, Day: plan.Day, AsOf: now}
	for _, r := range plan.Routes {
		lr := LiveRoute{CourierID: r.CourierID}
		if pos, ok := positions[r.CourierID]; ok {
			lr.Position = &pos
		}
		var left []StopRef
		var planned []PlannedStop
		latest := latestVisits(r)
		for k, st := range r.Stops {
			if !latest[k] {
				lr.Failed++ // an earlier visit, failed: the stop was inserted again
				continue
			}
			switch states[st.TaskID] {
			case dossier.TaskDone:
				lr.Done++
			case dossier.TaskFailed:
				lr.Failed++
			case dossier.TaskCancelled:
			default:
				left = append(left, st.StopRef)
				planned = append(planned, st)
			}
		}
		c := slices.IndexFunc(all, func(c catalog.Courier) bool { return c.ID == r.CourierID })
		if len(left) > 0 && c >= 0 {
			from, start := goesOnFrom(o, r, positions, plan.Day, now)
			if err := s.predict(ctx, &lr, plan, o, all[c], left, planned, states, from, start); err != nil {
				return Live{}, err
			}
		}
		live.Routes = append(live.Routes, lr)
	}
	return live, nil
}

// published is a post office's published plan for a day.
func (s *Service) published(ctx context.Context, postOffice uuid.UUID, day time.Time) (Plan, error) {
	return s.store.PublishedPlan(ctx, postOffice, catalog.CivilDate(day))
}

// progress reads where a plan's couriers are and how its stops stand.
func (s *Service) progress(ctx context.Context, plan Plan) (map[uuid.UUID]Position, map[uuid.UUID]dossier.TaskState, error) {
	var couriers, tasks []uuid.UUID
	for _, r := range plan.Routes {
		couriers = append(couriers, r.CourierID)
		for _, st := range r.Stops {
			tasks = append(tasks, st.TaskID)
		}
	}
	positions, err := s.store.Positions(ctx, couriers)
	if err != nil {
		return nil, nil, err
	}
	states, err := s.store.TaskStates(ctx, tasks)
	return positions, states, err
}

// predict times the stops left from where and when the courier goes on (goesOnFrom).
func (s *Service) predict(ctx context.Context, lr *LiveRoute, plan Plan, o catalog.PostOffice, c catalog.Courier, left []StopRef,
	planned []PlannedStop, states map[uuid.UUID]dossier.TaskState, from StopRef, start time.Time) error {
	route, err := s.timeFrom(ctx, plan, o, c, from, start, left, Route{Stops: planned}.Trips())
	if err != nil {
		return err
	}
	for i, st := range route.Stops {
		lr.Remaining = append(lr.Remaining, LiveStop{PlannedStop: planned[i], State: states[st.TaskID], Predicted: st.Arrival, PredictedLate: st.LateBy})
	}
	lr.BehindPlan = max(route.Stops[0].Arrival.Sub(planned[0].Arrival), 0)
	lr.PredictedReturn = route.Return
	return nil
}

// timeFrom times courier c through seq, in trips, starting at from, at start, and back to
// the post office: what is left of a running route of plan.
func (s *Service) timeFrom(ctx context.Context, plan Plan, o catalog.PostOffice, c catalog.Courier, from StopRef, start time.Time, seq []StopRef, trips []int) (Route, error) {
	d, err := s.dayFrom(ctx, plan, o, c, from, start, seq)
	if err != nil {
		return Route{}, err
	}
	return d.route(0, upTo(len(seq)), trips), nil
}

// dayFrom is the day of courier c alone, starting at from at start, with refs as jobs 1…n
// (the starting point rides along as job 0, never visited: the vehicle starts there). One
// matrix serves every order of the same stops.
func (s *Service) dayFrom(ctx context.Context, plan Plan, o catalog.PostOffice, c catalog.Courier, from StopRef, start time.Time, refs []StopRef) (*day, error) {
	d, err := s.newDay(ctx, plan.Day, o, []catalog.Courier{c}, append([]StopRef{from}, refs...), nil)
	if err != nil {
		return nil, err
	}
	d.withTrips(plan.MaxTrips, plan.Reload)
	d.prob.Vehicles[0].Start = 1
	d.prob.Vehicles[0].Shift.Start = start.Sub(d.midnight).Seconds()
	return d, nil
}

// upTo is the jobs 1…n in order.
func upTo(n int) []int {
	jobs := make([]int, n)
	for i := range jobs {
		jobs[i] = i + 1
	}
	return jobs
}
