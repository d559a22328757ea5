package dispatch

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/routing"
)

// PlanJob is the job that makes a plan asked for: the plan, the draft it re-plans (zero
// for a day's first), and who asked, as whom the job acts and is audited.
type PlanJob struct {
	PlanID   uuid.UUID
	Previous uuid.UUID
	ActorID  uuid.UUID
	Role     auth.Role
	Source   string
}

// PlanProgress is a plan's search as it runs, as the console draws it.
type PlanProgress struct {
	// Phase is PhaseGather (stops and travel), routing's construct then improve, and at
	// last PhaseDone or PhaseStopped.
	Phase      string
	Elapsed    time.Duration // of the search
	Limit      time.Duration // the search's time limit
	Iterations int           // rounds of the search when its best was found
	DistanceM  float64       // of the best routes so far
	Planned    int
	Unplanned  int // stops still out of the best routes so far
	Routes     []ProgressRoute
	// Points are the post office, then the stops the search routes: a route's stops are
	// indexes into them. Kept with the plan, not sent with each event; a progress told
	// without them keeps those told before.
	Points []orb.Point
}

// ProgressRoute is a courier's route in the best plan so far: indexes of PlanProgress.Points.
type ProgressRoute struct {
	CourierID uuid.UUID
	Stops     []int
}

// Phases of a plan's progress besides routing's.
const (
	PhaseGather  = "gather"
	PhaseDone    = "done"
	PhaseStopped = "stopped"
)

// progressEvery is how often a plan's job tells its progress and reads whether it was
// asked to stop: a twentieth of its time limit, so that a short plan's bar moves too,
// between a tenth of a second and a second.
func progressEvery(limit time.Duration) time.Duration {
	return min(max(limit/20, 100*time.Millisecond), time.Second)
}

// MakePlan is the job of a plan asked for (PlanDay, Replan): it gathers the stops, solves,
// and keeps the draft with the audit entry in one transaction, telling its progress as it
// goes; a plan that cannot be made is marked failed with why. A plan no longer planning
// (a job run again after its process died past the save) is left as it is.
func (s *Service) MakePlan(ctx context.Context, job PlanJob) error {
	asked, err := s.store.Plan(ctx, job.PlanID)
	if err != nil || asked.State != PlanPlanning {
		return err
	}
	actor := auth.Principal{AccountID: job.ActorID, Role: job.Role, Source: job.Source}
	if job.Role == auth.RoleDispatcher {
		// The job acts for the office the dispatcher asked for, and only it.
		actor.PostOfficeIDs = []uuid.UUID{asked.PostOfficeID}
	}
	ctx = auth.WithPrincipal(ctx, actor)
	err = s.make(ctx, asked, job.Previous)
	if err == nil || ctx.Err() != nil {
		return err // a process stopping: River runs the job again
	}
	reason := "the plan could not be made (internal error)"
	if e, ok := domain.AsError(err); ok {
		reason = e.Message
	}
	if ferr := s.store.FailPlan(ctx, asked.ID, reason); ferr != nil {
		return errors.Join(err, ferr)
	}
	return nil
}

func (s *Service) make(ctx context.Context, asked Plan, previous uuid.UUID) error {
	o, _, err := s.office(ctx, asked.PostOfficeID)
	if err != nil {
		return err
	}
	var prev *Plan
	if previous != uuid.Nil {
		p, err := s.store.Plan(ctx, previous)
		if err != nil {
			return err
		}
		prev = &p
	}
	w := &watch{limit: asked.TimeLimit, latest: PlanProgress{Phase: PhaseGather, Limit: asked.TimeLimit}}
	// Told once before gathering, so that a plan stopped while it waited in the queue keeps
	// no more than its first routes.
	if w.stopped, err = s.store.PlanProgress(ctx, asked, w.latest); err != nil {
		return err
	}
	ticking, stopTicking := context.WithCancel(ctx)
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		w.tick(ticking, s.store, asked)
	}()
	plan, entry, err := s.plan(context.WithValue(ctx, watchKey{}, w), o, asked, prev)
	stopTicking()
	<-ticked
	if err != nil {
		return err
	}
	plan.Progress = w.last(plan)
	return s.store.SavePlan(ctx, plan, entry)
}

// StopPlan asks a plan still planning to end its search and keep the best routes found
// so far as its draft. Its job, in whichever process, reads the request at its next
// progress.
func (s *Service) StopPlan(ctx context.Context, id uuid.UUID) (Plan, error) {
	plan, err := s.Plan(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	if plan.State != PlanPlanning {
		return Plan{}, domain.Errorf(CodePlanNotRunning, "this plan is %s: it is no longer being made", plan.State)
	}
	if err := s.store.StopPlan(ctx, id); err != nil {
		return Plan{}, err
	}
	return s.Plan(ctx, id)
}

type watchKey struct{}

// watch is a plan's job watching its search: the search tells it its best routes, the
// job's ticker keeps and announces them and ends the search when asked to stop.
type watch struct {
	mu        sync.Mutex
	limit     time.Duration
	latest    PlanProgress
	started   time.Time // of the search; zero before
	stopped   bool
	endSearch context.CancelFunc
}

// watched is the context and options of a search watched by a plan's job (see MakePlan):
// a context the job may end early, and the progress told to the job. Without a job it is
// ctx and opt as they are. done ends the search's context.
func watched(ctx context.Context, d *day, opt routing.Options) (context.Context, routing.Options, func()) {
	w, ok := ctx.Value(watchKey{}).(*watch)
	if !ok {
		return ctx, opt, func() {}
	}
	search, cancel := context.WithCancel(ctx)
	points := make([]orb.Point, 0, len(d.refs)+1)
	points = append(points, d.office.Location)
	for _, r := range d.refs {
		points = append(points, r.Location)
	}
	w.mu.Lock()
	w.endSearch, w.started = cancel, time.Now()
	w.latest.Points = points
	if w.stopped {
		cancel()
	}
	w.mu.Unlock()
	opt.ProgressEvery = progressEvery(w.limit) / 2
	opt.Progress = func(p routing.Progress) { w.observe(d, p) }
	return search, opt, cancel
}

// observe keeps the search's best so far, on the search's goroutine: no waiting here.
func (w *watch) observe(d *day, p routing.Progress) {
	pr := PlanProgress{Phase: p.Phase, Limit: w.limit, Iterations: p.Iterations, DistanceM: p.Best.Distance,
		Unplanned: len(p.Best.Unassigned)}
	for _, r := range p.Best.Routes {
		route := ProgressRoute{CourierID: d.couriers[r.Vehicle].ID, Stops: make([]int, len(r.Steps))}
		for i, step := range r.Steps {
			if step.Kind == routing.StepReload {
				continue // back at the post office, point 0, between trips
			}
			route.Stops[i] = step.Index + 1 // job i is at point i+1
			pr.Planned++
		}
		pr.Routes = append(pr.Routes, route)
	}
	w.mu.Lock()
	pr.Points = w.latest.Points
	w.latest = pr
	w.mu.Unlock()
}

// quietProgress is how often a search whose best did not change is still told, so that
// the screens' bars move: in between, the job only reads whether it was asked to stop.
const quietProgress = time.Second

// tick tells the latest progress every progressEvery until ctx ends, or only reads
// whether to stop while the best stays the same (at most quietProgress), and ends the
// search when a dispatcher asked to stop it. The points are told once: they do not change
// during a search. A progress that cannot be kept is skipped: the next one tries again.
func (w *watch) tick(ctx context.Context, store Store, plan Plan) {
	t := time.NewTicker(progressEvery(w.limit))
	defer t.Stop()
	var told PlanProgress
	var toldAt time.Time
	pointsTold := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		pr := w.latest
		if !w.started.IsZero() {
			pr.Elapsed = time.Since(w.started).Round(time.Millisecond)
		}
		w.mu.Unlock()
		var stop bool
		var err error
		if sameBest(told, pr) && time.Since(toldAt) < quietProgress {
			stop, err = store.PlanStopAsked(ctx, plan.ID)
		} else {
			hasPoints := len(pr.Points) > 0
			if pointsTold {
				pr.Points = nil
			}
			if stop, err = store.PlanProgress(ctx, plan, pr); err == nil {
				told, toldAt, pointsTold = pr, time.Now(), pointsTold || hasPoints
			}
		}
		if err == nil && stop {
			w.mu.Lock()
			w.stopped = true
			if w.endSearch != nil {
				w.endSearch()
			}
			w.mu.Unlock()
		}
	}
}

// sameBest is whether two progresses tell the same best routes: the search's round of
// the best changes with them.
func sameBest(a, b PlanProgress) bool {
	return a.Phase == b.Phase && a.Iterations == b.Iterations && a.DistanceM == b.DistanceM && a.Unplanned == b.Unplanned && a.Planned == b.Planned
}

// last is the progress kept with the plan made: its own totals, and whether it was
// stopped.
func (w *watch) last(plan Plan) *PlanProgress {
	w.mu.Lock()
	defer w.mu.Unlock()
	pr := w.latest
	pr.Phase, pr.Elapsed, pr.DistanceM, pr.Planned, pr.Unplanned, pr.Routes = PhaseDone, plan.SolveTime, plan.DistanceM, 0, len(plan.Unplanned), nil
	if w.stopped {
		pr.Phase = PhaseStopped
	}
	for _, r := range plan.Routes {
		pr.Planned += len(r.Stops)
	}
	return &pr
}
