package catalog

import (
	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
)

// AgencyKind is the sort of authority that settles procedures.
type AgencyKind string

const (
	AgencyDepartment       AgencyKind = "department"
	AgencyCommuneCommittee AgencyKind = "commune_committee"
	AgencyPolice           AgencyKind = "police"
	AgencySocialInsurance  AgencyKind = "social_insurance"
	AgencyOther            AgencyKind = "other"
)

var agencyKinds = []AgencyKind{AgencyDepartment, AgencyCommuneCommittee, AgencyPolice, AgencySocialInsurance, AgencyOther}

// Agency is a competent authority: a provincial department, a commune People's
// Committee, the police, social insurance, or another body receiving dossiers.
type Agency struct {
	ID            uuid.UUID
	Code          string
	Name          string
	Kind          AgencyKind
	AdminUnitCode string
	Address       string
	Location      orb.Point
	Revision
}

type AgencyFilter struct {
	Code          string
	Kind          AgencyKind
	AdminUnitCode string
	NameQuery     string
}

func (a Agency) Validate() error {
	var p domain.Problems
	checkCode(&p, "code", a.Code)
	checkName(&p, "name", a.Name, 200)
	p.Check(oneOf(a.Kind, agencyKinds...), "kind", "must be one of department, commune_committee, police, social_insurance, other")
	p.Check(a.AdminUnitCode != "", "admin_unit_code", "is required")
	checkName(&p, "address", a.Address, 300)
	CheckPoint(&p, "location", a.Location)
	return p.Err()
}

func (a Agency) WithKey(key string) (Agency, error) {
	id, err := idKey(key, "agency")
	a.ID = id
	return a, err
}
