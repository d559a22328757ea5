package catalog

import (
	"context"
	"regexp"

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

// AdminUnit is a province, a commune or ward, or a legacy district, identified by its
// national code. Legacy marks units of the pre-2025 three-level structure, kept so that
// older dossiers' addresses still resolve.
type AdminUnit struct {
	Code       string
	Name       string
	Level      AdminLevel
	Kind       string
	ParentCode string
	Legacy     bool
	Revision
}

// AdminUnitFilter narrows a list of units; zero fields do not filter.
type AdminUnitFilter struct {
	Level      AdminLevel
	ParentCode string
	Legacy     *bool
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

func (u AdminUnit) WithKey(key string) (AdminUnit, error) {
	if u.Code == "" {
		u.Code = key
	}
	if u.Code != key {
		return u, domain.Invalid("code", "cannot change; create the new unit and mark this one legacy")
	}
	return u, nil
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
