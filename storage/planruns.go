package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"
	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dispatch"
	"courierd/domain/live"
)

// QueuePlans is the River queue of plans being made: a plan takes a core for up to a
// minute, so plans have workers of their own (PLAN_WORKERS a process), and a province's
// dispatchers planning at once wait their turn rather than take every core.
const QueuePlans = "plans"

// PlanArgs is the River job that makes a plan asked for (dispatch.Service.MakePlan).
type PlanArgs struct {
	PlanID   uuid.UUID `json:"plan_id"`
	Previous uuid.UUID `json:"previous,omitempty"`
	ActorID  uuid.UUID `json:"actor_id"`
	Role     string    `json:"role"`
	Source   string    `json:"source,omitempty"`
}

func (PlanArgs) Kind() string { return "plan" }

// InsertOpts: a plan that cannot be made is marked failed and its job succeeds; a job is
// run again only when its process died or stopped under it.
func (PlanArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePlans, MaxAttempts: 3}
}

// Job is the domain's job.
func (a PlanArgs) Job() dispatch.PlanJob {
	return dispatch.PlanJob{PlanID: a.PlanID, Previous: a.Previous, ActorID: a.ActorID, Role: auth.Role(a.Role), Source: a.Source}
}

// planRunRow is a plan asked for: planning, then done (its draft is in dispatch_plans
// under the same id) or failed.
type planRunRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	PostOfficeID uuid.UUID
	Day          time.Time `gorm:"type:date"`
	State        string
	Seed         int64
	TimeLimitMs  int
	MaxTrips     int
	ReloadS      float64
	ReplanOf     *uuid.UUID
	CreatedBy    uuid.UUID
	CreatedAt    time.Time
	FinishedAt   *time.Time
	StopAsked    bool
	Progress     []byte `gorm:"type:jsonb"`
	Failure      *string
}

func (planRunRow) TableName() string { return "dispatch_plan_runs" }

// Run states besides the plans' own.
const runDone = "done"

// progressJSON is a plan's progress as kept and, without its points, announced.
type progressJSON struct {
	PlanID     string              `json:"plan_id"`
	Phase      string              `json:"phase"`
	ElapsedMs  int64               `json:"elapsed_ms"`
	LimitMs    int64               `json:"limit_ms"`
	Iterations int                 `json:"iterations"`
	DistanceM  int                 `json:"distance_m"`
	Planned    int                 `json:"planned_stops"`
	Unplanned  int                 `json:"unplanned_stops"`
	Routes     []progressRouteJSON `json:"routes,omitempty"`
	Points     [][2]float64        `json:"points,omitempty"`
}

type progressRouteJSON struct {
	CourierID uuid.UUID `json:"courier_id"`
	Stops     []int     `json:"stops"`
}

func toProgressJSON(id uuid.UUID, p dispatch.PlanProgress) progressJSON {
	out := progressJSON{PlanID: id.String(), Phase: p.Phase, ElapsedMs: p.Elapsed.Milliseconds(), LimitMs: p.Limit.Milliseconds(),
		Iterations: p.Iterations, DistanceM: int(p.DistanceM + 0.5), Planned: p.Planned, Unplanned: p.Unplanned}
	for _, r := range p.Routes {
		out.Routes = append(out.Routes, progressRouteJSON{CourierID: r.CourierID, Stops: r.Stops})
	}
	for _, pt := range p.Points {
		out.Points = append(out.Points, [2]float64{pt.Lon(), pt.Lat()})
	}
	return out
}

func (j progressJSON) toDomain() *dispatch.PlanProgress {
	p := &dispatch.PlanProgress{Phase: j.Phase, Elapsed: time.Duration(j.ElapsedMs) * time.Millisecond, Limit: time.Duration(j.LimitMs) * time.Millisecond,
		Iterations: j.Iterations, DistanceM: float64(j.DistanceM), Planned: j.Planned, Unplanned: j.Unplanned}
	for _, r := range j.Routes {
		p.Routes = append(p.Routes, dispatch.ProgressRoute{CourierID: r.CourierID, Stops: r.Stops})
	}
	for _, pt := range j.Points {
		p.Points = append(p.Points, orb.Point{pt[0], pt[1]})
	}
	return p
}

func decodeProgress(raw []byte) (*dispatch.PlanProgress, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var j progressJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("decode plan progress: %w", err)
	}
	return j.toDomain(), nil
}

func (r planRunRow) toDomain() (dispatch.Plan, error) {
	p := dispatch.Plan{ID: r.ID, PostOfficeID: r.PostOfficeID, Day: r.Day, State: dispatch.PlanState(r.State), Seed: uint64(r.Seed),
		TimeLimit: time.Duration(r.TimeLimitMs) * time.Millisecond, MaxTrips: max(r.MaxTrips, 1),
		Reload: time.Duration(r.ReloadS * float64(time.Second)), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
	if r.Failure != nil {
		p.Failure = *r.Failure
	}
	var err error
	p.Progress, err = decodeProgress(r.Progress)
	return p, err
}

// maxLiveData bounds an announced progress: PostgreSQL's notifications carry at most
// 8000 bytes. A progress with more routes than fit is announced without them; the
// screen reads them with the plan.
const maxLiveData = 7000

// announceProgress sends the progress of plan id to its office's screens at commit.
func announceProgress(tx *gorm.DB, office uuid.UUID, id uuid.UUID, p dispatch.PlanProgress) error {
	j := toProgressJSON(id, p)
	j.Points = nil
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if len(data) > maxLiveData {
		j.Routes = nil
		if data, err = json.Marshal(j); err != nil {
			return err
		}
	}
	return tx.Exec(`SELECT pg_notify(?, json_build_object('event', ?::text, 'id', ?::text, 'post_office_id', ?::uuid, 'data', ?::json)::text)`,
		liveChannel, live.KindPlanProgress, fmt.Sprintf("%s@%d", id, p.Elapsed.Milliseconds()), office, string(data)).Error
}

// StartPlan implements dispatch.Store.
func (s *DispatchStore) StartPlan(ctx context.Context, p dispatch.Plan, job dispatch.PlanJob) error {
	row := planRunRow{ID: p.ID, PostOfficeID: p.PostOfficeID, Day: p.Day, State: string(dispatch.PlanPlanning), Seed: int64(p.Seed),
		TimeLimitMs: int(p.TimeLimit.Milliseconds()), MaxTrips: max(p.MaxTrips, 1), ReloadS: p.Reload.Seconds(), ReplanOf: nilUUID(job.Previous), CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt.UTC()}
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		sqlTx, _ := tx.Statement.ConnPool.(*sql.Tx)
		return s.queue.insertArgs(ctx, sqlTx, []river.JobArgs{PlanArgs{PlanID: job.PlanID, Previous: job.Previous,
			ActorID: job.ActorID, Role: string(job.Role), Source: job.Source}})
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.ConstraintName == "dispatch_plan_runs_one_planning" {
		var running []uuid.UUID
		if err := s.db.gorm.WithContext(ctx).Model(&planRunRow{}).Where("post_office_id = ? AND state = ?", p.PostOfficeID,
			string(dispatch.PlanPlanning)).Limit(1).Pluck("id", &running).Error; err != nil {
			return translate(err, "plan")
		}
		e := domain.Errorf(dispatch.CodePlanRunning, "a plan of this post office is being made: wait for it, or stop it")
		if len(running) == 1 { // it may have ended meanwhile
			e.Related = running[0].String()
		}
		return e
	}
	return translate(err, "plan")
}

// PlanProgress implements dispatch.Store.
func (s *DispatchStore) PlanProgress(ctx context.Context, p dispatch.Plan, pr dispatch.PlanProgress) (bool, error) {
	raw, err := json.Marshal(toProgressJSON(p.ID, pr))
	if err != nil {
		return false, err
	}
	var stop []bool
	err = s.db.inTx(ctx, func(tx *gorm.DB) error {
		// Points told once are kept: at 10,000 stops they are most of a progress's bytes.
		if err := tx.Raw(`UPDATE dispatch_plan_runs SET progress = CASE WHEN ? OR progress->'points' IS NULL THEN ?::jsonb
				ELSE ?::jsonb || jsonb_build_object('points', progress->'points') END
			WHERE id = ? AND state = ? RETURNING stop_asked`, len(pr.Points) > 0, raw, raw, p.ID,
			string(dispatch.PlanPlanning)).Scan(&stop).Error; err != nil || len(stop) == 0 {
			return err
		}
		return announceProgress(tx, p.PostOfficeID, p.ID, pr)
	})
	return len(stop) == 1 && stop[0], translate(err, "plan")
}

// PlanStopAsked implements dispatch.Store.
func (s *DispatchStore) PlanStopAsked(ctx context.Context, id uuid.UUID) (bool, error) {
	var stop []bool
	err := s.db.gorm.WithContext(ctx).Raw(`SELECT stop_asked FROM dispatch_plan_runs WHERE id = ? AND state = ?`, id, string(dispatch.PlanPlanning)).Scan(&stop).Error
	return len(stop) == 1 && stop[0], translate(err, "plan")
}

// StopPlan implements dispatch.Store.
func (s *DispatchStore) StopPlan(ctx context.Context, id uuid.UUID) error {
	res := s.db.gorm.WithContext(ctx).Model(&planRunRow{}).Where("id = ? AND state = ?", id, string(dispatch.PlanPlanning)).Update("stop_asked", true)
	if res.Error != nil {
		return translate(res.Error, "plan")
	}
	if res.RowsAffected == 0 {
		return domain.Errorf(dispatch.CodePlanNotRunning, "this plan is no longer being made")
	}
	return nil
}

// FailPlan implements dispatch.Store.
func (s *DispatchStore) FailPlan(ctx context.Context, id uuid.UUID, failure string) error {
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		var run planRunRow
		res := tx.Model(&run).Clauses(clause.Returning{}).Where("id = ? AND state = ?", id, string(dispatch.PlanPlanning)).
			Updates(map[string]any{"state": string(dispatch.PlanFailed), "failure": failure, "finished_at": s.db.stamp()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		pr := dispatch.PlanProgress{Phase: string(dispatch.PlanFailed), Limit: time.Duration(run.TimeLimitMs) * time.Millisecond}
		return announceProgress(tx, run.PostOfficeID, id, pr)
	}), "plan")
}

// runIn reads the run of plan id, which a plan row may not have (made before plans were
// jobs): nil then.
func runIn(tx *gorm.DB, id uuid.UUID) (*planRunRow, error) {
	var runs []planRunRow
	if err := tx.Where("id = ?", id).Limit(1).Find(&runs).Error; err != nil || len(runs) == 0 {
		return nil, err
	}
	return &runs[0], nil
}
