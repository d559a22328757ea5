package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/domain/catalog"
)

// demo lookups, by what the tests need rather than by id.
func (h *harness) procedure(code string) catalog.Procedure {
	for _, p := range h.demo.Procedures {
		if p.Code == code {
			return p
		}
	}
	panic("no demo procedure " + code)
}

func (h *harness) agency(prefix string) catalog.Agency {
	for _, a := range h.demo.Agencies {
		if strings.HasPrefix(a.Name, prefix) {
			return a
		}
	}
	panic("no demo agency " + prefix)
}

func (h *harness) courierOf(username string) string {
	for _, a := range h.demo.Accounts {
		if a.Username == username {
			return a.CourierID.String()
		}
	}
	panic("no demo courier account " + username)
}

const (
	// judicialRecord is settled by the Department of Justice, where the demo clerk works;
	// it allows pickup, return by post, and proxies.
	judicialRecord = "2.000488"
	// marriage is not returned by post.
	marriage = "1.000894"
)

// dossierBody is a pickup-and-return request at a Phú Hòa address, served by the demo's
// full post office.
func (h *harness) dossierBody(edit func(map[string]string)) string {
	f := map[string]string{
		"procedure": h.procedure(judicialRecord).ID.String(), "agency": h.agency("Sở Tư pháp").ID.String(),
		"phone": "0913 456 789", "cid": "074190001234", "lat": "10.973242", "lon": "106.688935", "unit": "25750",
		"pickup": "true", "return": "true", "office": "",
	}
	if edit != nil {
		edit(f)
	}
	office := ""
	if f["office"] != "" {
		office = fmt.Sprintf(`"post_office_id":%q,`, f["office"])
	}
	return fmt.Sprintf(`{"procedure_id":%q,"agency_id":%q,%s"pickup":%s,"return":%s,"applicant":{"name":"Trần Thị Mai","phone":%q,
		"citizen_id":%q,"address":"số 12, đường Lê Hồng Phong, khu phố 8, phường Phú Hòa","admin_unit_code":%q,"location":{"lat":%s,"lon":%s}}}`,
		f["procedure"], f["agency"], office, f["pickup"], f["return"], f["phone"], f["cid"], f["unit"], f["lat"], f["lon"])
}

func TestDossierCreate201(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil))
	if r.status != http.StatusCreated {
		t.Fatalf("clerk creates: %d %s", r.status, r.raw)
	}
	if strings.Contains(r.raw, "074190001234") || r.body["applicant"].(map[string]any)["citizen_id"] != "*********234" {
		t.Fatalf("the citizen ID must be masked: %s", r.raw)
	}
	code := r.body["receipt_code"].(string)
	if len(code) != 11 || code[4] != '-' || code[9] != '-' {
		t.Fatalf("receipt code %q", code)
	}
	if r.body["state"] != "requested" || r.body["holder"].(map[string]any)["kind"] != "applicant" || r.body["pickup_due"] == nil ||
		r.body["post_office_id"] != h.demo.PostOffices[0].ID.String() || r.body["outside_service_area"] != false ||
		r.body["channel"] != "clerk" || r.body["payment_method"] != "cash_to_courier" || r.body["applicant"].(map[string]any)["phone"] != "0913456789" {
		t.Fatalf("new pickup dossier: %s", r.raw)
	}
	if tasks := r.body["tasks"].([]any); len(tasks) != 4 {
		t.Fatalf("a pickup-and-return dossier has four stops: %s", r.raw)
	}
	// Staff find it by receipt code however it is typed.
	lookup := h.as("clerk").do(t, http.MethodGet, "/v1/dossiers?receipt_code="+strings.ToLower(strings.ReplaceAll(code, "-", "")), "")
	if lookup.body["total"] != float64(1) {
		t.Fatalf("lookup by receipt code: %s", lookup.raw)
	}
	typo := code[:10] + map[bool]string{true: "Y", false: "X"}[code[10] == 'X'] // a wrong check character
	wantProblem(t, h.as("clerk").do(t, http.MethodGet, "/v1/dossiers?receipt_code="+typo, ""), http.StatusBadRequest, "BAD_RECEIPT_CODE")

	t.Run("lodged at the desk for return only: the legal clock starts", func(t *testing.T) {
		r := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["pickup"] = "false" }))
		if r.status != http.StatusCreated || r.body["state"] != "handed_to_agency" || r.body["appointment_date"] == nil ||
			r.body["holder"].(map[string]any)["kind"] != "agency" || len(r.body["tasks"].([]any)) != 2 {
			t.Fatalf("return-only dossier: %d %s", r.status, r.raw)
		}
	})
	t.Run("outside the chosen office's area: accepted and flagged", func(t *testing.T) {
		r := h.as("dispatcher2").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) {
			f["office"] = h.demo.PostOffices[1].ID.String()
		}))
		if r.status != http.StatusCreated || r.body["outside_service_area"] != true {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
}

func TestDossierCreate422(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cases := []struct {
		name   string
		as     string
		edit   func(map[string]string)
		fields []string
	}{
		{"unknown procedure", "clerk", func(f map[string]string) { f["procedure"] = "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11" }, []string{"procedure_id"}},
		{"no return by post", "dispatcher", func(f map[string]string) {
			f["procedure"], f["agency"] = h.procedure(marriage).ID.String(), h.agency("Ủy ban nhân dân phường Phú Hòa").ID.String()
		}, []string{"return"}},
		{"malformed phone and ID", "clerk", func(f map[string]string) { f["phone"], f["cid"] = "12345", "07419000123X" }, []string{"applicant.phone", "applicant.citizen_id"}},
		{"ID with no province", "clerk", func(f map[string]string) { f["cid"] = "099190001234" }, []string{"applicant.citizen_id"}},
		{"outside Vietnam", "clerk", func(f map[string]string) { f["lat"], f["lon"] = "48.85", "2.35" }, []string{"applicant.location"}},
		{"unknown unit", "clerk", func(f map[string]string) { f["unit"] = "99999" }, []string{"applicant.admin_unit_code"}},
		{"another agency's dossier", "clerk", func(f map[string]string) { f["agency"] = h.agency("Sở Xây dựng").ID.String() }, []string{"agency_id"}},
		{"agency of the wrong kind", "dispatcher", func(f map[string]string) { f["agency"] = h.agency("Bảo hiểm xã hội").ID.String() }, []string{"agency_id"}},
		{"another dispatcher's office", "dispatcher2", nil, []string{"post_office_id"}},
		{"neither pickup nor return", "clerk", func(f map[string]string) { f["pickup"], f["return"] = "false", "false" }, []string{"pickup"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, h.as(tc.as).do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(tc.edit)), http.StatusUnprocessableEntity, "VALIDATION_FAILED", tc.fields...)
		})
	}
	if r := h.do(t, http.MethodGet, "/v1/dossiers", ""); r.body["total"] != float64(0) {
		t.Fatalf("refused requests wrote dossiers: %s", r.raw)
	}
	wantProblem(t, h.as("courier01").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)), http.StatusForbidden, "FORBIDDEN")
}

// event reports an event at the dossier's current version and returns the answer.
func (h *harness) event(t testing.TB, as, id, body string) reply {
	t.Helper()
	current := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "")
	body = strings.Replace(body, "{", fmt.Sprintf(`{"version":%v,`, current.body["version"]), 1)
	return h.as(as).do(t, http.MethodPost, "/v1/dossiers/"+id+"/events", body)
}

func (h *harness) mustEvent(t testing.TB, as, id, body, wantState string) reply {
	t.Helper()
	r := h.event(t, as, id, body)
	if r.status != http.StatusOK || r.body["state"] != wantState {
		t.Fatalf("%s by %s: %d %s", body, as, r.status, r.raw)
	}
	return r
}

func TestDossierJourney(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	courier1, courier2 := h.courierOf("courier01"), h.courierOf("courier02")
	office, agency := h.demo.PostOffices[0].ID.String(), h.agency("Sở Tư pháp").ID.String()
	holder := func() string {
		hd := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["holder"].(map[string]any)
		return hd["kind"].(string) + ":" + hd["id"].(string)
	}
	bag := func(courier, as string) float64 {
		return h.as(as).do(t, http.MethodGet, "/v1/couriers/"+courier+"/bag", "").body["total"].(float64)
	}

	wantProblem(t, h.event(t, "courier01@device", id, `{"event":"pick_up"}`), http.StatusNotFound, "NOT_FOUND") // not yet theirs
	h.mustEvent(t, "dispatcher", id, `{"event":"schedule_pickup","date":"`+h.bookable(t)[1]+`"}`, "scheduled")
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+courier1+`"}`, "assigned")
	wantProblem(t, h.event(t, "courier01", id, `{"event":"pick_up"}`), http.StatusForbidden, "DEVICE_NOT_BOUND") // no handheld
	wantProblem(t, h.event(t, "courier02@device", id, `{"event":"pick_up"}`), http.StatusNotFound, "NOT_FOUND")
	wantProblem(t, h.event(t, "courier01@device", id, `{"event":"deliver","recipient":"applicant","proof":{"identity_method":"citizen_id_match"}}`),
		http.StatusConflict, "INVALID_TRANSITION")
	h.mustEvent(t, "courier01@device", id, `{"event":"pick_up","point":{"lat":10.97325,"lon":106.68894},"accuracy_m":8,"proof":{"signature_sha256":"`+strings.Repeat("ab", 32)+`"}}`, "picked_up")
	if holder() != "courier:"+courier1 || bag(courier1, "courier01") != 1 || bag(courier1, "dispatcher") != 1 {
		t.Fatalf("after pickup the dossier is in courier01's bag: holder %s", holder())
	}
	wantProblem(t, h.as("courier01").do(t, http.MethodGet, "/v1/couriers/"+courier2+"/bag", ""), http.StatusNotFound, "NOT_FOUND")
	h.mustEvent(t, "dispatcher", id, `{"event":"arrive_post_office"}`, "at_post_office")
	if holder() != "post_office:"+office || bag(courier1, "courier01") != 0 {
		t.Fatalf("at the post office: holder %s", holder())
	}
	if r := h.as("dispatcher").do(t, http.MethodGet, "/v1/post-offices/"+office+"/holdings", ""); r.body["total"] != float64(1) {
		t.Fatalf("post office holdings: %s", r.raw)
	}
	r := h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency","proof":{"seal_number":"BD-000123"}}`, "handed_to_agency")
	if holder() != "agency:"+agency || r.body["appointment_date"] == nil || r.body["next_deadline"] != r.body["appointment_date"] {
		t.Fatalf("at the agency: %s", r.raw)
	}
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"result_ready"}`), http.StatusForbidden, "FORBIDDEN")
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	h.mustEvent(t, "clerk", id, `{"event":"collect_result"}`, "result_at_post_office")
	// First attempt fails: planned again. Second (the last allowed) fails into a hold, with
	// the applicant told; the courier still has it. The applicant asks once more, that
	// fails too, and no further attempt is allowed.
	dispatch := func() {
		h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier2+`"}`, "out_for_delivery")
	}
	dispatch()
	h.mustEvent(t, "courier02@device", id, `{"event":"delivery_fail","reason":"not_at_home"}`, "delivery_failed")
	h.mustEvent(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+h.bookable(t)[2]+`"}`, "redelivery_scheduled")
	dispatch()
	r = h.mustEvent(t, "courier02@device", id, `{"event":"delivery_fail","reason":"not_at_home"}`, "held_at_post_office")
	if holder() != "courier:"+courier2 || r.body["held_until"] == nil || r.body["failed_attempts"] != float64(2) {
		t.Fatalf("held after the last attempt: %s", r.raw)
	}
	h.mustEvent(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+h.bookable(t)[3]+`"}`, "redelivery_scheduled")
	dispatch()
	h.mustEvent(t, "courier02@device", id, `{"event":"delivery_fail","reason":"refused"}`, "held_at_post_office")
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+h.bookable(t)[4]+`"}`), http.StatusConflict, "ATTEMPTS_EXHAUSTED")
	h.mustEvent(t, "dispatcher", id, `{"event":"arrive_post_office"}`, "held_at_post_office")
	if holder() != "post_office:"+office {
		t.Fatalf("the courier brought it back, yet it is with %s", holder())
	}
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"collect_at_counter","recipient":"proxy","proof":{"identity_method":"proxy_letter"}}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "proof.recipient_name")
	r = h.mustEvent(t, "dispatcher", id, `{"event":"collect_at_counter","recipient":"applicant","proof":{"identity_method":"citizen_id_match"}}`, "delivered")
	if holder() != "applicant:"+id || r.body["delivered_at"] == nil || r.body["next_deadline"] != nil {
		t.Fatalf("delivered: %s", r.raw)
	}

	custody := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody", "").body["items"].([]any)
	var chain []string
	for _, e := range custody {
		m := e.(map[string]any)
		chain = append(chain, m["from"].(map[string]any)["kind"].(string)+">"+m["to"].(map[string]any)["kind"].(string))
	}
	// New dates and dispatches to the courier who kept the result move nothing: the one
	// handover after the first dispatch is the courier bringing it back.
	want := strings.Join([]string{"applicant>courier", "courier>post_office", "post_office>agency", "agency>post_office",
		"post_office>courier", "courier>post_office", "post_office>applicant"}, " ")
	if strings.Join(chain, " ") != want {
		t.Fatalf("custody chain:\n got %s\nwant %s", strings.Join(chain, " "), want)
	}
	if v := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody/verify", ""); v.body["intact"] != true || v.body["entries"] != float64(len(custody)) {
		t.Fatalf("verify: %s", v.raw)
	}
	if hist := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/history", "").body["items"].([]any); len(hist) != 19 {
		t.Fatalf("history has %d events", len(hist))
	}
	tl := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/timeline", "")
	if steps := tl.body["steps"].([]any); len(steps) != 19 || !strings.Contains(tl.raw, "Chưa giao được kết quả (không có người nhận tại nhà)") ||
		tl.body["next"].(map[string]any)["text"] != "Hồ sơ đã hoàn tất" {
		t.Fatalf("timeline: %s", tl.raw)
	}
	for _, internal := range []string{courier1, courier2, office, agency, "dispatcher", "clerk"} {
		if strings.Contains(tl.raw, internal) {
			t.Fatalf("the public timeline names %s: %s", internal, tl.raw)
		}
	}
	if r := h.do(t, http.MethodGet, "/v1/audit?resource_kind=dossier&resource_id="+id, ""); r.body["total"] != float64(19) {
		t.Fatalf("audit entries for the dossier: %v", r.body["total"])
	}
	// Tampering with the ledger behind the application's back is caught, at the entry touched.
	for _, stmt := range []string{
		"ALTER TABLE custody_entries DISABLE TRIGGER custody_append_only",
		"UPDATE custody_entries SET to_id = gen_random_uuid() WHERE dossier_id = '" + id + "' AND seq = 4",
	} {
		if _, err := h.db.SQL().ExecContext(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	if v := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody/verify", ""); v.body["intact"] != false || v.body["first_broken"] != float64(4) {
		t.Fatalf("verify after tampering: %s", v.raw)
	}
}

// TestDossierConcurrentEvents: many clients act on the same version at once; exactly one
// wins, the others get VERSION_CONFLICT, and nothing is half-written.
func TestDossierConcurrentEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	couriers := []string{"courier01", "courier02", "courier03", "courier04", "courier05", "courier06", "courier07", "courier08"}
	h.token(t, "dispatcher")
	const clients = 24
	statuses := make([]int, clients)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := `{"event":"assign_pickup","version":1,"courier_id":"` + h.courierOf(couriers[i%len(couriers)]) + `"}`
			statuses[i] = h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers/"+id+"/events", body).status
		}(i)
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusConflict:
		default:
			t.Fatalf("unexpected status %d among %v", s, statuses)
		}
	}
	d := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "")
	hist := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/history", "").body["items"].([]any)
	assigned := 0
	for _, task := range d.body["tasks"].([]any) {
		if task.(map[string]any)["courier_id"] != nil {
			assigned++
		}
	}
	if won != 1 || d.body["version"] != float64(2) || len(hist) != 2 || assigned != 1 {
		t.Fatalf("%d winners, version %v, %d history lines, %d assigned tasks", won, d.body["version"], len(hist), assigned)
	}
}

func TestDossierDeadlines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ids := map[string]string{}
	for _, name := range []string{"yesterday", "today", "soon", "later"} {
		ids[name] = h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	}
	// Put the pickup deadlines where the test wants them: the clock's own arithmetic is
	// tested in domain/dossier.
	shift := map[string]string{"yesterday": "-1 day", "today": "0 days", "soon": "1 day", "later": "30 days"}
	for name, delta := range shift {
		_, err := h.db.SQL().Exec(`UPDATE dossiers SET pickup_due = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + $1::interval,
			next_deadline = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + $1::interval WHERE id = $2`, delta, ids[name])
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(due string) float64 {
		return h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers?due="+due, "").body["total"].(float64)
	}
	if count("overdue") != 1 || count("today") != 1 {
		t.Fatalf("overdue %v, today %v", count("overdue"), count("today"))
	}
	// "At risk" is after today and within one working day: tomorrow always is (a weekend
	// only widens the window), a month ahead never.
	if n := count("at_risk"); n != 1 {
		t.Fatalf("at risk %v", n)
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers?due=someday", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "due")
}

// TestDossierObjectMatrix: for every dossier route, the dossier's own people get in and
// everyone else is told it does not exist — another office's dispatcher, another
// agency's clerk, a courier with no stop on it.
func TestDossierObjectMatrix(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// A clerk of another agency.
	h.mustCreate(t, "/v1/accounts", `{"username":"clerk.xaydung","password":"`+testPassword+`","role":"clerk","agency_id":"`+
		h.agency("Sở Xây dựng").ID.String()+`"}`, "id")
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/dossiers/" + id, ""},
		{http.MethodGet, "/v1/dossiers/" + id + "/custody", ""},
		{http.MethodGet, "/v1/dossiers/" + id + "/custody/verify", ""},
		{http.MethodGet, "/v1/dossiers/" + id + "/history", ""},
		{http.MethodGet, "/v1/dossiers/" + id + "/timeline", ""},
		{http.MethodPost, "/v1/dossiers/" + id + "/events", `{"event":"agency_accept","version":2}`},
	}
	owners := []string{"admin", "dispatcher", "clerk", "courier01"}
	strangers := []string{"dispatcher2", "clerk.xaydung", "courier02@device"}
	for _, r := range routes {
		for _, who := range owners {
			if got := h.as(who).do(t, r.method, r.path, r.body); got.status == http.StatusNotFound {
				t.Errorf("%s %s as %s (the dossier's own): 404", r.method, r.path, who)
			}
		}
		for _, who := range strangers {
			wantProblem(t, h.as(who).do(t, r.method, r.path, r.body), http.StatusNotFound, "NOT_FOUND")
		}
	}
	for _, who := range strangers {
		if list := h.as(who).do(t, http.MethodGet, "/v1/dossiers", ""); list.body["total"] != float64(0) {
			t.Errorf("%s lists %v dossiers, want none", who, list.body["total"])
		}
	}
}

// TestEventFieldsBelongToTheirEvents (OWASP API3, object property level): a field that the
// event reported does not take is refused, not quietly ignored: a courier reporting a
// pickup cannot name a courier, nor a day or a slot, which only the dispatcher's and the
// applicant's events set. Nothing changes.
func TestEventFieldsBelongToTheirEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.assigned(t, "courier01")
	day := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	for _, c := range []struct{ as, body, field string }{
		{"courier01@device", `{"event":"pick_up","courier_id":"` + h.courierOf("courier02") + `"}`, "courier_id"},
		{"courier01@device", `{"event":"pick_up","date":"` + day + `"}`, "date"},
		{"courier01@device", `{"event":"pick_up","slot":{"start":"08:00","end":"10:00"}}`, "slot"},
		{"courier01@device", `{"event":"pick_up","choice":"home"}`, "choice"},
		{"dispatcher", `{"event":"cancel","courier_id":"` + h.courierOf("courier02") + `"}`, "courier_id"},
	} {
		wantProblem(t, h.event(t, c.as, id, c.body), http.StatusUnprocessableEntity, "VALIDATION_FAILED", c.field)
	}
	if d := h.do(t, http.MethodGet, "/v1/dossiers/"+id, ""); d.body["state"] != "assigned" || d.body["version"] != float64(2) {
		t.Fatalf("refused events changed the dossier: %s", d.raw)
	}
	h.mustEvent(t, "courier01@device", id, `{"event":"pick_up"}`, "picked_up")
}
