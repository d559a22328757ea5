package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"courierd/domain/auth"
)

// partner is a registered client and its secret.
type partner struct{ id, secret string }

// registerClient registers a partner's client for the clerk's agency with scopes.
func (h *harness) registerClient(t testing.TB, scopes ...string) partner {
	t.Helper()
	return h.registerClientFor(t, h.agency("Sở Tư pháp").ID.String(), scopes...)
}

// registerClientFor registers a partner's client for agency with scopes.
func (h *harness) registerClientFor(t testing.TB, agency string, scopes ...string) partner {
	t.Helper()
	quoted := make([]string, len(scopes))
	for i, s := range scopes {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	body := fmt.Sprintf(`{"name":"Cổng dịch vụ công tỉnh","kind":"portal","agency_id":%q,"scopes":[%s]}`, agency, strings.Join(quoted, ","))
	r := h.do(t, http.MethodPost, "/v1/clients", body)
	if r.status != http.StatusCreated {
		t.Fatalf("register a client: %d %s", r.status, r.raw)
	}
	return partner{id: r.body["client_id"].(string), secret: r.body["client_secret"].(string)}
}

// grant asks the token endpoint with form fields (client credentials in the form).
func (h *harness) grant(t testing.TB, form url.Values, header map[string]string) reply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := h.as("")
	for k, v := range header {
		c = c.with(k, v)
	}
	return c.send(t, req)
}

func credentials(p partner, scope string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {p.id}, "client_secret": {p.secret}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

// accessToken trades p's credentials for a token, or fails.
func (h *harness) accessToken(t testing.TB, p partner, scope string) string {
	t.Helper()
	r := h.grant(t, credentials(p, scope), nil)
	if r.status != http.StatusOK || r.body["token_type"] != "Bearer" {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// wantOAuthError checks an RFC 6749 §5.2 refusal.
func wantOAuthError(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code || r.body["error_description"] == "" {
		t.Fatalf("want %d %s, got %d %s", status, code, r.status, r.raw)
	}
}

func TestClientCredentialsFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	p := h.registerClient(t, "dossiers:create", "dossiers:read")
	if got := h.do(t, http.MethodGet, "/v1/clients/"+p.id, ""); got.status != http.StatusOK || strings.Contains(got.raw, p.secret) || got.body["client_secret"] != nil {
		t.Fatalf("a client is shown without its secret: %d %s", got.status, got.raw)
	}
	if list := h.do(t, http.MethodGet, "/v1/clients", ""); !strings.Contains(list.raw, p.id) || strings.Contains(list.raw, p.secret) {
		t.Fatalf("list: %s", list.raw)
	}

	// HTTP Basic works as the form does.
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(p.id) + ":" + url.QueryEscape(p.secret)))
	r := h.grant(t, url.Values{"grant_type": {"client_credentials"}}, map[string]string{"Authorization": "Basic " + basic})
	if r.status != http.StatusOK || r.body["scope"] != "dossiers:create dossiers:read" || r.body["expires_in"].(float64) <= 0 {
		t.Fatalf("basic: %d %s", r.status, r.raw)
	}
	token := r.body["access_token"].(string)
	as := h.as("").bearer(token)

	created := as.do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil))
	if created.status != http.StatusCreated {
		t.Fatalf("partner creates: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	if got := as.do(t, http.MethodGet, "/v1/dossiers/"+id, ""); got.status != http.StatusOK || got.body["id"] != id {
		t.Fatalf("partner reads its agency's dossier: %d %s", got.status, got.raw)
	}
	if list := as.do(t, http.MethodGet, "/v1/dossiers", ""); list.status != http.StatusOK || !strings.Contains(list.raw, id) {
		t.Fatalf("partner lists its agency's dossiers: %d %s", list.status, list.raw)
	}
	// Another agency's dossier is not there for it, as for a clerk; nor may it open one.
	before := h.dossierCount(t)
	other := h.agency("Sở Xây dựng").ID.String()
	refused := as.do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["agency"] = other }))
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.raw, "only for your own agency") {
		t.Fatalf("a dossier for another agency: %d %s", refused.status, refused.raw)
	}
	foreign := h.registerClientFor(t, other, "dossiers:read")
	wantProblem(t, h.as("").bearer(h.accessToken(t, foreign, "")).do(t, http.MethodGet, "/v1/dossiers/"+id, ""), http.StatusNotFound, "NOT_FOUND")
	if after := h.dossierCount(t); after != before {
		t.Fatalf("a refused create left %d dossiers, had %d", after, before)
	}
	// Staff routes and staff logins are not for machines.
	wantProblem(t, as.do(t, http.MethodGet, "/v1/accounts", ""), http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, as.do(t, http.MethodGet, "/v1/clients", ""), http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody(p.id, p.secret)), http.StatusUnauthorized, "UNAUTHENTICATED")

	// A read-only token may not create.
	readOnly := h.as("").bearer(h.accessToken(t, p, "dossiers:read"))
	wantProblem(t, readOnly.do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)), http.StatusForbidden, "FORBIDDEN")
	if after := h.dossierCount(t); after != before {
		t.Fatalf("a refused create left %d dossiers, had %d", after, before)
	}

	// The token expires.
	h.clock.advance(2 * time.Hour)
	wantProblem(t, as.do(t, http.MethodGet, "/v1/dossiers/"+id, ""), http.StatusUnauthorized, "UNAUTHENTICATED")
}

func TestTokenEndpointRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	p := h.registerClient(t, "dossiers:read")
	cases := map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"wrong secret":     {credentials(partner{p.id, p.secret + "x"}, ""), 401, "invalid_client"},
		"unknown client":   {credentials(partner{"0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11", p.secret}, ""), 401, "invalid_client"},
		"not an id":        {credentials(partner{"portal", p.secret}, ""), 401, "invalid_client"},
		"no credentials":   {url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		"ungranted scope":  {credentials(p, "dossiers:read dossiers:create"), 400, "invalid_scope"},
		"unknown scope":    {credentials(p, "payments:everything"), 400, "invalid_scope"},
		"password grant":   {url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {testPassword}}, 400, "unsupported_grant_type"},
		"no grant type":    {url.Values{"client_id": {p.id}, "client_secret": {p.secret}}, 400, "unsupported_grant_type"},
		"a staff password": {credentials(partner{"admin", testPassword}, ""), 401, "invalid_client"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.grant(t, c.form, nil)
			wantOAuthError(t, r, c.status, c.code)
			if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("invalid_client without WWW-Authenticate")
			}
		})
	}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/clients", `{"name":"x","kind":"printer","scopes":["dossiers:everything"]}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "kind", "agency_id", "scopes[0]")
	if list := h.do(t, http.MethodGet, "/v1/clients", ""); strings.Count(list.raw, "client_id") != 1 {
		t.Fatalf("a refused registration added a client: %s", list.raw)
	}
}

func TestClientSecretRotation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	old := h.registerClient(t, "dossiers:read")
	r := h.do(t, http.MethodPost, "/v1/clients/"+old.id+"/secrets", "")
	if r.status != http.StatusCreated || r.body["previous_secret_until"] == nil {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	next := partner{old.id, r.body["client_secret"].(string)}
	h.accessToken(t, next, "")
	h.accessToken(t, old, "") // within the overlap
	h.clock.advance(7*24*time.Hour + time.Minute)
	h.forgetTokens()
	wantOAuthError(t, h.grant(t, credentials(old, ""), nil), 401, "invalid_client")
	h.accessToken(t, next, "")

	// retire_previous ends the old secret at once.
	r = h.do(t, http.MethodPost, "/v1/clients/"+old.id+"/secrets", `{"retire_previous":true}`)
	if r.status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	wantOAuthError(t, h.grant(t, credentials(next, ""), nil), 401, "invalid_client")
	h.accessToken(t, partner{old.id, r.body["client_secret"].(string)}, "")
}

func TestClientRevocation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	other := h.sibling(t) // a second process, told of revocations by the database
	p := h.registerClient(t, "dossiers:read")
	token := h.accessToken(t, p, "")
	as, elsewhere := h.as("").bearer(token), other.as("").bearer(token)
	for _, c := range []client{as, elsewhere} {
		if r := c.do(t, http.MethodGet, "/v1/dossiers", ""); r.status != http.StatusOK {
			t.Fatalf("before revocation: %d %s", r.status, r.raw)
		}
	}
	if r := h.do(t, http.MethodPost, "/v1/clients/"+p.id+"/revoke", ""); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	wantProblem(t, as.do(t, http.MethodGet, "/v1/dossiers", ""), http.StatusUnauthorized, "UNAUTHENTICATED")
	for deadline := time.Now().Add(5 * time.Second); elsewhere.do(t, http.MethodGet, "/v1/dossiers", "").status != http.StatusUnauthorized; {
		if time.Now().After(deadline) {
			t.Fatal("the other process still accepts a revoked client's token after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantOAuthError(t, h.grant(t, credentials(p, ""), nil), 401, "invalid_client")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/clients/"+p.id+"/secrets", ""), http.StatusConflict, "CONFLICT")
	if r := h.do(t, http.MethodGet, "/v1/clients/"+p.id, ""); r.body["revoked_at"] == nil {
		t.Fatalf("revoked client: %s", r.raw)
	}
}

func TestClientRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.clientRateLimit = 3
	h = h.withRevocations(t, auth.NewRevocationList())
	p := h.registerClient(t, "dossiers:read")
	as := h.as("").bearer(h.accessToken(t, p, ""))
	for i := range 3 {
		if r := as.do(t, http.MethodGet, "/v1/dossiers", ""); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, r.status, r.raw)
		}
	}
	r := as.do(t, http.MethodGet, "/v1/dossiers", "")
	wantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1", r.header.Get("Retry-After"))
	}
	// Staff are not counted against clients.
	for range 5 {
		if r := h.do(t, http.MethodGet, "/v1/dossiers", ""); r.status != http.StatusOK {
			t.Fatalf("admin: %d", r.status)
		}
	}
}

// TestPartnerTokenForgeries: a partner's token that was widened, lengthened, re-aimed at
// another client or issued by another courierd is refused 401, and nothing is created.
func TestPartnerTokenForgeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	reader := h.registerClient(t, "dossiers:read")
	writer := h.registerClient(t, "dossiers:create")
	token := h.accessToken(t, reader, "")
	// Another deployment, with its own keys, grants the same scope to its own client.
	elsewhere := newHarness(t, nil)
	foreignToken := elsewhere.accessToken(t, elsewhere.registerClient(t, "dossiers:create"), "")
	forged := map[string]string{
		"scope widened":          alterPayload(token, `"scope":"dossiers:read"`, `"scope":"dossiers:create dossiers:read"`),
		"another client's id":    alterPayload(token, reader.id, writer.id),
		"lifetime lengthened":    alterPayload(token, `"exp":`, `"exp":9`),
		"issued by another node": foreignToken,
	}
	before := h.dossierCount(t)
	for name, tok := range forged {
		if tok == token {
			t.Fatalf("%s: the forgery changed nothing, so it proves nothing", name)
		}
		wantProblem(t, h.as("").bearer(tok).do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)), http.StatusUnauthorized, "UNAUTHENTICATED")
	}
	if after := h.dossierCount(t); after != before {
		t.Fatalf("forged tokens created %d dossiers", after-before)
	}
	// The untouched token still reads, so the refusals above are the forgeries'.
	if r := h.as("").bearer(token).do(t, http.MethodGet, "/v1/dossiers?limit=1", ""); r.status != http.StatusOK {
		t.Fatalf("the genuine token: %d %s", r.status, r.raw)
	}
}
