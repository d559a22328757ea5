package catalog

import (
	"regexp"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"courierd/domain"
)

// PostOfficeKind separates full post offices from commune cultural post offices (BĐ-VHX),
// which are small and often staffed by one person.
type PostOfficeKind string

const (
	PostOfficeFull            PostOfficeKind = "post_office"
	PostOfficeCommuneCultural PostOfficeKind = "commune_cultural"
)

// PostOffice is where couriers start and end their day; its service area decides which
// addresses it serves.
type PostOffice struct {
	ID            uuid.UUID
	Code          string
	Name          string
	Kind          PostOfficeKind
	AdminUnitCode string
	Address       string
	Location      orb.Point
	ServiceArea   orb.MultiPolygon
	Revision
}

type PostOfficeFilter struct {
	Kind          PostOfficeKind
	AdminUnitCode string
	NameQuery     string
}

// postalCode is the five- or six-digit code of a postal unit.
var postalCode = regexp.MustCompile(`^[0-9]{5,6}$`)

func (o PostOffice) Validate() error {
	var p domain.Problems
	p.Check(postalCode.MatchString(o.Code), "code", "must be the 5- or 6-digit postal code")
	checkName(&p, "name", o.Name, 200)
	p.Check(oneOf(o.Kind, PostOfficeFull, PostOfficeCommuneCultural), "kind", "must be post_office or commune_cultural")
	p.Check(o.AdminUnitCode != "", "admin_unit_code", "is required")
	checkName(&p, "address", o.Address, 300)
	CheckPoint(&p, "location", o.Location)
	CheckArea(&p, "service_area", o.ServiceArea)
	return p.Err()
}

// Serves reports whether pt falls in the office's service area (holes excluded).
func (o PostOffice) Serves(pt orb.Point) bool {
	return planar.MultiPolygonContains(o.ServiceArea, pt)
}

func (o PostOffice) WithKey(key string) (PostOffice, error) {
	id, err := idKey(key, "post office")
	o.ID = id
	return o, err
}
