package catalog

import (
	"context"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// Stores gathers the persistence ports of every catalog kind.
type Stores struct {
	AdminUnits   AdminUnitStore
	Agencies     Store[Agency, AgencyFilter]
	PostOffices  Store[PostOffice, PostOfficeFilter]
	Procedures   Store[Procedure, ProcedureFilter]
	CalendarDays Store[CalendarDay, CalendarDayFilter]
	Couriers     Store[Courier, CourierFilter]
}

// Catalog is the reference-data service: one Registry per kind, with the rules that tie
// kinds together (a post office's unit exists, a courier's post office exists).
type Catalog struct {
	AdminUnits   *Registry[AdminUnit, AdminUnitFilter]
	Agencies     *Registry[Agency, AgencyFilter]
	PostOffices  *Registry[PostOffice, PostOfficeFilter]
	Procedures   *Registry[Procedure, ProcedureFilter]
	CalendarDays *Registry[CalendarDay, CalendarDayFilter]
	Couriers     *Registry[Courier, CourierFilter]

	calendars *calendarCache
	offices   *officeCache
	mergers   AdminUnitStore
	newID     func() uuid.UUID
}

// New builds the catalog over stores; newID makes identifiers for created records.
func New(s Stores, newID func() uuid.UUID) *Catalog {
	assignID := func(id *uuid.UUID, creating bool) {
		if creating && *id == uuid.Nil {
			*id = newID()
		}
	}
	calendars, offices := &calendarCache{}, &officeCache{}
	return &Catalog{
		calendars: calendars,
		offices:   offices,
		AdminUnits: NewRegistry[AdminUnit, AdminUnitFilter](s.AdminUnits, func(ctx context.Context, u *AdminUnit, creating bool) error {
			return prepareAdminUnit(ctx, s.AdminUnits, u, creating, newID)
		}),
		mergers: s.AdminUnits,
		newID:   newID,
		Agencies: NewRegistry(s.Agencies, func(ctx context.Context, a *Agency, creating bool) error {
			assignID(&a.ID, creating)
			return checkAdminUnitRef(ctx, s.AdminUnits, "admin_unit_code", a.AdminUnitCode, LevelProvince, LevelCommune, LevelDistrict)
		}),
		PostOffices: NewRegistry[PostOffice, PostOfficeFilter](dropping[PostOffice, PostOfficeFilter]{s.PostOffices, offices.drop}, func(ctx context.Context, o *PostOffice, creating bool) error {
			assignID(&o.ID, creating)
			return checkAdminUnitRef(ctx, s.AdminUnits, "admin_unit_code", o.AdminUnitCode, LevelProvince, LevelCommune, LevelDistrict)
		}),
		Procedures: NewRegistry(s.Procedures, func(_ context.Context, pr *Procedure, creating bool) error {
			assignID(&pr.ID, creating)
			return nil
		}),
		CalendarDays: NewRegistry[CalendarDay, CalendarDayFilter](dropping[CalendarDay, CalendarDayFilter]{s.CalendarDays, calendars.drop}, func(_ context.Context, d *CalendarDay, creating bool) error {
			assignID(&d.ID, creating)
			return nil
		}),
		Couriers: NewRegistry(s.Couriers, func(ctx context.Context, c *Courier, creating bool) error {
			assignID(&c.ID, creating)
			_, err := s.PostOffices.Get(ctx, c.PostOfficeID.String())
			if domain.ErrorCode(err) == domain.CodeNotFound {
				return domain.Invalid("post_office_id", "names no post office")
			}
			return err
		}).WithPolicy(courierPolicy),
	}
}

// courierPolicy: admins see every courier, dispatchers those of their post offices, a
// courier only themself. Couriers' phones and shifts are staff data, not for the rest.
var courierPolicy = Policy[Courier, CourierFilter]{
	Visible: func(p auth.Principal, c Courier) bool {
		s := auth.ScopeOf(p)
		return s.SeesOffice(c.PostOfficeID) || s.IsCourier(c.ID)
	},
	Narrow: func(p auth.Principal, f *CourierFilter) bool {
		s := auth.ScopeOf(p)
		if offices, ok := s.PostOffices(); ok {
			f.PostOfficeIDs = offices
			return true
		}
		if id, ok := s.Courier(); ok {
			f.IDs = []uuid.UUID{id}
			return true
		}
		return s.All()
	},
}
