package api_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"courierd/domain/auth"
)

// TestEveryRouteHasAnAccessRule walks the router: a /v1 route without a rule would be an
// endpoint nobody decided who may call.
func TestEveryRouteHasAnAccessRule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rules := h.app.RouteAccess()
	seen := 0
	for _, r := range h.app.GetRoutes(true) {
		// fiber answers HEAD for every GET by itself; a HEAD route of our own has a rule.
		_, ownHead := rules[r.Method+" "+r.Path]
		if !strings.HasPrefix(r.Path, "/v1/") || (r.Method == http.MethodHead && !ownHead) {
			continue
		}
		seen++
		if _, ok := rules[r.Method+" "+r.Path]; !ok {
			t.Errorf("%s %s has no access rule", r.Method, r.Path)
		}
	}
	if seen < 20 || seen != len(rules) {
		t.Fatalf("walked %d routes, %d rules", seen, len(rules))
	}
	public := []string{}
	for route, rule := range rules {
		if rule == "public" {
			public = append(public, route)
		}
	}
	slices.Sort(public)
	if want := []string{"GET /v1/map/outlines", "POST /v1/auth/login", "POST /v1/auth/refresh", "POST /v1/citizen/otp", "POST /v1/citizen/otp/verify", "POST /v1/oauth/token", "POST /v1/payments/callback", "POST /v1/track",
		"POST /v1/webhooks/portal/dossiers", "POST /v1/webhooks/portal/results"}; !slices.Equal(public, want) {
		t.Fatalf("public routes %v, want exactly %v", public, want)
	}
}

// citizenToken logs a citizen in with a one-time code on a new dossier.
func (h *harness) citizenToken(t testing.TB) string {
	t.Helper()
	d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	asked := h.as("").requestCode(t, d["receipt_code"].(string), "0913456789")
	r := h.as("").verify(t, asked.body["challenge_id"].(string), h.lastCode(t))
	if r.status != http.StatusOK {
		t.Fatalf("citizen login: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// TestRoleMatrix calls every route as every role. Anonymous callers get 401 everywhere but
// on public routes; a staff role outside a route's rule gets 403; a token of the wrong
// kind (a citizen's on a staff route, staff on a citizen route) gets 401; a role inside
// the rule gets past the guard (whatever the handler says of a made-up id or empty body).
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	h := newEveryRouteHarness(t)
	citizen := h.citizenToken(t)
	callers := map[string]auth.Role{"admin": auth.RoleAdmin, "dispatcher": auth.RoleDispatcher, "courier01": auth.RoleCourier, "clerk": auth.RoleClerk}
	// A partner's client granted each scope alone: it passes the guard exactly on the routes
	// whose rule names that scope.
	partners := map[string]string{}
	for _, scope := range auth.ClientScopes {
		partners[scope] = h.accessToken(t, h.registerClient(t, scope), "")
	}
	for route, rule := range h.app.RouteAccess() {
		if rule == "public" {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, ":key", "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11")
		body := ""
		if method != http.MethodGet {
			body = "{}"
		}
		t.Run(route, func(t *testing.T) {
			// A HEAD answer has no body to read a problem from: its status must do.
			wantProblem := wantProblem
			if method == http.MethodHead {
				wantProblem = func(t testing.TB, r reply, status int, _ string, _ ...string) {
					t.Helper()
					if r.status != status {
						t.Fatalf("HEAD %s: %d, want %d", path, r.status, status)
					}
				}
			}
			wantProblem(t, h.as("").do(t, method, path, body), http.StatusUnauthorized, "UNAUTHENTICATED")
			r := h.as("").bearer(citizen).do(t, method, path, body)
			if rule == "citizen" && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden) {
				t.Errorf("a citizen on a citizen route: %d %s", r.status, r.raw)
			}
			if rule != "citizen" {
				wantProblem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
			}
			for scope, token := range partners {
				allowed := slices.Contains(strings.Split(rule, ","), string(auth.RolePartner)+":"+scope)
				r := h.as("").bearer(token).do(t, method, path, body)
				switch {
				case rule == "citizen" && r.status != http.StatusUnauthorized:
					t.Errorf("a partner (%s) on a citizen route: %d, want 401", scope, r.status)
				case rule == "citizen":
				case !allowed && r.status != http.StatusForbidden:
					t.Errorf("a partner (%s) on a route for %s: %d, want 403", scope, rule, r.status)
				case allowed && (r.status == http.StatusForbidden || r.status == http.StatusUnauthorized):
					t.Errorf("a partner (%s) on a route for %s: stopped by the guard with %d %s", scope, rule, r.status, r.raw)
				}
			}
			for username, role := range callers {
				allowed := slices.Contains(strings.Split(strings.TrimSuffix(rule, "+device"), ","), string(role))
				caller := h.as(username)
				if route == "POST /v1/auth/logout" {
					// Logging out ends the session; spend a fresh one, not the shared token.
					caller = h.as("").bearer(h.login(t, loginBody(username, testPassword)).access)
				}
				r := caller.do(t, method, path, body)
				switch {
				case rule == "citizen" && r.status != http.StatusUnauthorized:
					t.Errorf("%s (%s) on a citizen route: %d, want 401", username, role, r.status)
				case rule == "citizen":
				case !allowed && r.status != http.StatusForbidden:
					t.Errorf("%s (%s) on a route for %s: %d, want 403", username, role, rule, r.status)
				case allowed && (r.status == http.StatusForbidden && !strings.HasSuffix(rule, "+device") || r.status == http.StatusUnauthorized):
					t.Errorf("%s (%s) on a route for %s: stopped by the guard with %d %s", username, role, rule, r.status, r.raw)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite docs/ACCESS.md from the route table")

// TestAccessMatrixDocument keeps docs/ACCESS.md equal to the route table, so the
// documented matrix cannot drift from the enforced one. Run with -update to rewrite it.
func TestAccessMatrixDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	routes := h.app.RouteAccess()
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ma, pa, _ := strings.Cut(a, " ")
		mb, pb, _ := strings.Cut(b, " ")
		return strings.Compare(pa+" "+ma, pb+" "+mb)
	})
	var doc strings.Builder
	doc.WriteString("# Who may call what\n\nGenerated from the route table by `go test ./api -run TestAccessMatrixDocument -update`; a test fails\nwhen it differs from the code. ✓ may call; — gets 403 FORBIDDEN; no token gets 401 except on public routes.\n“device” routes also need the courier's registered handheld (`X-Device-ID`, `X-App-Version`).\nCitizen tokens (from a one-time code) work on citizen routes only, and staff tokens never do there (401).\nWhich records a caller then sees is narrowed per resource kind (see [SECURITY.md](SECURITY.md#tokens-and-roles)).\nA partner's client (client-credentials token) may call a route only with the scope named, for its agency's records\n([PARTNERS.md](PARTNERS.md#credentials-the-client-credentials-grant)).\n\n")
	doc.WriteString("| route | admin | dispatcher | courier | clerk | citizen | partner |\n|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		rule := routes[k]
		fmt.Fprintf(&doc, "| `%s` |", k)
		for _, role := range []string{"admin", "dispatcher", "courier", "clerk", "citizen"} {
			mark := "—"
			switch {
			case rule == "public":
				mark = "public"
			case slices.Contains(strings.Split(strings.TrimSuffix(rule, "+device"), ","), role) && strings.HasSuffix(rule, "+device"):
				mark = "✓ device"
			case slices.Contains(strings.Split(rule, ","), role):
				mark = "✓"
			}
			fmt.Fprintf(&doc, " %s |", mark)
		}
		partner := "—"
		if rule == "public" {
			partner = "public"
		} else if _, scope, ok := strings.Cut(rule, string(auth.RolePartner)+":"); ok {
			partner = "✓ `" + strings.TrimSuffix(scope, "+device") + "`"
		}
		fmt.Fprintf(&doc, " %s |\n", partner)
	}
	path := filepath.Join("..", "docs", "ACCESS.md")
	if *update {
		if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	current, err := os.ReadFile(path)
	if err != nil || string(current) != doc.String() {
		t.Fatalf("docs/ACCESS.md is out of date with the route table; run go test ./api -run TestAccessMatrixDocument -update")
	}
}
