package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"courierd/domain"
)

// flowPath is how far a test dossier goes, and what becomes of its result.
type flowPath int

const (
	atAgency       flowPath = iota // picked up and handed to the agency; nothing since
	byPost                         // its result delivered at the first attempt
	failedThenPost                 // one failed attempt, then delivered
	atCounter                      // held, then collected at the counter
	failedTwice                    // two failed attempts: held by the second
	returned                       // held, never collected, sent back to the agency
	flowPaths
)

// flowPlan is one test dossier's history: its path, which legs run late, why attempts fail.
type flowPlan struct {
	path                                 flowPath
	latePickup, lateAgency, lateDelivery bool
	reasons                              []string
}

// flowWant is what the report must say of a set of plans, in the answer's own shape.
type flowWant struct {
	PickedUp, HandedToAgency, ResultsCollected, Delivered, DeliveredByPost, CollectedAtCounter int
	PickupLeg, AgencyLeg, DeliveryLeg                                                          [2]int
	DeliveryFailed, Held, Returned                                                             int
	FailedByReason                                                                             map[string]int
}

func expectFlow(plans []flowPlan) flowWant {
	w := flowWant{FailedByReason: map[string]int{}}
	leg := func(l *[2]int, late bool) {
		l[map[bool]int{false: 0, true: 1}[late]]++
	}
	for _, p := range plans {
		w.PickedUp++
		w.HandedToAgency++
		leg(&w.PickupLeg, p.latePickup)
		if p.path == atAgency {
			continue
		}
		leg(&w.AgencyLeg, p.lateAgency)
		w.ResultsCollected++
		for _, r := range p.reasons {
			w.FailedByReason[r]++
			w.DeliveryFailed++
		}
		switch p.path {
		case byPost, failedThenPost:
			w.Delivered++
			w.DeliveredByPost++
			leg(&w.DeliveryLeg, p.lateDelivery)
		case atCounter:
			w.Delivered++
			w.CollectedAtCounter++
			w.Held++
			leg(&w.DeliveryLeg, p.lateDelivery)
		case failedTwice:
			w.Held++
		case returned:
			w.Held++
			w.Returned++
		}
	}
	return w
}

// walk moves a new pickup dossier along its plan; a late leg has its target moved into
// the past before the leg ends, as a dossier the post was slow with would have it.
func (h *harness) walk(t *testing.T, p flowPlan) {
	t.Helper()
	courier := h.courierOf("courier01")
	late := func(id, column string) {
		if _, err := h.db.SQL().Exec(`UPDATE dossiers SET `+column+` = current_date - 5 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+courier+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", id, `{"event":"pick_up"}`, "picked_up")
	if p.latePickup {
		late(id, "pickup_due")
	}
	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")
	if p.path == atAgency {
		return
	}
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	if p.lateAgency {
		late(id, "appointment_date")
	}
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	if p.lateDelivery {
		late(id, "delivery_due")
	}
	h.mustEvent(t, "clerk", id, `{"event":"collect_result"}`, "result_at_post_office")
	dispatch := func() {
		h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	}
	fail := func(reason, want string) {
		// "other" needs the courier's words.
		h.mustEvent(t, "courier01@device", id, `{"event":"delivery_fail","reason":"`+reason+`","note":"the gate was locked"}`, want)
	}
	deliver := func() {
		h.mustEvent(t, "courier01@device", id, `{"event":"deliver","recipient":"applicant","proof":`+signedProof+`,"citizen_id_last4":"1234"}`, "delivered")
	}
	switch p.path {
	case byPost:
		dispatch()
		deliver()
	case failedThenPost:
		dispatch()
		fail(p.reasons[0], "delivery_failed")
		h.mustEvent(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+weekdaySoon()+`"}`, "redelivery_scheduled")
		dispatch()
		deliver()
	case failedTwice:
		dispatch()
		fail(p.reasons[0], "delivery_failed")
		h.mustEvent(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+weekdaySoon()+`"}`, "redelivery_scheduled")
		dispatch()
		fail(p.reasons[1], "held_at_post_office")
	case atCounter:
		h.mustEvent(t, "dispatcher", id, `{"event":"hold"}`, "held_at_post_office")
		h.mustEvent(t, "dispatcher", id, `{"event":"collect_at_counter","recipient":"applicant","proof":{"identity_method":"citizen_id_match"}}`, "delivered")
	case returned:
		h.mustEvent(t, "dispatcher", id, `{"event":"hold"}`, "held_at_post_office")
		h.mustEvent(t, "dispatcher", id, `{"event":"return_to_agency"}`, "returned_to_agency")
	}
}

// flowOf reads the report's one row into flowWant's shape, failing unless there is exactly one.
func flowOf(t *testing.T, r reply, key string) flowWant {
	t.Helper()
	items, _ := r.body["items"].([]any)
	if r.status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["key"] != key {
		t.Fatalf("want one row for %s: %d %s", key, r.status, r.raw)
	}
	row := items[0].(map[string]any)
	var got struct {
		PickedUp                          int `json:"picked_up"`
		HandedToAgency                    int `json:"handed_to_agency"`
		ResultsCollected                  int `json:"results_collected"`
		Delivered                         int `json:"delivered"`
		DeliveredByPost                   int `json:"delivered_by_post"`
		CollectedAtCounter                int `json:"collected_at_counter"`
		PickupLeg, AgencyLeg, DeliveryLeg struct {
			OnTime int `json:"on_time"`
			Late   int `json:"late"`
		} `json:"-"`
		DeliveryFailed int `json:"delivery_failed"`
		Held           int `json:"held"`
		Returned       int `json:"returned"`
		FailedByReason []struct {
			Count  int    `json:"count"`
			Reason string `json:"reason"`
		} `json:"failed_by_reason"`
	}
	raw, _ := json.Marshal(row)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	w := flowWant{PickedUp: got.PickedUp, HandedToAgency: got.HandedToAgency, ResultsCollected: got.ResultsCollected, Delivered: got.Delivered,
		DeliveredByPost: got.DeliveredByPost, CollectedAtCounter: got.CollectedAtCounter, DeliveryFailed: got.DeliveryFailed, Held: got.Held,
		Returned: got.Returned, FailedByReason: map[string]int{}}
	for name, l := range map[string]*[2]int{"pickup_leg": &w.PickupLeg, "agency_leg": &w.AgencyLeg, "delivery_leg": &w.DeliveryLeg} {
		leg := row[name].(map[string]any)
		*l = [2]int{int(leg["on_time"].(float64)), int(leg["late"].(float64))}
	}
	for _, f := range got.FailedByReason {
		w.FailedByReason[f.Reason] = f.Count
	}
	return w
}

// TestReportFlow: a generated history of dossiers, some late on each leg, some failing at
// the door for generated reasons, comes out of the flow report exactly, per office, agency,
// procedure and courier; the dispatcher of another office sees none of it; CSV says what
// JSON says; a period too long, backwards or missing, and an unknown grouping, are refused.
func TestReportFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rng := rand.New(rand.NewPCG(24, 1))
	reasons := []string{"not_at_home", "refused", "wrong_address", "identity_not_proven", "other"}
	var plans []flowPlan
	for i := range 9 {
		// Every path at least once, then at random.
		p := flowPlan{path: flowPath(i % int(flowPaths)), latePickup: rng.IntN(3) == 0, lateAgency: rng.IntN(3) == 0, lateDelivery: rng.IntN(3) == 0}
		if i >= int(flowPaths) {
			p.path = flowPath(rng.IntN(int(flowPaths)))
		}
		switch p.path {
		case failedThenPost:
			p.reasons = []string{reasons[rng.IntN(len(reasons))]}
		case failedTwice:
			p.reasons = []string{reasons[rng.IntN(len(reasons))], reasons[rng.IntN(len(reasons))]}
		}
		plans = append(plans, p)
		h.walk(t, p)
	}
	want := expectFlow(plans)
	t.Logf("plans %+v\nwant %+v", plans, want)

	today := h.clock.now().In(domain.Vietnam)
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	period := "/v1/reports/flow?from=" + day(-1) + "&to=" + day(1)
	office, agency := h.demo.PostOffices[0].ID.String(), h.agency("Sở Tư pháp").ID.String()
	cases := []struct{ who, by, key string }{
		{"admin", "post_office", office}, {"dispatcher", "post_office", office}, {"admin", "", office},
		{"admin", "agency", agency}, {"clerk", "agency", agency}, {"dispatcher", "procedure", h.procedure(judicialRecord).ID.String()},
	}
	for _, c := range cases {
		path := period
		if c.by != "" {
			path += "&by=" + c.by
		}
		got := flowOf(t, h.as(c.who).do(t, http.MethodGet, path, ""), c.key)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s by %q:\n got %+v\nwant %+v", c.who, c.by, got, want)
		}
		sameAsJSON(t, h.as(c.who), path, false)
	}
	// The courier's row: what their stops completed.
	byCourier := flowOf(t, h.as("dispatcher").do(t, http.MethodGet, period+"&by=courier", ""), h.courierOf("courier01"))
	if byCourier.PickedUp != want.PickedUp || byCourier.DeliveredByPost != want.DeliveredByPost || byCourier.DeliveryFailed != want.DeliveryFailed ||
		fmt.Sprint(byCourier.FailedByReason) != fmt.Sprint(want.FailedByReason) || byCourier.HandedToAgency != 0 || byCourier.CollectedAtCounter != 0 {
		t.Errorf("courier01's row: %+v, want %+v", byCourier, want)
	}
	// Nobody else sees any of it, in any grouping, nor in a period without it.
	for _, by := range []string{"post_office", "agency", "procedure", "courier"} {
		for _, look := range []struct{ who, path string }{
			{"dispatcher2", period}, {"admin", "/v1/reports/flow?from=" + day(1) + "&to=" + day(3)},
			{"admin", "/v1/reports/flow?from=" + day(-9) + "&to=" + day(-1)},
		} {
			r := h.as(look.who).do(t, http.MethodGet, look.path+"&by="+by, "")
			if items, _ := r.body["items"].([]any); r.status != http.StatusOK || len(items) != 0 {
				t.Errorf("%s %s by %s: %d %s", look.who, look.path, by, r.status, r.raw)
			}
		}
	}
	for _, who := range []string{"courier01", ""} {
		if r := h.as(who).do(t, http.MethodGet, period, ""); r.status != http.StatusForbidden && r.status != http.StatusUnauthorized {
			t.Errorf("%q reads the report: %d %s", who, r.status, r.raw)
		}
	}
	bad := []struct{ query, field string }{
		{"from=" + day(-400) + "&to=" + day(1), "to"}, {"from=" + day(0) + "&to=" + day(367), "to"},
		{"from=" + day(1) + "&to=" + day(0), "to"}, {"from=" + day(0) + "&to=" + day(0), "to"},
		{"to=" + day(1), "from"}, {"from=" + day(0), "to"}, {"from=yesterday&to=" + day(1), "from"},
		{"from=" + day(0) + "&to=" + day(1) + "&by=office", "by"}, {"from=" + day(0) + "&to=" + day(1) + "&by=POST_OFFICE", "by"},
	}
	for _, b := range bad {
		for _, accept := range []string{"application/json", "text/csv"} {
			wantProblem(t, h.as("admin").with("Accept", accept).do(t, http.MethodGet, "/v1/reports/flow?"+b.query, ""),
				http.StatusUnprocessableEntity, "VALIDATION_FAILED", b.field)
		}
	}
	// A year, leap day and all, is allowed.
	if r := h.do(t, http.MethodGet, "/v1/reports/flow?from="+day(-365)+"&to="+day(1), ""); r.status != http.StatusOK {
		t.Errorf("a 366-day period: %d %s", r.status, r.raw)
	}
	if !slices.Contains([]int{len(plans)}, want.PickedUp) {
		t.Fatalf("every plan is picked up: %d of %d", want.PickedUp, len(plans))
	}
}
