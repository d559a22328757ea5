package api

import (
	"encoding/base64"
	"errors"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"courierd/domain"
	"courierd/domain/auth"
)

// codeTooManyRequests answers a partner's client over its request rate.
const codeTooManyRequests domain.Code = "TOO_MANY_REQUESTS"

// clientLimits is each partner client's token bucket: perSecond requests a second, bursts
// of as many. It is per process: behind n processes a client gets up to n times the rate.
type clientLimits struct {
	perSecond int
	mu        sync.Mutex
	buckets   map[uuid.UUID]*rate.Limiter
}

func newClientLimits(perSecond int) *clientLimits {
	return &clientLimits{perSecond: perSecond, buckets: map[uuid.UUID]*rate.Limiter{}}
}

// allow takes one request from client's bucket, or answers TOO_MANY_REQUESTS with the
// wait until the next one. A rate of 0 or less is no limit.
func (l *clientLimits) allow(client uuid.UUID) error {
	if l == nil || l.perSecond <= 0 {
		return nil
	}
	l.mu.Lock()
	b, ok := l.buckets[client]
	if !ok {
		b = rate.NewLimiter(rate.Limit(l.perSecond), l.perSecond)
		l.buckets[client] = b
	}
	l.mu.Unlock()
	r := b.Reserve()
	if wait := r.Delay(); wait > 0 {
		r.Cancel()
		e := domain.Errorf(codeTooManyRequests, "this client is over its %d requests a second; slow down", l.perSecond)
		e.RetryAfter = time.Duration(math.Ceil(wait.Seconds())) * time.Second
		return e
	}
	return nil
}

type partnerClientDTO struct {
	ID            string     `json:"client_id" example:"4f8a2c1e-9b7d-4e3a-8c6f-2d1b0a9e7f53"`
	Name          string     `json:"name" example:"Cổng dịch vụ công tỉnh"`
	Kind          string     `json:"kind" enum:"portal,bank,agency_software"`
	AgencyID      string     `json:"agency_id"`
	Scopes        []string   `json:"scopes" example:"[\"dossiers:create\",\"dossiers:read\"]"`
	CreatedAt     time.Time  `json:"created_at"`
	PreviousUntil *time.Time `json:"previous_secret_until,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	// Secret is shown once, when it is made.
	Secret string `json:"client_secret,omitempty"`
}

func toClientDTO(c auth.Client, secret string) partnerClientDTO {
	return partnerClientDTO{ID: c.ID.String(), Name: c.Name, Kind: string(c.Kind), AgencyID: c.AgencyID.String(), Scopes: c.Scopes,
		CreatedAt: c.CreatedAt, PreviousUntil: c.PreviousUntil, RevokedAt: c.RevokedAt, Secret: secret}
}

type newPartnerClientDTO struct {
	Name     string   `json:"name" example:"Cổng dịch vụ công tỉnh"`
	Kind     string   `json:"kind" enum:"portal,bank,agency_software"`
	AgencyID string   `json:"agency_id" doc:"the agency whose dossiers the client opens and reads"`
	Scopes   []string `json:"scopes" example:"[\"dossiers:create\",\"dossiers:read\"]"`
}

// partnerClientsDTO is every registered client.
type partnerClientsDTO struct {
	Items []partnerClientDTO `json:"items"`
}

// rotateSecretDTO may be left out: the previous secret then keeps working a while.
type rotateSecretDTO struct {
	RetirePrevious bool `json:"retire_previous" doc:"stop the previous secret at once"`
}

// tokenRequestForm is RFC 6749 §4.4.2's token request, form-encoded; the client's
// credentials come in it or, better, as HTTP Basic.
type tokenRequestForm struct {
	GrantType    string `json:"grant_type" enum:"client_credentials"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	Scope        string `json:"scope,omitempty" doc:"space-separated scopes asked for; all those granted when left out" example:"dossiers:create"`
}

// clientTokenDTO is RFC 6749 §5.1's access token answer.
type clientTokenDTO struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type" enum:"Bearer"`
	ExpiresIn   int    `json:"expires_in" doc:"seconds" example:"900"`
	Scope       string `json:"scope" example:"dossiers:create dossiers:read"`
}

// oauthErrorDTO is RFC 6749 §5.2's refusal.
type oauthErrorDTO struct {
	Error       string `json:"error" enum:"invalid_request,invalid_client,invalid_scope,unsupported_grant_type"`
	Description string `json:"error_description"`
}

// mountClients is the admin's registry of partners' clients and the token endpoint they
// trade their credentials at.
func mountClients(rt *router, svc *auth.Clients, tok *tokens) {
	rt.post("/clients", admins, func(c *fiber.Ctx) error {
		var body newPartnerClientDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		in := auth.Client{Name: body.Name, Kind: auth.ClientKind(body.Kind), AgencyID: optionalID(&p, "agency_id", body.AgencyID), Scopes: body.Scopes}
		if err := p.Err(); err != nil {
			return err
		}
		created, secret, err := svc.Register(c.UserContext(), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toClientDTO(created, secret))
	}).doc("Register a partner's client (its secret is shown once)").takes(newPartnerClientDTO{}).answers(fiber.StatusCreated, partnerClientDTO{})
	rt.get("/clients", admins, func(c *fiber.Ctx) error {
		list, err := svc.List(c.UserContext())
		if err != nil {
			return err
		}
		items := make([]partnerClientDTO, len(list))
		for i, cl := range list {
			items[i] = toClientDTO(cl, "")
		}
		return c.JSON(partnerClientsDTO{Items: items})
	}).doc("List partners' clients").answers(fiber.StatusOK, partnerClientsDTO{})
	rt.get("/clients/:key", admins, byID("client", func(c *fiber.Ctx, id uuid.UUID) error {
		cl, err := svc.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toClientDTO(cl, ""))
	})).doc("One partner's client").answers(fiber.StatusOK, partnerClientDTO{})
	rt.post("/clients/:key/secrets", admins, byID("client", func(c *fiber.Ctx, id uuid.UUID) error {
		var body rotateSecretDTO
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &body); err != nil {
				return err
			}
		}
		cl, secret, err := svc.RotateSecret(c.UserContext(), id, body.RetirePrevious)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toClientDTO(cl, secret))
	})).doc("Give a client a new secret (shown once)").mayTake(rotateSecretDTO{}).answers(fiber.StatusCreated, partnerClientDTO{}).
		fails(domain.CodeConflict)
	rt.post("/clients/:key/revoke", admins, byID("client", func(c *fiber.Ctx, id uuid.UUID) error {
		if err := svc.Revoke(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})).doc("Revoke a client: its tokens stop working").answers(fiber.StatusNoContent, nil)
	rt.post("/oauth/token", public, tokenEndpoint(svc, tok)).doc("Trade a client's credentials for an access token (RFC 6749 §4.4)").
		takesForm(tokenRequestForm{}).answers(fiber.StatusOK, clientTokenDTO{}).
		answers(fiber.StatusBadRequest, oauthErrorDTO{}).answers(fiber.StatusUnauthorized, oauthErrorDTO{})
}

// tokenEndpoint is RFC 6749 §4.4's token request. Its refusals are RFC 6749 §5.2's JSON
// ({"error","error_description"}), not problem+json: OAuth client libraries read that
// shape, and the RFC requires it of a token endpoint.
func tokenEndpoint(svc *auth.Clients, tok *tokens) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderPragma, "no-cache")
		if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
			return oauthRefusal(c, "invalid_request", "send the request as application/x-www-form-urlencoded")
		}
		if grant := c.FormValue("grant_type"); grant != "client_credentials" {
			return oauthRefusal(c, "unsupported_grant_type", "only grant_type=client_credentials is served")
		}
		clientID, clientSecret := c.FormValue("client_id"), c.FormValue("client_secret")
		user, pass, basic := basicAuth(c.Get(fiber.HeaderAuthorization))
		if basic {
			clientID, clientSecret = user, pass
		}
		p, err := svc.Authenticate(c.UserContext(), clientID, clientSecret, c.FormValue("scope"))
		var refusal *auth.OAuthError
		if errors.As(err, &refusal) {
			if refusal.Code == "invalid_client" {
				scheme := "Bearer"
				if basic {
					scheme = "Basic"
				}
				c.Set(fiber.HeaderWWWAuthenticate, scheme+` realm="courierd"`)
				c.Status(fiber.StatusUnauthorized)
			}
			return oauthRefusal(c, refusal.Code, refusal.Description)
		}
		if err != nil {
			return err
		}
		now := tok.now()
		raw, err := tok.issue(auth.Session{Principal: p, IssuedAt: now})
		if err != nil {
			return err
		}
		return c.JSON(clientTokenDTO{AccessToken: raw, TokenType: "Bearer", ExpiresIn: int(tok.ttl.Seconds()), Scope: strings.Join(p.Scopes, " ")})
	}
}

// basicAuth reads HTTP Basic credentials, each form-encoded first as RFC 6749 §2.3.1 says.
func basicAuth(header string) (user, pass string, ok bool) {
	scheme, encoded, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", false
	}
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if u, err = url.QueryUnescape(u); err != nil {
		return "", "", false
	}
	if p, err = url.QueryUnescape(p); err != nil {
		return "", "", false
	}
	return u, p, true
}

// oauthRefusal answers RFC 6749 §5.2's error JSON, 400 unless a status is already set.
func oauthRefusal(c *fiber.Ctx, code, description string) error {
	if c.Response().StatusCode() == fiber.StatusOK {
		c.Status(fiber.StatusBadRequest)
	}
	return c.JSON(oauthErrorDTO{Error: code, Description: description})
}
