package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestAccounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[1].ID.String()
	body := `{"username":"Dispatcher.PhuMy","password":"long enough secret","role":"dispatcher","post_office_ids":["` + office + `"]}`

	created := h.do(t, http.MethodPost, "/v1/accounts", body)
	if created.status != http.StatusCreated || created.body["username"] != "dispatcher.phumy" || strings.Contains(created.raw, "password") {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	s := h.login(t, loginBody("dispatcher.phumy", "long enough secret"))
	if r := h.as("").bearer(s.access).do(t, http.MethodGet, "/v1/me", ""); !strings.Contains(r.raw, office) {
		t.Fatalf("the new dispatcher's scope: %s", r.raw)
	}

	t.Run("refusals", func(t *testing.T) {
		wantProblem(t, h.do(t, http.MethodPost, "/v1/accounts", body), http.StatusConflict, "CONFLICT", "username")
		wantProblem(t, h.do(t, http.MethodPost, "/v1/accounts", `{"username":"d2","password":"short","role":"dispatcher"}`),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "username", "post_office_ids", "password")
		wantProblem(t, h.do(t, http.MethodPost, "/v1/accounts", `{"username":"courier99","password":"long enough secret","role":"courier","courier_id":"`+h.demo.Couriers[0].ID.String()+`"}`),
			http.StatusConflict, "CONFLICT", "courier_id")
		wantProblem(t, h.do(t, http.MethodPost, "/v1/accounts", `{"username":"superuser","password":"long enough secret","role":"root"}`),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "role")
	})
	t.Run("a scope change ends the account's sessions", func(t *testing.T) {
		edited := strings.Replace(h.do(t, http.MethodGet, "/v1/accounts/"+id, "").raw, office, h.demo.PostOffices[0].ID.String(), 1)
		if r := h.do(t, http.MethodPut, "/v1/accounts/"+id, edited); r.status != http.StatusOK || r.body["version"] != float64(2) {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
		if h.works(t, s.access) {
			t.Fatal("a token carrying the old scope still works")
		}
		wantProblem(t, h.do(t, http.MethodPut, "/v1/accounts/"+id, edited), http.StatusConflict, "VERSION_CONFLICT")
	})
	t.Run("a disabled account cannot log in", func(t *testing.T) {
		current := h.do(t, http.MethodGet, "/v1/accounts/"+id, "").raw
		if r := h.do(t, http.MethodPut, "/v1/accounts/"+id, strings.Replace(current, `"active":true`, `"active":false`, 1)); r.status != http.StatusOK {
			t.Fatalf("disable: %d %s", r.status, r.raw)
		}
		wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody("dispatcher.phumy", "long enough secret")), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	procedureID := h.mustCreate(t, "/v1/procedures", procedure, "id")
	h.login(t, loginBody("courier09", testPassword))

	r := h.do(t, http.MethodGet, "/v1/audit?resource_kind=procedure&resource_id="+procedureID, "")
	items, _ := r.body["items"].([]any)
	if r.status != http.StatusOK || len(items) != 1 {
		t.Fatalf("audit of the procedure: %d %s", r.status, r.raw)
	}
	e := items[0].(map[string]any)
	if e["action"] != "procedure.create" || e["actor_id"] != accountID(h, "admin") || e["actor_role"] != "admin" || e["source"] == "" {
		t.Fatalf("entry: %v", e)
	}
	if r := h.do(t, http.MethodGet, "/v1/audit?action=session.login&actor_id="+accountID(h, "courier09"), ""); r.body["total"] != float64(1) {
		t.Fatalf("courier09's login is not in the log: %s", r.raw)
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/audit?from=yesterday", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "from")
	if strings.Contains(h.do(t, http.MethodGet, "/v1/audit?limit=500", "").raw, "0912") {
		t.Fatal("the audit log holds a phone number")
	}
}
