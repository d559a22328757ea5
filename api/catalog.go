package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
)

func mountCatalog(r *router, cat *catalog.Catalog, now func() time.Time) {
	mount(r, resource[catalog.AdminUnit, catalog.AdminUnitFilter, adminUnitDTO]{
		path: "/admin-units", read: anyStaff, write: admins, reg: cat.AdminUnits, key: func(u catalog.AdminUnit) string { return u.ID.String() },
		toDTO: toAdminUnitDTO, fromDTO: fromAdminUnitDTO,
		filter: func(c *fiber.Ctx, p *domain.Problems) catalog.AdminUnitFilter {
			return catalog.AdminUnitFilter{Code: c.Query("code"), Level: catalog.AdminLevel(c.Query("level")), ParentCode: c.Query("parent_code"),
				Legacy: queryBool(c, p, "legacy"), Current: queryBool(c, p, "current"), NameQuery: c.Query("q")}
		},
		noun: "territorial unit",
		params: []queryParam{param("code", "", "the unit's code"), enumParam("level", "the unit's level", levels...),
			param("parent_code", "", "the code of the unit it lies in"), param("legacy", false, "units of before a reform (true) or not (false)"),
			param("current", false, "units in force today (true) or ended by a merger (false)"), param("q", "", "words of the name")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
	mountAdminUnitMergers(r, cat, now)
	mount(r, resource[catalog.Agency, catalog.AgencyFilter, agencyDTO]{
		path: "/agencies", read: anyStaff, write: admins, reg: cat.Agencies, key: func(a catalog.Agency) string { return a.ID.String() },
		toDTO: toAgencyDTO, fromDTO: fromAgencyDTO,
		filter: func(c *fiber.Ctx, _ *domain.Problems) catalog.AgencyFilter {
			return catalog.AgencyFilter{Kind: catalog.AgencyKind(c.Query("kind")), AdminUnitCode: c.Query("admin_unit_code"), NameQuery: c.Query("q")}
		},
		noun: "agency",
		params: []queryParam{enumParam("kind", "the agency's kind", agencyKinds...), param("admin_unit_code", "", "the unit it serves"),
			param("q", "", "words of the name")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
	mount(r, resource[catalog.PostOffice, catalog.PostOfficeFilter, postOfficeDTO]{
		path: "/post-offices", read: anyStaff, write: admins, reg: cat.PostOffices, key: func(o catalog.PostOffice) string { return o.ID.String() },
		toDTO: toPostOfficeDTO, fromDTO: fromPostOfficeDTO,
		filter: func(c *fiber.Ctx, _ *domain.Problems) catalog.PostOfficeFilter {
			return catalog.PostOfficeFilter{Kind: catalog.PostOfficeKind(c.Query("kind")), AdminUnitCode: c.Query("admin_unit_code"), NameQuery: c.Query("q")}
		},
		noun: "post office",
		params: []queryParam{enumParam("kind", "the office's kind", postOfficeKinds...), param("admin_unit_code", "", "the unit it lies in"),
			param("q", "", "words of the name")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
	mount(r, resource[catalog.Procedure, catalog.ProcedureFilter, procedureDTO]{
		path: "/procedures", read: anyStaff, write: admins, reg: cat.Procedures, key: func(pr catalog.Procedure) string { return pr.ID.String() },
		toDTO: toProcedureDTO, fromDTO: fromProcedureDTO,
		filter: func(c *fiber.Ctx, p *domain.Problems) catalog.ProcedureFilter {
			return catalog.ProcedureFilter{AgencyKind: catalog.AgencyKind(c.Query("agency_kind")),
				PickupByPost: queryBool(c, p, "pickup_by_post"), ReturnByPost: queryBool(c, p, "return_by_post"), NameQuery: c.Query("q")}
		},
		noun: "procedure",
		params: []queryParam{enumParam("agency_kind", "the kind of agency that handles it", agencyKinds...),
			param("pickup_by_post", false, "whether the post may collect the dossier"), param("return_by_post", false, "whether the post may return the result"),
			param("q", "", "words of the name")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
	mount(r, resource[catalog.CalendarDay, catalog.CalendarDayFilter, holidayDTO]{
		path: "/holidays", read: anyStaff, write: admins, reg: cat.CalendarDays, key: func(d catalog.CalendarDay) string { return d.ID.String() },
		toDTO: toHolidayDTO, fromDTO: fromHolidayDTO,
		filter: func(c *fiber.Ctx, p *domain.Problems) catalog.CalendarDayFilter {
			f := catalog.CalendarDayFilter{From: queryDate(c, p, "from"), To: queryDate(c, p, "to"), Kind: catalog.DayKind(c.Query("kind"))}
			if year := queryInt(c, p, "year"); year != 0 {
				p.Check(year >= 2000 && year <= 2100, "year", "must be between 2000 and 2100, as the calendar's days")
				f.From = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
				f.To = time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC)
			}
			return f
		},
		noun: "calendar day",
		params: []queryParam{dateParam("from", "the first day"), dateParam("to", "the last day"), enumParam("kind", "the day's kind", dayKinds...),
			param("year", 0, "a whole year, 2000 to 2100 (instead of from and to)")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
	mount(r, resource[catalog.Courier, catalog.CourierFilter, courierDTO]{
		path: "/couriers", read: staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), write: admins, reg: cat.Couriers, key: func(c catalog.Courier) string { return c.ID.String() },
		toDTO: toCourierDTO, fromDTO: fromCourierDTO,
		filter: func(c *fiber.Ctx, p *domain.Problems) catalog.CourierFilter {
			f := catalog.CourierFilter{VehicleKind: catalog.VehicleKind(c.Query("vehicle_kind")), Active: queryBool(c, p, "active"), NameQuery: c.Query("q")}
			if raw := c.Query("post_office_id"); raw != "" {
				id, err := uuid.Parse(raw)
				p.Check(err == nil, "post_office_id", "must be a UUID")
				f.PostOfficeID = id
			}
			return f
		},
		noun: "courier",
		params: []queryParam{enumParam("vehicle_kind", "what the courier rides", vehicleKinds...), param("active", false, "couriers at work (true) or retired (false)"),
			param("q", "", "words of the name"), param("post_office_id", "", "the courier's post office (a UUID)")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
}

// The values the catalog's kinds take, for the document's query parameters.
var (
	levels          = names(catalog.LevelProvince, catalog.LevelDistrict, catalog.LevelCommune)
	agencyKinds     = names(catalog.AgencyDepartment, catalog.AgencyCommuneCommittee, catalog.AgencyPolice, catalog.AgencySocialInsurance, catalog.AgencyOther)
	postOfficeKinds = names(catalog.PostOfficeFull, catalog.PostOfficeCommuneCultural)
	dayKinds        = names(catalog.DayHoliday, catalog.DayOff, catalog.DayWorking)
	vehicleKinds    = names(catalog.VehicleMotorbike, catalog.VehicleBicycle, catalog.VehicleCar, catalog.VehicleOnFoot)
)

func names[T ~string](values ...T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// pointDTO is a WGS84 position. Latitude and longitude are named, not ordered, so that
// nobody swaps them.
type pointDTO struct {
	Lat *float64 `json:"lat" example:"21.0285"`
	Lon *float64 `json:"lon" example:"105.8542"`
}

func toPointDTO(pt orb.Point) *pointDTO {
	lat, lon := pt.Lat(), pt.Lon()
	return &pointDTO{Lat: &lat, Lon: &lon}
}

func fromPointDTO(p *domain.Problems, field string, dto *pointDTO) orb.Point {
	if dto == nil {
		p.Add(field, "is required: {\"lat\": …, \"lon\": …}")
		return orb.Point{}
	}
	return orb.Point{required(p, field+".lon", dto.Lon), required(p, field+".lat", dto.Lat)}
}

type adminUnitDTO struct {
	ID         string `json:"id,omitempty" example:"0b6e8c52-3f0a-4a7e-9d0c-2f1e6b7a9c41"`
	Code       string `json:"code" example:"00004"`
	Name       string `json:"name" example:"Phường Ba Đình"`
	Level      string `json:"level" enum:"province,district,commune"`
	Kind       string `json:"kind" example:"phường"`
	ParentCode string `json:"parent_code,omitempty" example:"01"`
	Legacy     bool   `json:"legacy" optional:"true"`
	// ValidFrom may be given when a unit is created; ValidTo and SuccessorID are a
	// merger's to set (POST /v1/admin-units/mergers) and ignored on input.
	ValidFrom   string `json:"valid_from,omitempty" format:"date" example:"2025-07-01"`
	ValidTo     string `json:"valid_to,omitempty" format:"date"`
	SuccessorID string `json:"successor_id,omitempty" doc:"the unit it became"`
	revisionDTO
}

func toAdminUnitDTO(u catalog.AdminUnit) adminUnitDTO {
	d := adminUnitDTO{ID: u.ID.String(), Code: u.Code, Name: u.Name, Level: string(u.Level), Kind: u.Kind, ParentCode: u.ParentCode,
		Legacy: u.Legacy, ValidFrom: dateText(u.ValidFrom), ValidTo: dateText(u.ValidTo), revisionDTO: toRevisionDTO(u.Revision)}
	if u.SuccessorID != uuid.Nil {
		d.SuccessorID = u.SuccessorID.String()
	}
	return d
}

func fromAdminUnitDTO(d adminUnitDTO) (catalog.AdminUnit, int, error) {
	var p domain.Problems
	u := catalog.AdminUnit{Code: d.Code, Name: d.Name, Level: catalog.AdminLevel(d.Level), Kind: d.Kind,
		ParentCode: d.ParentCode, Legacy: d.Legacy}
	if d.ValidFrom != "" {
		from := parseDate(&p, "valid_from", d.ValidFrom)
		u.ValidFrom = &from
	}
	return u, d.Version, p.Err()
}

// mergerDTO records a reform's merger: the units in merged_codes end on date and become
// the unit into_code names, or new_unit (whose code may be one of theirs).
type mergerDTO struct {
	Date        string        `json:"date" format:"date" example:"2025-07-01"`
	MergedCodes []string      `json:"merged_codes" example:"[\"00001\",\"00004\"]"`
	IntoCode    string        `json:"into_code" optional:"true" doc:"the existing unit they join; or new_unit"`
	NewUnit     *adminUnitDTO `json:"new_unit" optional:"true" doc:"the unit they become; or into_code"`
}

// mergerReplyDTO is a recorded merger: the unit the merged ones became, and them, ended.
type mergerReplyDTO struct {
	Successor adminUnitDTO   `json:"successor"`
	Merged    []adminUnitDTO `json:"merged"`
}

// mountAdminUnitMergers serves what an admin needs for a reform: recording a merger, and
// finding the unit an old code is today.
func mountAdminUnitMergers(r *router, cat *catalog.Catalog, now func() time.Time) {
	r.post("/admin-units/mergers", admins, func(c *fiber.Ctx) error {
		var body mergerDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		m := catalog.Merger{Date: parseDate(&p, "date", body.Date), MergedCodes: body.MergedCodes, IntoCode: body.IntoCode}
		if body.NewUnit != nil {
			u, _, err := fromAdminUnitDTO(*body.NewUnit)
			if err != nil {
				return err
			}
			m.NewUnit = &u
		}
		if err := p.Err(); err != nil {
			return err
		}
		successor, ended, err := cat.MergeAdminUnits(c.UserContext(), m, civilToday(now))
		if err != nil {
			return err
		}
		merged := make([]adminUnitDTO, len(ended))
		for i, u := range ended {
			merged[i] = toAdminUnitDTO(u)
		}
		return c.Status(fiber.StatusCreated).JSON(mergerReplyDTO{Successor: toAdminUnitDTO(successor), Merged: merged})
	}).doc("Record a merger of administrative units (a reform)").takes(mergerDTO{}).answers(fiber.StatusCreated, mergerReplyDTO{}).
		fails(domain.CodeConflict)
	r.get("/admin-units/:key/current", anyStaff, func(c *fiber.Ctx) error {
		u, err := cat.ResolveAdminUnit(c.UserContext(), c.Params("key"))
		if err != nil {
			return err
		}
		return c.JSON(toAdminUnitDTO(u))
	}).doc("The unit in force today that a unit, by id or code, became").answers(fiber.StatusOK, adminUnitDTO{})
}

// civilToday is today's date in Vietnam, as the calendar's dates are kept (midnight UTC).
func civilToday(now func() time.Time) time.Time {
	return domain.DateOf(now())
}

// placeDTO is what agencies and post offices share: a coded, named place in a unit.
type placeDTO struct {
	ID            string    `json:"id,omitempty" example:"5d2f7a1e-8b9c-4c3d-a2e1-6f0b9d8c7e65"`
	Code          string    `json:"code" example:"000.00.12.H12"`
	Name          string    `json:"name"`
	Kind          string    `json:"kind" doc:"agencies: department, commune_committee, police, social_insurance, other; post offices: post_office, commune_cultural"`
	AdminUnitCode string    `json:"admin_unit_code" example:"00004"`
	Address       string    `json:"address"`
	Location      *pointDTO `json:"location"`
}

type agencyDTO struct {
	placeDTO
	revisionDTO
}

func toAgencyDTO(a catalog.Agency) agencyDTO {
	return agencyDTO{placeDTO: placeDTO{ID: a.ID.String(), Code: a.Code, Name: a.Name, Kind: string(a.Kind),
		AdminUnitCode: a.AdminUnitCode, Address: a.Address, Location: toPointDTO(a.Location)}, revisionDTO: toRevisionDTO(a.Revision)}
}

func fromAgencyDTO(d agencyDTO) (catalog.Agency, int, error) {
	var p domain.Problems
	a := catalog.Agency{Code: d.Code, Name: d.Name, Kind: catalog.AgencyKind(d.Kind), AdminUnitCode: d.AdminUnitCode,
		Address: d.Address, Location: fromPointDTO(&p, "location", d.Location)}
	return a, d.Version, p.Err()
}

type postOfficeDTO struct {
	placeDTO
	ServiceArea json.RawMessage `json:"service_area"`
	revisionDTO
}

func toPostOfficeDTO(o catalog.PostOffice) postOfficeDTO {
	area, err := geojson.NewGeometry(o.ServiceArea).MarshalJSON()
	if err != nil {
		area = []byte("null") // unreachable: a MultiPolygon of float pairs always encodes
	}
	return postOfficeDTO{placeDTO: placeDTO{ID: o.ID.String(), Code: o.Code, Name: o.Name, Kind: string(o.Kind),
		AdminUnitCode: o.AdminUnitCode, Address: o.Address, Location: toPointDTO(o.Location)},
		ServiceArea: area, revisionDTO: toRevisionDTO(o.Revision)}
}

func fromPostOfficeDTO(d postOfficeDTO) (catalog.PostOffice, int, error) {
	var p domain.Problems
	o := catalog.PostOffice{Code: d.Code, Name: d.Name, Kind: catalog.PostOfficeKind(d.Kind), AdminUnitCode: d.AdminUnitCode,
		Address: d.Address, Location: fromPointDTO(&p, "location", d.Location), ServiceArea: parseArea(&p, "service_area", d.ServiceArea)}
	return o, d.Version, p.Err()
}

// parseArea reads a GeoJSON Polygon or MultiPolygon. Its shape (closed rings, bounds,
// self-crossing) is the domain's to judge; here only the syntax.
func parseArea(p *domain.Problems, field string, raw json.RawMessage) orb.MultiPolygon {
	if len(raw) == 0 || string(raw) == "null" {
		p.Add(field, "is required: a GeoJSON Polygon or MultiPolygon")
		return nil
	}
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		p.Add(field, "is not GeoJSON geometry: "+err.Error())
		return nil
	}
	switch geom := g.Geometry().(type) {
	case orb.Polygon:
		return orb.MultiPolygon{geom}
	case orb.MultiPolygon:
		return geom
	case nil:
		p.Add(field, "has no geometry")
	default:
		p.Add(field, fmt.Sprintf("must be a Polygon or MultiPolygon, not a %s", geom.GeoJSONType()))
	}
	return nil
}

type documentDTO struct {
	Name     string `json:"name"`
	Form     string `json:"form" enum:"original,copy,certified_copy"`
	Quantity int    `json:"quantity" bound:"-int4..int4" column:"-"` // kept in procedures.documents (jsonb)
}

type procedureDTO struct {
	ID             string `json:"id,omitempty" example:"9a3c1e7b-2d4f-4b8a-9e6c-1f5d3b7a2c80"`
	Code           string `json:"code" example:"1.001234"`
	Name           string `json:"name"`
	AgencyKind     string `json:"agency_kind" enum:"department,commune_committee,police,social_insurance,other"`
	ProcessingDays *int   `json:"processing_days" bound:"-int4..int4" column:"procedures.processing_days"`
	FeeVND         *int64 `json:"fee_vnd" example:"50000" bound:"-int8..int8" column:"procedures.fee_vnd"`
	PostageVND     *int64 `json:"postage_vnd" bound:"-int8..int8" column:"procedures.postage_vnd"`
	// CollectionSurchargeVND is optional (0): what the post charges to collect the fee.
	CollectionSurchargeVND int64 `json:"collection_surcharge_vnd" optional:"true" bound:"-int8..int8" column:"procedures.collection_surcharge_vnd"`
	PickupByPost           *bool `json:"pickup_by_post"`
	ReturnByPost           *bool `json:"return_by_post"`
	IdentityCheckRequired  *bool `json:"identity_check_required"`
	ProxyAllowed           *bool `json:"proxy_allowed"`
	// What a delivery needs besides the identity check; optional, true when left out.
	DeliverySignatureRequired  *bool         `json:"delivery_signature_required" optional:"true"`
	DeliveryProxyPhotoRequired *bool         `json:"delivery_proxy_photo_required" optional:"true"`
	Documents                  []documentDTO `json:"documents" optional:"true"`
	revisionDTO
}

func toProcedureDTO(pr catalog.Procedure) procedureDTO {
	docs := make([]documentDTO, len(pr.Documents))
	for i, d := range pr.Documents {
		docs[i] = documentDTO{Name: d.Name, Form: string(d.Form), Quantity: d.Quantity}
	}
	return procedureDTO{ID: pr.ID.String(), Code: pr.Code, Name: pr.Name, AgencyKind: string(pr.AgencyKind),
		ProcessingDays: &pr.ProcessingDays, FeeVND: &pr.FeeVND, PostageVND: &pr.PostageVND,
		CollectionSurchargeVND: pr.CollectionSurchargeVND, PickupByPost: &pr.PickupByPost,
		ReturnByPost: &pr.ReturnByPost, IdentityCheckRequired: &pr.IdentityCheckRequired, ProxyAllowed: &pr.ProxyAllowed,
		DeliverySignatureRequired: &pr.DeliverySignatureRequired, DeliveryProxyPhotoRequired: &pr.DeliveryProxyPhotoRequired,
		Documents: docs, revisionDTO: toRevisionDTO(pr.Revision)}
}

func fromProcedureDTO(d procedureDTO) (catalog.Procedure, int, error) {
	var p domain.Problems
	pr := catalog.Procedure{Code: d.Code, Name: d.Name, AgencyKind: catalog.AgencyKind(d.AgencyKind),
		ProcessingDays:         required(&p, "processing_days", d.ProcessingDays),
		FeeVND:                 required(&p, "fee_vnd", d.FeeVND),
		PostageVND:             required(&p, "postage_vnd", d.PostageVND),
		CollectionSurchargeVND: d.CollectionSurchargeVND,
		PickupByPost:           required(&p, "pickup_by_post", d.PickupByPost),
		ReturnByPost:           required(&p, "return_by_post", d.ReturnByPost),
		IdentityCheckRequired:  required(&p, "identity_check_required", d.IdentityCheckRequired),
		ProxyAllowed:           required(&p, "proxy_allowed", d.ProxyAllowed),
		// The strict default: a signature, and a photo when a proxy receives.
		DeliverySignatureRequired:  d.DeliverySignatureRequired == nil || *d.DeliverySignatureRequired,
		DeliveryProxyPhotoRequired: d.DeliveryProxyPhotoRequired == nil || *d.DeliveryProxyPhotoRequired,
		Documents:                  make([]catalog.RequiredDocument, len(d.Documents)),
	}
	for i, doc := range d.Documents {
		pr.Documents[i] = catalog.RequiredDocument{Name: doc.Name, Form: catalog.DocumentForm(doc.Form), Quantity: doc.Quantity}
	}
	return pr, d.Version, p.Err()
}

const dateLayout = "2006-01-02"

type holidayDTO struct {
	ID   string `json:"id,omitempty"`
	Date string `json:"date" format:"date" example:"2026-09-02"`
	Kind string `json:"kind" enum:"holiday,day_off,working_day"`
	Name string `json:"name" example:"Quốc khánh"`
	revisionDTO
}

func toHolidayDTO(d catalog.CalendarDay) holidayDTO {
	return holidayDTO{ID: d.ID.String(), Date: d.Date.Format(dateLayout), Kind: string(d.Kind), Name: d.Name,
		revisionDTO: toRevisionDTO(d.Revision)}
}

func fromHolidayDTO(d holidayDTO) (catalog.CalendarDay, int, error) {
	var p domain.Problems
	day := catalog.CalendarDay{Date: parseDate(&p, "date", d.Date), Kind: catalog.DayKind(d.Kind), Name: d.Name}
	return day, d.Version, p.Err()
}

func parseDate(p *domain.Problems, field, raw string) time.Time {
	t, err := time.Parse(dateLayout, raw)
	if err != nil {
		p.Add(field, "must be a date as YYYY-MM-DD")
	}
	return t
}

func queryDate(c *fiber.Ctx, p *domain.Problems, name string) time.Time {
	if c.Query(name) == "" {
		return time.Time{}
	}
	return parseDate(p, name, c.Query(name))
}

type courierDTO struct {
	ID            string   `json:"id,omitempty" example:"3e9b2c4d-7f1a-4e6b-8c2d-5a0f9e1b3c72"`
	StaffCode     string   `json:"staff_code" example:"BD-0042"`
	Name          string   `json:"name"`
	Phone         string   `json:"phone" example:"0912345678"`
	PostOfficeID  string   `json:"post_office_id"`
	VehicleKind   string   `json:"vehicle_kind" enum:"motorbike,bicycle,car,on_foot"`
	CapacityItems int      `json:"capacity_items" bound:"-int4..int4" column:"couriers.capacity_items"`
	ShiftStart    string   `json:"shift_start" example:"07:30"`
	ShiftEnd      string   `json:"shift_end" example:"17:00"`
	Skills        []string `json:"skills"`
	Active        *bool    `json:"active,omitempty"`
	revisionDTO
}

func toCourierDTO(c catalog.Courier) courierDTO {
	return courierDTO{ID: c.ID.String(), StaffCode: c.StaffCode, Name: c.Name, Phone: c.Phone, PostOfficeID: c.PostOfficeID.String(),
		VehicleKind: string(c.VehicleKind), CapacityItems: c.CapacityItems, ShiftStart: clock(c.ShiftStartMin),
		ShiftEnd: clock(c.ShiftEndMin), Skills: c.Skills, Active: &c.Active, revisionDTO: toRevisionDTO(c.Revision)}
}

func fromCourierDTO(d courierDTO) (catalog.Courier, int, error) {
	var p domain.Problems
	office, err := uuid.Parse(d.PostOfficeID)
	p.Check(err == nil, "post_office_id", "must be the UUID of a post office")
	active := true
	if d.Active != nil {
		active = *d.Active
	}
	c := catalog.Courier{StaffCode: d.StaffCode, Name: d.Name, Phone: domain.NormalizePhone(d.Phone), PostOfficeID: office,
		VehicleKind: catalog.VehicleKind(d.VehicleKind), CapacityItems: d.CapacityItems,
		ShiftStartMin: parseClock(&p, "shift_start", d.ShiftStart), ShiftEndMin: parseClock(&p, "shift_end", d.ShiftEnd),
		Skills: d.Skills, Active: active}
	p.Check(d.Phone == "" || c.Phone != "", "phone", "must be a Vietnamese mobile number such as 0912345678")
	return c, d.Version, p.Err()
}

// clock writes minutes after midnight as HH:MM.
func clock(minutes int) string {
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}

// parseClock reads HH:MM (24:00 allowed, for a shift that ends at midnight).
func parseClock(p *domain.Problems, field, raw string) int {
	var h, m int
	if n, err := fmt.Sscanf(strings.TrimSpace(raw), "%d:%d", &h, &m); err != nil || n != 2 || len(raw) != 5 ||
		h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		p.Add(field, "must be a time of day as HH:MM")
		return 0
	}
	return h*60 + m
}
