package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// pickups opens n pickup-and-return dossiers at addresses scattered around Phú Hòa.
func (h *harness) pickups(t testing.TB, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		body := h.dossierBody(func(f map[string]string) {
			f["lat"] = fmt.Sprintf("%.6f", 10.9712+float64(i%5)*0.0009)
			f["lon"] = fmt.Sprintf("%.6f", 106.6868+float64(i/5)*0.0009)
		})
		r := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", body)
		if r.status != http.StatusCreated {
			t.Fatalf("dossier %d: %d %s", i, r.status, r.raw)
		}
		ids = append(ids, r.body["id"].(string))
	}
	return ids
}

// routeOrder is a plan's routes as "courier: task task …" lines.
func routeOrder(plan map[string]any) string {
	var lines []string
	for _, r := range plan["routes"].([]any) {
		route := r.(map[string]any)
		line := route["courier_id"].(string) + ":"
		for _, s := range route["stops"].([]any) {
			line += " " + s.(map[string]any)["task_id"].(string)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func TestPlanAndPublishADay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorkers(t) // plans are made on the plan workers
	office := h.demo.PostOffices[0]
	// The running day is judged from now, at whatever hour the test runs: every courier
	// works the whole day, so that a release late in the afternoon still finds room
	// before the shifts end.
	if _, err := h.db.SQL().ExecContext(context.Background(), `UPDATE couriers SET shift_start_min = 0, shift_end_min = 1440`); err != nil {
		t.Fatal(err)
	}
	ids := h.pickups(t, 12)
	// Today: the day's outcome reads the GPS points sent during the test.
	day := h.workToday(t)
	query := "?post_office_id=" + office.ID.String() + "&date=" + day

	// A zone over the office's area west of the second column of pickups; one reaching
	// outside the area is refused.
	middle := 106.6872
	westArea := orb.MultiPolygon{}
	for _, poly := range office.ServiceArea {
		if clipped := westOf(poly, middle); clipped != nil {
			westArea = append(westArea, clipped)
		}
	}
	zoneJSON, _ := geojson.NewGeometry(westArea).MarshalJSON()
	zones := "/v1/post-offices/" + office.ID.String() + "/zones"
	r := h.as("dispatcher").do(t, http.MethodPost, zones, `{"name":"Phía tây","area":`+string(zoneJSON)+`}`)
	if r.status != http.StatusCreated {
		t.Fatalf("zone: %d %s", r.status, r.raw)
	}
	outside, _ := geojson.NewGeometry(orb.Polygon{{{106.0, 10.0}, {106.1, 10.0}, {106.1, 10.1}, {106.0, 10.0}}}).MarshalJSON()
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, zones, `{"name":"Ngoài","area":`+string(outside)+`}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "area")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, zones, `{"name":"Phía tây","area":`+string(zoneJSON)+`}`), http.StatusConflict, "CONFLICT")
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, zones, ""), http.StatusNotFound, "NOT_FOUND")

	// The demand: every pickup once, placed by its point.
	demand := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/demand"+query, "")
	if demand.status != http.StatusOK || demand.body["total"] != float64(len(ids)) {
		t.Fatalf("demand: %d %s", demand.status, demand.raw)
	}
	// The demo's zones are the office's wards; the new one, first by name, takes the stops
	// west of its edge, the ward's zone the rest.
	west, east := 0, 0
	for _, z := range demand.body["zones"].([]any) {
		zone := z.(map[string]any)
		for _, s := range zone["stops"].([]any) {
			lon := s.(map[string]any)["location"].(map[string]any)["lon"].(float64)
			if inWest := zone["zone"].(map[string]any)["name"] == "Phía tây"; inWest != (lon <= middle) {
				t.Fatalf("a stop at longitude %v is placed in zone %v", lon, zone["zone"].(map[string]any)["name"])
			}
			if lon <= middle {
				west++
			} else {
				east++
			}
		}
	}
	if west == 0 || east == 0 || west+east+len(demand.body["unzoned"].([]any))+len(demand.body["outside_area"].([]any)) != len(ids) {
		t.Fatalf("stops should fall on both sides of the zone's edge: %d west, %d east: %s", west, east, demand.raw)
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/demand?post_office_id="+office.ID.String(), ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "date")

	// Plan the day twice with one seed: the same routes; every stop planned, each route's
	// times in order and inside the courier's shift, its line from the office and back.
	planBody := `{"post_office_id":"` + office.ID.String() + `","date":"` + day + `","seed":7,"time_limit_ms":20000}`
	first := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", planBody)
	if first.status != http.StatusCreated || first.body["state"] != "draft" {
		t.Fatalf("plan: %d %s", first.status, first.raw)
	}
	second := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", planBody)
	if routeOrder(first.body) != routeOrder(second.body) || first.body["distance_m"] != second.body["distance_m"] {
		t.Fatalf("one seed, two plans:\n%s\n---\n%s", routeOrder(first.body), routeOrder(second.body))
	}
	if first.body["planned_stops"] != float64(len(ids)) || len(first.body["unplanned"].([]any)) != 0 {
		t.Fatalf("every pickup fits one day of eight couriers: %s", first.raw)
	}
	assigned := map[string]string{} // dossier → courier
	for _, rt := range first.body["routes"].([]any) {
		route := rt.(map[string]any)
		var line struct {
			Type        string      `json:"type"`
			Coordinates [][]float64 `json:"coordinates"`
		}
		raw, _ := json.Marshal(route["line"])
		if err := json.Unmarshal(raw, &line); err != nil || line.Type != "LineString" || len(line.Coordinates) != len(route["stops"].([]any))+2 ||
			line.Coordinates[0][0] != office.Location.Lon() || line.Coordinates[len(line.Coordinates)-1][1] != office.Location.Lat() {
			t.Fatalf("route line: %s", raw)
		}
		last, _ := time.Parse(time.RFC3339, route["depart"].(string))
		for _, s := range route["stops"].([]any) {
			stop := s.(map[string]any)
			arrival, _ := time.Parse(time.RFC3339, stop["arrival"].(string))
			departure, _ := time.Parse(time.RFC3339, stop["departure"].(string))
			if arrival.Before(last) || !departure.After(arrival) {
				t.Fatalf("stop times out of order: %v", stop)
			}
			last = departure
			assigned[stop["dossier_id"].(string)] = route["courier_id"].(string)
		}
		back, _ := time.Parse(time.RFC3339, route["return"].(string))
		if back.Before(last) || back.In(time.FixedZone("ICT", 7*3600)).Hour() >= 18 {
			t.Fatalf("the route ends at %v, after the demo shift", back)
		}
	}

	// Who may see a plan: the office's dispatchers and admins.
	planPath := "/v1/dispatch/plans/" + first.body["id"].(string)
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, planPath, ""), http.StatusNotFound, "NOT_FOUND")
	wantProblem(t, h.as("courier01").do(t, http.MethodGet, planPath, ""), http.StatusForbidden, "FORBIDDEN")
	if list := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans"+query, ""); len(list.body["items"].([]any)) != 2 {
		t.Fatalf("the day's plans: %s", list.raw)
	}

	// Publishing: a stale version is refused; then every dossier goes to its planned
	// courier at once.
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, planPath+"/publish", `{"version":9}`), http.StatusConflict, "VERSION_CONFLICT")
	pub := h.as("dispatcher").do(t, http.MethodPost, planPath+"/publish", `{"version":1}`)
	if pub.status != http.StatusOK || pub.body["state"] != "published" || pub.body["version"] != float64(2) {
		t.Fatalf("publish: %d %s", pub.status, pub.raw)
	}
	// The plan read back, its stops no longer open demand, still names each stop by its
	// dossier's receipt code and the risk it had on the day.
	receipts := map[string]string{}
	for _, rt := range h.as("dispatcher").do(t, http.MethodGet, planPath, "").body["routes"].([]any) {
		for _, s := range rt.(map[string]any)["stops"].([]any) {
			stop := s.(map[string]any)
			receipts[stop["dossier_id"].(string)] = stop["receipt_code"].(string)
			if risk, _ := stop["risk"].(string); !slices.Contains([]string{"overdue", "due_today", "at_risk", "on_track"}, risk) {
				t.Fatalf("a published stop's risk: %v", stop)
			}
		}
	}
	for dossierID, courier := range assigned {
		d := h.do(t, http.MethodGet, "/v1/dossiers/"+dossierID, "")
		if receipts[dossierID] == "" || receipts[dossierID] != d.body["receipt_code"] {
			t.Fatalf("dossier %s (%v) is stop %q in the published plan", dossierID, d.body["receipt_code"], receipts[dossierID])
		}
		task := d.body["tasks"].([]any)
		got := ""
		for _, tk := range task {
			if m := tk.(map[string]any); m["kind"] == "pickup" {
				got, _ = m["courier_id"].(string)
			}
		}
		if d.body["state"] != "assigned" || got != courier {
			t.Fatalf("dossier %s: %s with courier %q, planned for %s", dossierID, d.body["state"], got, courier)
		}
	}
	// The published plan reaches the couriers' devices.
	for _, username := range []string{"courier01", "courier02", "courier03", "courier04", "courier05", "courier06", "courier07", "courier08"} {
		var dev device
		h.pull(t, username, &dev, 200)
		want := 0
		for _, c := range assigned {
			if c == h.courierOf(username) {
				want++
			}
		}
		if len(dev.tasks) != want {
			t.Fatalf("%s's device holds %d stops, the plan gave %d", username, len(dev.tasks), want)
		}
		seqs := map[float64]bool{}
		for id, task := range dev.tasks {
			seq, _ := task["route_seq"].(float64)
			if seq < 1 || seq > float64(want) || seqs[seq] || task["planned_arrival"] == nil {
				t.Fatalf("%s's stop %s: route_seq %v, planned_arrival %v", username, id, task["route_seq"], task["planned_arrival"])
			}
			seqs[seq] = true
		}
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, planPath+"/publish", `{"version":2}`), http.StatusConflict, "PLAN_NOT_DRAFT")

	// The live view: every stop still to do, predicted; then one courier picks up their first
	// stop and sends GPS points: their route shows it done, the position and the battery.
	liveQuery := "/v1/dispatch/live" + query
	live := h.as("dispatcher").do(t, http.MethodGet, liveQuery, "")
	remaining := 0
	for _, r := range live.body["routes"].([]any) {
		route := r.(map[string]any)
		remaining += len(route["remaining"].([]any))
		if route["done"] != float64(0) || route["position"] != nil {
			t.Fatalf("nothing done and no GPS yet: %v", route)
		}
	}
	if live.status != http.StatusOK || remaining != len(ids) {
		t.Fatalf("live: %d %s", live.status, live.raw)
	}
	tracked := live.body["routes"].([]any)[0].(map[string]any)
	username := ""
	for _, a := range h.demo.Accounts {
		if a.CourierID.String() == tracked["courier_id"] {
			username = a.Username
		}
	}
	firstTask := tracked["remaining"].([]any)[0].(map[string]any)["task_id"].(string)
	if r := h.push(t, username, mutation(1, uuid.NewString(), "task.pickup.v1", firstTask, pickupPayload)); statuses(r) != "applied" {
		t.Fatalf("pickup: %s", r.raw)
	}
	gps := h.as(username+"@device").with("X-App-Version", "1.4.2").do(t, http.MethodPost, "/v1/device/locations", points(1, 3, func(i int) time.Time { return time.Now().Add(time.Duration(i-4) * time.Second) }))
	if gps.status != http.StatusOK {
		t.Fatalf("gps: %s", gps.raw)
	}
	live = h.as("dispatcher").do(t, http.MethodGet, liveQuery, "")
	moved := routeOf(map[string]any{"routes": live.body["routes"]}, tracked["courier_id"].(string))
	if moved["done"] != float64(1) || len(moved["remaining"].([]any)) != len(tracked["remaining"].([]any))-1 {
		t.Fatalf("after one pickup: %v", moved)
	}
	if pos, _ := moved["position"].(map[string]any); pos == nil || pos["battery_pct"] != float64(77) {
		t.Fatalf("position and battery: %v", moved["position"])
	}
	if len(moved["remaining"].([]any)) > 0 {
		next := moved["remaining"].([]any)[0].(map[string]any)
		predicted, err := time.Parse(time.RFC3339, next["predicted_arrival"].(string))
		if err != nil || predicted.Before(time.Now().Add(-time.Minute)) {
			t.Fatalf("the next stop's predicted arrival: %v", next)
		}
	}
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, liveQuery, ""), http.StatusNotFound, "NOT_FOUND")

	// After publication: an urgent pickup goes into a running route at its cheapest place
	// and reaches that courier's device.
	urgent := h.pickups(t, 1)[0]
	urgentTask := pickupTask(h, t, urgent)
	inserted := h.as("dispatcher").do(t, http.MethodPost, planPath+"/insert", `{"version":2,"task_id":"`+urgentTask+`"}`)
	if inserted.status != http.StatusOK || inserted.body["version"] != float64(3) || inserted.body["planned_stops"] != float64(len(ids)+1) {
		t.Fatalf("insert: %d %s", inserted.status, inserted.raw)
	}
	holderOf := func(dossierID string) string {
		for _, tk := range h.do(t, http.MethodGet, "/v1/dossiers/"+dossierID, "").body["tasks"].([]any) {
			if m := tk.(map[string]any); m["kind"] == "pickup" {
				c, _ := m["courier_id"].(string)
				return c
			}
		}
		return ""
	}
	took := holderOf(urgent)
	if took == "" || !slices.Contains(stopTasks(routeOf(inserted.body, took)), urgentTask) {
		t.Fatalf("the urgent pickup is assigned to %q, the plan says %v", took, routeOf(inserted.body, took))
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, planPath+"/insert", `{"version":3,"task_id":"`+urgentTask+`"}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "task_id")

	// The tracked courier falls ill: their pickups still to do go to others (and leave their
	// device); the one they made stays on their route.
	ill := tracked["courier_id"].(string)
	released := h.as("dispatcher").do(t, http.MethodPost, planPath+"/release", `{"version":3,"courier_id":"`+ill+`"}`)
	if released.status != http.StatusOK {
		t.Fatalf("release: %d %s", released.status, released.raw)
	}
	if left := stopTasks(routeOf(released.body, ill)); len(left) != 1 || left[0] != firstTask {
		t.Fatalf("the released courier's route keeps only the stop done: %v", left)
	}
	for _, s := range tracked["remaining"].([]any)[1:] {
		task := s.(map[string]any)["task_id"].(string)
		dossierID := s.(map[string]any)["dossier_id"].(string)
		if c := holderOf(dossierID); c == ill || c == "" || !slices.Contains(stopTasks(routeOf(released.body, c)), task) {
			t.Fatalf("stop %s went to %q", task, c)
		}
	}
	if routeOf(released.body, ill)["released"] != true {
		t.Fatalf("the released route is not marked: %v", routeOf(released.body, ill))
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, planPath+"/release", `{"version":4,"courier_id":"`+ill+`"}`), http.StatusConflict, "CONFLICT")
	// A later urgent stop does not go back to the released courier.
	later := h.pickups(t, 1)[0]
	again := h.as("dispatcher").do(t, http.MethodPost, planPath+"/insert", `{"version":4,"task_id":"`+pickupTask(h, t, later)+`"}`)
	if again.status != http.StatusOK || holderOf(later) == ill || holderOf(later) == "" {
		t.Fatalf("insert after release: %d, went to %q (released %s): %.300s", again.status, holderOf(later), ill, again.raw)
	}
	var illDevice device
	h.drain(t, username, &illDevice)
	for task, held := range illDevice.tasks {
		if held["state"] != "done" {
			t.Fatalf("the released courier's device still holds %s (%v)", task, held["state"])
		}
	}

	// The day's outcome: planned against travelled, and the stop done on time.
	outcomes := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/outcomes"+query, "")
	var mine map[string]any
	for _, r := range outcomes.body["routes"].([]any) {
		if r.(map[string]any)["courier_id"] == ill {
			mine = r.(map[string]any)
		}
	}
	if outcomes.status != http.StatusOK || mine == nil || mine["done"] != float64(1) || mine["on_time"] != float64(1) ||
		mine["on_time_rate"] != float64(1) || mine["actual_distance_m"].(float64) < 1 || mine["actual_duration_seconds"] != float64(2) {
		t.Fatalf("outcomes: %d %s", outcomes.status, outcomes.raw)
	}

	// The other draft was made on dossiers that have changed since: all or nothing.
	before := h.do(t, http.MethodGet, "/v1/dossiers/"+ids[0], "").body["version"]
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, "/v1/dispatch/plans/"+second.body["id"].(string)+"/publish", `{"version":1}`),
		http.StatusConflict, "PLAN_STALE")
	if after := h.do(t, http.MethodGet, "/v1/dossiers/"+ids[0], "").body["version"]; after != before {
		t.Fatalf("a refused publication changed a dossier: version %v → %v", before, after)
	}

	// A day already past cannot be planned; a time limit beyond the cap is refused.
	wantProblem(t, h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", `{"post_office_id":"`+office.ID.String()+`","date":"2020-01-01"}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "date")
	wantProblem(t, h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", `{"post_office_id":"`+office.ID.String()+`","date":"`+day+`","time_limit_ms":600000}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "time_limit_ms")
}

// westOf keeps the part of a polygon's outer ring west of longitude x (one Sutherland–
// Hodgman pass), enough for a test's zone.
func westOf(poly orb.Polygon, x float64) orb.Polygon {
	inside := func(p orb.Point) bool { return p[0] <= x }
	cross := func(a, c orb.Point) orb.Point {
		t := (x - a[0]) / (c[0] - a[0])
		return orb.Point{x, a[1] + t*(c[1]-a[1])}
	}
	var out orb.Ring
	ring := poly[0]
	for i := range len(ring) - 1 {
		a, c := ring[i], ring[i+1]
		switch {
		case inside(a) && inside(c):
			out = append(out, c)
		case inside(a):
			out = append(out, cross(a, c))
		case inside(c):
			out = append(out, cross(a, c), c)
		}
	}
	if len(out) < 3 {
		return nil
	}
	return orb.Polygon{append(out, out[0])}
}

// routeOf is the route of courier in a plan's answer, or nil.
func routeOf(plan map[string]any, courier string) map[string]any {
	for _, r := range plan["routes"].([]any) {
		if route := r.(map[string]any); route["courier_id"] == courier {
			return route
		}
	}
	return nil
}

// stopTasks lists a route's task ids in order.
func stopTasks(route map[string]any) []string {
	var out []string
	if route == nil {
		return out
	}
	for _, s := range route["stops"].([]any) {
		out = append(out, s.(map[string]any)["task_id"].(string))
	}
	return out
}

func TestEditAndReplan(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorkers(t)
	office := h.demo.PostOffices[0]
	ids := h.pickups(t, 10)
	// The first applicant will be home 08:00–08:30 only (the slot a citizen picks).
	if _, err := h.db.SQL().Exec(`UPDATE tasks SET slot_start_min = 480, slot_end_min = 510 WHERE dossier_id = $1 AND kind = 'pickup'`, ids[0]); err != nil {
		t.Fatal(err)
	}
	slotted := pickupTask(h, t, ids[0])
	day := h.bookable(t)[1] // a working day after today
	plan := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", `{"post_office_id":"`+office.ID.String()+`","date":"`+day+`","seed":3}`)
	if plan.status != http.StatusCreated {
		t.Fatalf("plan: %d %s", plan.status, plan.raw)
	}
	var all []string
	for _, r := range plan.body["routes"].([]any) {
		route := r.(map[string]any)
		all = append(all, stopTasks(route)...)
		for _, s := range route["stops"].([]any) {
			stop := s.(map[string]any)
			if stop["task_id"] == slotted {
				start, _ := time.Parse(time.RFC3339, stop["service_start"].(string))
				if local := start.In(time.FixedZone("ICT", 7*3600)); local.Hour() != 8 || local.Minute() > 30 || stop["late_minutes"] != float64(0) {
					t.Fatalf("the slotted stop begins at %v", local)
				}
			}
		}
	}
	if len(all) != len(ids) {
		t.Fatalf("%d of %d stops planned: %s", len(all), len(ids), plan.raw)
	}
	path := "/v1/dispatch/plans/" + plan.body["id"].(string)
	courier1, courier2 := h.courierOf("courier01"), h.courierOf("courier02")

	// By hand: courier01 takes seven stops, the slotted one last. The edit is kept and its
	// consequence shown: that stop is late; the stops left their other routes.
	order := []string{}
	for _, task := range all {
		if task != slotted && len(order) < 6 {
			order = append(order, task)
		}
	}
	order = append(order, slotted)
	body := func(version int, tasks []string, locked bool) string {
		raw, _ := json.Marshal(map[string]any{"version": version, "task_ids": tasks, "locked": locked})
		return string(raw)
	}
	edited := h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+courier1, body(1, order, false))
	if edited.status != http.StatusOK || edited.body["version"] != float64(2) {
		t.Fatalf("edit: %d %s", edited.status, edited.raw)
	}
	mine := routeOf(edited.body, courier1)
	if strings.Join(stopTasks(mine), ",") != strings.Join(order, ",") || mine["late_stops"] != float64(1) {
		t.Fatalf("courier01's route after the edit: %v", mine)
	}
	last := mine["stops"].([]any)[len(order)-1].(map[string]any)
	if last["late_minutes"].(float64) <= 0 || last["pinned"] != true {
		t.Fatalf("the slotted stop placed last must show its lateness: %v", last)
	}
	count := 0
	for _, r := range edited.body["routes"].([]any) {
		for _, task := range stopTasks(r.(map[string]any)) {
			count++
			if r.(map[string]any)["courier_id"] != courier1 && strings.Contains(strings.Join(order, ","), task) {
				t.Fatalf("stop %s is on two routes", task)
			}
		}
	}
	if count+len(edited.body["unplanned"].([]any)) != len(ids) {
		t.Fatalf("an edit lost or doubled stops: %d routed, %d unplanned", count, len(edited.body["unplanned"].([]any)))
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+courier1, body(1, order, false)), http.StatusConflict, "VERSION_CONFLICT")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+courier1, body(2, []string{ids[0]}, false)),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "task_ids[0]")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+h.courierOf("courier09"), body(2, order, false)),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "courier_id")

	// Lock courier01 on two stops: the other five of theirs go back to the unplanned list.
	locked := h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+courier1, body(2, order[:2], true))
	routed := 0
	for _, r := range locked.body["routes"].([]any) {
		routed += len(stopTasks(r.(map[string]any)))
	}
	if routeOf(locked.body, courier1)["locked"] != true || routed+len(locked.body["unplanned"].([]any)) != len(ids) ||
		len(locked.body["unplanned"].([]any)) < 5 {
		t.Fatalf("lock: %d %s", locked.status, locked.raw)
	}
	// Pin one stop to courier02 without locking its route.
	pinnedTask := order[2]
	pinned := h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+courier2, body(3, append(stopTasks(routeOf(locked.body, courier2)), pinnedTask), false))
	if pinned.status != http.StatusOK {
		t.Fatalf("pin: %d %s", pinned.status, pinned.raw)
	}

	// Re-plan: the locked route as it was, the pinned stop still with courier02, every other
	// stop planned again on the free couriers.
	replanned := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, path+"/replan", `{"version":4,"seed":3}`)
	if replanned.status != http.StatusCreated || replanned.body["id"] == plan.body["id"] || len(replanned.body["unplanned"].([]any)) != 0 {
		t.Fatalf("replan: %d %s", replanned.status, replanned.raw)
	}
	if got := stopTasks(routeOf(replanned.body, courier1)); strings.Join(got, ",") != strings.Join(order[:2], ",") {
		t.Fatalf("the locked route came back as %v", got)
	}
	if !strings.Contains(strings.Join(stopTasks(routeOf(replanned.body, courier2)), ","), pinnedTask) {
		t.Fatalf("the pinned stop left courier02: %v", routeOf(replanned.body, courier2))
	}
	if replanned.body["planned_stops"] != float64(len(ids)) {
		t.Fatalf("re-plan planned %v of %d", replanned.body["planned_stops"], len(ids))
	}
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodPost, path+"/replan", `{"version":4}`), http.StatusNotFound, "NOT_FOUND")
}
