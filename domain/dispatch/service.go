package dispatch

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// Service is the dispatch area's rules.
type Service struct {
	store    Store
	catalog  *catalog.Catalog
	dossiers *dossier.Service
	cfg      Config
	clock    dossier.ClockConfig
	now      func() time.Time
	newID    func() uuid.UUID
	alerts   AlertStore
	nudged   *nudges
}

func NewService(store Store, cat *catalog.Catalog, dossiers *dossier.Service, cfg Config, clock dossier.ClockConfig, now func() time.Time, newID func() uuid.UUID) *Service {
	s := &Service{store: store, catalog: cat, dossiers: dossiers, cfg: cfg.withDefaults(), clock: clock,
		now: func() time.Time { return now().Truncate(time.Microsecond) }, newID: newID, alerts: store}
	s.nudged = newNudges(func(ctx context.Context, office uuid.UUID) error {
		_, err := s.CheckDelays(ctx, office)
		return err
	})
	return s
}

func system(ctx context.Context) context.Context { return auth.WithPrincipal(ctx, auth.System) }

// office checks that the caller plans for the post office, and returns it. A dispatcher
// of another office learns nothing of this one: NOT_FOUND, as for an unknown id.
func (s *Service) office(ctx context.Context, id uuid.UUID) (catalog.PostOffice, auth.Principal, error) {
	p := auth.PrincipalFrom(ctx)
	if !p.Is(auth.RoleAdmin) && !p.PlansFor(id) {
		if !p.Is(auth.RoleDispatcher) {
			return catalog.PostOffice{}, p, domain.Errorf(domain.CodeForbidden, "only dispatchers and admins plan routes")
		}
		return catalog.PostOffice{}, p, domain.Errorf(domain.CodeNotFound, "no such post office")
	}
	o, err := s.catalog.PostOffices.Get(system(ctx), id.String())
	return o, p, err
}

// Zones lists a post office's zones.
func (s *Service) Zones(ctx context.Context, postOffice uuid.UUID) ([]Zone, error) {
	if _, _, err := s.office(ctx, postOffice); err != nil {
		return nil, err
	}
	return s.store.Zones(ctx, postOffice)
}

// Outline bounds: a map view asks for a city's worth of outlines at most, and the post
// offices around it are those whose building lies within reach of the view (a service
// area spreads at most about 20 km from its office).
const (
	outlineSpanMax   = 1.0 // degrees of latitude or longitude a view may span
	outlineReach     = 0.2 // degrees around the view where offices are looked for
	outlineOfficeMax = 200 // offices in one answer
)

// Outlines are the shapes a map draws when it has no tiles: the service areas and zones
// of the post offices around view. Anybody may read them.
func (s *Service) Outlines(ctx context.Context, view orb.Bound) ([]Outline, error) {
	var p domain.Problems
	p.Check(view.Min.Lon() >= -180 && view.Max.Lon() <= 180 && view.Min.Lat() >= -90 && view.Max.Lat() <= 90 &&
		view.Min.Lon() <= view.Max.Lon() && view.Min.Lat() <= view.Max.Lat(), "bbox", "west,south,east,north in degrees, west before east and south before north")
	p.Check(view.Max.Lon()-view.Min.Lon() <= outlineSpanMax && view.Max.Lat()-view.Min.Lat() <= outlineSpanMax, "bbox", "at most one degree across")
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.store.Outlines(ctx, view.Pad(outlineReach), outlineOfficeMax)
}

// CreateZone adds a zone to a post office: a named area that lies within the office's
// service area (its outline may run along the area's edge).
func (s *Service) CreateZone(ctx context.Context, z Zone) (Zone, error) {
	o, p, err := s.office(ctx, z.PostOfficeID)
	if err != nil {
		return Zone{}, err
	}
	var probs domain.Problems
	z.Name = strings.TrimSpace(z.Name)
	probs.Check(z.Name != "" && utf8.RuneCountInString(z.Name) <= 120, "name", "is required, at most 120 characters")
	catalog.CheckArea(&probs, "area", z.Area)
	if err := probs.Err(); err != nil {
		return Zone{}, err
	}
	if !within(z.Area, o.ServiceArea) {
		return Zone{}, domain.Invalid("area", "must lie within the post office's service area")
	}
	z.ID, z.Version, z.UpdatedAt = s.newID(), 1, s.now()
	entry := auditEntry(p, z.UpdatedAt, "zone.create", "zone", z.ID, map[string]any{"post_office_id": z.PostOfficeID.String(), "name": z.Name})
	if err := s.store.CreateZone(ctx, z, entry); err != nil {
		if domain.ErrorCode(err) == domain.CodeConflict {
			return Zone{}, domain.Errorf(domain.CodeConflict, "this post office already has a zone named %q", z.Name)
		}
		return Zone{}, err
	}
	return z, nil
}

// DeleteZone removes a zone; its stops fall back to the rest of the service area.
func (s *Service) DeleteZone(ctx context.Context, id uuid.UUID) error {
	z, err := s.store.Zone(ctx, id)
	if err != nil {
		return err
	}
	_, p, err := s.office(ctx, z.PostOfficeID)
	if err != nil {
		return err
	}
	entry := auditEntry(p, s.now(), "zone.delete", "zone", id, nil)
	_, err = s.store.DeleteZone(ctx, id, entry)
	return err
}

// within reports whether every vertex of inner lies in outer or on its edge: zones are
// drawn by hand along the area's outline, so a vertex a few centimetres out is allowed.
func within(inner, outer orb.MultiPolygon) bool {
	const edge = 1e-6 // degrees, about 10 cm
	for _, poly := range inner {
		for _, ring := range poly {
			for _, pt := range ring {
				if !planar.MultiPolygonContains(outer, pt) && planar.DistanceFrom(outer, pt) > edge {
					return false
				}
			}
		}
	}
	return true
}

// Demand is a post office's open stops for a day, grouped by zone, each with its slot,
// deadline and how the deadline stands that day. Only stops a plan may take are listed:
// pickups not yet made, results ready at the agency, results waiting at the post office.
func (s *Service) Demand(ctx context.Context, postOffice uuid.UUID, day time.Time) (Demand, error) {
	o, _, err := s.office(ctx, postOffice)
	if err != nil {
		return Demand{}, err
	}
	day = catalog.CivilDate(day)
	zones, err := s.store.Zones(ctx, postOffice)
	if err != nil {
		return Demand{}, err
	}
	stops, err := s.stops(ctx, postOffice, day)
	if err != nil {
		return Demand{}, err
	}
	d := Demand{PostOfficeID: postOffice, Day: day, Zones: make([]ZoneDemand, len(zones))}
	for i, z := range zones {
		d.Zones[i].Zone = z
	}
	for _, st := range stops {
		placed := false
		for i, z := range zones {
			if planar.MultiPolygonContains(z.Area, st.Location) {
				st.ZoneID = z.ID
				d.Zones[i].Stops = append(d.Zones[i].Stops, st)
				placed = true
				break
			}
		}
		switch {
		case placed:
		case planar.MultiPolygonContains(o.ServiceArea, st.Location):
			d.Unzoned = append(d.Unzoned, st)
		default:
			d.OutsideArea = append(d.OutsideArea, st)
		}
	}
	return d, nil
}

// stops reads the office's plannable stops for day, in a stable order.
func (s *Service) stops(ctx context.Context, postOffice uuid.UUID, day time.Time) ([]Stop, error) {
	dossiers, tasks, err := s.store.OpenTasks(ctx, postOffice, day)
	if err != nil {
		return nil, err
	}
	cal, err := s.catalog.Calendar(system(ctx), day.AddDate(0, -1, 0), day.AddDate(0, 3, 0))
	if err != nil {
		return nil, err
	}
	agencies := map[uuid.UUID]catalog.Agency{}
	var out []Stop
	for i, t := range tasks {
		d := dossiers[i]
		if !plannable(d, t) {
			continue
		}
		st := Stop{StopRef: StopRef{TaskID: t.ID, TaskVersion: t.Version, DossierID: d.ID, DossierVersion: d.Version, Kind: t.Kind,
			Location: d.Applicant.Location, Slot: t.Slot, Receipt: d.Receipt.String()}, State: t.State, CourierID: t.CourierID,
			Address: d.Applicant.Address, Deadline: d.NextDeadline()}
		if t.Kind == dossier.TaskCollection {
			a, ok := agencies[d.AgencyID]
			if !ok {
				if a, err = s.catalog.Agencies.Get(system(ctx), d.AgencyID.String()); err != nil {
					return nil, err
				}
				agencies[d.AgencyID] = a
			}
			st.Address, st.Location = a.Address, a.Location
		}
		st.Risk = riskOn(st.Deadline, day, cal, s.clock)
		// Taking the fee in cash, and handing a result over against an identity check, are
		// skills not every courier has.
		if t.Kind == dossier.TaskPickup && d.Payment == dossier.PayCashToCourier && d.DueVND() > 0 {
			st.Skills = []string{catalog.SkillCashCollection}
		}
		if t.Kind == dossier.TaskDelivery {
			st.Skills = []string{catalog.SkillIdentityCheck}
		}
		out = append(out, st)
	}
	return out, nil
}

// PlannableKinds are the kinds of stop a plan takes: a dossier's dropoff at the agency
// goes with a manifest, not on a route.
var PlannableKinds = []dossier.TaskKind{dossier.TaskPickup, dossier.TaskCollection, dossier.TaskDelivery}

// PlannableTaskStates are the states of a stop a plan may take: not made, not called off,
// and not under way.
var PlannableTaskStates = []dossier.TaskState{dossier.TaskOpen, dossier.TaskScheduled, dossier.TaskAssigned, dossier.TaskFailed}

// plannable reports whether a plan may take the task now: a pickup not yet made, a
// collection of a result (or a refused dossier) waiting at the agency, a delivery of a
// result waiting at the post office itself (not in some courier's bag) for an applicant
// who did not choose to collect it at the counter. Storage reads only stops of
// PlannableKinds in PlannableTaskStates; the dossier's side is decided here.
func plannable(d dossier.Dossier, t dossier.Task) bool {
	if !slices.Contains(PlannableKinds, t.Kind) || !slices.Contains(PlannableTaskStates, t.State) {
		return false
	}
	switch t.Kind {
	case dossier.TaskPickup:
		return slices.Contains([]dossier.State{dossier.StateRequested, dossier.StateScheduled, dossier.StateAssigned}, d.State)
	case dossier.TaskCollection:
		return d.Return && slices.Contains([]dossier.State{dossier.StateResultReady, dossier.StateRejectedIncomplete}, d.State)
	case dossier.TaskDelivery:
		return d.Holder.Kind == dossier.PartyPostOffice && d.DeliveryChoice != dossier.ChoicePostOffice &&
			slices.Contains([]dossier.State{dossier.StateResultAtPostOffice, dossier.StateRedeliveryScheduled}, d.State)
	}
	return false
}

// riskOn is how a deadline stands on day.
func riskOn(deadline *time.Time, day time.Time, cal catalog.Calendar, clock dossier.ClockConfig) Risk {
	if deadline == nil {
		return RiskOnTrack
	}
	for _, r := range []struct {
		due  dossier.Due
		risk Risk
	}{{dossier.DueOverdue, RiskOverdue}, {dossier.DueToday, RiskDueToday}, {dossier.DueAtRisk, RiskAtRisk}} {
		from, to := dossier.DueRange(r.due, day, cal, clock)
		if (from.IsZero() || !deadline.Before(from)) && (to.IsZero() || !deadline.After(to)) {
			return r.risk
		}
	}
	return RiskOnTrack
}

// checkDay refuses planning a day already past.
func checkDay(day, today time.Time) error {
	if day.IsZero() || day.Before(today) {
		return domain.Invalid("date", "must be today or later, as YYYY-MM-DD")
	}
	return nil
}

func auditEntry(p auth.Principal, at time.Time, action, kind string, id uuid.UUID, detail map[string]any) audit.Entry {
	return audit.Entry{At: at, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source, Action: action,
		ResourceKind: kind, ResourceID: id.String(), Detail: detail}
}
