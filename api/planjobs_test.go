package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/domain/live"
)

// TestPlansAreJobs plans the days of the demo's two post offices at once, asked through
// two processes of which one works the plan queue with one worker: the asks answer at
// once (202, planning); a second ask for an office whose plan is still planning is refused
// with PLAN_RUNNING naming it; never more than one plan runs at once; each plan's progress
// reaches the office's screens with its distance never worse for the same stops left out
// and routes used, the last as the draft kept. A plan stopped before its search keeps its
// first routes, and no better than the whole search of the same seed; one stopped midway
// ends soon with routes no worse than it told. A plan whose draft
// cannot be kept is marked failed, with why, and does not hold its office. Generated offices'
// days of 20 to 60 stops, three seeds.
func TestPlansAreJobs(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			plansAreJobs(t, seed)
		})
	}
}

func plansAreJobs(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 25))
	h := newHarness(t, nil)
	// Searches run to their time limit (PLAN_ROUNDS_PER_STOP=0), so that one can be stopped midway.
	h.settings = func(s *app.Settings) { s.PlanRoundsPerStop = 0 }
	h = h.withRevocations(t, auth.NewRevocationList())
	other := h.withRevocations(t, auth.NewRevocationList()) // a second process on the same database
	a, b := h.demo.PostOffices[0], h.demo.PostOffices[1]
	for _, o := range h.demo.PostOffices[:2] {
		for i := range 20 + rng.IntN(40) {
			body := h.dossierBody(func(f map[string]string) {
				f["office"] = o.ID.String()
				f["lat"] = fmt.Sprintf("%.6f", o.Location.Lat()+(rng.Float64()-0.5)*0.03)
				f["lon"] = fmt.Sprintf("%.6f", o.Location.Lon()+(rng.Float64()-0.5)*0.03)
			})
			if r := h.as("admin").do(t, http.MethodPost, "/v1/dossiers", body); r.status != http.StatusCreated {
				t.Fatalf("dossier %d: %d %s", i, r.status, r.raw)
			}
		}
	}
	day := h.bookable(t)[1]
	ask := func(c client, office string, planSeed uint64) reply {
		return c.do(t, http.MethodPost, "/v1/dispatch/plans", fmt.Sprintf(`{"post_office_id":%q,"date":%q,"seed":%d,"time_limit_ms":3000}`, office, day, planSeed))
	}

	// No plan worker runs yet: both asks answer at once, planning.
	asking := time.Now()
	first := ask(h.as("admin"), a.ID.String(), seed)
	second := ask(other.as("admin"), b.ID.String(), seed)
	t.Logf("two plans asked in %v", time.Since(asking))
	for _, r := range []reply{first, second} {
		if r.status != http.StatusAccepted || r.body["state"] != "planning" || r.header.Get("Location") != "/v1/dispatch/plans/"+r.body["id"].(string) {
			t.Fatalf("ask: %d %s", r.status, r.raw)
		}
	}
	again := ask(other.as("admin"), a.ID.String(), seed+1)
	wantProblem(t, again, http.StatusConflict, "PLAN_RUNNING")
	if again.body["related_id"] != first.body["id"] {
		t.Fatalf("the refusal names %v, not the plan running %v", again.body["related_id"], first.body["id"])
	}

	// On one seed, a plan whose draft cannot be kept (a plan of its id is already there)
	// fails, with why, and does not hold its office.
	sabotaged := ""
	if seed%3 == 0 {
		sabotaged = second.body["id"].(string)
		if _, err := h.db.SQL().Exec(`INSERT INTO dispatch_plans (id, post_office_id, day, state, seed, time_limit_ms, solve_ms, distance_m,
			duration_s, created_by, created_at, version) VALUES ($1, $2, $3, 'draft', 0, 100, 0, 0, 0, $4, now(), 1)`, sabotaged, b.ID, day, h.demo.Accounts[0].ID); err != nil {
			t.Fatal(err)
		}
	}

	// The screens of both offices, fed from the database as in production.
	h.watchLive(t)
	feed, unsubscribe, _ := h.live.Subscribe(auth.Principal{Role: auth.RoleAdmin})
	defer unsubscribe()
	for h.live.Subscribers() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	var mu sync.Mutex
	events := map[string][]map[string]any{}
	go func() {
		for e := range feed {
			if e.Kind != live.KindPlanProgress {
				continue
			}
			var data map[string]any
			if err := json.Unmarshal(e.Data, &data); err == nil {
				mu.Lock()
				events[data["plan_id"].(string)] = append(events[data["plan_id"].(string)], data)
				mu.Unlock()
			}
		}
	}()
	// How many plans are being made at once: a run is in its job from its first progress,
	// written as the job begins, to its end.
	// A run searching keeps the points its routes index, though they are told only once.
	most, pointless := 0, 0
	sampling, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampling.Err() == nil {
			var n, lost int
			if err := h.db.SQL().QueryRowContext(sampling, `SELECT count(*), count(*) FILTER (WHERE progress->>'phase' IN ('construct', 'improve') AND jsonb_array_length(progress->'points') IS DISTINCT FROM 1 + (progress->>'planned_stops')::int + (progress->>'unplanned_stops')::int)
				FROM dispatch_plan_runs WHERE state = 'planning' AND progress IS NOT NULL`).Scan(&n, &lost); err == nil {
				most, pointless = max(most, n), max(pointless, lost)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	h.startWorkers(t)
	working := time.Now()
	done := map[string]reply{}
	for _, r := range []reply{first, second} {
		done[r.body["id"].(string)] = waitForPlan(t, h, r.body["id"].(string))
	}
	t.Logf("both made, one after the other, in %v (solving %v + %v ms)", time.Since(working), done[first.body["id"].(string)].body["solve_ms"],
		done[second.body["id"].(string)].body["solve_ms"])
	stopSampling()
	<-sampled
	if most > 1 {
		t.Fatalf("%d plans ran at once with one plan worker", most)
	}
	if pointless > 0 {
		t.Fatalf("a plan being made kept routes without the points they index, or with others")
	}
	time.Sleep(300 * time.Millisecond) // the last events reach the hub
	mu.Lock()
	for id, plan := range done {
		if id == sabotaged {
			if plan.body["state"] != "failed" || plan.body["failure"] == "" || len(events[id]) == 0 || events[id][len(events[id])-1]["phase"] != "failed" {
				t.Fatalf("a plan whose draft could not be kept: %s, events %v", plan.raw, events[id])
			}
			continue
		}
		if plan.body["state"] != "draft" {
			t.Fatalf("plan %s: %s", id, plan.raw)
		}
		checkProgress(t, events[id], plan)
	}
	mu.Unlock()
	if sabotaged != "" {
		if r := ask(h.as("admin").with("Prefer", "wait=60"), b.ID.String(), seed); r.status != http.StatusCreated || r.body["state"] != "draft" {
			t.Fatalf("asked again after a failure: %d %s", r.status, r.raw)
		}
	}

	// Stopped while it waited: its first routes, no better than the whole search's.
	stopped := ask(h.as("admin"), a.ID.String(), seed)
	stop := h.as("admin").do(t, http.MethodPost, "/v1/dispatch/plans/"+stopped.body["id"].(string)+"/stop", "")
	if stop.status != http.StatusAccepted && stop.status != http.StatusConflict {
		t.Fatalf("stop: %d %s", stop.status, stop.raw)
	}
	early := waitForPlan(t, h, stopped.body["id"].(string))
	if stop.status == http.StatusAccepted {
		progress := early.body["progress"].(map[string]any)
		if early.body["state"] != "draft" || progress["phase"] != "stopped" {
			t.Fatalf("stopped plan: %s", early.raw)
		}
		whole := done[first.body["id"].(string)]
		if worse(whole.body, early.body) {
			t.Fatalf("the whole search (%v out, %v m) is worse than its stopped start (%v out, %v m)", len(whole.body["unplanned"].([]any)),
				whole.body["distance_m"], len(early.body["unplanned"].([]any)), early.body["distance_m"])
		}
		if early.body["planned_stops"].(float64)+float64(len(early.body["unplanned"].([]any))) != whole.body["planned_stops"].(float64)+float64(len(whole.body["unplanned"].([]any))) {
			t.Fatalf("the stopped plan lost stops: %s", early.raw)
		}
	}
	wantProblem(t, h.as("admin").do(t, http.MethodPost, "/v1/dispatch/plans/"+stopped.body["id"].(string)+"/stop", ""), http.StatusConflict, "PLAN_NOT_RUNNING")

	// Stopped in the middle of a search of a minute: it ends at one of its next progresses,
	// long before its limit, keeping routes no worse than the best it had told.
	long := b.ID.String()
	if sabotaged != "" {
		long = a.ID.String()
	}
	midway := h.as("admin").do(t, http.MethodPost, "/v1/dispatch/plans", fmt.Sprintf(`{"post_office_id":%q,"date":%q,"seed":%d,"time_limit_ms":60000}`, long, day, seed))
	id := midway.body["id"].(string)
	var told map[string]any
	for began := time.Now(); told == nil; time.Sleep(20 * time.Millisecond) {
		if time.Since(began) > time.Minute {
			t.Fatal("no progress of the search in a minute")
		}
		mu.Lock()
		for _, e := range events[id] {
			if e["phase"] == "improve" {
				told = e
			}
		}
		mu.Unlock()
	}
	if stop := h.as("admin").do(t, http.MethodPost, "/v1/dispatch/plans/"+id+"/stop", ""); stop.status != http.StatusAccepted {
		t.Fatalf("stop midway: %d %s", stop.status, stop.raw)
	}
	kept := waitForPlan(t, h, id)
	if kept.body["state"] != "draft" || kept.body["progress"].(map[string]any)["phase"] != "stopped" || kept.body["solve_ms"].(float64) > 30000 {
		t.Fatalf("stopped midway: %s", kept.raw)
	}
	t.Logf("stopped midway: searched %v ms of 60,000", kept.body["solve_ms"])
	if out := len(kept.body["unplanned"].([]any)); float64(out) > told["unplanned_stops"].(float64) ||
		float64(out) == told["unplanned_stops"].(float64) && kept.body["distance_m"].(float64) > told["distance_m"].(float64)+1 {
		t.Fatalf("stopped midway with %d out over %v m, after telling %v", out, kept.body["distance_m"], told)
	}
}

// waitForPlan reads plan id until it is no longer planning.
func waitForPlan(t *testing.T, h *harness, id string) reply {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r := h.as("admin").do(t, http.MethodGet, "/v1/dispatch/plans/"+id, ""); r.body["state"] != "planning" {
			return r
		}
	}
	t.Fatalf("plan %s still planning after a minute", id)
	return reply{}
}

// checkProgress holds a plan's progress events to the search: at least the last one
// arrives; while the stops left out and the routes used stay the same, the distance never
// grows; the last is the draft kept.
func checkProgress(t *testing.T, events []map[string]any, plan reply) {
	t.Helper()
	if len(events) == 0 {
		t.Fatalf("no progress of plan %s", plan.body["id"])
	}
	var last map[string]any
	searching := 0
	defer func() { t.Logf("plan %s: %d events, %d of the search's best", plan.body["id"], len(events), searching) }()
	for _, e := range events {
		if e["phase"] != "construct" && e["phase"] != "improve" && e["phase"] != "done" {
			continue
		}
		if e["phase"] != "done" {
			searching++
		}
		if last != nil && e["phase"] == last["phase"] && e["iterations"] == last["iterations"] && e["distance_m"] == last["distance_m"] &&
			e["unplanned_stops"] == last["unplanned_stops"] && e["elapsed_ms"].(float64)-last["elapsed_ms"].(float64) < 900 {
			t.Fatalf("the same best told twice within a second: %v then %v", last, e)
		}
		if last != nil && last["phase"] != "done" && e["unplanned_stops"] == last["unplanned_stops"] && len(routesOf(e)) == len(routesOf(last)) && e["routes"] != nil &&
			e["distance_m"].(float64) > last["distance_m"].(float64) {
			t.Fatalf("the best distance grew: %v then %v", last, e)
		}
		last = e
	}
	if last == nil || last["phase"] != "done" || last["distance_m"] != plan.body["distance_m"] || last["planned_stops"] != plan.body["planned_stops"] ||
		last["unplanned_stops"] != float64(len(plan.body["unplanned"].([]any))) {
		t.Fatalf("the last progress %v is not the draft kept: %s", last, plan.raw)
	}
}

func routesOf(e map[string]any) []any {
	r, _ := e["routes"].([]any)
	return r
}

// worse reports whether plan a leaves more out than b, or as many over a longer way.
func worse(a, b map[string]any) bool {
	outA, outB := len(a["unplanned"].([]any)), len(b["unplanned"].([]any))
	return outA > outB || outA == outB && a["distance_m"].(float64) > b["distance_m"].(float64)+float64(len(a["routes"].([]any)))
}
