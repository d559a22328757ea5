package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"courierd/domain"
	"courierd/domain/auth"
)

// access is a route's function-level rule: who may call it at all. Which records a caller
// then sees is each resource kind's domain policy.
type access struct {
	public bool
	roles  []auth.Role
	device bool // the call must come from the caller's registered, unrevoked handheld
	// draining admits apps below MIN_APP_VERSION: pushing their queue must always work.
	draining bool
	// scope admits partners' clients granted it, besides roles.
	scope string
}

// citizens is the citizen routes' rule: only tokens from a one-time-code login, which no
// staff route accepts either.
var citizens = access{roles: []auth.Role{auth.RoleCitizen}}

// audience is the token audience a rule's routes accept.
func (a access) audience() string {
	if slices.Equal(a.roles, citizens.roles) {
		return citizenAudience
	}
	return staffAudience
}

var (
	public = access{public: true}
	// anyStaff is every staff role: reference data and one's own session.
	anyStaff = access{roles: auth.StaffRoles}
	admins   = access{roles: []auth.Role{auth.RoleAdmin}}
	// onDevice is the field-device API: a courier's token bound to the device calling.
	onDevice = access{roles: []auth.Role{auth.RoleCourier}, device: true}
	// drainQueue is onDevice for the push, which old apps may still make.
	drainQueue = access{roles: []auth.Role{auth.RoleCourier}, device: true, draining: true}
)

func staff(roles ...auth.Role) access { return access{roles: roles} }

// partners is the rule of routes for partners' clients alone, those granted scope.
func partners(scope string) access { return access{scope: scope} }

// orPartner is a, also open to partners' clients granted scope.
func (a access) orPartner(scope string) access {
	a.scope = scope
	return a
}

func (a access) String() string {
	if a.public {
		return "public"
	}
	names := make([]string, 0, len(a.roles)+1)
	for _, r := range a.roles {
		names = append(names, string(r))
	}
	if a.scope != "" {
		names = append(names, string(auth.RolePartner)+":"+a.scope)
	}
	s := strings.Join(names, ",")
	if a.device {
		s += "+device"
	}
	return s
}

// router registers routes together with their access rule, so that no route can exist
// without one (the route-table test walks them).
type router struct {
	group  fiber.Router
	prefix string
	guard  *guard
	rules  map[string]access
	idem   *idempotent
	// ops describe the routes in the API document.
	ops *[]*operation
}

func (rt *router) handle(method, path string, rule access, h fiber.Handler) *operation {
	rt.rules[method+" "+rt.prefix+path] = rule
	op := describe(rt.ops, method, rt.prefix+path, rule)
	handlers := []fiber.Handler{plainText, rt.guard.check(rule)}
	// Every POST a caller makes takes an Idempotency-Key, so that no creating route can be
	// added without it. Public POSTs (logins, signed callbacks) have no caller to scope keys
	// to, and the callbacks, like devices' pushes (mutation ids), dedupe by their own ids.
	if method == fiber.MethodPost && !rule.public && !rule.device {
		handlers = append(handlers, rt.idem.handle)
	}
	rt.group.Add(method, path, append(handlers, h)...)
	return op
}

func (rt *router) get(path string, rule access, h fiber.Handler) *operation {
	return rt.handle(fiber.MethodGet, path, rule, h)
}
func (rt *router) post(path string, rule access, h fiber.Handler) *operation {
	return rt.handle(fiber.MethodPost, path, rule, h)
}
func (rt *router) put(path string, rule access, h fiber.Handler) *operation {
	return rt.handle(fiber.MethodPut, path, rule, h)
}

// guard authenticates bearer tokens and applies access rules.
type guard struct {
	tokens          *tokens
	auth            *auth.Service
	partners        *clientLimits
	deprecatedBelow string
	deprecatedSince time.Time
	sunset          time.Time
}

const (
	headerDeviceID   = "X-Device-ID"
	headerAppVersion = "X-App-Version"
)

func (g *guard) check(rule access) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if rule.public {
			return c.Next()
		}
		p, err := g.authenticate(c, rule.audience())
		if err != nil {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="courierd"`)
			return err
		}
		if p.Role == auth.RolePartner {
			if err := g.partners.allow(p.AccountID); err != nil {
				return err
			}
		}
		if !slices.Contains(rule.roles, p.Role) && (rule.scope == "" || !p.HasScope(rule.scope)) {
			if p.Role == auth.RolePartner && rule.scope != "" {
				return domain.Errorf(domain.CodeForbidden, "this client lacks the scope %s", rule.scope)
			}
			return domain.Errorf(domain.CodeForbidden, "your role (%s) may not do this", p.Role)
		}
		// A token bound to a device is good only from that device.
		if p.DeviceKey != "" && c.Get(headerDeviceID) != p.DeviceKey {
			return domain.Errorf(domain.CodeUnauthenticated, "this token belongs to another device; send its %s", headerDeviceID)
		}
		ctx := auth.WithPrincipal(c.UserContext(), p)
		c.SetUserContext(ctx)
		if rule.device {
			return g.deviceThenNext(c, rule.draining)
		}
		return c.Next()
	}
}

func (g *guard) deviceThenNext(c *fiber.Ctx, draining bool) error {
	version := c.Get(headerAppVersion)
	if err := g.auth.CheckDevice(c.UserContext(), version, draining); err != nil {
		return err
	}
	if auth.OlderThan(version, g.deprecatedBelow) {
		c.Set("Deprecation", "@"+strconv.FormatInt(g.deprecatedSince.Unix(), 10))
		if !g.sunset.IsZero() {
			c.Set("Sunset", g.sunset.UTC().Format(http.TimeFormat))
		}
	}
	return c.Next()
}

// maxTokenLen refuses absurd Authorization headers before any parsing.
const maxTokenLen = 4096

func (g *guard) authenticate(c *fiber.Ctx, audience string) (auth.Principal, error) {
	header := c.Get(fiber.HeaderAuthorization)
	scheme, raw, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return auth.Principal{}, domain.Errorf(domain.CodeUnauthenticated, "send an access token: Authorization: Bearer <token>")
	}
	if len(raw) > maxTokenLen {
		return auth.Principal{}, domain.Errorf(domain.CodeUnauthenticated, "invalid or expired access token")
	}
	p, issuedAt, err := g.tokens.verify(raw, audience)
	if err != nil {
		return auth.Principal{}, domain.Errorf(domain.CodeUnauthenticated, "invalid or expired access token")
	}
	if err := g.auth.Authenticate(p, issuedAt); err != nil {
		return auth.Principal{}, err
	}
	p.Source = c.IP()
	return p, nil
}
