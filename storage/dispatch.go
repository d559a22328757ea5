package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
)

// DispatchStore keeps zones and plans; a plan's change runs in a Tx, which changes the
// dossiers it assigns too.
type DispatchStore struct {
	db    *DB
	queue *Queue
}

// NewDispatchStore keeps plans, and the jobs of the dossiers they assign through queue.
func NewDispatchStore(db *DB, queue *Queue) *DispatchStore {
	return &DispatchStore{db: db, queue: queue}
}

type zoneRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	PostOfficeID uuid.UUID
	Name         string
	Area         []byte `gorm:"type:jsonb"`
	Version      int
	UpdatedAt    time.Time
}

func (zoneRow) TableName() string { return "zones" }

func (r zoneRow) toDomain() (dispatch.Zone, error) {
	g, err := geojson.UnmarshalGeometry(r.Area)
	if err != nil {
		return dispatch.Zone{}, fmt.Errorf("decode zone %s: %w", r.ID, err)
	}
	area, ok := g.Geometry().(orb.MultiPolygon)
	if !ok {
		return dispatch.Zone{}, fmt.Errorf("zone %s is a %s, not a MultiPolygon", r.ID, g.Geometry().GeoJSONType())
	}
	return dispatch.Zone{ID: r.ID, PostOfficeID: r.PostOfficeID, Name: r.Name, Area: area, Version: r.Version, UpdatedAt: r.UpdatedAt}, nil
}

func (s *DispatchStore) Zones(ctx context.Context, postOffice uuid.UUID) ([]dispatch.Zone, error) {
	var rows []zoneRow
	if err := s.db.gorm.WithContext(ctx).Where("post_office_id = ?", postOffice).Order("name, id").Find(&rows).Error; err != nil {
		return nil, translate(err, "zone")
	}
	out := make([]dispatch.Zone, 0, len(rows))
	for _, r := range rows {
		z, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, z)
	}
	return out, nil
}

func (s *DispatchStore) Outlines(ctx context.Context, near orb.Bound, limit int) ([]dispatch.Outline, error) {
	var offices []postOfficeRow
	// The nearest offices to the view's centre first, should there be more than limit.
	centre := near.Center()
	err := s.db.gorm.WithContext(ctx).Select("id, name, service_area").
		Where("lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?", near.Min.Lon(), near.Max.Lon(), near.Min.Lat(), near.Max.Lat()).
		Order(gorm.Expr("(lon - ?) ^ 2 + (lat - ?) ^ 2, code", centre.Lon(), centre.Lat())).Limit(limit).Find(&offices).Error
	if err != nil {
		return nil, translate(err, "post office")
	}
	ids := make([]uuid.UUID, len(offices))
	out := make([]dispatch.Outline, 0, len(offices))
	for i, o := range offices {
		ids[i] = o.ID
		office, err := o.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, dispatch.Outline{Kind: dispatch.OutlineServiceArea, PostOfficeID: o.ID, Name: o.Name, Area: office.ServiceArea})
	}
	if len(ids) == 0 {
		return out, nil
	}
	var zones []zoneRow
	if err := s.db.gorm.WithContext(ctx).Where("post_office_id IN ?", ids).Order("post_office_id, name").Find(&zones).Error; err != nil {
		return nil, translate(err, "zone")
	}
	for _, r := range zones {
		z, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, dispatch.Outline{Kind: dispatch.OutlineZone, PostOfficeID: z.PostOfficeID, Name: z.Name, Area: z.Area})
	}
	return out, nil
}

func (s *DispatchStore) Zone(ctx context.Context, id uuid.UUID) (dispatch.Zone, error) {
	var row zoneRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return dispatch.Zone{}, translate(err, "zone")
	}
	return row.toDomain()
}

func (s *DispatchStore) CreateZone(ctx context.Context, z dispatch.Zone, entry audit.Entry) error {
	area, err := geojson.NewGeometry(z.Area).MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode zone: %w", err)
	}
	row := zoneRow{ID: z.ID, PostOfficeID: z.PostOfficeID, Name: z.Name, Area: area, Version: z.Version, UpdatedAt: z.UpdatedAt.UTC()}
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }, entry), "zone")
}

func (s *DispatchStore) DeleteZone(ctx context.Context, id uuid.UUID, entry audit.Entry) (dispatch.Zone, error) {
	var row zoneRow
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Returning{}).Where("id = ?", id).Delete(&row).Error; err != nil {
			return err
		}
		if row.ID == uuid.Nil {
			return gorm.ErrRecordNotFound
		}
		return nil
	}, entry)
	if err != nil {
		return dispatch.Zone{}, translate(err, "zone")
	}
	return row.toDomain()
}

// OpenTasks reads the office's plannable field tasks with their dossiers, oldest dossier first.
func (s *DispatchStore) OpenTasks(ctx context.Context, postOffice uuid.UUID, day time.Time) ([]dossier.Dossier, []dossier.Task, error) {
	var taskRows []taskRow
	err := s.db.gorm.WithContext(ctx).Table("tasks").Select("tasks.*").Joins("JOIN dossiers d ON d.id = tasks.dossier_id").
		Where("tasks.post_office_id = ? AND tasks.kind IN ? AND tasks.state IN ? AND (tasks.scheduled_for IS NULL OR tasks.scheduled_for <= ?)",
			postOffice, texts(dispatch.PlannableKinds), texts(dispatch.PlannableTaskStates), day).
		Order("d.created_at, tasks.dossier_id, tasks.kind").Find(&taskRows).Error
	if err != nil {
		return nil, nil, translate(err, "task")
	}
	ids := make([]uuid.UUID, 0, len(taskRows))
	for _, t := range taskRows {
		ids = append(ids, t.DossierID)
	}
	var dossierRows []dossierRow
	if err := s.db.gorm.WithContext(ctx).Where("id IN ?", ids).Find(&dossierRows).Error; err != nil {
		return nil, nil, translate(err, "dossier")
	}
	byID := make(map[uuid.UUID]dossier.Dossier, len(dossierRows))
	for _, r := range dossierRows {
		byID[r.ID] = r.toDomain()
	}
	dossiers := make([]dossier.Dossier, len(taskRows))
	tasks := make([]dossier.Task, len(taskRows))
	for i, t := range taskRows {
		dossiers[i], tasks[i] = byID[t.DossierID], t.toDomain()
	}
	return dossiers, tasks, nil
}

type planRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	PostOfficeID uuid.UUID
	Day          time.Time `gorm:"type:date"`
	State        string
	Seed         int64
	TimeLimitMs  int
	SolveMs      int
	MaxTrips     int
	ReloadS      float64
	DistanceM    float64
	DurationS    float64
	Unplanned    []byte `gorm:"type:jsonb"`
	CreatedBy    uuid.UUID
	CreatedAt    time.Time
	PublishedBy  *uuid.UUID
	PublishedAt  *time.Time
	Version      int

	// NULL on plans made before they were kept.
	Travel, TravelFallback *string
}

func (planRow) TableName() string { return "dispatch_plans" }

type planRouteRow struct {
	PlanID     uuid.UUID `gorm:"primaryKey"`
	CourierID  uuid.UUID `gorm:"primaryKey"`
	Position   int
	Stops      []byte `gorm:"type:jsonb"`
	Reloads    []byte `gorm:"type:jsonb"`
	Line       []byte `gorm:"type:jsonb"`
	DistanceM  float64
	DurationS  float64
	DepartAt   time.Time
	ReturnAt   time.Time
	Locked     bool
	Released   bool
	Overload   int
	OverShiftS float64
}

func (planRouteRow) TableName() string { return "dispatch_routes" }

// stopRefJSON is what a plan keeps of a stop, planned or not.
type stopRefJSON struct {
	TaskID         uuid.UUID     `json:"task_id"`
	TaskVersion    int           `json:"task_version"`
	DossierID      uuid.UUID     `json:"dossier_id"`
	DossierVersion int           `json:"dossier_version"`
	Kind           string        `json:"kind"`
	Lon            float64       `json:"lon"`
	Lat            float64       `json:"lat"`
	Slot           *dossier.Slot `json:"slot,omitempty"`
	Skills         []string      `json:"skills,omitempty"`
	Receipt        string        `json:"receipt,omitempty"`
	Risk           string        `json:"risk,omitempty"`
}

func toStopRefJSON(r dispatch.StopRef) stopRefJSON {
	return stopRefJSON{TaskID: r.TaskID, TaskVersion: r.TaskVersion, DossierID: r.DossierID, DossierVersion: r.DossierVersion,
		Kind: string(r.Kind), Lon: r.Location.Lon(), Lat: r.Location.Lat(), Slot: r.Slot, Skills: r.Skills,
		Receipt: r.Receipt, Risk: string(r.Risk)}
}

func (j stopRefJSON) toDomain() dispatch.StopRef {
	return dispatch.StopRef{TaskID: j.TaskID, TaskVersion: j.TaskVersion, DossierID: j.DossierID, DossierVersion: j.DossierVersion,
		Kind: dossier.TaskKind(j.Kind), Location: orb.Point{j.Lon, j.Lat}, Slot: j.Slot, Skills: j.Skills,
		Receipt: j.Receipt, Risk: dispatch.Risk(j.Risk)}
}

// plannedStopJSON is a planned stop as kept in its route's row.
type plannedStopJSON struct {
	stopRefJSON
	Arrival   time.Time     `json:"arrival"`
	Start     time.Time     `json:"start"`
	Departure time.Time     `json:"departure"`
	Load      int           `json:"load"`
	LateBy    time.Duration `json:"late_by,omitempty"`
	Pinned    bool          `json:"pinned,omitempty"`
	Trip      int           `json:"trip,omitempty"` // absent in plans kept before trips: one
}

// reloadJSON is a return to the post office between trips, as kept in its route's row.
type reloadJSON struct {
	Trip      int       `json:"trip"`
	Arrival   time.Time `json:"arrival"`
	Departure time.Time `json:"departure"`
	Load      int       `json:"load"`
}

type unplannedJSON struct {
	stopRefJSON
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

func planToRows(p dispatch.Plan) (planRow, []planRouteRow, error) {
	unplanned := make([]unplannedJSON, 0, len(p.Unplanned))
	for _, u := range p.Unplanned {
		unplanned = append(unplanned, unplannedJSON{toStopRefJSON(u.StopRef), u.Reason, u.Detail})
	}
	rawUnplanned, err := json.Marshal(unplanned)
	if err != nil {
		return planRow{}, nil, err
	}
	row := planRow{ID: p.ID, PostOfficeID: p.PostOfficeID, Day: p.Day, State: string(p.State), Seed: int64(p.Seed),
		TimeLimitMs: int(p.TimeLimit.Milliseconds()), SolveMs: int(p.SolveTime.Milliseconds()), MaxTrips: max(p.MaxTrips, 1),
		ReloadS: p.Reload.Seconds(), DistanceM: p.DistanceM,
		Travel: nullable(p.Travel.Source), TravelFallback: nullable(p.Travel.Fallback),
		DurationS: p.Duration.Seconds(), Unplanned: rawUnplanned, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt.UTC(),
		PublishedBy: nilUUID(p.PublishedBy), PublishedAt: p.PublishedAt, Version: p.Version}
	routes := make([]planRouteRow, 0, len(p.Routes))
	for i, r := range p.Routes {
		stops := make([]plannedStopJSON, 0, len(r.Stops))
		for _, st := range r.Stops {
			stops = append(stops, plannedStopJSON{stopRefJSON: toStopRefJSON(st.StopRef), Arrival: st.Arrival, Start: st.Start,
				Departure: st.Departure, Load: st.Load, LateBy: st.LateBy, Pinned: st.Pinned, Trip: st.Trip})
		}
		rawStops, err := json.Marshal(stops)
		if err != nil {
			return planRow{}, nil, err
		}
		reloads := make([]reloadJSON, 0, len(r.Reloads))
		for _, rl := range r.Reloads {
			reloads = append(reloads, reloadJSON{Trip: rl.Trip, Arrival: rl.Arrival.UTC(), Departure: rl.Departure.UTC(), Load: rl.Load})
		}
		rawReloads, err := json.Marshal(reloads)
		if err != nil {
			return planRow{}, nil, err
		}
		line, err := geojson.NewGeometry(r.Line).MarshalJSON()
		if err != nil {
			return planRow{}, nil, err
		}
		routes = append(routes, planRouteRow{PlanID: p.ID, CourierID: r.CourierID, Position: i, Stops: rawStops, Reloads: rawReloads, Line: line,
			DistanceM: r.DistanceM, DurationS: r.Duration.Seconds(), DepartAt: r.Depart.UTC(), ReturnAt: r.Return.UTC(),
			Locked: r.Locked, Released: r.Released, Overload: r.Overload, OverShiftS: r.OverShift.Seconds()})
	}
	return row, routes, nil
}

func (r planRow) toDomain(routes []planRouteRow) (dispatch.Plan, error) {
	p := dispatch.Plan{ID: r.ID, PostOfficeID: r.PostOfficeID, Day: r.Day, State: dispatch.PlanState(r.State), Seed: uint64(r.Seed),
		TimeLimit: time.Duration(r.TimeLimitMs) * time.Millisecond, SolveTime: time.Duration(r.SolveMs) * time.Millisecond,
		Travel:   dispatch.Travel{Source: deref(r.Travel), Fallback: deref(r.TravelFallback)},
		MaxTrips: max(r.MaxTrips, 1), Reload: time.Duration(r.ReloadS * float64(time.Second)),
		DistanceM: r.DistanceM, Duration: time.Duration(r.DurationS * float64(time.Second)), CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, PublishedBy: derefUUID(r.PublishedBy), PublishedAt: r.PublishedAt, Version: r.Version}
	var unplanned []unplannedJSON
	if err := json.Unmarshal(r.Unplanned, &unplanned); err != nil {
		return dispatch.Plan{}, fmt.Errorf("decode plan %s: %w", r.ID, err)
	}
	for _, u := range unplanned {
		p.Unplanned = append(p.Unplanned, dispatch.Unplanned{StopRef: u.toDomain(), Reason: u.Reason, Detail: u.Detail})
	}
	for _, rr := range routes {
		var stops []plannedStopJSON
		if err := json.Unmarshal(rr.Stops, &stops); err != nil {
			return dispatch.Plan{}, fmt.Errorf("decode route of plan %s: %w", r.ID, err)
		}
		var reloads []reloadJSON
		if rr.Reloads == nil { // a schema before the trips: one trip
			rr.Reloads = []byte("[]")
		}
		if err := json.Unmarshal(rr.Reloads, &reloads); err != nil {
			return dispatch.Plan{}, fmt.Errorf("decode route reloads of plan %s: %w", r.ID, err)
		}
		g, err := geojson.UnmarshalGeometry(rr.Line)
		if err != nil {
			return dispatch.Plan{}, fmt.Errorf("decode route line of plan %s: %w", r.ID, err)
		}
		line, ok := g.Geometry().(orb.LineString)
		if !ok {
			return dispatch.Plan{}, fmt.Errorf("route line of plan %s is a %s, not a LineString", r.ID, g.Geometry().GeoJSONType())
		}
		route := dispatch.Route{CourierID: rr.CourierID, Line: line, DistanceM: rr.DistanceM,
			Duration: time.Duration(rr.DurationS * float64(time.Second)), Depart: rr.DepartAt, Return: rr.ReturnAt, Locked: rr.Locked, Released: rr.Released,
			Overload: rr.Overload, OverShift: time.Duration(rr.OverShiftS * float64(time.Second))}
		for _, st := range stops {
			route.Stops = append(route.Stops, dispatch.PlannedStop{StopRef: st.toDomain(), Arrival: st.Arrival, Start: st.Start,
				Departure: st.Departure, Load: st.Load, LateBy: st.LateBy, Pinned: st.Pinned, Trip: st.Trip})
		}
		for _, rl := range reloads {
			route.Reloads = append(route.Reloads, dispatch.Reload{Trip: rl.Trip, Arrival: rl.Arrival, Departure: rl.Departure, Load: rl.Load})
		}
		p.Routes = append(p.Routes, route)
	}
	return p, nil
}

func (s *DispatchStore) SavePlan(ctx context.Context, p dispatch.Plan, entry audit.Entry) error {
	row, routes, err := planToRows(p)
	if err != nil {
		return err
	}
	var last []byte
	if p.Progress != nil {
		if last, err = json.Marshal(toProgressJSON(p.ID, *p.Progress)); err != nil {
			return err
		}
	}
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		// The run ends with its draft written, or neither: a run no longer planning (failed
		// meanwhile) keeps no draft.
		ended := tx.Model(&planRunRow{}).Where("id = ? AND state = ?", p.ID, string(dispatch.PlanPlanning)).
			Updates(map[string]any{"state": runDone, "progress": last, "finished_at": s.db.stamp()})
		if ended.Error != nil {
			return ended.Error
		}
		if ended.RowsAffected == 0 {
			return domain.Errorf(domain.CodeConflict, "this plan is no longer being made")
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if len(routes) > 0 {
			if err := tx.CreateInBatches(&routes, 200).Error; err != nil {
				return err
			}
		}
		if p.Progress == nil {
			return nil
		}
		return announceProgress(tx, p.PostOfficeID, p.ID, *p.Progress)
	}, entry), "plan")
}

// Begin starts a transaction on a plan and its dossiers.
func (s *DispatchStore) Begin(ctx context.Context) (dispatch.PlanTx, error) {
	return s.db.begin(ctx, s.queue)
}

// LockPlan implements dispatch.PlanTx.
func (t *Tx) LockPlan(ctx context.Context, id uuid.UUID) (dispatch.Plan, error) {
	var row planRow
	if err := t.tx.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&row).Error; err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	p, err := row.toDomain(nil)
	return p, translate(err, "plan")
}

// WritePlan implements dispatch.PlanTx.
func (t *Tx) WritePlan(ctx context.Context, p dispatch.Plan, entry audit.Entry) error {
	row, routes, err := planToRows(p)
	if err != nil {
		return err
	}
	tx := t.tx.WithContext(ctx)
	if err := tx.Where("plan_id = ?", p.ID).Delete(&planRouteRow{}).Error; err != nil {
		return translate(err, "plan")
	}
	if len(routes) > 0 {
		if err := tx.CreateInBatches(&routes, 200).Error; err != nil {
			return translate(err, "plan")
		}
	}
	if err := tx.Model(&planRow{}).Where("id = ?", p.ID).Updates(map[string]any{"unplanned": row.Unplanned,
		"travel": row.Travel, "travel_fallback": row.TravelFallback, "distance_m": row.DistanceM, "duration_s": row.DurationS, "version": row.Version}).Error; err != nil {
		return translate(err, "plan")
	}
	return translate(writeAudit(tx, entry), "plan")
}

// PublishPlan implements dispatch.PlanTx.
func (t *Tx) PublishPlan(ctx context.Context, p dispatch.Plan, by uuid.UUID, at time.Time, entry audit.Entry) (dispatch.Plan, error) {
	tx := t.tx.WithContext(ctx)
	if err := tx.Model(&planRow{}).Where("post_office_id = ? AND day = ? AND state = ?", p.PostOfficeID, p.Day, string(dispatch.PlanPublished)).
		Update("state", string(dispatch.PlanSuperseded)).Error; err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	if err := tx.Model(&planRow{}).Where("id = ?", p.ID).Updates(map[string]any{"state": string(dispatch.PlanPublished),
		"published_by": by, "published_at": at.UTC(), "version": p.Version + 1}).Error; err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	if err := writeAudit(tx, entry); err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	return planIn(tx, p.ID, false)
}

func planIn(tx *gorm.DB, id uuid.UUID, lock bool) (dispatch.Plan, error) {
	q := tx
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	// The run first: one done has its plan row, written in the same transaction.
	run, err := runIn(tx, id)
	if err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	if run != nil && run.State != runDone {
		return run.toDomain() // a plan asked for and still planning, or failed, is its run alone
	}
	var row planRow
	if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	var routes []planRouteRow
	if err := tx.Where("plan_id = ?", id).Order("position").Find(&routes).Error; err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	p, err := row.toDomain(routes)
	if err != nil || run == nil {
		return p, err
	}
	p.Progress, err = decodeProgress(run.Progress)
	return p, err
}

func (s *DispatchStore) Plan(ctx context.Context, id uuid.UUID) (dispatch.Plan, error) {
	return planIn(s.db.gorm.WithContext(ctx), id, false)
}

// PublishedPlan reads the office's published plan of day alone: the delay checks ask for
// it on every courier's upload, and most offices have none or drafts beside it.
func (s *DispatchStore) PublishedPlan(ctx context.Context, postOffice uuid.UUID, day time.Time) (dispatch.Plan, error) {
	var ids []uuid.UUID
	if err := s.db.gorm.WithContext(ctx).Model(&planRow{}).Where("post_office_id = ? AND day = ? AND state = ?", postOffice, day, string(dispatch.PlanPublished)).
		Pluck("id", &ids).Error; err != nil {
		return dispatch.Plan{}, translate(err, "plan")
	}
	if len(ids) == 0 {
		return dispatch.Plan{}, domain.Errorf(domain.CodeNotFound, "no plan of this day is published")
	}
	return s.Plan(ctx, ids[0])
}

func (s *DispatchStore) Plans(ctx context.Context, postOffice uuid.UUID, day time.Time) ([]dispatch.Plan, error) {
	// The plans made, and those asked for that are still planning or failed.
	var ids []uuid.UUID
	if err := s.db.gorm.WithContext(ctx).Raw(`SELECT id FROM (SELECT id, created_at FROM dispatch_plans WHERE post_office_id = ? AND day = ?
		UNION ALL SELECT id, created_at FROM dispatch_plan_runs WHERE post_office_id = ? AND day = ? AND state <> ?) p
		ORDER BY created_at DESC, id`, postOffice, day, postOffice, day, runDone).Scan(&ids).Error; err != nil {
		return nil, translate(err, "plan")
	}
	out := make([]dispatch.Plan, 0, len(ids))
	for _, id := range ids {
		p, err := s.Plan(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *DispatchStore) Positions(ctx context.Context, couriers []uuid.UUID) (map[uuid.UUID]dispatch.Position, error) {
	type row struct {
		CourierID  uuid.UUID
		At         time.Time
		Lat, Lon   float64
		AccuracyM  float64
		BatteryPct *int
	}
	var rows []row
	if err := s.db.gorm.WithContext(ctx).Table("courier_positions").Where("courier_id IN ?", couriers).Find(&rows).Error; err != nil {
		return nil, translate(err, "position")
	}
	out := make(map[uuid.UUID]dispatch.Position, len(rows))
	for _, r := range rows {
		out[r.CourierID] = dispatch.Position{Location: orb.Point{r.Lon, r.Lat}, At: r.At, AccuracyM: r.AccuracyM, BatteryPct: r.BatteryPct}
	}
	return out, nil
}

func (s *DispatchStore) TaskStates(ctx context.Context, tasks []uuid.UUID) (map[uuid.UUID]dossier.TaskState, error) {
	var rows []taskRow
	if err := s.db.gorm.WithContext(ctx).Select("id, state").Where("id IN ?", tasks).Find(&rows).Error; err != nil {
		return nil, translate(err, "task")
	}
	out := make(map[uuid.UUID]dossier.TaskState, len(rows))
	for _, r := range rows {
		out[r.ID] = dossier.TaskState(r.State)
	}
	return out, nil
}

func (s *DispatchStore) Completions(ctx context.Context, tasks []uuid.UUID) (map[uuid.UUID]time.Time, error) {
	rows, err := s.db.gorm.WithContext(ctx).Raw(`SELECT t.id, COALESCE(min(f.occurred_at), t.updated_at)
		FROM tasks t LEFT JOIN field_reports f ON f.dossier_id = t.dossier_id AND f.task_id = t.id AND f.type IN ?
		WHERE t.id IN ? AND t.state = ?
		GROUP BY t.id, t.updated_at`, fieldsync.CompletingTypes(), tasks, string(dossier.TaskDone)).Rows()
	if err != nil {
		return nil, translate(err, "task")
	}
	defer rows.Close()
	out := map[uuid.UUID]time.Time{}
	for rows.Next() {
		var id uuid.UUID
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, translate(err, "task")
		}
		out[id] = at
	}
	return out, translate(rows.Err(), "task")
}

func (s *DispatchStore) Track(ctx context.Context, courier uuid.UUID, from, to time.Time) ([]dispatch.TrackPoint, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT lon, lat, at FROM breadcrumbs WHERE courier_id = $1 AND at >= $2 AND at < $3 ORDER BY at`,
		courier, from.UTC(), to.UTC())
	if err != nil {
		return nil, translate(err, "breadcrumbs")
	}
	defer rows.Close()
	var out []dispatch.TrackPoint
	for rows.Next() {
		var p dispatch.TrackPoint
		if err := rows.Scan(&p.Location[0], &p.Location[1], &p.At); err != nil {
			return nil, translate(err, "breadcrumbs")
		}
		out = append(out, p)
	}
	return out, translate(rows.Err(), "breadcrumbs")
}
