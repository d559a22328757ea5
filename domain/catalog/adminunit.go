package catalog

import (
	"context"
	"regexp"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// AdminLevel is a tier of local government. Since 1 July 2025 there are two (province,
// commune); districts survive only in older addresses.
type AdminLevel string

const (
	LevelProvince AdminLevel = "province"
	LevelDistrict AdminLevel = "district"
	LevelCommune  AdminLevel = "commune"
)

// kindsByLevel lists the unit kinds each level may have.
var kindsByLevel = map[AdminLevel][]string{
	LevelProvince: {"province", "city"},
	LevelDistrict: {"district", "town", "city", "urban_district"},
	LevelCommune:  {"ward", "commune", "township", "special_zone"},
}

// codeShape is the national statistics office's code length per level.
var codeShape = map[AdminLevel]*regexp.Regexp{
	LevelProvince: regexp.MustCompile(`^[0-9]{2}$`),
	LevelDistrict: regexp.MustCompile(`^[0-9]{3}$`),
	LevelCommune:  regexp.MustCompile(`^[0-9]{5}$`),
}

// AdminUnit is a province, a commune or ward, or a legacy district, named by its national
// code. Legacy marks units of the pre-2025 three-level structure, kept so that older
// dossiers' addresses still resolve.
//
// A code names one unit at a time, not forever: the 2025 reform gave merged wards' codes
// to the wards they became. So a unit is keyed by its ID and lives for a period; a unit
// that ended (ValidTo, the first day it no longer existed) names its Successor, and an
// address given with its code resolves to today's unit (Catalog.ResolveAdminUnit).
type AdminUnit struct {
	ID         uuid.UUID
	Code       string
	Name       string
	Level      AdminLevel
	Kind       string
	ParentCode string
	Legacy     bool
	// ValidFrom is when the unit came into being, where known; ValidTo and SuccessorID are
	// set only by recording a merger (Catalog.MergeAdminUnits).
	ValidFrom   *time.Time
	ValidTo     *time.Time
	SuccessorID uuid.UUID
	Revision
}

// Current reports whether the unit still exists.
func (u AdminUnit) Current() bool { return u.ValidTo == nil }

// AdminUnitFilter narrows a list of units; zero fields do not filter.
type AdminUnitFilter struct {
	Code       string
	Level      AdminLevel
	ParentCode string
	Legacy     *bool
	Current    *bool
	NameQuery  string
}

func (u AdminUnit) Validate() error {
	var p domain.Problems
	checkName(&p, "name", u.Name, 120)
	kinds, known := kindsByLevel[u.Level]
	switch {
	case !known:
		p.Add("level", "must be one of province, district, commune")
	default:
		p.Check(codeShape[u.Level].MatchString(u.Code), "code", "must be the national code: 2 digits for a province, 3 for a district, 5 for a commune or ward")
		p.Check(oneOf(u.Kind, kinds...), "kind", "is not a kind of unit at this level")
	}
	switch u.Level {
	case LevelProvince:
		p.Check(u.ParentCode == "", "parent_code", "a province has no parent")
	case LevelDistrict:
		p.Check(u.ParentCode != "", "parent_code", "a district needs its province")
		p.Check(u.Legacy, "legacy", "districts were abolished on 1 July 2025; a district must be marked legacy")
	case LevelCommune:
		p.Check(u.ParentCode != "", "parent_code", "a commune needs its province (or, for legacy data, its district)")
	}
	p.Check(u.ParentCode != u.Code || u.Code == "", "parent_code", "a unit cannot be its own parent")
	return p.Err()
}

// WithKey addresses the unit by its id, or by its code (the current unit with it, else
// the one that ended last); the catalog then checks the code is the stored one.
func (u AdminUnit) WithKey(key string) (AdminUnit, error) {
	if id, err := uuid.Parse(key); err == nil {
		u.ID = id
		return u, nil
	}
	if u.Code == "" {
		u.Code = key
	}
	if u.Code != key {
		return u, domain.Invalid("code", "cannot change; record a merger into a new unit instead")
	}
	return u, nil
}

// keyOf is how the store finds u: by id once it has one, else by code.
func (u AdminUnit) keyOf() string {
	if u.ID != uuid.Nil {
		return u.ID.String()
	}
	return u.Code
}

// prepareAdminUnit fills what the server owns before a unit is written: a new unit's id
// (and no end, which only a merger sets); an edited unit keeps its id, code and period.
func prepareAdminUnit(ctx context.Context, units Store[AdminUnit, AdminUnitFilter], u *AdminUnit, creating bool, newID func() uuid.UUID) error {
	if creating {
		u.ID, u.ValidTo, u.SuccessorID = newID(), nil, uuid.Nil
	} else {
		stored, err := units.Get(ctx, u.keyOf())
		if err != nil {
			return err
		}
		if stored.Code != u.Code {
			return domain.Invalid("code", "cannot change; record a merger into a new unit instead")
		}
		u.ID, u.ValidFrom, u.ValidTo, u.SuccessorID = stored.ID, stored.ValidFrom, stored.ValidTo, stored.SuccessorID
	}
	return checkAdminParent(ctx, units, *u)
}

// checkAdminParent loads the parent and checks the level makes sense: a district under a
// province, a commune under a province, or a legacy commune under a district.
func checkAdminParent(ctx context.Context, units Store[AdminUnit, AdminUnitFilter], u AdminUnit) error {
	if u.ParentCode == "" {
		return nil
	}
	parent, err := units.Get(ctx, u.ParentCode)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.Invalid("parent_code", "names no administrative unit")
	}
	if err != nil {
		return err
	}
	switch {
	case u.Level == LevelDistrict && parent.Level != LevelProvince:
		return domain.Invalid("parent_code", "a district's parent must be a province")
	case u.Level == LevelCommune && parent.Level == LevelCommune:
		return domain.Invalid("parent_code", "a commune's parent must be a province or a legacy district")
	case u.Level == LevelCommune && parent.Level == LevelDistrict && !u.Legacy:
		return domain.Invalid("legacy", "a commune under a district belongs to the legacy three-level structure")
	}
	return nil
}

// checkAdminUnitRef requires code to name a unit of one of the given levels.
func checkAdminUnitRef(ctx context.Context, units Store[AdminUnit, AdminUnitFilter], field, code string, levels ...AdminLevel) error {
	unit, err := units.Get(ctx, code)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.Invalid(field, "names no administrative unit")
	}
	if err != nil {
		return err
	}
	if !oneOf(unit.Level, levels...) {
		return domain.Invalid(field, "names a unit of the wrong level")
	}
	return nil
}
