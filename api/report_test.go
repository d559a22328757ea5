package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	stars                                int // the applicant's rating once delivered; 0: none
}

// flowWant is what the report must say of a set of plans, in the answer's own shape.
type flowWant struct {
	PickedUp, HandedToAgency, ResultsCollected, Delivered, DeliveredByPost, CollectedAtCounter int
	PickupLeg, AgencyLeg, DeliveryLeg                                                          [2]int
	DeliveryFailed, Held, Returned                                                             int
	FailedByReason                                                                             map[string]int
	Ratings                                                                                    int
	RatingAverage                                                                              float64
}

func expectFlow(plans []flowPlan) flowWant {
	w := flowWant{FailedByReason: map[string]int{}}
	leg := func(l *[2]int, late bool) {
		l[map[bool]int{false: 0, true: 1}[late]]++
	}
	stars := 0
	for _, p := range plans {
		if p.stars > 0 {
			w.Ratings++
			stars += p.stars
		}
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
	if w.Ratings > 0 {
		w.RatingAverage = float64(stars) / float64(w.Ratings)
	}
	return w
}

// walk moves a new pickup dossier along its plan; a late leg has its target moved into
// the past before the leg ends, as a dossier the post was slow with would have it.
func (h *harness) walk(t *testing.T, p flowPlan) (id, receipt string) {
	t.Helper()
	courier := h.courierOf("courier01")
	late := func(id, column string) {
		if _, err := h.db.SQL().Exec(`UPDATE dossiers SET `+column+` = current_date - 5 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	created := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	id, receipt = created["id"].(string), created["receipt_code"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+courier+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", id, `{"event":"pick_up"}`, "picked_up")
	if p.latePickup {
		late(id, "pickup_due")
	}
	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")
	if p.path == atAgency {
		return id, receipt
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
	return id, receipt
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
		DeliveryFailed int      `json:"delivery_failed"`
		Held           int      `json:"held"`
		Returned       int      `json:"returned"`
		Ratings        int      `json:"ratings"`
		RatingAverage  *float64 `json:"rating_average"`
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
		Returned: got.Returned, FailedByReason: map[string]int{}, Ratings: got.Ratings}
	if got.RatingAverage != nil {
		w.RatingAverage = *got.RatingAverage
	}
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
	const dossiers = 9
	var plans []flowPlan
	var ids, receipts [dossiers]string
	for i := range dossiers {
		// Every path at least once, then at random.
		p := flowPlan{path: flowPath(i % int(flowPaths)), latePickup: rng.IntN(3) == 0, lateAgency: rng.IntN(3) == 0, lateDelivery: rng.IntN(3) == 0}
		if i >= int(flowPaths) {
			p.path = flowPath(rng.IntN(int(flowPaths)))
		}
		if i == int(byPost) {
			// Late on every leg at least once.
			p.latePickup, p.lateAgency, p.lateDelivery = true, true, true
		}
		if i == int(failedThenPost) {
			// A late delivery with a failed attempt's reason to list.
			p.lateDelivery = true
		}
		switch p.path {
		case failedThenPost:
			p.reasons = []string{reasons[rng.IntN(len(reasons))]}
		case failedTwice:
			p.reasons = []string{reasons[rng.IntN(len(reasons))], reasons[rng.IntN(len(reasons))]}
		}
		if delivered := p.path == byPost || p.path == failedThenPost || p.path == atCounter; delivered && i > 0 {
			p.stars = rng.IntN(6)
		}
		plans = append(plans, p)
		ids[i], receipts[i] = h.walk(t, p)
	}
	// One applicant made every request: their login rates each delivered dossier.
	applicant := h.citizenLogin(t, receipts[0], "0913456789")
	for i, p := range plans {
		if p.stars > 0 {
			if r := applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+ids[i]+"/rating", fmt.Sprintf(`{"stars":%d}`, p.stars)); r.status != http.StatusOK {
				t.Fatalf("rating: %d %s", r.status, r.raw)
			}
		}
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
	// The late legs, each once, with the reasons the failed attempts gave.
	var wantLate []string
	for i, p := range plans {
		delivered := p.path == byPost || p.path == failedThenPost || p.path == atCounter
		for _, leg := range []struct {
			name string
			late bool
		}{{"pickup", p.latePickup}, {"agency", p.lateAgency && p.path != atAgency}, {"delivery", p.lateDelivery && delivered}} {
			if leg.late {
				reasons := []string{}
				if leg.name == "delivery" {
					reasons = p.reasons
				}
				wantLate = append(wantLate, fmt.Sprint(receipts[i], " ", leg.name, " ", reasons))
			}
		}
	}
	for _, who := range []string{"admin", "dispatcher", "clerk"} {
		var gotLate []string
		for _, row := range sameAsJSON(t, h.as(who), "/v1/reports/late?from="+day(-1)+"&to="+day(1), false) {
			var reasons []string
			if err := json.Unmarshal([]byte(row["reasons"]), &reasons); err != nil {
				t.Fatal(err)
			}
			gotLate = append(gotLate, fmt.Sprint(row["receipt_code"], " ", row["leg"], " ", reasons))
			if row["due"] >= row["ended"] {
				t.Errorf("%s: a late leg due %s ended %s", who, row["due"], row["ended"])
			}
		}
		slices.Sort(gotLate)
		slices.Sort(wantLate)
		if !slices.Equal(gotLate, wantLate) {
			t.Errorf("%s: late legs\n got %v\nwant %v", who, gotLate, wantLate)
		}
	}
	if r := h.as("dispatcher2").do(t, http.MethodGet, "/v1/reports/late?from="+day(-1)+"&to="+day(1), ""); r.status != http.StatusOK || len(r.body["items"].([]any)) != 0 {
		t.Errorf("another office's dispatcher reads the late legs: %d %s", r.status, r.raw)
	}
	// The courier's row: what their stops completed.
	byCourier := flowOf(t, h.as("dispatcher").do(t, http.MethodGet, period+"&by=courier", ""), h.courierOf("courier01"))
	if byCourier.PickedUp != want.PickedUp || byCourier.DeliveredByPost != want.DeliveredByPost || byCourier.DeliveryFailed != want.DeliveryFailed ||
		fmt.Sprint(byCourier.FailedByReason) != fmt.Sprint(want.FailedByReason) || byCourier.CollectedAtCounter != 0 || byCourier.Held != want.Held-countOf(plans, atCounter, returned) ||
		byCourier.Ratings != want.Ratings-ratedOf(plans, atCounter) {
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

// countOf is how many plans take one of paths.
func countOf(plans []flowPlan, paths ...flowPath) int {
	n := 0
	for _, p := range plans {
		if slices.Contains(paths, p.path) {
			n++
		}
	}
	return n
}

// ratedOf is how many plans of path were rated.
func ratedOf(plans []flowPlan, path flowPath) int {
	n := 0
	for _, p := range plans {
		if p.path == path && p.stars > 0 {
			n++
		}
	}
	return n
}

// trackPoint is a breadcrumb as the device sends it.
type trackPoint struct {
	at       time.Time
	lat, lon float64
}

// expectTrack is what the couriers' report must make of a track: per day of Vietnam's
// calendar, first to last point and the great-circle length point to point.
func expectTrack(track []trackPoint) (onRoute time.Duration, metres float64) {
	byDay := map[string][]trackPoint{}
	for _, p := range track {
		day := p.at.In(domain.Vietnam).Format(time.DateOnly)
		byDay[day] = append(byDay[day], p)
	}
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	for _, points := range byDay {
		slices.SortFunc(points, func(a, b trackPoint) int { return a.at.Compare(b.at) })
		onRoute += points[len(points)-1].at.Sub(points[0].at)
		for i := 1; i < len(points); i++ {
			a, b := points[i-1], points[i]
			h := math.Pow(math.Sin(rad(b.lat-a.lat)/2), 2) + math.Cos(rad(a.lat))*math.Cos(rad(b.lat))*math.Pow(math.Sin(rad(b.lon-a.lon)/2), 2)
			metres += 2 * 6371008.8 * math.Asin(math.Sqrt(h))
		}
	}
	return onRoute, metres
}

// TestReportCouriersAndCash: a courier's generated stops, track and takings come out of
// the couriers' and the cash reports exactly (the track's length to a millimetre), for the
// office's dispatcher and admins, as JSON and CSV; another office's dispatcher sees none;
// a clerk may not read them.
func TestReportCouriersAndCash(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rng := rand.New(rand.NewPCG(24, 2))
	m := newMoneyAPI(h)
	methods := []string{"cash", "bank_transfer", "qr"}
	collected, cash, transfer, bank, collections := int64(0), int64(0), int64(0), int64(0), 0
	done, failed := 0, 0
	for i := range 3 + rng.IntN(3) {
		id, receipt, due := m.assignedDossier(t, "")
		stop := taskOfKind(h, t, id, "pickup")
		switch i % 3 {
		case 0: // paid at the door, then picked up
			method := methods[rng.IntN(len(methods))]
			if r := m.push(t, "courier01", "task.collect_fee.v1", stop, fmt.Sprintf(`{"amount_vnd":%d,"method":%q,"receipt_number":"R-%d"}`, due, method, i)); r["status"] != "applied" {
				t.Fatalf("the fee at the door: %v", r)
			}
			collections++
			collected += due
			if method == "cash" {
				cash += due
			} else {
				transfer += due
			}
			fallthrough
		case 1:
			if r := m.push(t, "courier01", "task.pickup.v1", stop, `{}`); r["status"] != "applied" {
				t.Fatalf("the pickup: %v", r)
			}
			done++
		case 2: // paid by transfer; nobody at home
			if r := m.transfer(t, transferBody(fmt.Sprintf("FT-%d", i), receipt, due, h.clock.now())); r.status != http.StatusCreated {
				t.Fatalf("the transfer: %d %s", r.status, r.raw)
			}
			bank += due
			h.mustEvent(t, "courier01@device", id, `{"event":"pickup_failed","reason":"not_at_home"}`, "requested")
			failed++
		}
	}
	// A track of generated steps over the last hours.
	var track []trackPoint
	at, lat, lon := h.clock.now().Add(-3*time.Hour), 10.97, 106.68
	var points []string
	for i := range 50 + rng.IntN(100) {
		at, lat, lon = at.Add(time.Duration(5+rng.IntN(60))*time.Second), lat+(rng.Float64()-0.5)/1000, lon+(rng.Float64()-0.5)/1000
		track = append(track, trackPoint{at, lat, lon})
		points = append(points, fmt.Sprintf(`{"seq":%d,"at":%q,"lat":%.6f,"lon":%.6f,"accuracy_m":10}`, i+1, at.UTC().Format(time.RFC3339Nano), lat, lon))
		track[i].lat, track[i].lon = math.Round(lat*1e6)/1e6, math.Round(lon*1e6)/1e6
	}
	if r := h.as("courier01@device").with("X-App-Version", "1.4.2").do(t, http.MethodPost, "/v1/device/locations", `{"points":[`+strings.Join(points, ",")+`]}`); r.status != http.StatusOK {
		t.Fatalf("the track: %d %s", r.status, r.raw)
	}
	onRoute, metres := expectTrack(track)

	today := h.clock.now().In(domain.Vietnam)
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	period := "?from=" + day(-1) + "&to=" + day(1)
	for _, who := range []string{"admin", "dispatcher"} {
		work := sameAsJSON(t, h.as(who), "/v1/reports/couriers"+period, false)
		want := map[string]string{"courier_id": h.courierOf("courier01"), "stops_done": fmt.Sprint(done), "stops_failed": fmt.Sprint(failed),
			"on_route_s": fmt.Sprint(int64(onRoute.Seconds())), "planned_m": "0"}
		if len(work) != 1 {
			t.Fatalf("%s: couriers %v, want courier01 alone", who, work)
		}
		travelled, _ := strconv.ParseFloat(work[0]["travelled_m"], 64)
		for k, v := range want {
			if work[0][k] != v {
				t.Errorf("%s: %s = %s, want %s (%v)", who, k, work[0][k], v, work[0])
			}
		}
		if math.Abs(travelled-metres) > 1e-3 {
			t.Errorf("%s: travelled %f m, want %f", who, travelled, metres)
		}
		takings := sameAsJSON(t, h.as(who), "/v1/reports/cash"+period, false)
		var got [5]int64
		for _, row := range takings {
			if row["post_office_id"] != h.demo.PostOffices[0].ID.String() || (row["date"] != day(0) && row["date"] != day(-1)) {
				t.Errorf("%s: a row of another office or day: %v", who, row)
			}
			for i, k := range []string{"collections", "collected_vnd", "cash_vnd", "transfer_vnd", "bank_vnd"} {
				n, _ := strconv.ParseInt(row[k], 10, 64)
				got[i] += n
			}
		}
		if want := [5]int64{int64(collections), collected, cash, transfer, bank}; got != want {
			t.Errorf("%s: takings %v, want %v (%v)", who, got, want, takings)
		}
	}
	for _, path := range []string{"/v1/reports/couriers", "/v1/reports/cash"} {
		if r := h.as("dispatcher2").do(t, http.MethodGet, path+period, ""); r.status != http.StatusOK || len(r.body["items"].([]any)) != 0 {
			t.Errorf("another office's dispatcher reads %s: %d %s", path, r.status, r.raw)
		}
		wantProblem(t, h.as("clerk").do(t, http.MethodGet, path+period, ""), http.StatusForbidden, "FORBIDDEN")
		wantProblem(t, h.as("admin").do(t, http.MethodGet, path+"?from="+day(-400)+"&to="+day(0), ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "to")
		if r := h.as("admin").do(t, http.MethodGet, path+"?from="+day(1)+"&to="+day(2), ""); r.status != http.StatusOK || len(r.body["items"].([]any)) != 0 {
			t.Errorf("%s of tomorrow: %d %s", path, r.status, r.raw)
		}
	}
}
