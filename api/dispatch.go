package api

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
)

type newZoneBody struct {
	Name string          `json:"name" example:"Phường Cửa Nam"`
	Area json.RawMessage `json:"area" doc:"a GeoJSON Polygon or MultiPolygon (RFC 7946), within the post office's service area"`
}

type zoneDTO struct {
	ID           string          `json:"id"`
	PostOfficeID string          `json:"post_office_id"`
	Name         string          `json:"name" example:"Phường Cửa Nam"`
	Area         json.RawMessage `json:"area" doc:"a GeoJSON geometry (RFC 7946)"`
	Version      int             `json:"version" example:"1"`
}

func toZoneDTO(z dispatch.Zone) zoneDTO {
	area, _ := geojson.NewGeometry(z.Area).MarshalJSON()
	return zoneDTO{ID: z.ID.String(), PostOfficeID: z.PostOfficeID.String(), Name: z.Name, Area: area, Version: z.Version}
}

type slotDTO struct {
	Start string `json:"start" example:"08:00" doc:"HH:MM, Vietnam time"`
	End   string `json:"end" example:"10:00" doc:"HH:MM, Vietnam time; 24:00 is the day's end"`
}

// fromSlotDTO reads a slot given as HH:MM times; nil stays nil.
func fromSlotDTO(p *domain.Problems, field string, d *slotDTO) *dossier.Slot {
	if d == nil {
		return nil
	}
	start, okStart := minutesOf(d.Start)
	end, okEnd := minutesOf(d.End)
	p.Check(okStart && okEnd && start < end, field, "needs start and end as HH:MM, start first")
	return &dossier.Slot{StartMin: start, EndMin: end}
}

// minutesOf reads HH:MM (24:00 allowed, as a slot's end) as minutes after midnight.
func minutesOf(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err == nil {
		return t.Hour()*60 + t.Minute(), true
	}
	return 24 * 60, s == "24:00"
}

func toSlotDTO(s *dossier.Slot) *slotDTO {
	if s == nil {
		return nil
	}
	return &slotDTO{Start: clock(s.StartMin), End: clock(s.EndMin)}
}

type demandStopDTO struct {
	TaskID         string    `json:"task_id"`
	TaskVersion    int       `json:"task_version"`
	DossierID      string    `json:"dossier_id"`
	DossierVersion int       `json:"dossier_version"`
	ReceiptCode    string    `json:"receipt_code"`
	Kind           string    `json:"kind" enum:"pickup,dropoff,collection,delivery" example:"pickup"`
	State          string    `json:"state" enum:"open,scheduled,assigned,in_progress,done,failed,cancelled" example:"open"`
	CourierID      string    `json:"courier_id,omitempty"`
	Address        string    `json:"address"`
	Location       *pointDTO `json:"location"`
	Slot           *slotDTO  `json:"slot,omitempty"`
	Deadline       string    `json:"deadline,omitempty" format:"date" example:"2026-12-09"`
	Risk           string    `json:"risk" enum:"overdue,due_today,at_risk,on_track" example:"on_track"`
	Skills         []string  `json:"skills"`
}

func toDemandStopDTO(st dispatch.Stop) demandStopDTO {
	dto := demandStopDTO{TaskID: st.TaskID.String(), TaskVersion: st.TaskVersion, DossierID: st.DossierID.String(),
		DossierVersion: st.DossierVersion, ReceiptCode: st.Receipt, Kind: string(st.Kind), State: string(st.State),
		CourierID: idText(st.CourierID), Address: st.Address, Location: toPointDTO(st.Location), Slot: toSlotDTO(st.Slot),
		Risk: string(st.Risk), Skills: st.Skills}
	if st.Deadline != nil {
		dto.Deadline = st.Deadline.Format(dateLayout)
	}
	if dto.Skills == nil {
		dto.Skills = []string{}
	}
	return dto
}

type zoneDemandDTO struct {
	Zone  zoneDTO         `json:"zone"`
	Stops []demandStopDTO `json:"stops"`
}

type demandDTO struct {
	PostOfficeID string          `json:"post_office_id"`
	Date         string          `json:"date" format:"date" example:"2026-12-08"`
	Total        int             `json:"total"`
	Zones        []zoneDemandDTO `json:"zones"`
	Unzoned      []demandStopDTO `json:"unzoned"`
	OutsideArea  []demandStopDTO `json:"outside_area"`
}

func stopDTOs(stops []dispatch.Stop) []demandStopDTO {
	out := make([]demandStopDTO, 0, len(stops))
	for _, st := range stops {
		out = append(out, toDemandStopDTO(st))
	}
	return out
}

func toDemandDTO(d dispatch.Demand) demandDTO {
	dto := demandDTO{PostOfficeID: d.PostOfficeID.String(), Date: d.Day.Format(dateLayout), Total: len(d.All()),
		Zones: []zoneDemandDTO{}, Unzoned: stopDTOs(d.Unzoned), OutsideArea: stopDTOs(d.OutsideArea)}
	for _, z := range d.Zones {
		dto.Zones = append(dto.Zones, zoneDemandDTO{Zone: toZoneDTO(z.Zone), Stops: stopDTOs(z.Stops)})
	}
	return dto
}

// stopRefDTO is what every answer about a plan says of a stop, so that a client can show
// it by its receipt code, where it is and how urgent, whether or not the stop is still open.
type stopRefDTO struct {
	TaskID      string    `json:"task_id"`
	DossierID   string    `json:"dossier_id"`
	ReceiptCode string    `json:"receipt_code" example:"7K3M-9QX2-D" doc:"the dossier's receipt code; empty for a plan made before codes were kept with it"`
	Kind        string    `json:"kind" enum:"pickup,dropoff,collection,delivery" example:"delivery"`
	Location    *pointDTO `json:"location"`
	Slot        *slotDTO  `json:"slot,omitempty"`
	Risk        string    `json:"risk,omitempty" enum:"overdue,due_today,at_risk,on_track" example:"due_today" doc:"how the dossier's deadline stood on the planned day"`
}

func toStopRefDTO(r dispatch.StopRef) stopRefDTO {
	return stopRefDTO{TaskID: r.TaskID.String(), DossierID: r.DossierID.String(), ReceiptCode: r.Receipt, Kind: string(r.Kind),
		Location: toPointDTO(r.Location), Slot: toSlotDTO(r.Slot), Risk: string(r.Risk)}
}

type plannedStopDTO struct {
	stopRefDTO
	Arrival        time.Time `json:"arrival"`
	ServiceStart   time.Time `json:"service_start"`
	Departure      time.Time `json:"departure"`
	WaitSeconds    int       `json:"wait_seconds"`
	LoadAfter      int       `json:"load_after"`
	DossierVersion int       `json:"dossier_version"`
	LateMinutes    int       `json:"late_minutes"` // service begins this long after the slot's end (a hand edit's consequence)
	Pinned         bool      `json:"pinned"`
	Trip           int       `json:"trip" example:"1" doc:"which load of the courier's day the stop belongs to, from 1"`
}

type reloadDTO struct {
	Trip      int       `json:"trip" example:"2" doc:"the trip this return to the post office starts"`
	Arrival   time.Time `json:"arrival" doc:"back at the post office"`
	Departure time.Time `json:"departure" doc:"leaves it again, unloaded and loaded"`
	LoadAfter int       `json:"load_after" doc:"items on board when leaving"`
}

type routeDTO struct {
	CourierID       string           `json:"courier_id"`
	Stops           []plannedStopDTO `json:"stops"`
	Trips           int              `json:"trips" example:"2" doc:"how many loads the route takes"`
	Reloads         []reloadDTO      `json:"reloads" doc:"the returns to the post office between trips, in order"`
	Line            json.RawMessage  `json:"line" doc:"the route as a GeoJSON LineString"`
	DistanceM       int              `json:"distance_m"`
	DurationSeconds int              `json:"duration_seconds"`
	Depart          time.Time        `json:"depart"`
	Return          time.Time        `json:"return"`
	Locked          bool             `json:"locked"`
	Released        bool             `json:"released"`
	OverloadItems   int              `json:"overload_items"`
	OverShiftMin    int              `json:"over_shift_minutes"`
	LateStops       int              `json:"late_stops"`
}

type unplannedDTO struct {
	stopRefDTO
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type planDTO struct {
	ID               string         `json:"id"`
	PostOfficeID     string         `json:"post_office_id"`
	Date             string         `json:"date" format:"date" example:"2026-12-08"`
	State            string         `json:"state" enum:"planning,draft,published,superseded,failed" example:"draft"`
	Seed             uint64         `json:"seed"`
	TimeLimitMs      int64          `json:"time_limit_ms"`
	MaxTrips         int            `json:"max_trips" doc:"how many loads a courier may take in the day"`
	ReloadMinutes    float64        `json:"reload_minutes" doc:"how long reloading at the post office between two trips takes"`
	SolveMs          int64          `json:"solve_ms"`
	Travel           string         `json:"travel,omitempty" enum:"osrm,straight_line" example:"osrm" doc:"what the times and distances were measured on: the routing engine's roads, or straight lines × the road factor; absent when the plan routed nothing, or was made before it was kept"`
	TravelFallback   string         `json:"travel_fallback,omitempty" enum:"no_engine,too_many_points,osrm_timeout,osrm_error,osrm_garbage" doc:"why the plan is on straight lines: no engine configured, more points than the engine is asked for, or the engine timed out, failed or answered garbage"`
	Routes           []routeDTO     `json:"routes"`
	Unplanned        []unplannedDTO `json:"unplanned"`
	DistanceM        int            `json:"distance_m"`
	DurationSeconds  int            `json:"duration_seconds"`
	CreatedBy        string         `json:"created_by"`
	CreatedAt        time.Time      `json:"created_at"`
	PublishedBy      string         `json:"published_by,omitempty"`
	PublishedAt      *time.Time     `json:"published_at,omitempty"`
	Version          int            `json:"version"`
	PlannedStopCount int            `json:"planned_stops"`
	Progress         *progressDTO   `json:"progress,omitempty" doc:"the search's latest news while planning, its last once made"`
	Failure          string         `json:"failure,omitempty" doc:"why a failed plan could not be made"`
}

// progressDTO is a plan's search as it runs: what the plan_progress live event carries,
// and the points its routes index.
type progressDTO struct {
	Phase          string             `json:"phase" enum:"gather,construct,improve,done,stopped,failed" doc:"gathering the stops and travel, building a first plan, improving it, then done, stopped early or failed"`
	ElapsedMs      int64              `json:"elapsed_ms" doc:"of the search"`
	LimitMs        int64              `json:"limit_ms" doc:"the search's time limit"`
	Iterations     int                `json:"iterations" doc:"rounds of the search when its best was found"`
	DistanceM      int                `json:"distance_m" doc:"of the best routes so far"`
	PlannedStops   int                `json:"planned_stops"`
	UnplannedStops int                `json:"unplanned_stops" doc:"stops still out of the best routes so far"`
	Routes         []progressRouteDTO `json:"routes" doc:"the best routes so far, as indexes of points"`
	Points         [][2]float64       `json:"points" doc:"[lon, lat] of the post office (0), then of each stop the search routes"`
}

type progressRouteDTO struct {
	CourierID string `json:"courier_id"`
	Stops     []int  `json:"stops" doc:"indexes of the progress's points, in the route's order"`
}

func toProgressDTO(p *dispatch.PlanProgress) *progressDTO {
	if p == nil {
		return nil
	}
	dto := &progressDTO{Phase: p.Phase, ElapsedMs: p.Elapsed.Milliseconds(), LimitMs: p.Limit.Milliseconds(), Iterations: p.Iterations,
		DistanceM: int(p.DistanceM + 0.5), PlannedStops: p.Planned, UnplannedStops: p.Unplanned, Routes: []progressRouteDTO{}, Points: [][2]float64{}}
	for _, r := range p.Routes {
		dto.Routes = append(dto.Routes, progressRouteDTO{CourierID: r.CourierID.String(), Stops: r.Stops})
	}
	for _, pt := range p.Points {
		dto.Points = append(dto.Points, [2]float64{pt.Lon(), pt.Lat()})
	}
	return dto
}

func toPlanDTO(p dispatch.Plan) planDTO {
	dto := planDTO{ID: p.ID.String(), PostOfficeID: p.PostOfficeID.String(), Date: p.Day.Format(dateLayout), State: string(p.State),
		Seed: p.Seed, TimeLimitMs: p.TimeLimit.Milliseconds(), MaxTrips: p.MaxTrips, ReloadMinutes: p.Reload.Minutes(), SolveMs: p.SolveTime.Milliseconds(),
		Travel: p.Travel.Source, TravelFallback: p.Travel.Fallback, Routes: []routeDTO{},
		Unplanned: []unplannedDTO{}, DistanceM: int(p.DistanceM + 0.5), DurationSeconds: int(p.Duration.Seconds()),
		CreatedBy: idText(p.CreatedBy), CreatedAt: p.CreatedAt, PublishedBy: idText(p.PublishedBy), PublishedAt: p.PublishedAt, Version: p.Version,
		Progress: toProgressDTO(p.Progress), Failure: p.Failure}
	for _, r := range p.Routes {
		line, _ := geojson.NewGeometry(r.Line).MarshalJSON()
		rd := routeDTO{CourierID: r.CourierID.String(), Stops: []plannedStopDTO{}, Trips: len(r.Reloads) + 1, Reloads: []reloadDTO{}, Line: line, DistanceM: int(r.DistanceM + 0.5),
			DurationSeconds: int(r.Duration.Seconds()), Depart: r.Depart, Return: r.Return, Locked: r.Locked, Released: r.Released, OverloadItems: r.Overload,
			OverShiftMin: int(math.Ceil(r.OverShift.Minutes()))}
		for _, rl := range r.Reloads {
			rd.Reloads = append(rd.Reloads, reloadDTO{Trip: rl.Trip, Arrival: rl.Arrival, Departure: rl.Departure, LoadAfter: rl.Load})
		}
		trips := r.Trips()
		for i, st := range r.Stops {
			rd.Stops = append(rd.Stops, plannedStopDTO{stopRefDTO: toStopRefDTO(st.StopRef), Arrival: st.Arrival, ServiceStart: st.Start, Departure: st.Departure,
				WaitSeconds: int(st.Start.Sub(st.Arrival).Seconds()), LoadAfter: st.Load, DossierVersion: st.DossierVersion,
				LateMinutes: int(math.Ceil(st.LateBy.Minutes())), Pinned: st.Pinned, Trip: trips[i]})
			if st.LateBy > 0 {
				rd.LateStops++
			}
		}
		dto.PlannedStopCount += len(r.Stops)
		dto.Routes = append(dto.Routes, rd)
	}
	for _, u := range p.Unplanned {
		dto.Unplanned = append(dto.Unplanned, unplannedDTO{stopRefDTO: toStopRefDTO(u.StopRef), Reason: u.Reason, Detail: u.Detail})
	}
	return dto
}

type positionDTO struct {
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	At         time.Time `json:"at"`
	AccuracyM  float64   `json:"accuracy_m"`
	BatteryPct *int      `json:"battery_pct,omitempty"`
}

func toPositionDTO(p dispatch.Position) positionDTO {
	return positionDTO{Lat: p.Location.Lat(), Lon: p.Location.Lon(), At: p.At, AccuracyM: p.AccuracyM, BatteryPct: p.BatteryPct}
}

// courierPositionDTO is where one courier was last seen.
type courierPositionDTO struct {
	CourierID string `json:"courier_id"`
	positionDTO
}

type liveStopDTO struct {
	stopRefDTO
	State                string    `json:"state"`
	PlannedArrival       time.Time `json:"planned_arrival"`
	PredictedArrival     time.Time `json:"predicted_arrival"`
	PredictedLateMinutes int       `json:"predicted_late_minutes"`
}

type liveRouteDTO struct {
	CourierID         string        `json:"courier_id"`
	Position          *positionDTO  `json:"position"`
	Done              int           `json:"done"`
	Failed            int           `json:"failed"`
	Remaining         []liveStopDTO `json:"remaining"`
	BehindPlanMinutes int           `json:"behind_plan_minutes"`
	PredictedReturn   *time.Time    `json:"predicted_return,omitempty"`
}

// liveDTO is the published plan of a day as it runs: where each courier is and when
// each stop left is now expected.
type liveDTO struct {
	PlanID string         `json:"plan_id"`
	Date   string         `json:"date" format:"date" example:"2026-12-08"`
	AsOf   time.Time      `json:"as_of"`
	Routes []liveRouteDTO `json:"routes"`
}

func toLiveDTO(l dispatch.Live) liveDTO {
	routes := []liveRouteDTO{}
	for _, r := range l.Routes {
		rd := liveRouteDTO{CourierID: r.CourierID.String(), Done: r.Done, Failed: r.Failed, Remaining: []liveStopDTO{},
			BehindPlanMinutes: int(r.BehindPlan.Minutes())}
		if r.Position != nil {
			pos := toPositionDTO(*r.Position)
			rd.Position = &pos
		}
		if !r.PredictedReturn.IsZero() {
			rd.PredictedReturn = &r.PredictedReturn
		}
		for _, st := range r.Remaining {
			rd.Remaining = append(rd.Remaining, liveStopDTO{stopRefDTO: toStopRefDTO(st.StopRef),
				State: string(st.State), PlannedArrival: st.Arrival,
				PredictedArrival: st.Predicted, PredictedLateMinutes: int(math.Ceil(st.PredictedLate.Minutes()))})
		}
		routes = append(routes, rd)
	}
	return liveDTO{PlanID: l.PlanID.String(), Date: l.Day.Format(dateLayout), AsOf: l.AsOf, Routes: routes}
}

type routeOutcomeDTO struct {
	CourierID              string   `json:"courier_id"`
	PlannedDistanceM       int      `json:"planned_distance_m"`
	ActualDistanceM        int      `json:"actual_distance_m"`
	PlannedDurationSeconds int      `json:"planned_duration_seconds"`
	ActualDurationSeconds  int      `json:"actual_duration_seconds"`
	Planned                int      `json:"planned_stops"`
	Done                   int      `json:"done"`
	Failed                 int      `json:"failed"`
	OnTime                 int      `json:"on_time"`
	OnTimeRate             *float64 `json:"on_time_rate" doc:"of the stops done; null before any"`
}

// outcomesDTO is how a day's published plan went, route by route.
type outcomesDTO struct {
	PlanID string            `json:"plan_id"`
	Date   string            `json:"date" format:"date" example:"2026-12-08"`
	Routes []routeOutcomeDTO `json:"routes"`
}

func toOutcomesDTO(o dispatch.Outcomes) outcomesDTO {
	routes := []routeOutcomeDTO{}
	for _, r := range o.Routes {
		dto := routeOutcomeDTO{CourierID: r.CourierID.String(), PlannedDistanceM: int(r.PlannedDistanceM + 0.5), ActualDistanceM: int(r.ActualDistanceM + 0.5),
			PlannedDurationSeconds: int(r.PlannedDuration.Seconds()), ActualDurationSeconds: int(r.ActualDuration.Seconds()),
			Planned: r.Planned, Done: r.Done, Failed: r.Failed, OnTime: r.OnTime}
		if r.Done > 0 {
			rate := float64(r.OnTime) / float64(r.Done)
			dto.OnTimeRate = &rate
		}
		routes = append(routes, dto)
	}
	return outcomesDTO{PlanID: o.PlanID.String(), Date: o.Day.Format(dateLayout), Routes: routes}
}

type newPlanBody struct {
	PostOfficeID string `json:"post_office_id"`
	Date         string `json:"date" format:"date" example:"2026-12-08"`
	TimeLimitMs  int    `json:"time_limit_ms" optional:"true" bound:"0..int4" column:"dispatch_plans.time_limit_ms" example:"2000" doc:"how long the solver may search; the default when 0"`
	Seed         uint64 `json:"seed" optional:"true" bound:"0..int8" column:"dispatch_plans.seed" doc:"the solver's seed: the same seed and stops give the same plan"`
	tripsBody
}

// tripsBody is how a plan request shapes the couriers' trips; absent, the settings'.
type tripsBody struct {
	MaxTrips      int  `json:"max_trips" optional:"true" bound:"0..int4" column:"dispatch_plans.max_trips" example:"3" doc:"how many loads a courier may take in the day, 1 to 5; the setting's when 0 or absent (a re-plan: the plan's)"`
	ReloadMinutes *int `json:"reload_minutes" optional:"true" bound:"0..int4" column:"-" example:"10" doc:"how long reloading at the post office between two trips takes, 0 to 120 minutes; the setting's when absent (a re-plan: the plan's)"`
}

// request fills req's trips from the body.
func (b tripsBody) request(req dispatch.PlanRequest) dispatch.PlanRequest {
	req.MaxTrips = b.MaxTrips
	if b.ReloadMinutes != nil {
		reload := time.Duration(*b.ReloadMinutes) * time.Minute
		req.Reload = &reload
	}
	return req
}

type publishBody struct {
	Version int `json:"version" bound:"-int4..int4" column:"dispatch_plans.version"`
}

type routeEditBody struct {
	Version int      `json:"version" bound:"-int4..int4" column:"dispatch_plans.version"`
	TaskIDs []string `json:"task_ids" doc:"the courier's stops, in the order they are to be made"`
	Trips   []int    `json:"trips" optional:"true" bound:"0..int4" column:"tasks.route_trip" doc:"each stop's trip, from 1 (the same as the previous stop's or the next); absent: a new trip begins where the bag would overflow"`
	Locked  bool     `json:"locked" optional:"true" doc:"re-planning leaves a locked route as it is"`
}

type insertBody struct {
	Version int    `json:"version" bound:"-int4..int4" column:"dispatch_plans.version"`
	TaskID  string `json:"task_id"`
}

type releaseBody struct {
	Version   int    `json:"version" bound:"-int4..int4" column:"dispatch_plans.version"`
	CourierID string `json:"courier_id"`
}

type replanBody struct {
	Version     int    `json:"version" bound:"-int4..int4" column:"dispatch_plans.version"`
	TimeLimitMs int    `json:"time_limit_ms" optional:"true" bound:"0..int4" column:"dispatch_plans.time_limit_ms" example:"2000"`
	Seed        uint64 `json:"seed" optional:"true" bound:"0..int8" column:"dispatch_plans.seed"`
	tripsBody
}

// outlinesDTO is the map's base layer: a GeoJSON FeatureCollection (RFC 7946) of the post
// offices' service areas and their zones.
type outlinesDTO struct {
	Type     string              `json:"type" enum:"FeatureCollection"`
	Features []outlineFeatureDTO `json:"features"`
}

type outlineFeatureDTO struct {
	Type       string          `json:"type" enum:"Feature"`
	Geometry   json.RawMessage `json:"geometry" doc:"a GeoJSON MultiPolygon"`
	Properties outlineDTO      `json:"properties"`
}

type outlineDTO struct {
	Kind         string `json:"kind" enum:"service_area,zone" example:"service_area"`
	Name         string `json:"name" example:"Bưu cục Hoàn Kiếm"`
	PostOfficeID string `json:"post_office_id" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
}

// queryOffice reads the post_office_id query parameter, which is required.
func queryOffice(c *fiber.Ctx, p *domain.Problems) uuid.UUID {
	p.Check(c.Query("post_office_id") != "", "post_office_id", "is required")
	return optionalID(p, "post_office_id", c.Query("post_office_id"))
}

// officeParam and officeAndDayParams document queryOffice's and officeAndDay's parameters.
var (
	officeParam        = param("post_office_id", "", "the post office (a UUID; required)")
	officeAndDayParams = []queryParam{officeParam, dateParam("date", "the day (required)")}
)

// officeAndDay reads the post_office_id and date query parameters, both required.
func officeAndDay(c *fiber.Ctx) (uuid.UUID, time.Time, error) {
	var p domain.Problems
	office := queryOffice(c, &p)
	day := queryDate(c, &p, "date")
	p.Check(c.Query("date") != "", "date", "is required, as YYYY-MM-DD")
	return office, day, p.Err()
}

// bbox reads "west,south,east,north" in degrees.
func bbox(p *domain.Problems, raw string) orb.Bound {
	parts := strings.Split(raw, ",")
	var v [4]float64
	ok := len(parts) == 4
	for i := 0; ok && i < 4; i++ {
		f, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		ok = err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
		v[i] = f
	}
	p.Check(ok, "bbox", "four numbers: west,south,east,north in degrees")
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
}

// maxPlanWait bounds Prefer: wait: the longest search, its gathering and a queue's wait.
const maxPlanWait = 2 * time.Minute

// planWaitPoll is how often a request that waits for its plan reads it.
const planWaitPoll = 100 * time.Millisecond

// answerPlanning answers a plan asked for: at once, 202 with the plan planning; or, when
// the request prefers to wait (RFC 7240, "Prefer: wait=N"), once the plan is made or
// failed (201) or when the N seconds are up (202). The plan is made on the plan workers
// either way, which may be another process's: the request reads it until it is made.
func answerPlanning(c *fiber.Ctx, svc *dispatch.Service, plan dispatch.Plan) error {
	c.Location("/v1/dispatch/plans/" + plan.ID.String())
	if wait := preferWait(c.Get("Prefer")); wait > 0 {
		ctx := c.UserContext()
		deadline := time.Now().Add(min(wait, maxPlanWait))
		for plan.State == dispatch.PlanPlanning && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(planWaitPoll):
			}
			read, err := svc.Plan(ctx, plan.ID)
			if err != nil {
				return err
			}
			plan = read
		}
	}
	if plan.State == dispatch.PlanPlanning {
		return c.Status(fiber.StatusAccepted).JSON(toPlanDTO(plan))
	}
	return c.Status(fiber.StatusCreated).JSON(toPlanDTO(plan))
}

// preferWait is the wait preference of a Prefer header (RFC 7240: "wait=N", seconds),
// zero when there is none.
func preferWait(header string) time.Duration {
	for _, pref := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(pref), "=")
		if strings.EqualFold(strings.TrimSpace(name), "wait") {
			if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(value), `"`)); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

func mountDispatch(rt *router, svc *dispatch.Service, limiter *auth.Limiter) {
	planners := staff(auth.RoleAdmin, auth.RoleDispatcher)
	// The map's own base layer, for the console and the applicants' page alike: public
	// geography, so it may be cached along the way.
	rt.get("/map/outlines", public, func(c *fiber.Ctx) error {
		if err := limiter.Allow(c.UserContext(), auth.LimitKey{Scope: "outlines-source", Value: c.IP(), Rule: auth.OutlinesPerSource}); err != nil {
			return err
		}
		var p domain.Problems
		view := bbox(&p, c.Query("bbox"))
		if err := p.Err(); err != nil {
			return err
		}
		outlines, err := svc.Outlines(c.UserContext(), view)
		if err != nil {
			return err
		}
		shapes := outlinesDTO{Type: "FeatureCollection", Features: make([]outlineFeatureDTO, len(outlines))}
		for i, o := range outlines {
			area, err := geojson.NewGeometry(o.Area).MarshalJSON()
			if err != nil {
				return err
			}
			shapes.Features[i] = outlineFeatureDTO{Type: "Feature", Geometry: area,
				Properties: outlineDTO{Kind: string(o.Kind), Name: o.Name, PostOfficeID: o.PostOfficeID.String()}}
		}
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.JSON(shapes)
	}).doc("The map's outlines in view: service areas and zones, as GeoJSON (cacheable for 5 minutes)").
		params(param("bbox", "", "the view: west,south,east,north in degrees (required)")).
		answers(fiber.StatusOK, outlinesDTO{}).fails(domain.CodeTooManyAttempts)
	rt.get("/post-offices/:key/zones", planners, byID("post office", func(c *fiber.Ctx, id uuid.UUID) error {
		zones, err := svc.Zones(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]zoneDTO, 0, len(zones))
		for _, z := range zones {
			out = append(out, toZoneDTO(z))
		}
		return c.JSON(itemsBody[zoneDTO]{Items: out})
	})).doc("A post office's delivery zones").answers(fiber.StatusOK, itemsBody[zoneDTO]{})
	rt.post("/post-offices/:key/zones", planners, byID("post office", func(c *fiber.Ctx, id uuid.UUID) error {
		var body newZoneBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		area := parseArea(&p, "area", body.Area)
		if err := p.Err(); err != nil {
			return err
		}
		z, err := svc.CreateZone(c.UserContext(), dispatch.Zone{PostOfficeID: id, Name: body.Name, Area: area})
		if err != nil {
			return err
		}
		c.Location("/v1/zones/" + z.ID.String())
		return c.Status(fiber.StatusCreated).JSON(toZoneDTO(z))
	})).doc("Draw a delivery zone within a post office's service area").takes(newZoneBody{}).
		answers(fiber.StatusCreated, zoneDTO{}).fails(domain.CodeConflict)
	rt.handle(fiber.MethodDelete, "/zones/:key", planners, byID("zone", func(c *fiber.Ctx, id uuid.UUID) error {
		if err := svc.DeleteZone(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})).doc("Remove a delivery zone").answers(fiber.StatusNoContent, nil)
	rt.get("/dispatch/demand", planners, func(c *fiber.Ctx) error {
		office, day, err := officeAndDay(c)
		if err != nil {
			return err
		}
		d, err := svc.Demand(c.UserContext(), office, day)
		if err != nil {
			return err
		}
		return c.JSON(toDemandDTO(d))
	}).doc("A post office's stops for a day, by zone").params(officeAndDayParams...).
		answers(fiber.StatusOK, demandDTO{}).fails(domain.CodeNotFound)
	rt.get("/dispatch/outcomes", planners, func(c *fiber.Ctx) error {
		office, day, err := officeAndDay(c)
		if err != nil {
			return err
		}
		o, err := svc.Outcomes(c.UserContext(), office, day)
		if err != nil {
			return err
		}
		return c.JSON(toOutcomesDTO(o))
	}).doc("How a day's published plan went: planned against done, route by route").params(officeAndDayParams...).
		answers(fiber.StatusOK, outcomesDTO{}).fails(domain.CodeNotFound)
	rt.get("/dispatch/positions", planners, func(c *fiber.Ctx) error {
		var p domain.Problems
		office := queryOffice(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		positions, err := svc.Positions(c.UserContext(), office)
		if err != nil {
			return err
		}
		items := make([]courierPositionDTO, 0, len(positions))
		for id, pos := range positions {
			items = append(items, courierPositionDTO{CourierID: id.String(), positionDTO: toPositionDTO(pos)})
		}
		slices.SortFunc(items, func(a, b courierPositionDTO) int { return strings.Compare(a.CourierID, b.CourierID) })
		return c.JSON(itemsBody[courierPositionDTO]{Items: items})
	}).doc("Where a post office's couriers were last seen").params(officeParam).
		answers(fiber.StatusOK, itemsBody[courierPositionDTO]{}).fails(domain.CodeNotFound)
	rt.get("/dispatch/live", planners, func(c *fiber.Ctx) error {
		office, day, err := officeAndDay(c)
		if err != nil {
			return err
		}
		live, err := svc.Live(c.UserContext(), office, day)
		if err != nil {
			return err
		}
		return c.JSON(toLiveDTO(live))
	}).doc("A day's published plan as it runs, with arrivals predicted from the couriers' positions").params(officeAndDayParams...).
		answers(fiber.StatusOK, liveDTO{}).fails(domain.CodeNotFound)
	rt.post("/dispatch/plans", planners, func(c *fiber.Ctx) error {
		var body newPlanBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		office := optionalID(&p, "post_office_id", body.PostOfficeID)
		p.Check(body.PostOfficeID != "", "post_office_id", "is required")
		day := parseDate(&p, "date", body.Date)
		p.Check(body.TimeLimitMs >= 0, "time_limit_ms", "must not be negative")
		if err := p.Err(); err != nil {
			return err
		}
		plan, err := svc.PlanDay(c.UserContext(), body.request(dispatch.PlanRequest{PostOfficeID: office, Day: day,
			TimeLimit: time.Duration(body.TimeLimitMs) * time.Millisecond, Seed: body.Seed}))
		if err != nil {
			return err
		}
		return answerPlanning(c, svc, plan)
	}).doc("Ask for a plan of a post office's day: answered at once (202, planning) and made on the plan workers; "+
		"Prefer: wait=N (seconds) waits up to N for the draft (201)").takes(newPlanBody{}).
		answers(fiber.StatusAccepted, planDTO{}).answers(fiber.StatusCreated, planDTO{}).fails(domain.CodeNotFound, dispatch.CodePlanRunning)
	rt.get("/dispatch/plans", planners, func(c *fiber.Ctx) error {
		office, day, err := officeAndDay(c)
		if err != nil {
			return err
		}
		plans, err := svc.Plans(c.UserContext(), office, day)
		if err != nil {
			return err
		}
		out := make([]planDTO, 0, len(plans))
		for _, p := range plans {
			out = append(out, toPlanDTO(p))
		}
		return c.JSON(itemsBody[planDTO]{Items: out})
	}).doc("A post office's plans for a day").params(officeAndDayParams...).
		answers(fiber.StatusOK, itemsBody[planDTO]{}).fails(domain.CodeNotFound)
	rt.get("/dispatch/plans/:key", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		plan, err := svc.Plan(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toPlanDTO(plan))
	})).doc("One plan").answers(fiber.StatusOK, planDTO{})
	rt.put("/dispatch/plans/:key/routes/:courier", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		var body routeEditBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		courier := optionalID(&p, "courier", c.Params("courier"))
		tasks := ids(&p, "task_ids", body.TaskIDs)
		p.Check(body.Version > 0, "version", "send the version of the plan you edit")
		if err := p.Err(); err != nil {
			return err
		}
		plan, err := svc.EditRoute(c.UserContext(), id, body.Version, dispatch.RouteEdit{CourierID: courier, TaskIDs: tasks, Trips: body.Trips, Locked: body.Locked})
		if err != nil {
			return err
		}
		return c.JSON(toPlanDTO(plan))
	})).doc("Set a courier's route in a draft plan by hand (send the plan's version)").takes(routeEditBody{}).
		answers(fiber.StatusOK, planDTO{}).fails(dispatch.CodePlanNotDraft, domain.CodeVersionConflict, domain.CodeConflict)
	rt.post("/dispatch/plans/:key/replan", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		var body replanBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		p.Check(body.Version > 0, "version", "send the version of the plan you re-plan")
		p.Check(body.TimeLimitMs >= 0, "time_limit_ms", "must not be negative")
		if err := p.Err(); err != nil {
			return err
		}
		plan, err := svc.Replan(c.UserContext(), id, body.Version, body.request(dispatch.PlanRequest{
			TimeLimit: time.Duration(body.TimeLimitMs) * time.Millisecond, Seed: body.Seed}))
		if err != nil {
			return err
		}
		return answerPlanning(c, svc, plan)
	})).doc("Ask for a draft's day planned again around its locked routes: a new plan, made as POST /v1/dispatch/plans makes one").takes(replanBody{}).
		answers(fiber.StatusAccepted, planDTO{}).answers(fiber.StatusCreated, planDTO{}).
		fails(dispatch.CodePlanNotDraft, domain.CodeVersionConflict, domain.CodeConflict, dispatch.CodePlanRunning)
	rt.post("/dispatch/plans/:key/stop", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		plan, err := svc.StopPlan(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(toPlanDTO(plan))
	})).doc("Stop a plan being made: its search ends at its next progress and the best routes so far are kept as its draft").
		answers(fiber.StatusAccepted, planDTO{}).fails(dispatch.CodePlanNotRunning)
	rt.post("/dispatch/plans/:key/insert", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		var body insertBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		task := optionalID(&p, "task_id", body.TaskID)
		p.Check(body.TaskID != "", "task_id", "is required")
		p.Check(body.Version > 0, "version", "send the version of the plan you change")
		if err := p.Err(); err != nil {
			return err
		}
		plan, err := svc.Insert(c.UserContext(), id, body.Version, task)
		if err != nil {
			return err
		}
		return c.JSON(toPlanDTO(plan))
	})).doc("Put a new stop into the running plan where it costs least").takes(insertBody{}).
		answers(fiber.StatusOK, planDTO{}).fails(domain.CodeVersionConflict, domain.CodeConflict)
	rt.post("/dispatch/plans/:key/release", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		var body releaseBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		courier := optionalID(&p, "courier_id", body.CourierID)
		p.Check(body.CourierID != "", "courier_id", "is required")
		p.Check(body.Version > 0, "version", "send the version of the plan you change")
		if err := p.Err(); err != nil {
			return err
		}
		plan, err := svc.Release(c.UserContext(), id, body.Version, courier)
		if err != nil {
			return err
		}
		return c.JSON(toPlanDTO(plan))
	})).doc("Release a courier from the running plan: their stops left go back to be planned").takes(releaseBody{}).
		answers(fiber.StatusOK, planDTO{}).fails(domain.CodeVersionConflict, domain.CodeConflict)
	rt.post("/dispatch/plans/:key/publish", planners, byID("plan", func(c *fiber.Ctx, id uuid.UUID) error {
		var body publishBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		if body.Version <= 0 {
			return domain.Invalid("version", "send the version of the plan you publish")
		}
		plan, err := svc.Publish(c.UserContext(), id, body.Version)
		if err != nil {
			return err
		}
		return c.JSON(toPlanDTO(plan))
	})).doc("Publish a draft plan: its stops go to the couriers' devices").takes(publishBody{}).
		answers(fiber.StatusOK, planDTO{}).
		fails(dispatch.CodePlanNotDraft, dispatch.CodePlanStale, domain.CodeVersionConflict, domain.CodeConflict)
}
