// Package dispatch is a post office's day of routes: the demand (open stops grouped by
// zone, with their windows and deadlines), the plan the route solver proposes for the
// couriers on shift, and its publication, which assigns every planned stop to its
// courier in one transaction so that devices see their routes on their next pull. That
// transaction is a PlanTx, declared here and embedding dossier.Writer: the service locks
// the plan, then locks, decides and changes each assigned dossier, then writes the plan.
//
// Imports allowed: the standard library, courierd/domain and its catalog, dossier, auth
// and audit packages, courierd/routing, uuid and orb.
package dispatch

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/dossier"
)

// Codes of the dispatch rules.
const (
	// CodePlanStale: a plan's stops changed since it was made (a pickup cancelled, a stop
	// assigned by hand); publishing it would undo that, so it must be made again.
	CodePlanStale domain.Code = "PLAN_STALE"
	// CodePlanNotDraft: the plan was already published or replaced.
	CodePlanNotDraft domain.Code = "PLAN_NOT_DRAFT"
	// CodePlanRunning: the office's plan is still being made; the problem names it.
	CodePlanRunning domain.Code = "PLAN_RUNNING"
	// CodePlanNotRunning: stopping a plan that is no longer being made.
	CodePlanNotRunning domain.Code = "PLAN_NOT_RUNNING"
)

// Zone is a named part of a post office's service area: stops are grouped by the zone
// their point falls in.
type Zone struct {
	ID           uuid.UUID
	PostOfficeID uuid.UUID
	Name         string
	Area         orb.MultiPolygon
	Version      int
	UpdatedAt    time.Time
}

// Outline is a shape of the map's own base layer: a post office's service area or one of
// its zones. It is public geography, the same for everybody.
type Outline struct {
	Kind         OutlineKind
	PostOfficeID uuid.UUID
	Name         string
	Area         orb.MultiPolygon
}

type OutlineKind string

const (
	OutlineServiceArea OutlineKind = "service_area"
	OutlineZone        OutlineKind = "zone"
)

// Risk is how a stop's deadline stands on the planned day.
type Risk string

const (
	RiskOverdue  Risk = "overdue"
	RiskDueToday Risk = "due_today"
	RiskAtRisk   Risk = "at_risk"
	RiskOnTrack  Risk = "on_track"
)

// StopRef is what a plan needs of a stop to place and time it.
type StopRef struct {
	TaskID         uuid.UUID
	TaskVersion    int
	DossierID      uuid.UUID
	DossierVersion int
	Kind           dossier.TaskKind
	Location       orb.Point
	Slot           *dossier.Slot // the applicant's; nil: any time in the shift
	Skills         []string
	// Receipt and Risk travel with the plan, so that a stop no longer open (assigned,
	// done) is still shown by its code and colour; the risk is of the planned day.
	Receipt string
	Risk    Risk
}

// Stop is one open field task as the dispatcher plans it.
type Stop struct {
	StopRef
	State     dossier.TaskState
	CourierID uuid.UUID // assigned already, for a stop planned again
	Address   string
	Deadline  *time.Time
	ZoneID    uuid.UUID // uuid.Nil: in no zone
}

// ZoneDemand is a zone's stops.
type ZoneDemand struct {
	Zone  Zone
	Stops []Stop
}

// Demand is a post office's open stops for a day: by zone, then those in the service
// area but in no zone, then those outside the service area altogether.
type Demand struct {
	PostOfficeID uuid.UUID
	Day          time.Time
	Zones        []ZoneDemand
	Unzoned      []Stop
	OutsideArea  []Stop
}

// All is every stop of the demand.
func (d Demand) All() []Stop {
	var out []Stop
	for _, z := range d.Zones {
		out = append(out, z.Stops...)
	}
	out = append(out, d.Unzoned...)
	return append(out, d.OutsideArea...)
}

// PlanState is where a plan stands.
type PlanState string

const (
	PlanPlanning   PlanState = "planning" // asked for: its job makes it (see PlanDay)
	PlanFailed     PlanState = "failed"   // its job could not make it: Plan.Failure says why
	PlanDraft      PlanState = "draft"
	PlanPublished  PlanState = "published"
	PlanSuperseded PlanState = "superseded" // another plan for the day was published
)

// PlannedStop is a stop in a route, with when the courier gets there and what goes
// wrong there when a dispatcher's edit asks the impossible.
type PlannedStop struct {
	StopRef
	Arrival   time.Time
	Start     time.Time // service begins (after waiting for the slot)
	Departure time.Time
	Load      int           // items on board when leaving
	LateBy    time.Duration // service begins after the slot's end
	Pinned    bool          // placed on this courier by hand: a re-plan keeps it with them
	Trip      int           // which load of the courier's day it belongs to, from 1
}

// Reload is a courier's return to the post office between two trips: they unload what
// they picked up and load what the next trip delivers.
type Reload struct {
	Trip      int // the trip it starts, from 2
	Arrival   time.Time
	Departure time.Time
	Load      int // items on board when leaving
}

// Route is one courier's day in a plan. Overload and OverShift are the consequences of
// a dispatcher's edit (the solver's routes have neither).
type Route struct {
	CourierID uuid.UUID
	Stops     []PlannedStop
	Reloads   []Reload       // between its trips, in order: one fewer than its trips
	Line      orb.LineString // from the post office through the stops and back, through it between trips
	DistanceM float64
	Duration  time.Duration
	Depart    time.Time
	Return    time.Time
	Locked    bool          // a re-plan keeps the route as it is
	Released  bool          // the courier left the running day; the route takes nothing more
	Overload  int           // items beyond the vehicle's capacity at the worst point
	OverShift time.Duration // back after the shift's end
}

// Unplanned is a stop the plan leaves out, and why.
type Unplanned struct {
	StopRef
	Reason string // a stable word: no_courier, no_skill, too_large, window_unreachable, no_room, removed
	Detail string
}

// Plan is a proposal for a post office's day, or the day as published.
type Plan struct {
	ID           uuid.UUID
	PostOfficeID uuid.UUID
	Day          time.Time
	State        PlanState
	Seed         uint64
	TimeLimit    time.Duration
	SolveTime    time.Duration
	Travel       Travel // what the times and distances were measured on
	// MaxTrips is how many loads a courier may take in the day, and Reload how long the
	// return to the post office between them takes there.
	MaxTrips    int
	Reload      time.Duration
	Routes      []Route
	Unplanned   []Unplanned
	DistanceM   float64
	Duration    time.Duration
	CreatedBy   uuid.UUID
	CreatedAt   time.Time
	PublishedBy uuid.UUID
	PublishedAt *time.Time
	Version     int
	// Progress is the search's latest news while the plan is made, and its last once made
	// (nil for a plan made before plans were jobs, or edited from one).
	Progress *PlanProgress
	Failure  string // why a failed plan could not be made
}

// Assignment is one planned stop's publication: the dossier event that gives the stop to
// its courier, decided before the transaction and run inside it.
type Assignment struct {
	DossierID uuid.UUID
	TaskID    uuid.UUID
	Decide    dossier.Decision
}

// Store is the persistence port of dispatch. Errors: NOT_FOUND for unknown ids,
// CONFLICT for a zone name taken.
type Store interface {
	AlertStore
	Zones(ctx context.Context, postOffice uuid.UUID) ([]Zone, error)
	// Outlines are the service areas of the post offices located within near, at most
	// limit of them (the nearest its centre), and each one's zones.
	Outlines(ctx context.Context, near orb.Bound, limit int) ([]Outline, error)
	CreateZone(ctx context.Context, z Zone, entry audit.Entry) error
	DeleteZone(ctx context.Context, id uuid.UUID, entry audit.Entry) (Zone, error)
	Zone(ctx context.Context, id uuid.UUID) (Zone, error)
	// OpenTasks are a post office's tasks of PlannableKinds in PlannableTaskStates not
	// scheduled after day, each with its dossier.
	OpenTasks(ctx context.Context, postOffice uuid.UUID, day time.Time) ([]dossier.Dossier, []dossier.Task, error)
	// StartPlan records a plan asked for (state planning) and queues job to make it, in
	// one transaction; PLAN_RUNNING, naming it, while another plan of the office plans.
	StartPlan(ctx context.Context, p Plan, job PlanJob) error
	// PlanProgress keeps the progress of a plan still planning (without points: with the
	// points kept before) and announces it to the office's screens; it reports whether a
	// dispatcher asked to stop it.
	PlanProgress(ctx context.Context, p Plan, pr PlanProgress) (stop bool, err error)
	// PlanStopAsked reports whether a dispatcher asked plan id, still planning, to stop.
	PlanStopAsked(ctx context.Context, id uuid.UUID) (bool, error)
	// StopPlan asks a plan still planning to stop; PLAN_NOT_RUNNING otherwise.
	StopPlan(ctx context.Context, id uuid.UUID) error
	// FailPlan marks a plan still planning failed, with why.
	FailPlan(ctx context.Context, id uuid.UUID, failure string) error
	// SavePlan keeps the draft made for a plan still planning, with its last progress, in
	// one transaction with the audit entry; CONFLICT when it no longer plans.
	SavePlan(ctx context.Context, p Plan, entry audit.Entry) error
	Plan(ctx context.Context, id uuid.UUID) (Plan, error)
	// Begin starts a transaction that changes a plan with the dossiers it assigns.
	Begin(ctx context.Context) (PlanTx, error)
	Plans(ctx context.Context, postOffice uuid.UUID, day time.Time) ([]Plan, error)
	// PublishedPlan is a post office's plan published for day; CodeNotFound when none is.
	PublishedPlan(ctx context.Context, postOffice uuid.UUID, day time.Time) (Plan, error)
	// Positions are the couriers' latest GPS points; a courier without one is absent.
	Positions(ctx context.Context, couriers []uuid.UUID) (map[uuid.UUID]Position, error)
	// Completions are when each task done was done: the device's time of the report that
	// finished it, or the server's when it was finished by hand.
	Completions(ctx context.Context, tasks []uuid.UUID) (map[uuid.UUID]time.Time, error)
	// Track is a courier's GPS points in [from, to), in time order.
	Track(ctx context.Context, courier uuid.UUID, from, to time.Time) ([]TrackPoint, error)
	// TaskStates are the tasks' states now.
	TaskStates(ctx context.Context, tasks []uuid.UUID) (map[uuid.UUID]dossier.TaskState, error)
}

// PlanTx is the transaction in which a plan changes together with the dossiers it
// assigns (see assign).
type PlanTx interface {
	dossier.Writer
	// LockPlan locks plan id until the transaction ends and reads it, without its routes.
	LockPlan(ctx context.Context, id uuid.UUID) (Plan, error)
	// WritePlan replaces p's routes and unplanned stops, and writes its totals and
	// version, with the audit entry.
	WritePlan(ctx context.Context, p Plan, entry audit.Entry) error
	// PublishPlan marks plan p published by by at at, as version p.Version+1, and the
	// plan published before it for its office and day superseded, with the audit entry;
	// it reads the published plan back whole.
	PublishPlan(ctx context.Context, p Plan, by uuid.UUID, at time.Time, entry audit.Entry) (Plan, error)
	Commit() error
	Rollback()
}

// assign begins the transaction of a plan's change: plan id locked and checked to be
// still in state and of version (PLAN_NOT_DRAFT for a draft that is no longer one,
// VERSION_CONFLICT otherwise), then each assignment's dossier locked, decided and changed.
// The caller writes the plan's own change and commits; on an error nothing is left open.
// verb names the change in a refusal.
func (s *Service) assign(ctx context.Context, id uuid.UUID, state PlanState, version int, assignments []Assignment, verb string) (PlanTx, Plan, error) {
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return nil, Plan{}, err
	}
	locked, err := lockAndAssign(ctx, tx, id, state, version, assignments, verb)
	if err != nil {
		tx.Rollback()
		return nil, Plan{}, err
	}
	return tx, locked, nil
}

func lockAndAssign(ctx context.Context, tx PlanTx, id uuid.UUID, state PlanState, version int, assignments []Assignment, verb string) (Plan, error) {
	locked, err := tx.LockPlan(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	if locked.State != state {
		if state == PlanDraft {
			return Plan{}, domain.Errorf(CodePlanNotDraft, "this plan is %s; only a draft can be %s", locked.State, verb)
		}
		return Plan{}, domain.Errorf(domain.CodeConflict, "this plan is %s, no longer %s", locked.State, state)
	}
	if locked.Version != version {
		return Plan{}, domain.Errorf(domain.CodeVersionConflict, "this plan changed since you read it (version %d, you sent %d); reload it", locked.Version, version)
	}
	for _, a := range assignments {
		if _, err := dossier.ApplyIn(ctx, tx, a.DossierID, a.Decide); err != nil {
			return Plan{}, err
		}
	}
	return locked, nil
}

// updatePlan writes plan's change from version with its assignments, in one transaction.
func (s *Service) updatePlan(ctx context.Context, plan Plan, version int, assignments []Assignment, entry audit.Entry) error {
	tx, _, err := s.assign(ctx, plan.ID, plan.State, version, assignments, "changed")
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.WritePlan(ctx, plan, entry); err != nil {
		return err
	}
	return tx.Commit()
}
