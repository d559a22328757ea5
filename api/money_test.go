package api_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"courierd/api"
	"courierd/domain"
	"courierd/domain/dossier"
	mobilecontract "courierd/mobile-contract"
)

// TestMoneyMaximaInContracts: every *_vnd property of the device contract, the payload
// schemas and the API document is a bounded integer whose maximum is the domain's figure
// for that field (domain.MaxVND), so a new money field cannot forget its bound.
func TestMoneyMaximaInContracts(t *testing.T) {
	t.Parallel()
	docs := map[string]any{}
	device, err := openapi3.NewLoader().LoadFromData(mobilecontract.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	docs["mobile-contract/openapi.yaml"] = asJSON(t, device)
	files, _ := fs.Glob(mobilecontract.Schemas, "schemas/*.json")
	for _, name := range files {
		raw, _ := fs.ReadFile(mobilecontract.Schemas, name)
		docs["mobile-contract/"+name] = asJSON(t, json.RawMessage(raw))
	}
	raw, err := os.ReadFile(apiDocument)
	if err != nil {
		t.Fatal(err)
	}
	docs["docs/openapi.json"] = asJSON(t, json.RawMessage(raw))
	seen := 0
	for name, doc := range docs {
		moneyProperties(doc, func(field string, schema map[string]any) {
			seen++
			max, known := domain.MaxVND[field]
			switch {
			case !known:
				t.Errorf("%s: %s has no maximum in domain.MaxVND", name, field)
			case schema["type"] != "integer" || schema["maximum"] != float64(max) || schema["minimum"] == nil:
				t.Errorf("%s: %s is %v; want an integer with a minimum and maximum %d", name, field, schema, max)
			}
		})
	}
	if seen < 3 {
		t.Fatalf("found %d money properties; the walk is broken", seen)
	}
}

func asJSON(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// moneyProperties calls found for every property named *_vnd anywhere in a JSON document.
func moneyProperties(v any, found func(field string, schema map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if props, ok := x["properties"].(map[string]any); ok {
			for field, schema := range props {
				if s, ok := schema.(map[string]any); ok && strings.HasSuffix(field, "_vnd") {
					found(field, s)
				}
			}
		}
		for _, child := range x {
			moneyProperties(child, found)
		}
	case []any:
		for _, child := range x {
			moneyProperties(child, found)
		}
	}
}

// moneyAPI is the test's view of the money routes: the devices' pushes (each with its
// next sequence number) and the bank's signed callback.
type moneyAPI struct {
	h   *harness
	mu  sync.Mutex
	seq map[string]int
}

func newMoneyAPI(h *harness) *moneyAPI { return &moneyAPI{h: h, seq: map[string]int{}} }

// push sends one mutation from courier's device and answers its outcome.
func (m *moneyAPI) push(t testing.TB, courier, typ, task, payload string) map[string]any {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq[courier]++
	r := m.h.push(t, courier, mutation(m.seq[courier], uuid.NewString(), typ, task, payload))
	if r.status != http.StatusOK {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	return r.body["results"].([]any)[0].(map[string]any)
}

func transferBody(txn, receipt string, amount int64, paidAt time.Time) string {
	return fmt.Sprintf(`{"transaction_id":%q,"reference":"HS %s","amount_vnd":%d,"paid_at":%q}`, txn, receipt, amount, paidAt.UTC().Format(time.RFC3339))
}

// signedCallback is the bank's request, signed now.
func signedCallback(base, body string) *http.Request {
	now := time.Now().Unix()
	req := httptest.NewRequest(http.MethodPost, base+"/v1/payments/callback", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gateway-Timestamp", fmt.Sprint(now))
	req.Header.Set("X-Gateway-Signature", api.SignPortalRequest([]byte(paymentSecret), now, []byte(body)))
	return req
}

func (m *moneyAPI) transfer(t testing.TB, body string) reply {
	t.Helper()
	return m.h.as("").send(t, signedCallback("", body))
}

// dossierOwingMost creates a dossier of a procedure whose fee, postage and surcharge are at
// their maxima, assigned to courier01 for pickup: it owes domain.MaxDueVND.
func (m *moneyAPI) dossierOwingMost(t testing.TB, code string) (id, receipt string) {
	t.Helper()
	proc := m.h.mustCreate(t, "/v1/procedures", fmt.Sprintf(`{"code":%q,"name":"Thủ tục phí tối đa","agency_kind":"department",
		"processing_days":3,"fee_vnd":%d,"postage_vnd":%d,"collection_surcharge_vnd":%d,"pickup_by_post":true,"return_by_post":true,
		"identity_check_required":false,"proxy_allowed":true,"documents":[{"name":"Tờ khai","form":"original","quantity":1}]}`,
		code, domain.MaxFeeVND, domain.MaxPostageVND, domain.MaxSurchargeVND), "id")
	created := m.h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", m.h.dossierBody(func(f map[string]string) { f["procedure"] = proc }))
	if created.status != http.StatusCreated || created.body["due_vnd"] != float64(domain.MaxDueVND) {
		t.Fatalf("a dossier owing the most: %d %s", created.status, created.raw)
	}
	id = created.body["id"].(string)
	m.h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+m.h.courierOf("courier01")+`"}`, "assigned")
	return id, created.body["receipt_code"].(string)
}

// cashLines counts courier01's ledger lines of the day for a dossier.
func (m *moneyAPI) cashLines(t testing.TB, id string) int {
	t.Helper()
	day := time.Now().Add(-time.Hour).In(dossier.Vietnam).Format(time.DateOnly)
	r := m.h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+m.h.courierOf("courier01")+"/cash?date="+day, "")
	n := 0
	for _, l := range r.body["items"].([]any) {
		if l.(map[string]any)["dossier_id"] == id {
			n++
		}
	}
	return n
}

// TestMoneyBoundsThroughAPI: every money field the server takes in, sent at and around its
// bounds (below, the minimum, the maximum, one past it, int64's maximum and minimum):
// inside them the amount passes, outside it is refused naming the field and nothing is
// written.
func TestMoneyBoundsThroughAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	m := newMoneyAPI(h)
	procedures := 0
	owing, receipt := m.dossierOwingMost(t, "1.009800")
	collectID := h.assigned(t, "courier01")
	collectStop := taskOfKind(h, t, collectID, "pickup")
	// try sends amount in the field and answers whether it passed, the refusal's text and
	// whether the refusal left something written.
	type try func(t *testing.T, amount int64) (passed bool, refusal string, wrote bool)
	procedureField := func(field string) try {
		return func(t *testing.T, amount int64) (bool, string, bool) {
			procedures++
			name := fmt.Sprintf("Giới hạn tiền %02d", procedures)
			amounts := map[string]int64{"fee_vnd": 0, "postage_vnd": 0, "collection_surcharge_vnd": 0}
			amounts[field] = amount
			r := h.do(t, http.MethodPost, "/v1/procedures", fmt.Sprintf(`{"code":"1.0097%02d","name":%q,"agency_kind":"department",
				"processing_days":3,"fee_vnd":%d,"postage_vnd":%d,"collection_surcharge_vnd":%d,"pickup_by_post":true,"return_by_post":true,
				"identity_check_required":false,"proxy_allowed":true,"documents":[]}`,
				procedures, name, amounts["fee_vnd"], amounts["postage_vnd"], amounts["collection_surcharge_vnd"]))
			written := h.do(t, http.MethodGet, "/v1/procedures?q="+url.QueryEscape(name), "").body["items"].([]any)
			return r.status == http.StatusCreated, r.raw, len(written) > 0
		}
	}
	fields := []struct {
		name     string
		min, max int64
		try      try
	}{
		{"fee_vnd", 0, domain.MaxFeeVND, procedureField("fee_vnd")},
		{"postage_vnd", 0, domain.MaxPostageVND, procedureField("postage_vnd")},
		{"collection_surcharge_vnd", 0, domain.MaxSurchargeVND, procedureField("collection_surcharge_vnd")},
		{"payload.fee_collected_vnd", 0, domain.MaxDueVND, func(t *testing.T, amount int64) (bool, string, bool) {
			id := h.assigned(t, "courier01")
			out := m.push(t, "courier01", "task.pickup.v1", taskOfKind(h, t, id, "pickup"), fmt.Sprintf(`{"fee_collected_vnd":%d}`, amount))
			state := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["state"]
			return out["status"] == "applied", fmt.Sprint(out), state != "assigned" || m.cashLines(t, id) > 0
		}},
		{"payload.amount_vnd", 1, domain.MaxDueVND, func(t *testing.T, amount int64) (bool, string, bool) {
			before := m.cashLines(t, collectID)
			out := m.push(t, "courier01", "task.collect_fee.v1", collectStop, fmt.Sprintf(`{"amount_vnd":%d,"method":"cash"}`, amount))
			return out["status"] == "applied", fmt.Sprint(out), m.cashLines(t, collectID) > before
		}},
		{"amount_vnd", 1, domain.MaxDueVND, func(t *testing.T, amount int64) (bool, string, bool) {
			before := len(m.payments(t, owing))
			r := m.transfer(t, transferBody(uuid.NewString(), receipt, amount, time.Now()))
			// Inside the bounds the amount is judged against the bill: only the whole of it is taken.
			return r.body["code"] != "VALIDATION_FAILED", r.raw, len(m.payments(t, owing)) > before
		}},
	}
	for _, f := range fields {
		amounts := []int64{f.min - 1, f.min, f.max, f.max + 1, math.MaxInt64, math.MinInt64, -1}
		slices.Sort(amounts)
		for _, amount := range slices.Compact(amounts) {
			passed, refusal, wrote := f.try(t, amount)
			if inside := amount >= f.min && amount <= f.max; passed != inside {
				t.Errorf("%s = %d: passed %v (%s)", f.name, amount, passed, refusal)
				continue
			}
			if !passed && (!strings.Contains(refusal, f.name) || !strings.Contains(refusal, "VALIDATION_FAILED") || wrote) {
				t.Errorf("%s = %d: refused without naming the field, or with something written (%v): %s", f.name, amount, wrote, refusal)
			}
		}
	}
	if bill := m.payments(t, owing); len(bill) != 1 || bill[0].(map[string]any)["amount_vnd"] != float64(domain.MaxDueVND) {
		t.Fatalf("the transfer of the most a dossier owes: %v", bill)
	}
}

func (m *moneyAPI) payments(t testing.TB, id string) []any {
	t.Helper()
	return m.h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+id+"/payments", "").body["items"].([]any)
}
