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
			if schema["x-sum"] == true {
				max, known = domain.MaxTotalVND, true
			}
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

// signedCallback is the bank's request, signed at the server's time.
func (m *moneyAPI) signedCallback(base, body string) *http.Request {
	now := m.h.clock.now().Unix()
	req := httptest.NewRequest(http.MethodPost, base+"/v1/payments/callback", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gateway-Timestamp", fmt.Sprint(now))
	req.Header.Set("X-Gateway-Signature", api.SignPortalRequest([]byte(paymentSecret), now, []byte(body)))
	return req
}

func (m *moneyAPI) transfer(t testing.TB, body string) reply {
	t.Helper()
	return m.h.as("").send(t, m.signedCallback("", body))
}

// procedureOwingMost creates a procedure whose fee, postage and surcharge are at their
// maxima: its dossiers owe domain.MaxDueVND.
func (m *moneyAPI) procedureOwingMost(t testing.TB, code string) string {
	t.Helper()
	return m.h.mustCreate(t, "/v1/procedures", fmt.Sprintf(`{"code":%q,"name":"Thủ tục phí tối đa","agency_kind":"department",
		"processing_days":3,"fee_vnd":%d,"postage_vnd":%d,"collection_surcharge_vnd":%d,"pickup_by_post":true,"return_by_post":true,
		"identity_check_required":false,"proxy_allowed":true,"documents":[{"name":"Tờ khai","form":"original","quantity":1}]}`,
		code, domain.MaxFeeVND, domain.MaxPostageVND, domain.MaxSurchargeVND), "id")
}

// assignedDossier creates a dossier of procedure (the judicial record's when empty),
// assigned to courier01 for pickup, and answers its id, receipt code and what it owes.
func (m *moneyAPI) assignedDossier(t testing.TB, procedure string) (id, receipt string, due int64) {
	t.Helper()
	created := m.h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", m.h.dossierBody(func(f map[string]string) {
		if procedure != "" {
			f["procedure"] = procedure
		}
	}))
	if created.status != http.StatusCreated {
		t.Fatalf("a dossier: %d %s", created.status, created.raw)
	}
	id = created.body["id"].(string)
	m.h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+m.h.courierOf("courier01")+`"}`, "assigned")
	return id, created.body["receipt_code"].(string), int64(created.body["due_vnd"].(float64))
}

// cashLines counts courier01's ledger lines of the day for a dossier.
func (m *moneyAPI) cashLines(t testing.TB, id string) int {
	t.Helper()
	day := factTime().In(domain.Vietnam).Format(time.DateOnly)
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
	owing, receipt, due := m.assignedDossier(t, m.procedureOwingMost(t, "1.009800"))
	if due != domain.MaxDueVND {
		t.Fatalf("a dossier of the dearest procedure owes %d", due)
	}
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

// remittance is the demo agency's report for [from, to), in days from today.
func (m *moneyAPI) remittance(t testing.TB, from, to int) reply {
	t.Helper()
	today := m.h.clock.now().In(domain.Vietnam)
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	r := m.h.as("clerk").do(t, http.MethodGet, "/v1/agencies/"+m.h.agency("Sở Tư pháp").ID.String()+"/remittance?from="+day(from)+"&to="+day(to), "")
	if r.status != http.StatusOK {
		t.Fatalf("remittance: %d %s", r.status, r.raw)
	}
	return r
}

// line is a report's item for a dossier.
func line(r reply, id string) map[string]any {
	for _, l := range r.body["items"].([]any) {
		if l := l.(map[string]any); l["dossier_id"] == id {
			return l
		}
	}
	return nil
}

// TestConcurrentCallbacksSettleOnce: the bank's callbacks for one dossier sent at once over
// real HTTP settle once. Transfers under distinct transaction ids: one is credited, the
// others answer 409 ALREADY_PAID. The same transaction reported at once: one 201, the
// others 200 with the same payment. Transfers racing a courier's cash at the door: at
// most one transfer is credited, and whatever is paid beyond the bill is owed back.
func TestConcurrentCallbacksSettleOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	m := newMoneyAPI(h)
	base := h.listen(t)
	const n = 12
	// race sends the requests at once, each in its goroutine, and answers their replies.
	race := func(requests ...func() reply) []reply {
		var wg sync.WaitGroup
		start := make(chan struct{})
		out := make([]reply, len(requests))
		for i, send := range requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out[i] = send()
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	callback := func(body string) func() reply {
		return func() reply {
			req := m.signedCallback(base, body)
			req.RequestURI = ""
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return reply{raw: err.Error()}
			}
			return readReply(t, resp)
		}
	}
	tally := func(replies []reply) map[string]int {
		out := map[string]int{}
		for _, r := range replies {
			out[fmt.Sprintf("%d %v", r.status, r.body["code"])]++
		}
		return out
	}

	id, receipt, due := m.assignedDossier(t, "")
	var distinct []func() reply
	for i := range n {
		distinct = append(distinct, callback(transferBody(fmt.Sprintf("FT-RACE-%02d", i), receipt, due, time.Now())))
	}
	if got := tally(race(distinct...)); got["201 <nil>"] != 1 || got["409 ALREADY_PAID"] != n-1 {
		t.Fatalf("%d transfers at once for one dossier: %v", n, got)
	}
	if paid := m.payments(t, id); len(paid) != 1 {
		t.Fatalf("payments after the race: %v", paid)
	}

	id, receipt, due = m.assignedDossier(t, "")
	same := callback(transferBody("FT-SAME", receipt, due, time.Now()))
	replies := race(slices.Repeat([]func() reply{same}, n)...)
	if got := tally(replies); got["201 <nil>"] != 1 || got["200 <nil>"] != n-1 {
		t.Fatalf("one transaction reported %d times at once: %v", n, got)
	}
	for _, r := range replies {
		if r.body["id"] != replies[0].body["id"] {
			t.Fatalf("a repeated report answers another payment: %s, %s", r.raw, replies[0].raw)
		}
	}
	if paid := m.payments(t, id); len(paid) != 1 {
		t.Fatalf("payments after the repeats: %v", paid)
	}

	id, receipt, due = m.assignedDossier(t, "")
	stop := taskOfKind(h, t, id, "pickup")
	mixed := []func() reply{func() reply {
		m.push(t, "courier01", "task.collect_fee.v1", stop, fmt.Sprintf(`{"amount_vnd":%d,"method":"cash"}`, due))
		return reply{status: http.StatusAccepted}
	}}
	for i := range n {
		mixed = append(mixed, callback(transferBody(fmt.Sprintf("FT-MIXED-%02d", i), receipt, due, time.Now())))
	}
	got := tally(race(mixed...))
	transfers := len(m.payments(t, id))
	if transfers > 1 || got["201 <nil>"] != transfers || got["409 ALREADY_PAID"] != n-transfers || m.cashLines(t, id) != 1 {
		t.Fatalf("transfers racing cash at the door: %v, %d transfers", got, transfers)
	}
	l := line(m.remittance(t, 0, 1), id)
	received := int64(1+transfers) * due
	if l == nil || l["received_vnd"] != float64(received) || l["agency_vnd"] != l["fee_vnd"] || l["refund_vnd"] != float64(received-due) {
		t.Fatalf("the remittance after the race: %v", l)
	}
}

// TestPaidTwiceOnlineAndAtTheDoor: a dossier paid by transfer and then in cash at the door
// keeps the cash (the courier holds it) as an overpayment owed back, credits the bill and
// the agency once, refuses a further transfer, and a later period does not remit the fee
// again.
func TestPaidTwiceOnlineAndAtTheDoor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	m := newMoneyAPI(h)
	id, receipt, due := m.assignedDossier(t, "")
	stop := taskOfKind(h, t, id, "pickup")
	if r := m.transfer(t, transferBody("FT-ONLINE", receipt, due, h.clock.now())); r.status != http.StatusCreated {
		t.Fatalf("the transfer: %d %s", r.status, r.raw)
	}
	cash := func(amount int64) {
		t.Helper()
		m.mu.Lock()
		m.seq["courier01"]++
		r := h.push(t, "courier01", mutationAt(m.seq["courier01"], uuid.NewString(), "task.collect_fee.v1", stop,
			fmt.Sprintf(`{"amount_vnd":%d,"method":"cash"}`, amount), h.clock.now()))
		m.mu.Unlock()
		if statuses(r) != "applied" {
			t.Fatalf("cash at the door: %s", r.raw)
		}
	}
	cash(due)
	wantProblem(t, m.transfer(t, transferBody("FT-AGAIN", receipt, due, h.clock.now())), http.StatusConflict, "ALREADY_PAID")
	applicant := h.citizenLogin(t, receipt, "0913456789")
	bill := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/bill", "")
	if bill.body["paid_vnd"] != float64(due) || bill.body["refund_vnd"] != float64(due) || bill.body["vietqr"] != "" {
		t.Fatalf("the bill paid twice: %s", bill.raw)
	}
	fee := line(m.remittance(t, 0, 1), id)["fee_vnd"].(float64)
	if l := line(m.remittance(t, 0, 1), id); l["received_vnd"] != float64(2*due) || l["agency_vnd"] != fee || l["refund_vnd"] != float64(due) {
		t.Fatalf("the day paid twice: %v", l)
	}

	// Another applicant pays by transfer before the pickup: the courier takes nothing at the
	// door and is not short.
	online, onlineReceipt, onlineDue := m.assignedDossier(t, "")
	if r := m.transfer(t, transferBody("FT-BEFORE-PICKUP", onlineReceipt, onlineDue, h.clock.now())); r.status != http.StatusCreated {
		t.Fatalf("the transfer before the pickup: %d %s", r.status, r.raw)
	}
	m.mu.Lock()
	m.seq["courier01"]++
	picked := h.push(t, "courier01", mutationAt(m.seq["courier01"], uuid.NewString(), "task.pickup.v1", taskOfKind(h, t, online, "pickup"), `{}`, h.clock.now()))
	m.mu.Unlock()
	ledger := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier01")+"/cash?date="+h.clock.now().In(domain.Vietnam).Format(time.DateOnly), "")
	if statuses(picked) != "applied" || strings.Contains(fmt.Sprint(ledger.body["short"]), online) || ledger.body["due_vnd"] != float64(0) {
		t.Fatalf("a pickup paid online beforehand: %s; the day: %s", picked.raw, ledger.raw)
	}

	// The next day the courier records more cash for it: all of it is owed back, none remitted.
	h.clock.advance(24 * time.Hour)
	h.forgetTokens()
	cash(1000)
	if l := line(m.remittance(t, 0, 1), id); l["received_vnd"] != float64(1000) || l["agency_vnd"] != float64(0) || l["refund_vnd"] != float64(1000) {
		t.Fatalf("the next day: %v", l)
	}
	if l := line(m.remittance(t, -1, 1), id); l["received_vnd"] != float64(2*due+1000) || l["agency_vnd"] != fee || l["refund_vnd"] != float64(due+1000) {
		t.Fatalf("both days: %v", l)
	}
}

// TestMaximalMoneyTotals: a courier's day and an agency's remittance made of lines at the
// maxima (every dossier owing the most, paid at the pickup and again in cash) add up to the
// sum of their lines, and nothing is negative.
func TestMaximalMoneyTotals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	m := newMoneyAPI(h)
	procedure := m.procedureOwingMost(t, "1.009801")
	const dossiers = 8
	ids := map[string]bool{}
	for range dossiers {
		id, _, _ := m.assignedDossier(t, procedure)
		ids[id] = true
		stop := taskOfKind(h, t, id, "pickup")
		for typ, payload := range map[string]string{"task.pickup.v1": `{"fee_collected_vnd":%d}`, "task.collect_fee.v1": `{"amount_vnd":%d,"method":"cash"}`} {
			if out := m.push(t, "courier01", typ, stop, fmt.Sprintf(payload, domain.MaxDueVND)); out["status"] != "applied" {
				t.Fatalf("%s: %v", typ, out)
			}
		}
	}
	sum := func(items []any, field string, of func(map[string]any) bool) (total float64) {
		for _, it := range items {
			l := it.(map[string]any)
			if v, _ := l[field].(float64); v < 0 {
				t.Errorf("a negative %s: %v", field, l)
			}
			if of(l) {
				total += l[field].(float64)
			}
		}
		return total
	}
	all := func(map[string]any) bool { return true }
	day := factTime().In(domain.Vietnam).Format(time.DateOnly)
	ledger := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier01")+"/cash?date="+day, "")
	items := ledger.body["items"].([]any)
	most := float64(domain.MaxDueVND)
	if len(items) != 2*dossiers || ledger.body["total_vnd"] != sum(items, "amount_vnd", all) || ledger.body["total_vnd"] != 2*dossiers*most ||
		ledger.body["to_hand_in_vnd"] != ledger.body["total_vnd"] || ledger.body["due_vnd"] != dossiers*most {
		t.Fatalf("the courier's day: %s", ledger.raw)
	}
	report := m.remittance(t, 0, 1)
	lines := report.body["items"].([]any)
	ours := func(l map[string]any) bool { return ids[l["dossier_id"].(string)] }
	for field, want := range map[string]float64{"received_vnd": 2 * dossiers * most, "agency_vnd": dossiers * float64(domain.MaxFeeVND), "refund_vnd": dossiers * most} {
		if got := sum(lines, field, ours); got != want || report.body[field] != sum(lines, field, all) {
			t.Errorf("%s: the lines add up to %v (want %v), the total says %v", field, got, want, report.body[field])
		}
	}
}
