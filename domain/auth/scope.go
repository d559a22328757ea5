package auth

import (
	"slices"

	"github.com/google/uuid"
)

// Scope is what a person may see, decided once from their role: everything (an admin,
// courierd itself), the post offices a dispatcher plans for, a courier's own stops and
// record, a clerk's agency, the dossiers of the phone a citizen proved they hold; an
// anonymous principal nothing. Every list's filter and every visibility check reads it.
type Scope struct {
	all        bool
	offices    []uuid.UUID // dispatchers: never nil, so that none means no office
	courier    uuid.UUID
	agency     uuid.UUID
	phoneIndex string
	role       Role
}

// ScopeOf is what p may see.
func ScopeOf(p Principal) Scope {
	s := Scope{role: p.Role}
	switch p.Role {
	case RoleAdmin, RoleSystem:
		s.all = true
	case RoleDispatcher:
		s.offices = append([]uuid.UUID{}, p.PostOfficeIDs...)
	case RoleCourier:
		s.courier = p.CourierID
	case RoleClerk, RolePartner:
		s.agency = p.AgencyID
	case RoleCitizen:
		s.phoneIndex = p.PhoneIndex
	}
	return s
}

// All reports whether the scope is everything.
func (s Scope) All() bool { return s.all }

// PostOffices are a dispatcher's post offices (a list of their own, never nil); ok is
// false for any other scope.
func (s Scope) PostOffices() (ids []uuid.UUID, ok bool) {
	if s.role != RoleDispatcher {
		return nil, false
	}
	return slices.Clone(s.offices), true
}

// Courier is a courier's own record; ok is false for any other scope.
func (s Scope) Courier() (id uuid.UUID, ok bool) { return s.courier, s.role == RoleCourier }

// agencyBound: a clerk and a partner's client see one agency's records.
func (s Scope) agencyBound() bool { return slices.Contains(agencyRoles, s.role) }

// Agency is a clerk's or partner's agency; ok is false for any other scope.
func (s Scope) Agency() (id uuid.UUID, ok bool) { return s.agency, s.agencyBound() }

// Applicant is the blind index of a citizen's phone; ok is false for any other scope.
func (s Scope) Applicant() (phoneIndex string, ok bool) { return s.phoneIndex, s.role == RoleCitizen }

// SeesOffice reports whether the scope takes in post office id: everything, or a
// dispatcher's office.
func (s Scope) SeesOffice(id uuid.UUID) bool { return s.all || slices.Contains(s.offices, id) }

// IsCourier reports whether the scope is courier id's own.
func (s Scope) IsCourier(id uuid.UUID) bool { return s.role == RoleCourier && s.courier == id }

// SeesAgency reports whether the scope takes in agency id: everything, or a clerk's or
// partner's own.
func (s Scope) SeesAgency(id uuid.UUID) bool { return s.all || s.agencyBound() && s.agency == id }

// IsApplicant reports whether the scope is that of the citizen whose phone has the blind
// index phoneIndex (a citizen without one is nobody's applicant).
func (s Scope) IsApplicant(phoneIndex string) bool {
	return s.role == RoleCitizen && s.phoneIndex != "" && s.phoneIndex == phoneIndex
}

// Narrow cuts a list's filter to the scope, through the filter's fields for each way the
// list can be cut (nil where it cannot be cut that way): a dispatcher's offices, a
// courier's own record, a clerk's agency. Everything leaves the filter as asked. False
// when the scope sees none of the list.
func (s Scope) Narrow(offices *[]uuid.UUID, courier, agency *uuid.UUID) bool {
	switch {
	case s.all:
	case s.role == RoleDispatcher && offices != nil:
		*offices = slices.Clone(s.offices)
	case s.role == RoleCourier && courier != nil:
		*courier = s.courier
	case s.agencyBound() && agency != nil:
		*agency = s.agency
	default:
		return false
	}
	return true
}
