package auth

import (
	"context"
	"slices"

	"github.com/google/uuid"
)

// Role is what a staff account, or a citizen, is allowed to do.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleDispatcher Role = "dispatcher"
	RoleCourier    Role = "courier"
	RoleClerk      Role = "clerk"
	RoleCitizen    Role = "citizen"
	// RolePartner is a partner system's machine client (client-credentials grant): no
	// password, bound to an agency, allowed only what its scopes name.
	RolePartner Role = "partner"
	// RoleSystem is courierd itself: seeding, background jobs. No token carries it.
	RoleSystem Role = "system"
)

// StaffRoles are the roles a staff account may have.
var StaffRoles = []Role{RoleAdmin, RoleDispatcher, RoleCourier, RoleClerk}

// Principal is who makes a request, as far as authorization needs to know: the account,
// its role and scope, the device and session the token belongs to, and the source
// address for the audit log.
type Principal struct {
	AccountID     uuid.UUID
	Role          Role
	CourierID     uuid.UUID   // couriers: their courier record
	AgencyID      uuid.UUID   // clerks: their agency
	PostOfficeIDs []uuid.UUID // dispatchers: the post offices they plan for
	DeviceID      uuid.UUID   // device-bound courier tokens: our id of the device…
	DeviceKey     string      // …and the installation's own, which it sends on every call
	SessionID     uuid.UUID   // the refresh-token family the access token came from
	PhoneIndex    string      // citizens: the blind index of the phone they proved they hold
	Scopes        []string    // partners: what their client was granted, as asked for at token time
	Source        string      // client address, for the audit log only
}

// System is the principal of courierd's own work (seeding, jobs).
var System = Principal{Role: RoleSystem, Source: "courierd"}

// Is reports whether p has one of roles.
func (p Principal) Is(roles ...Role) bool {
	return slices.Contains(roles, p.Role)
}

// agencyRoles act for one agency only: a clerk, a partner's client.
var agencyRoles = []Role{RoleClerk, RolePartner}

// AgencyBound reports whether p acts for one agency only.
func (p Principal) AgencyBound() bool { return p.Is(agencyRoles...) }

// HasScope reports whether p is a partner granted scope.
func (p Principal) HasScope(scope string) bool {
	return p.Role == RolePartner && slices.Contains(p.Scopes, scope)
}

// PlansFor reports whether p is a dispatcher of post office id.
func (p Principal) PlansFor(id uuid.UUID) bool {
	return p.Role == RoleDispatcher && slices.Contains(p.PostOfficeIDs, id)
}

type principalKey struct{}

// WithPrincipal attaches p to ctx; domain services read it to authorize and to audit.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is the principal ctx carries. A context without one gets an anonymous
// principal with no role, which every policy refuses.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
