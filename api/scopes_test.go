package api_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/api"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

const subscriberSecret = "a shared secret of the partner, 32+ characters long"

// subscriberIDs are the ids of a subscriber list's items, following its cursors one item
// a page, each page checked to be the caller's own.
func (c client) subscriberIDs(t testing.TB, owner string) []string {
	t.Helper()
	var ids []string
	for cursor, pages := "", 0; ; pages++ {
		r := c.do(t, http.MethodGet, "/v1/webhooks/subscribers?limit=1&cursor="+cursor, "")
		if r.status != http.StatusOK || pages > 100 {
			t.Fatalf("list subscribers: %d %s", r.status, r.raw)
		}
		for _, it := range r.body["items"].([]any) {
			m := it.(map[string]any)
			if owner != "" && m["client_id"] != owner || strings.Contains(r.raw, subscriberSecret) {
				t.Fatalf("a client's list shows another's subscriber or a secret: %s", r.raw)
			}
			ids = append(ids, m["id"].(string))
		}
		next, more := r.body["next_cursor"].(string)
		if !more {
			return ids
		}
		cursor = next
	}
}

// TestPartnerManagesWebhooks: a client granted webhooks:manage registers subscribers for its
// own agency (never another's), lists them, reads their deliveries and stops them; another
// client's are 404 to it, as a missing one is; a client without the scope gets 403, and
// admins still see and manage everything.
func TestPartnerManagesWebhooks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	agency := h.agency("Sở Tư pháp").ID.String()
	own, other := h.registerClient(t, "webhooks:manage"), h.registerClient(t, "webhooks:manage", "dossiers:read")
	as := map[string]client{own.id: h.as("").bearer(h.accessToken(t, own, "")), other.id: h.as("").bearer(h.accessToken(t, other, ""))}
	// The admin's own subscriber, for every agency.
	adminSub := h.mustCreate(t, "/v1/webhooks/subscribers", `{"name":"Trục liên thông","url":"https://lgsp.example.vn/hook","secret":"`+subscriberSecret+`"}`, "id")

	// Each client registers some, with agency_id its own or left out: bound to its agency either way.
	made := map[string][]string{}
	for i, c := range []struct {
		owner  partner
		agency string
		events string
	}{{own, "", `[]`}, {own, agency, `["result_ready"]`}, {other, "", `["hand_to_agency","result_ready"]`}, {own, "", `["pick_up"]`}, {other, agency, `[]`}} {
		body := fmt.Sprintf(`{"name":"Cổng %d","url":"https://portal.example.vn/hook/%d","secret":%q,"agency_id":%q,"events":%s}`, i, i, subscriberSecret, c.agency, c.events)
		r := as[c.owner.id].do(t, http.MethodPost, "/v1/webhooks/subscribers", body)
		if r.status != http.StatusCreated || r.body["agency_id"] != agency || r.body["client_id"] != c.owner.id || r.body["active"] != true ||
			strings.Contains(r.raw, subscriberSecret) {
			t.Fatalf("subscriber %d: %d %s", i, r.status, r.raw)
		}
		made[c.owner.id] = append(made[c.owner.id], r.body["id"].(string))
	}
	all := h.as("admin").subscriberIDs(t, "")
	// Another agency, named by a client, is refused and nothing is registered.
	for _, name := range []string{"Sở Xây dựng", "Sở Tài nguyên"} {
		foreign := h.agency(name).ID.String()
		wantProblem(t, as[own.id].do(t, http.MethodPost, "/v1/webhooks/subscribers",
			`{"name":"x","url":"https://x.example.vn/hook","secret":"`+subscriberSecret+`","agency_id":"`+foreign+`"}`),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "agency_id")
	}
	if after := h.as("admin").subscriberIDs(t, ""); len(after) != len(all) || len(all) != len(made[own.id])+len(made[other.id])+1 || !slices.Contains(all, adminSub) {
		t.Fatalf("admin sees %d subscribers (%d after refusals), want %d", len(all), len(after), len(made[own.id])+len(made[other.id])+1)
	}
	for id, c := range as {
		if got := c.subscriberIDs(t, id); !slices.Equal(got, made[id]) {
			t.Fatalf("client %s lists %v, want its own %v", id, got, made[id])
		}
	}

	// Deliveries: a few to each subscriber, written as the fan-out writes them.
	d := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	want := map[string]int{}
	for i, sub := range append(append([]string{}, made[own.id]...), made[other.id]...) {
		want[sub] = i%3 + 1
		for n := range want[sub] {
			if _, err := h.db.SQL().Exec(`INSERT INTO webhook_deliveries (id, subscriber_id, dossier_id, event, body, status, created_at)
				VALUES ($1, $2, $3, 'result_ready', '{}', 'pending', $4)`, uuid.New(), sub, d, time.Now().Add(time.Duration(n)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for id, c := range as {
		for sub, n := range want {
			r := c.do(t, http.MethodGet, "/v1/webhooks/subscribers/"+sub+"/deliveries", "")
			if slices.Contains(made[id], sub) {
				if r.status != http.StatusOK || len(r.body["items"].([]any)) != n {
					t.Fatalf("client %s, its own subscriber's deliveries: %d %s, want %d", id, r.status, r.raw, n)
				}
				continue
			}
			wantProblem(t, r, http.StatusNotFound, "NOT_FOUND")
			wantProblem(t, c.do(t, http.MethodPost, "/v1/webhooks/subscribers/"+sub+"/deactivate", ""), http.StatusNotFound, "NOT_FOUND")
		}
		for _, missing := range []string{uuid.NewString(), adminSub} {
			wantProblem(t, c.do(t, http.MethodGet, "/v1/webhooks/subscribers/"+missing+"/deliveries", ""), http.StatusNotFound, "NOT_FOUND")
		}
	}
	if r := h.do(t, http.MethodGet, "/v1/webhooks/subscribers/"+made[other.id][0]+"/deliveries", ""); r.status != http.StatusOK ||
		len(r.body["items"].([]any)) != want[made[other.id][0]] {
		t.Fatalf("admin reads a client's subscriber's deliveries: %d %s", r.status, r.raw)
	}

	// Stopping: its own, twice (the second changes nothing); another's stayed active above.
	for range 2 {
		r := as[own.id].do(t, http.MethodPost, "/v1/webhooks/subscribers/"+made[own.id][0]+"/deactivate", "")
		if r.status != http.StatusOK || r.body["active"] != false || r.body["id"] != made[own.id][0] {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
	}
	active := map[string]bool{}
	for _, it := range h.do(t, http.MethodGet, "/v1/webhooks/subscribers?limit=500", "").body["items"].([]any) {
		m := it.(map[string]any)
		active[m["id"].(string)] = m["active"].(bool)
	}
	for _, sub := range all {
		if active[sub] != (sub != made[own.id][0]) {
			t.Fatalf("after one deactivation, %s active: %v", sub, active[sub])
		}
	}
	// Audited under the client: each subscription, and the one deactivation that changed something.
	var audited int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE action IN ('webhook.subscribe', 'webhook.deactivate')
		AND actor_id::text = $1 AND actor_role = 'partner'`, own.id).Scan(&audited); err != nil || audited != len(made[own.id])+1 {
		t.Fatalf("%d entries audited under the client (%v), want %d", audited, err, len(made[own.id])+1)
	}

	// Without the scope: 403 on each route, nothing registered.
	reader := h.as("").bearer(h.accessToken(t, other, "dossiers:read"))
	for _, call := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/webhooks/subscribers", `{"name":"x","url":"https://x.example.vn/hook","secret":"` + subscriberSecret + `"}`},
		{http.MethodGet, "/v1/webhooks/subscribers", ""},
		{http.MethodGet, "/v1/webhooks/subscribers/" + made[other.id][0] + "/deliveries", ""},
		{http.MethodPost, "/v1/webhooks/subscribers/" + made[other.id][0] + "/deactivate", ""},
	} {
		wantProblem(t, reader.do(t, call.method, call.path, call.body), http.StatusForbidden, "FORBIDDEN")
	}
	if after := h.as("admin").subscriberIDs(t, ""); len(after) != len(all) || !active[made[other.id][0]] {
		t.Fatalf("refused calls changed the subscribers: %d, had %d", len(after), len(all))
	}

	// Revoking a client stops its subscribers, and no one else's.
	if r := h.do(t, http.MethodPost, "/v1/clients/"+other.id+"/revoke", ""); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	for _, it := range h.do(t, http.MethodGet, "/v1/webhooks/subscribers?limit=500", "").body["items"].([]any) {
		m := it.(map[string]any)
		id := m["id"].(string)
		if want := id != made[own.id][0] && !slices.Contains(made[other.id], id); m["active"] != want {
			t.Fatalf("after revoking client %s, %s active: %v, want %v", other.id, id, m["active"], want)
		}
	}
}

// TestPartnerReportsPayment: a bank's client with payments:report reports transfers with its
// token as the signed callback does, through the same rules: recorded once (201, then 200
// with the same payment, whichever way it is repeated), a wrong amount or a reference
// naming no dossier of its agency refused with the callback's codes and nothing recorded; a
// client without the scope gets 403.
func TestPartnerReportsPayment(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bank := h.as("").bearer(h.accessToken(t, h.registerClient(t, "payments:report"), ""))
	reader := h.as("").bearer(h.accessToken(t, h.registerClient(t, "dossiers:read", "dossiers:create", "webhooks:manage"), ""))
	now := time.Now()
	transfer := func(txn, reference string, amount int64) string {
		return fmt.Sprintf(`{"transaction_id":%q,"reference":%q,"amount_vnd":%d,"paid_at":%q}`, txn, reference, amount, now.UTC().Format(time.RFC3339))
	}
	signed := func(body string) reply {
		req := httptest.NewRequest(http.MethodPost, "/v1/payments/callback", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gateway-Timestamp", fmt.Sprint(now.Unix()))
		req.Header.Set("X-Gateway-Signature", api.SignPortalRequest([]byte(paymentSecret), now.Unix(), []byte(body)))
		return h.as("").send(t, req)
	}
	payments := func(id string) int {
		r := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+id+"/payments", "")
		if r.status != http.StatusOK {
			t.Fatalf("payments: %d %s", r.status, r.raw)
		}
		return len(r.body["items"].([]any))
	}
	foreign := h.do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["agency"] = h.agency("Sở Xây dựng").ID.String() }))
	if foreign.status != http.StatusCreated {
		t.Fatalf("another agency's dossier: %d %s", foreign.status, foreign.raw)
	}
	unknown, err := dossier.NewReceiptCode(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	for i := range 4 {
		created := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil))
		id, receipt := created.body["id"].(string), created.body["receipt_code"].(string)
		due := int64(created.body["due_vnd"].(float64))
		txn := fmt.Sprintf("FT26328%05d", i)
		refused := []struct {
			caller       client
			body         string
			status       int
			code, reason string
		}{
			{reader, transfer(txn, receipt, due), http.StatusForbidden, "FORBIDDEN", ""},
			{bank, transfer(txn, receipt, due-int64(i+1)*1000), http.StatusUnprocessableEntity, "AMOUNT_MISMATCH", ""},
			{bank, transfer(txn, receipt, due+int64(i+1)), http.StatusUnprocessableEntity, "AMOUNT_MISMATCH", ""},
			{bank, transfer(txn, "HS "+unknown.String(), due), http.StatusNotFound, "NOT_FOUND", ""},
			{bank, transfer(txn, foreign.body["receipt_code"].(string), int64(foreign.body["due_vnd"].(float64))), http.StatusNotFound, "NOT_FOUND", ""},
			{bank, transfer(txn, "CHUYEN TIEN", due), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "reference"},
		}
		for _, c := range refused {
			fields := []string{}
			if c.reason != "" {
				fields = append(fields, c.reason)
			}
			wantProblem(t, c.caller.do(t, http.MethodPost, "/v1/payments", c.body), c.status, c.code, fields...)
		}
		if n, f := payments(id), payments(foreign.body["id"].(string)); n != 0 || f != 0 {
			t.Fatalf("refused reports recorded %d and %d payments", n, f)
		}
		first := bank.do(t, http.MethodPost, "/v1/payments", transfer(txn, "THANH TOAN "+strings.ReplaceAll(receipt, "-", ""), due))
		if first.status != http.StatusCreated || first.body["dossier_id"] != id || first.body["amount_vnd"] != float64(due) {
			t.Fatalf("report: %d %s", first.status, first.raw)
		}
		// Repeated by the client or through the callback: the same payment, recorded once.
		for _, again := range []reply{bank.do(t, http.MethodPost, "/v1/payments", transfer(txn, receipt, due)), signed(transfer(txn, receipt, due))} {
			if again.status != http.StatusOK || again.body["id"] != first.body["id"] {
				t.Fatalf("a repeated report: %d %s", again.status, again.raw)
			}
		}
		wantProblem(t, bank.do(t, http.MethodPost, "/v1/payments", transfer(txn+"-2", receipt, due)), http.StatusConflict, "ALREADY_PAID")
		if n := payments(id); n != 1 {
			t.Fatalf("dossier %d: %d payments, want 1", i, n)
		}
	}
}

// TestEveryScopeIsGranted: registration takes every scope there is, and the token endpoint
// grants each alone or all together.
func TestEveryScopeIsGranted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	p := h.registerClient(t, auth.ClientScopes...)
	sorted := slices.Sorted(slices.Values(auth.ClientScopes))
	for _, scope := range append(slices.Clone(auth.ClientScopes), strings.Join(auth.ClientScopes, " ")) {
		r := h.grant(t, credentials(p, scope), nil)
		want := scope
		if strings.Contains(scope, " ") {
			want = strings.Join(sorted, " ")
		}
		if r.status != http.StatusOK || r.body["scope"] != want {
			t.Fatalf("scope %q: %d %s", scope, r.status, r.raw)
		}
	}
	if got := h.do(t, http.MethodGet, "/v1/clients/"+p.id, ""); fmt.Sprint(got.body["scopes"]) != fmt.Sprint(sorted) {
		t.Fatalf("registered scopes: %s", got.raw)
	}
}
