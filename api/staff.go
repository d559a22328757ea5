package api

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
)

// accountRegistry adapts the account operations of auth.Service to a resource.
type accountRegistry struct{ svc *auth.Service }

func (r accountRegistry) List(ctx context.Context, f auth.AccountFilter, page domain.Page) (domain.List[auth.AccountInput], error) {
	list, err := r.svc.ListAccounts(ctx, f, page)
	items := make([]auth.AccountInput, len(list.Items))
	for i, a := range list.Items {
		items[i] = auth.AccountInput{Account: a}
	}
	return domain.List[auth.AccountInput]{Items: items, Total: list.Total, NextCursor: list.NextCursor}, err
}

func (r accountRegistry) Get(ctx context.Context, key string) (auth.AccountInput, error) {
	id, err := pathID(key, "account")
	if err != nil {
		return auth.AccountInput{}, err
	}
	a, err := r.svc.GetAccount(ctx, id)
	return auth.AccountInput{Account: a}, err
}

func (r accountRegistry) Create(ctx context.Context, in auth.AccountInput) (auth.AccountInput, error) {
	a, err := r.svc.CreateAccount(ctx, in)
	return auth.AccountInput{Account: a}, err
}

func (r accountRegistry) Update(ctx context.Context, key string, in auth.AccountInput, version int) (auth.AccountInput, error) {
	id, err := pathID(key, "account")
	if err != nil {
		return auth.AccountInput{}, err
	}
	a, err := r.svc.UpdateAccount(ctx, id, in, version)
	return auth.AccountInput{Account: a}, err
}

// pathID reads a UUID from a path; one that cannot be an id names nothing.
func pathID(key, noun string) (uuid.UUID, error) {
	id, err := uuid.Parse(key)
	if err != nil {
		return uuid.Nil, domain.Errorf(domain.CodeNotFound, "no such %s", noun)
	}
	return id, nil
}

// accountDTO never shows the password hash; password is write-only.
type accountDTO struct {
	ID            string   `json:"id,omitempty" example:"7c1d9e2a-4b3f-4a8e-b6d5-0e2f8a9c1b34"`
	Username      string   `json:"username" example:"dispatcher.badinh"`
	Password      string   `json:"password,omitempty" doc:"write-only: set on create, changed on update when given"`
	Role          string   `json:"role" enum:"admin,dispatcher,courier,clerk"`
	CourierID     string   `json:"courier_id,omitempty"`
	AgencyID      string   `json:"agency_id,omitempty"`
	PostOfficeIDs []string `json:"post_office_ids,omitempty"`
	Active        *bool    `json:"active,omitempty"`
	revisionDTO
}

func toAccountDTO(in auth.AccountInput) accountDTO {
	a := in.Account
	created, updated := a.CreatedAt, a.UpdatedAt
	d := accountDTO{ID: a.ID.String(), Username: a.Username, Role: string(a.Role), CourierID: idText(a.CourierID),
		AgencyID: idText(a.AgencyID), Active: &a.Active,
		revisionDTO: revisionDTO{Version: a.Version, CreatedAt: &created, UpdatedAt: &updated}}
	for _, o := range a.PostOfficeIDs {
		d.PostOfficeIDs = append(d.PostOfficeIDs, o.String())
	}
	return d
}

func fromAccountDTO(d accountDTO) (auth.AccountInput, int, error) {
	var p domain.Problems
	a := auth.Account{Username: d.Username, Role: auth.Role(d.Role), Active: d.Active == nil || *d.Active,
		CourierID: optionalID(&p, "courier_id", d.CourierID), AgencyID: optionalID(&p, "agency_id", d.AgencyID)}
	for i, o := range d.PostOfficeIDs {
		a.PostOfficeIDs = append(a.PostOfficeIDs, optionalID(&p, fmt.Sprintf("post_office_ids[%d]", i), o))
	}
	return auth.AccountInput{Account: a, Password: d.Password}, d.Version, p.Err()
}

func optionalID(p *domain.Problems, field, text string) uuid.UUID {
	if text == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(text)
	p.Check(err == nil, field, "must be a UUID")
	return id
}

type deviceDTO struct {
	ID           string     `json:"id,omitempty"`
	DeviceID     string     `json:"device_id" doc:"the handheld's own identifier, sent as X-Device-ID" example:"a1b2c3d4e5f60718"`
	CourierID    string     `json:"courier_id,omitempty"`
	Model        string     `json:"model" example:"Samsung SM-A155F"`
	OS           string     `json:"os" example:"Android 14"`
	AppVersion   string     `json:"app_version" example:"2.4.1"`
	RegisteredAt *time.Time `json:"registered_at,omitempty"`
	LastSeenAt   *time.Time `json:"last_seen_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

func toDeviceDTO(d auth.Device) deviceDTO {
	return deviceDTO{ID: d.ID.String(), DeviceID: d.Key, CourierID: d.CourierID.String(), Model: d.Model, OS: d.OS,
		AppVersion: d.AppVersion, RegisteredAt: &d.RegisteredAt, LastSeenAt: &d.LastSeenAt, RevokedAt: d.RevokedAt}
}

type auditDTO struct {
	ID           int64          `json:"id"`
	At           time.Time      `json:"at"`
	ActorID      string         `json:"actor_id,omitempty"`
	ActorRole    string         `json:"actor_role" example:"admin"`
	DeviceID     string         `json:"device_id,omitempty"`
	Source       string         `json:"source" doc:"the caller's address"`
	Action       string         `json:"action" example:"account.password"`
	ResourceKind string         `json:"resource_kind" example:"account"`
	ResourceID   string         `json:"resource_id"`
	Detail       map[string]any `json:"detail"`
}

// deviceSessionDTO is who a device's token speaks for.
type deviceSessionDTO struct {
	DeviceID  string `json:"device_id"`
	CourierID string `json:"courier_id"`
	SessionID string `json:"session_id"`
}

func mountStaff(rt *router, svc *auth.Service, log *audit.Log) {
	mount(rt, resource[auth.AccountInput, auth.AccountFilter, accountDTO]{
		path: "/accounts", read: admins, write: admins, reg: accountRegistry{svc},
		key:   func(a auth.AccountInput) string { return a.ID.String() },
		toDTO: toAccountDTO, fromDTO: fromAccountDTO,
		filter: func(c *fiber.Ctx, p *domain.Problems) auth.AccountFilter {
			return auth.AccountFilter{Role: auth.Role(c.Query("role")), Active: queryBool(c, p, "active")}
		},
		noun:      "staff account",
		params:    []queryParam{enumParam("role", "the account's role", names(auth.StaffRoles...)...), param("active", false, "accounts that may log in (true) or not (false)")},
		conflicts: []domain.Code{domain.CodeConflict},
	})
	rt.post("/accounts/:key/revoke", admins, byID("account", func(c *fiber.Ctx, id uuid.UUID) error {
		if err := svc.RevokeAccount(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})).doc("End every session of an account now").answers(fiber.StatusNoContent, nil)

	rt.post("/devices", staff(auth.RoleCourier), func(c *fiber.Ctx) error {
		var body deviceDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		d, err := svc.RegisterDevice(c.UserContext(), auth.Device{Key: body.DeviceID, Model: body.Model, OS: body.OS, AppVersion: body.AppVersion})
		if err != nil {
			return err
		}
		return c.JSON(toDeviceDTO(d))
	}).doc("Register the calling courier's handheld").takes(deviceDTO{}).answers(fiber.StatusOK, deviceDTO{}).
		fails(domain.CodeConflict, auth.CodeDeviceBoundElsewhere)
	deviceReaders := staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier)
	rt.get("/devices", deviceReaders, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		filter := auth.DeviceFilter{Revoked: queryBool(c, &p, "revoked")}
		if err := p.Err(); err != nil {
			return err
		}
		list, err := svc.ListDevices(c.UserContext(), filter, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, toDeviceDTO))
	}).doc("List handhelds").params(append(slices.Clone(paging), param("revoked", false, "revoked devices (true) or live ones (false)"))...).
		answers(fiber.StatusOK, listBody[deviceDTO]{})
	rt.get("/devices/:key", deviceReaders, byID("device", func(c *fiber.Ctx, id uuid.UUID) error {
		d, err := svc.GetDevice(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toDeviceDTO(d))
	})).doc("One handheld").answers(fiber.StatusOK, deviceDTO{})
	rt.post("/devices/:key/revoke", admins, byID("device", func(c *fiber.Ctx, id uuid.UUID) error {
		if err := svc.RevokeDevice(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})).doc("Revoke a handheld: its tokens stop working").answers(fiber.StatusNoContent, nil)
	rt.get("/device/session", onDevice, func(c *fiber.Ctx) error {
		p := auth.PrincipalFrom(c.UserContext())
		return c.JSON(deviceSessionDTO{DeviceID: p.DeviceKey, CourierID: p.CourierID.String(), SessionID: p.SessionID.String()})
	}).doc("Who the device's token speaks for").answers(fiber.StatusOK, deviceSessionDTO{})

	rt.get("/audit", admins, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		f := audit.Filter{ActorID: optionalID(&p, "actor_id", c.Query("actor_id")), Action: c.Query("action"),
			ResourceKind: c.Query("resource_kind"), ResourceID: c.Query("resource_id"),
			From: queryTime(c, &p, "from"), To: queryTime(c, &p, "to")}
		if err := p.Err(); err != nil {
			return err
		}
		list, err := log.List(c.UserContext(), f, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, func(e audit.Entry) auditDTO {
			return auditDTO{ID: e.ID, At: e.At, ActorID: idText(e.ActorID), ActorRole: e.ActorRole, DeviceID: idText(e.DeviceID),
				Source: e.Source, Action: e.Action, ResourceKind: e.ResourceKind, ResourceID: e.ResourceID, Detail: e.Detail}
		}))
	}).doc("Read the audit log").params(append(slices.Clone(paging), param("actor_id", "", "who acted (a UUID)"), param("action", "", "what was done"),
		param("resource_kind", "", "the kind of record acted on"), param("resource_id", "", "the record acted on"),
		param("from", "", "from this instant (RFC 3339) or day (YYYY-MM-DD)"), param("to", "", "until this instant (RFC 3339) or day (YYYY-MM-DD)"))...).
		answers(fiber.StatusOK, listBody[auditDTO]{})
}

// queryTime reads an optional RFC 3339 time or YYYY-MM-DD date.
func queryTime(c *fiber.Ctx, p *domain.Problems, name string) time.Time {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t
	}
	return parseDate(p, name, raw)
}
