package auth

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// Account is a staff login. Its role decides its scope: a courier is one courier record, a
// clerk one agency, a dispatcher one or more post offices; an admin has no scope.
type Account struct {
	ID            uuid.UUID
	Username      string
	PasswordHash  string
	Role          Role
	CourierID     uuid.UUID
	AgencyID      uuid.UUID
	PostOfficeIDs []uuid.UUID
	Active        bool
	// Disabled is set by the store when the account may not be used although Active: a
	// courier account whose courier record is no longer active.
	Disabled  bool
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AccountFilter narrows a list of accounts; zero fields do not filter.
type AccountFilter struct {
	Role   Role
	Active *bool
}

var usernameShape = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,39}$`)

// NormalizeUsername is the form usernames are stored and looked up in.
func NormalizeUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// Validate checks the account's fields and that its scope fits its role.
func (a Account) Validate() error {
	var p domain.Problems
	p.Check(usernameShape.MatchString(a.Username), "username", "must be 3–40 lowercase letters, digits, '.', '-' or '_'")
	p.Check(slices.Contains(StaffRoles, a.Role), "role", "must be admin, dispatcher, courier or clerk")
	p.Check((a.Role == RoleCourier) == (a.CourierID != uuid.Nil), "courier_id", "is required for a courier and only for one")
	p.Check((a.Role == RoleClerk) == (a.AgencyID != uuid.Nil), "agency_id", "is required for a clerk and only for one")
	p.Check((a.Role == RoleDispatcher) == (len(a.PostOfficeIDs) > 0), "post_office_ids", "a dispatcher needs at least one post office, and only a dispatcher has any")
	return p.Err()
}

// principal is the account as a request's principal.
func (a Account) principal(device *Device, session uuid.UUID, source string) Principal {
	p := Principal{AccountID: a.ID, Role: a.Role, CourierID: a.CourierID, AgencyID: a.AgencyID,
		PostOfficeIDs: a.PostOfficeIDs, SessionID: session, Source: source}
	if device != nil {
		p.DeviceID, p.DeviceKey = device.ID, device.Key
	}
	return p
}

// usable reports whether the account may log in and refresh.
func (a Account) usable() bool { return a.Active && !a.Disabled }
