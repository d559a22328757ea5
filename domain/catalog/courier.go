package catalog

import (
	"github.com/google/uuid"

	"courierd/domain"
)

// VehicleKind is how a courier travels; it sets speed and what can be carried.
type VehicleKind string

const (
	VehicleMotorbike VehicleKind = "motorbike"
	VehicleBicycle   VehicleKind = "bicycle"
	VehicleCar       VehicleKind = "car"
	VehicleOnFoot    VehicleKind = "on_foot"
)

// Skills a task may require of its courier.
const (
	SkillCashCollection = "cash_collection"
	SkillIdentityCheck  = "identity_check"
)

// Courier is a postal worker in the field. Shift times are minutes after midnight, local
// time; capacity counts items (dossiers, result envelopes) the vehicle can carry at once.
type Courier struct {
	ID            uuid.UUID
	StaffCode     string
	Name          string
	Phone         string
	PostOfficeID  uuid.UUID
	VehicleKind   VehicleKind
	CapacityItems int
	ShiftStartMin int
	ShiftEndMin   int
	Skills        []string
	Active        bool
	Revision
}

type CourierFilter struct {
	IDs           []uuid.UUID
	PostOfficeIDs []uuid.UUID // the post offices a dispatcher may see
	PostOfficeID  uuid.UUID
	VehicleKind   VehicleKind
	Active        *bool
	NameQuery     string
}

func (c Courier) Validate() error {
	var p domain.Problems
	checkCode(&p, "staff_code", c.StaffCode)
	checkName(&p, "name", c.Name, 120)
	p.Check(domain.NormalizePhone(c.Phone) == c.Phone && c.Phone != "", "phone", "must be a Vietnamese mobile number such as 0912345678")
	p.Check(c.PostOfficeID != uuid.Nil, "post_office_id", "is required")
	p.Check(oneOf(c.VehicleKind, VehicleMotorbike, VehicleBicycle, VehicleCar, VehicleOnFoot), "vehicle_kind", "must be motorbike, bicycle, car or on_foot")
	p.Check(c.CapacityItems >= 1 && c.CapacityItems <= 1000, "capacity_items", "must be between 1 and 1000")
	p.Check(c.ShiftStartMin >= 0 && c.ShiftStartMin < 24*60, "shift_start", "must be a time of day")
	p.Check(c.ShiftEndMin > c.ShiftStartMin && c.ShiftEndMin <= 24*60, "shift_end", "must be after shift_start, by midnight at the latest")
	seen := map[string]bool{}
	for _, s := range c.Skills {
		p.Check(oneOf(s, SkillCashCollection, SkillIdentityCheck), "skills", "unknown skill "+s+"; known: cash_collection, identity_check")
		p.Check(!seen[s], "skills", "lists "+s+" twice")
		seen[s] = true
	}
	return p.Err()
}

func (c Courier) WithKey(key string) (Courier, error) {
	id, err := idKey(key, "courier")
	c.ID = id
	return c, err
}
