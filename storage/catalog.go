package storage

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"gorm.io/gorm"

	"courierd/domain/catalog"
)

// NewCatalogStores returns the PostgreSQL implementation of every catalog port.
func NewCatalogStores(db *DB) catalog.Stores {
	return catalog.Stores{
		AdminUnits: newAdminUnitStore(db),
		Agencies: &repo[catalog.Agency, catalog.AgencyFilter, agencyRow, *agencyRow]{
			db: db, noun: "agency", order: "search_name, id", toRow: agencyToRow,
			filter: func(q *gorm.DB, f catalog.AgencyFilter) *gorm.DB {
				return wherePlace(whereSet(q, "code", f.Code), string(f.Kind), f.AdminUnitCode, f.NameQuery)
			},
		},
		PostOffices: &repo[catalog.PostOffice, catalog.PostOfficeFilter, postOfficeRow, *postOfficeRow]{
			db: db, noun: "post office", order: "code", toRow: postOfficeToRow,
			filter: func(q *gorm.DB, f catalog.PostOfficeFilter) *gorm.DB {
				return wherePlace(q, string(f.Kind), f.AdminUnitCode, f.NameQuery)
			},
		},
		Procedures: &repo[catalog.Procedure, catalog.ProcedureFilter, procedureRow, *procedureRow]{
			db: db, noun: "procedure", order: "code", toRow: procedureToRow,
			filter: func(q *gorm.DB, f catalog.ProcedureFilter) *gorm.DB {
				q = whereSet(whereSet(q, "code", f.Code), "agency_kind", string(f.AgencyKind))
				q = whereFlag(q, "pickup_by_post", f.PickupByPost)
				return likeFolded(whereFlag(q, "return_by_post", f.ReturnByPost), f.NameQuery)
			},
		},
		CalendarDays: &repo[catalog.CalendarDay, catalog.CalendarDayFilter, calendarDayRow, *calendarDayRow]{
			db: db, noun: "calendar day", order: "day", toRow: calendarDayToRow,
			filter: func(q *gorm.DB, f catalog.CalendarDayFilter) *gorm.DB {
				if !f.From.IsZero() {
					q = q.Where("day >= ?", f.From)
				}
				if !f.To.IsZero() {
					q = q.Where("day <= ?", f.To)
				}
				return whereSet(q, "kind", string(f.Kind))
			},
		},
		Couriers: &repo[catalog.Courier, catalog.CourierFilter, courierRow, *courierRow]{
			db: db, noun: "courier", order: "staff_code", toRow: courierToRow,
			filter: func(q *gorm.DB, f catalog.CourierFilter) *gorm.DB {
				q = whereIn(whereIn(whereSet(q, "post_office_id", f.PostOfficeID), "post_office_id", f.PostOfficeIDs), "id", f.IDs)
				q = whereSet(q, "vehicle_kind", string(f.VehicleKind))
				return likeFolded(whereFlag(q, "active", f.Active), f.NameQuery)
			},
		},
	}
}

// wherePlace filters places (agencies, post offices) by kind, unit and name.
func wherePlace(q *gorm.DB, kind, adminUnitCode, nameQuery string) *gorm.DB {
	q = whereSet(q, "kind", kind)
	return likeFolded(whereSet(q, "admin_unit_code", adminUnitCode), nameQuery)
}

type agencyRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	Code          string
	Name          string
	SearchName    string
	Kind          string
	AdminUnitCode string
	Address       string
	Lon, Lat      float64
	RowMeta
}

func (agencyRow) TableName() string     { return "agencies" }
func (r *agencyRow) key() (string, any) { return "id", r.ID }

func agencyToRow(a catalog.Agency) (agencyRow, error) {
	return agencyRow{ID: a.ID, Code: a.Code, Name: a.Name, SearchName: foldForSearch(a.Name), Kind: string(a.Kind),
		AdminUnitCode: a.AdminUnitCode, Address: a.Address, Lon: a.Location.Lon(), Lat: a.Location.Lat()}, nil
}

func (r *agencyRow) toDomain() (catalog.Agency, error) {
	return catalog.Agency{ID: r.ID, Code: r.Code, Name: r.Name, Kind: catalog.AgencyKind(r.Kind), AdminUnitCode: r.AdminUnitCode,
		Address: r.Address, Location: orb.Point{r.Lon, r.Lat}, Revision: r.revision()}, nil
}

type postOfficeRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	Code          string
	Name          string
	SearchName    string
	Kind          string
	AdminUnitCode string
	Address       string
	Lon, Lat      float64
	ServiceArea   []byte `gorm:"type:jsonb"`
	RowMeta
}

func (postOfficeRow) TableName() string     { return "post_offices" }
func (r *postOfficeRow) key() (string, any) { return "id", r.ID }

func postOfficeToRow(o catalog.PostOffice) (postOfficeRow, error) {
	area, err := geojson.NewGeometry(o.ServiceArea).MarshalJSON()
	if err != nil {
		return postOfficeRow{}, fmt.Errorf("encode service area: %w", err)
	}
	return postOfficeRow{ID: o.ID, Code: o.Code, Name: o.Name, SearchName: foldForSearch(o.Name), Kind: string(o.Kind),
		AdminUnitCode: o.AdminUnitCode, Address: o.Address, Lon: o.Location.Lon(), Lat: o.Location.Lat(), ServiceArea: area}, nil
}

func (r *postOfficeRow) toDomain() (catalog.PostOffice, error) {
	g, err := geojson.UnmarshalGeometry(r.ServiceArea)
	if err != nil {
		return catalog.PostOffice{}, fmt.Errorf("decode service area of post office %s: %w", r.Code, err)
	}
	area, ok := g.Geometry().(orb.MultiPolygon)
	if !ok {
		return catalog.PostOffice{}, fmt.Errorf("service area of post office %s is a %s, not a MultiPolygon", r.Code, g.Geometry().GeoJSONType())
	}
	return catalog.PostOffice{ID: r.ID, Code: r.Code, Name: r.Name, Kind: catalog.PostOfficeKind(r.Kind), AdminUnitCode: r.AdminUnitCode,
		Address: r.Address, Location: orb.Point{r.Lon, r.Lat}, ServiceArea: area, Revision: r.revision()}, nil
}

type procedureRow struct {
	ID                     uuid.UUID `gorm:"primaryKey"`
	Code                   string
	Name                   string
	SearchName             string
	AgencyKind             string
	ProcessingDays         int
	FeeVND                 int64 `gorm:"column:fee_vnd"`
	PostageVND             int64 `gorm:"column:postage_vnd"`
	CollectionSurchargeVND int64 `gorm:"column:collection_surcharge_vnd"`
	PickupByPost           bool
	ReturnByPost           bool
	IdentityCheckRequired  bool
	ProxyAllowed           bool
	// The delivery's needs (migration 00020).
	DeliverySignatureRequired  bool
	DeliveryProxyPhotoRequired bool
	Documents                  []byte `gorm:"type:jsonb"`
	RowMeta
}

// documentJSON is the stored shape of one required document.
type documentJSON struct {
	Name     string `json:"name"`
	Form     string `json:"form"`
	Quantity int    `json:"quantity"`
}

func (procedureRow) TableName() string     { return "procedures" }
func (r *procedureRow) key() (string, any) { return "id", r.ID }

// toDocumentsJSON and fromDocumentsJSON convert a checklist, for a procedure's row and for
// the stops devices are sent.
func toDocumentsJSON(docs []catalog.RequiredDocument) []documentJSON {
	if docs == nil {
		return nil
	}
	out := make([]documentJSON, len(docs))
	for i, d := range docs {
		out[i] = documentJSON{Name: d.Name, Form: string(d.Form), Quantity: d.Quantity}
	}
	return out
}

func fromDocumentsJSON(docs []documentJSON) []catalog.RequiredDocument {
	if docs == nil {
		return nil
	}
	out := make([]catalog.RequiredDocument, len(docs))
	for i, d := range docs {
		out[i] = catalog.RequiredDocument{Name: d.Name, Form: catalog.DocumentForm(d.Form), Quantity: d.Quantity}
	}
	return out
}

func procedureToRow(p catalog.Procedure) (procedureRow, error) {
	docs := toDocumentsJSON(p.Documents)
	if docs == nil {
		docs = []documentJSON{}
	}
	encoded, err := json.Marshal(docs)
	if err != nil {
		return procedureRow{}, fmt.Errorf("encode documents: %w", err)
	}
	return procedureRow{ID: p.ID, Code: p.Code, Name: p.Name, SearchName: foldForSearch(p.Name), AgencyKind: string(p.AgencyKind),
		ProcessingDays: p.ProcessingDays, FeeVND: p.FeeVND, PostageVND: p.PostageVND, CollectionSurchargeVND: p.CollectionSurchargeVND, PickupByPost: p.PickupByPost,
		ReturnByPost: p.ReturnByPost, IdentityCheckRequired: p.IdentityCheckRequired, ProxyAllowed: p.ProxyAllowed,
		DeliverySignatureRequired: p.DeliverySignatureRequired, DeliveryProxyPhotoRequired: p.DeliveryProxyPhotoRequired, Documents: encoded}, nil
}

func (r *procedureRow) toDomain() (catalog.Procedure, error) {
	var docs []documentJSON
	if err := json.Unmarshal(r.Documents, &docs); err != nil {
		return catalog.Procedure{}, fmt.Errorf("decode documents of procedure %s: %w", r.Code, err)
	}
	p := catalog.Procedure{ID: r.ID, Code: r.Code, Name: r.Name, AgencyKind: catalog.AgencyKind(r.AgencyKind),
		ProcessingDays: r.ProcessingDays, FeeVND: r.FeeVND, PostageVND: r.PostageVND, CollectionSurchargeVND: r.CollectionSurchargeVND, PickupByPost: r.PickupByPost,
		ReturnByPost: r.ReturnByPost, IdentityCheckRequired: r.IdentityCheckRequired, ProxyAllowed: r.ProxyAllowed,
		DeliverySignatureRequired: r.DeliverySignatureRequired, DeliveryProxyPhotoRequired: r.DeliveryProxyPhotoRequired,
		Documents: fromDocumentsJSON(docs), Revision: r.revision()}
	if p.Documents == nil {
		p.Documents = []catalog.RequiredDocument{}
	}
	return p, nil
}

type calendarDayRow struct {
	ID   uuid.UUID `gorm:"primaryKey"`
	Day  time.Time `gorm:"type:date"`
	Kind string
	Name string
	RowMeta
}

func (calendarDayRow) TableName() string     { return "calendar_days" }
func (r *calendarDayRow) key() (string, any) { return "id", r.ID }

func calendarDayToRow(d catalog.CalendarDay) (calendarDayRow, error) {
	return calendarDayRow{ID: d.ID, Day: d.Date, Kind: string(d.Kind), Name: d.Name}, nil
}

func (r *calendarDayRow) toDomain() (catalog.CalendarDay, error) {
	return catalog.CalendarDay{ID: r.ID, Date: catalog.CivilDate(r.Day), Kind: catalog.DayKind(r.Kind), Name: r.Name,
		Revision: r.revision()}, nil
}

type courierRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	StaffCode     string
	Name          string
	SearchName    string
	Phone         string
	PostOfficeID  uuid.UUID
	VehicleKind   string
	CapacityItems int
	ShiftStartMin int
	ShiftEndMin   int
	Skills        []byte `gorm:"type:jsonb"`
	Active        bool
	RowMeta
}

func (courierRow) TableName() string     { return "couriers" }
func (r *courierRow) key() (string, any) { return "id", r.ID }

func courierToRow(c catalog.Courier) (courierRow, error) {
	skills, err := json.Marshal(nonNil(c.Skills))
	if err != nil {
		return courierRow{}, fmt.Errorf("encode skills: %w", err)
	}
	return courierRow{ID: c.ID, StaffCode: c.StaffCode, Name: c.Name, SearchName: foldForSearch(c.Name), Phone: c.Phone,
		PostOfficeID: c.PostOfficeID, VehicleKind: string(c.VehicleKind), CapacityItems: c.CapacityItems,
		ShiftStartMin: c.ShiftStartMin, ShiftEndMin: c.ShiftEndMin, Skills: skills, Active: c.Active}, nil
}

func (r *courierRow) toDomain() (catalog.Courier, error) {
	var skills []string
	if err := json.Unmarshal(r.Skills, &skills); err != nil {
		return catalog.Courier{}, fmt.Errorf("decode skills of courier %s: %w", r.StaffCode, err)
	}
	return catalog.Courier{ID: r.ID, StaffCode: r.StaffCode, Name: r.Name, Phone: r.Phone, PostOfficeID: r.PostOfficeID,
		VehicleKind: catalog.VehicleKind(r.VehicleKind), CapacityItems: r.CapacityItems, ShiftStartMin: r.ShiftStartMin,
		ShiftEndMin: r.ShiftEndMin, Skills: nonNil(skills), Active: r.Active, Revision: r.revision()}, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
