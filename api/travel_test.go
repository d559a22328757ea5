package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/routing"
)

// fakeOSRM answers table requests as mode says: "ok" by a rule of its own (the distance
// between two points 10,000 m per degree of longitude plus latitude, a tenth of that in
// seconds), or broken in one of the ways an engine breaks.
type fakeOSRM struct {
	mu   sync.Mutex
	mode string
}

func (f *fakeOSRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	switch mode {
	case "fail":
		http.Error(w, "upstream down", http.StatusBadGateway)
		return
	case "refuse":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":"NoSegment","message":"Could not find a matching segment for coordinate 2"}`))
		return
	case "hang":
		<-r.Context().Done()
		return
	case "malformed":
		_, _ = w.Write([]byte(`{"code":"Ok","durations":[[0,`))
		return
	case "not_ok":
		_, _ = w.Write([]byte(`{"code":"Maybe"}`))
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/table/v1/driving/")
	var points []orb.Point
	for _, pair := range strings.Split(rest, ";") {
		lon, lat, _ := strings.Cut(pair, ",")
		x, _ := strconv.ParseFloat(lon, 64)
		y, _ := strconv.ParseFloat(lat, 64)
		points = append(points, orb.Point{x, y})
	}
	index := func(name string) []int {
		var out []int
		for _, s := range strings.Split(r.URL.Query().Get(name), ";") {
			i, _ := strconv.Atoi(s)
			out = append(out, i)
		}
		return out
	}
	sources, destinations := index("sources"), index("destinations")
	if len(sources)*len(destinations) > 7*7 { // OSRM_MAX_TABLE below
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":"TooBig","message":"Too many table coordinates"}`))
		return
	}
	durations, distances := make([][]float64, len(sources)), make([][]float64, len(sources))
	for i, s := range sources {
		for _, d := range destinations {
			m := roadRule(points[s], points[d])
			distances[i] = append(distances[i], m)
			durations[i] = append(durations[i], m/10)
		}
	}
	if mode == "short" {
		distances = distances[1:]
	}
	if mode == "negative" {
		durations[0][0] = -1
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": "Ok", "durations": durations, "distances": distances})
}

func roadRule(a, b orb.Point) float64 { return 10_000 * (math.Abs(a[0]-b[0]) + math.Abs(a[1]-b[1])) }

// A day is planned whatever the routing engine does: on its roads when it answers, on
// straight lines × ROAD_FACTOR when it fails, times out or answers garbage, and the plan
// says which (kept with it), the log and the metrics say why, and no point is logged.
func TestPlanTravelFallsBack(t *testing.T) {
	t.Parallel()
	engine := &fakeOSRM{}
	server := httptest.NewServer(engine)
	t.Cleanup(server.Close)
	base := newHarness(t, nil)
	base.settings = func(s *app.Settings) {
		s.OSRMURL, s.OSRMAllowPrivate, s.OSRMTimeout, s.OSRMMaxTable = server.URL, true, 300*time.Millisecond, 7
	}
	h := base.withRevocations(t, auth.NewRevocationList())
	h.startWorkers(t)
	if _, err := h.db.SQL().Exec(`UPDATE couriers SET shift_start_min = 0, shift_end_min = 1440`); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(25, 5))
	ids := h.pickups(t, 6+rng.IntN(10))
	day := h.workToday(t)
	office := h.demo.PostOffices[0]
	want := map[string]string{"ok": "", "fail": "osrm_error", "refuse": "osrm_error", "hang": "osrm_timeout",
		"malformed": "osrm_garbage", "not_ok": "osrm_garbage", "short": "osrm_garbage", "negative": "osrm_garbage"}
	modes := []string{"ok", "fail", "refuse", "hang", "malformed", "not_ok", "short", "negative", "ok"}
	rng.Shuffle(len(modes), func(i, j int) { modes[i], modes[j] = modes[j], modes[i] })
	fallbacks := map[string]int{}
	for i, mode := range modes {
		engine.mu.Lock()
		engine.mode = mode
		engine.mu.Unlock()
		plan := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans",
			fmt.Sprintf(`{"post_office_id":%q,"date":%q,"seed":%d,"time_limit_ms":500}`, office.ID, day, i))
		if plan.status != http.StatusCreated || plan.body["planned_stops"] != float64(len(ids)) {
			t.Fatalf("%s: %d %s", mode, plan.status, plan.raw)
		}
		travel, fallback := "osrm", want[mode]
		if fallback != "" {
			travel = "straight_line"
			fallbacks[fallback]++
		}
		kept := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans/"+plan.body["id"].(string), "")
		for _, p := range []reply{plan, kept} {
			if p.body["travel"] != travel || fallback != "" && p.body["travel_fallback"] != fallback || fallback == "" && p.body["travel_fallback"] != nil {
				t.Fatalf("%s: travel %v (%v), want %s (%s)", mode, p.body["travel"], p.body["travel_fallback"], travel, fallback)
			}
		}
		// Each route's distance is the one the plan says it is on, leg by leg.
		for _, r := range plan.body["routes"].([]any) {
			route := r.(map[string]any)
			var line struct{ Coordinates []orb.Point }
			raw, _ := json.Marshal(route["line"])
			if err := json.Unmarshal(raw, &line); err != nil {
				t.Fatal(err)
			}
			total := 0.0
			for k := 1; k < len(line.Coordinates); k++ {
				a, b := line.Coordinates[k-1], line.Coordinates[k]
				if travel == "osrm" {
					total += roadRule(a, b)
				} else {
					total += routing.Haversine{Points: []orb.Point{a, b}, RoadFactor: 1.3}.Distance(0, 1)
				}
			}
			if got := route["distance_m"].(float64); math.Abs(got-total) > 1 {
				t.Fatalf("%s: a route of %v m, %v m on %s", mode, got, total, travel)
			}
		}
	}
	// A plan on roads, edited by hand while the engine is down: the edited route is timed on
	// straight lines, and the plan says so.
	engine.mu.Lock()
	engine.mode = "ok"
	engine.mu.Unlock()
	plan := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans",
		fmt.Sprintf(`{"post_office_id":%q,"date":%q,"seed":1,"time_limit_ms":500}`, office.ID, day))
	engine.mu.Lock()
	engine.mode = "fail"
	engine.mu.Unlock()
	fallbacks["osrm_error"]++
	route := plan.body["routes"].([]any)[0].(map[string]any)
	tasks := stopTasks(route)
	slices.Reverse(tasks)
	raw, _ := json.Marshal(map[string]any{"version": 1, "task_ids": tasks})
	path := "/v1/dispatch/plans/" + plan.body["id"].(string)
	if edited := h.as("dispatcher").do(t, http.MethodPut, path+"/routes/"+route["courier_id"].(string), string(raw)); plan.body["travel"] != "osrm" ||
		edited.status != http.StatusOK || edited.body["travel"] != "straight_line" || edited.body["travel_fallback"] != "osrm_error" {
		t.Fatalf("a plan on roads (%v) edited while the engine fails: %d %s", plan.body["travel"], edited.status, edited.raw)
	}
	if kept := h.as("dispatcher").do(t, http.MethodGet, path, ""); kept.body["travel"] != "straight_line" || kept.body["travel_fallback"] != "osrm_error" {
		t.Fatalf("the edited plan as kept: %s", kept.raw)
	}
	metrics := h.do(t, http.MethodGet, "/metrics", "").raw
	for reason, n := range fallbacks {
		if series := fmt.Sprintf("courierd_plan_travel_fallbacks_total{reason=%q} %d\n", reason, n); !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	told := 0
	for _, line := range strings.Split(h.log.String(), "\n") {
		if strings.Contains(line, "falls back to straight lines") {
			told++
			// The record's time is dropped first: its seconds can read like a latitude.
			var record map[string]any
			if err := json.Unmarshal([]byte(line), &record); err != nil {
				t.Fatalf("a log line that is not JSON: %s", line)
			}
			delete(record, "time")
			if fields, _ := json.Marshal(record); strings.Contains(string(fields), "106.") || strings.Contains(string(fields), "10.9") {
				t.Errorf("the log names a point: %s", line)
			}
		}
	}
	if n := len(modes) - 2 + 1; told != n {
		t.Errorf("%d fallbacks logged, want %d", told, n)
	}
}
