package auth_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"

	"courierd/domain/auth"
)

// TestScope: principals of every role (and of none, and of a role no one has), generated
// with every field filled whatever their role, against what each role may see. A field
// of another role's scope never widens a person's: a courier with post offices sees none
// of them, a citizen without a phone is nobody's applicant.
func TestScope(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 5))
	id := func() uuid.UUID {
		var u uuid.UUID
		for i := range u {
			u[i] = byte(r.IntN(256))
		}
		return u
	}
	roles := append(slices.Clone(auth.StaffRoles), auth.RoleCitizen, auth.RolePartner, auth.RoleSystem, "", "root")
	for i := range 600 {
		p := auth.Principal{Role: roles[i%len(roles)], CourierID: id(), AgencyID: id()}
		for range r.IntN(4) {
			p.PostOfficeIDs = append(p.PostOfficeIDs, id())
		}
		if r.IntN(3) > 0 {
			p.PhoneIndex = id().String()
		}
		s := auth.ScopeOf(p)
		all := p.Is(auth.RoleAdmin, auth.RoleSystem)
		if s.All() != all {
			t.Errorf("%s: All %v", p.Role, s.All())
		}

		offices, byOffice := s.PostOffices()
		courier, byCourier := s.Courier()
		agency, byAgency := s.Agency()
		phone, byPhone := s.Applicant()
		if byOffice != (p.Role == auth.RoleDispatcher) || byCourier != (p.Role == auth.RoleCourier) ||
			byAgency != p.Is(auth.RoleClerk, auth.RolePartner) || byPhone != (p.Role == auth.RoleCitizen) {
			t.Fatalf("%s: bounded by offices %v, courier %v, agency %v, phone %v", p.Role, byOffice, byCourier, byAgency, byPhone)
		}
		if byOffice {
			if offices == nil || !slices.Equal(offices, p.PostOfficeIDs) {
				t.Errorf("dispatcher of %v: post offices %v", p.PostOfficeIDs, offices)
			}
			if len(offices) > 0 {
				offices[0] = uuid.Nil // the scope's list is not the caller's to change
				if again, _ := s.PostOffices(); again[0] != p.PostOfficeIDs[0] {
					t.Errorf("a change to the list returned changed the scope")
				}
			}
		}
		if byCourier && courier != p.CourierID || byAgency && agency != p.AgencyID || byPhone && phone != p.PhoneIndex {
			t.Errorf("%s: courier %v, agency %v, phone %q of %+v", p.Role, courier, agency, phone, p)
		}

		other := id()
		for _, office := range append(slices.Clone(p.PostOfficeIDs), other) {
			want := all || p.Role == auth.RoleDispatcher && office != other
			if s.SeesOffice(office) != want {
				t.Errorf("%s: sees office %v: %v, want %v", p.Role, office, !want, want)
			}
		}
		for _, c := range []struct {
			name      string
			got, want bool
		}{
			{"is its own courier", s.IsCourier(p.CourierID), p.Role == auth.RoleCourier},
			{"is another courier", s.IsCourier(other), false},
			{"sees its agency", s.SeesAgency(p.AgencyID), all || p.Is(auth.RoleClerk, auth.RolePartner)},
			{"sees another agency", s.SeesAgency(other), all},
			{"is the applicant of its phone", s.IsApplicant(p.PhoneIndex), p.Role == auth.RoleCitizen && p.PhoneIndex != ""},
			{"is the applicant of another phone", s.IsApplicant(other.String()), false},
			{"is the applicant of no phone", s.IsApplicant(""), false},
		} {
			if c.got != c.want {
				t.Errorf("%s (%+v): %s: %v, want %v", p.Role, p, c.name, c.got, c.want)
			}
		}
	}
}

// TestNarrow: a list's filter, already asked with values of its own, cut to principals of
// every role, for every set of ways the list can be cut. Everything keeps the filter as
// asked; a bounded scope replaces the field of its way, or sees none of a list that
// cannot be cut its way.
func TestNarrow(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 6))
	id := func() uuid.UUID { return uuid.UUID{byte(r.IntN(256)), byte(r.IntN(256)), 1} }
	roles := append(slices.Clone(auth.StaffRoles), auth.RoleCitizen, auth.RolePartner, auth.RoleSystem, "", "root")
	for i := range 600 {
		p := auth.Principal{Role: roles[i%len(roles)], CourierID: id(), AgencyID: id(), PostOfficeIDs: []uuid.UUID{id(), id()}}
		byOffice, byCourier, byAgency := r.IntN(2) == 0, r.IntN(2) == 0, r.IntN(2) == 0
		askedOffices, askedCourier, askedAgency := []uuid.UUID{id()}, id(), id()
		offices, courier, agency := slices.Clone(askedOffices), askedCourier, askedAgency
		var officesField *[]uuid.UUID
		var courierField, agencyField *uuid.UUID
		if byOffice {
			officesField = &offices
		}
		if byCourier {
			courierField = &courier
		}
		if byAgency {
			agencyField = &agency
		}
		seen := auth.ScopeOf(p).Narrow(officesField, courierField, agencyField)

		wantOffices, wantCourier, wantAgency := askedOffices, askedCourier, askedAgency
		want := true
		switch {
		case p.Is(auth.RoleAdmin, auth.RoleSystem):
		case p.Role == auth.RoleDispatcher && byOffice:
			wantOffices = p.PostOfficeIDs
		case p.Role == auth.RoleCourier && byCourier:
			wantCourier = p.CourierID
		case p.Is(auth.RoleClerk, auth.RolePartner) && byAgency:
			wantAgency = p.AgencyID
		default:
			want = false
		}
		if seen != want {
			t.Fatalf("%s, cut by offices %v, courier %v, agency %v: sees %v, want %v", p.Role, byOffice, byCourier, byAgency, seen, want)
		}
		if want && (!slices.Equal(offices, wantOffices) || courier != wantCourier || agency != wantAgency) {
			t.Errorf("%s: narrowed to offices %v, courier %v, agency %v; want %v, %v, %v", p.Role, offices, courier, agency, wantOffices, wantCourier, wantAgency)
		}
	}
}
