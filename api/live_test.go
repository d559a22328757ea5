package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"courierd/domain/auth"
)

// publishToday plans and publishes today's day of the first post office (n demo dossiers
// played and pickups more pickups opened) and returns the published plan.
func (h *harness) publishToday(t testing.TB, n, pickups int) map[string]any {
	t.Helper()
	h.startWorkers(t) // the plan is made on the plan workers
	day := h.workToday(t)
	h.playDemo(t, n)
	// A third of the pickups in the office's two-hour slots: stops with a deadline.
	slots := []string{"08:00", "10:00", "14:00", "16:00"}
	for i, id := range h.pickups(t, pickups) {
		if i%3 == 0 {
			from := slots[i/3%len(slots)]
			end := fmt.Sprintf("%02d:00", (from[0]-'0')*10+(from[1]-'0')+2)
			h.mustEvent(t, "dispatcher", id, fmt.Sprintf(`{"event":"schedule_pickup","date":%q,"slot":{"start":%q,"end":%q}}`, day, from, end), "scheduled")
		}
	}
	office := h.demo.PostOffices[0].ID.String()
	plan := h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", `{"post_office_id":"`+office+`","date":"`+day+`","seed":3,"time_limit_ms":1000}`)
	if plan.status != http.StatusCreated {
		t.Fatalf("plan: %d %s", plan.status, plan.raw)
	}
	pub := h.as("dispatcher").do(t, http.MethodPost, "/v1/dispatch/plans/"+plan.body["id"].(string)+"/publish", `{"version":1}`)
	if pub.status != http.StatusOK {
		t.Fatalf("publish: %d %s", pub.status, pub.raw)
	}
	return pub.body
}

// plannedArrivals are a plan's stops' planned arrivals, earliest first, and its routes
// with at least one stop.
func plannedArrivals(t testing.TB, plan map[string]any) (arrivals []time.Time, routes int) {
	for _, r := range plan["routes"].([]any) {
		stops := r.(map[string]any)["stops"].([]any)
		if len(stops) > 0 {
			routes++
		}
		for _, s := range stops {
			at, err := time.Parse(time.RFC3339, s.(map[string]any)["arrival"].(string))
			if err != nil {
				t.Fatal(err)
			}
			arrivals = append(arrivals, at)
		}
	}
	slices.SortFunc(arrivals, time.Time.Compare)
	return arrivals, routes
}

// at sets the dispatch service's clock to when.
func (c *testClock) at(when time.Time) { c.offset.Store(int64(time.Until(when))) }

// TestDelayAlertsOncePerCause: through a published day played at generated times, two
// courierd processes evaluating the rule at once, each twice, raise every cause once (the
// alerts kept, the alerts announced and the rows agree; evaluating again raises nothing);
// by the evening every route with stops left has its courier alert; the office's
// dispatcher receives each alert on the live stream as committed and lists them, paged; a
// dispatcher of another office neither lists nor receives any; closing takes a note, once.
func TestDelayAlertsOncePerCause(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	plan := h.publishToday(t, 60, 40)
	arrivals, routes := plannedArrivals(t, plan)
	if routes < 2 {
		t.Fatalf("the day has %d routes: too few to tell causes apart", routes)
	}
	other := h.withRevocations(t, auth.NewRevocationList()) // a second process on the same database
	h.watchLive(t)
	base := h.listen(t)
	mine, theirs := liveStream(t, base, h.token(t, "dispatcher"), "delay_alert"), liveStream(t, base, h.token(t, "dispatcher2"), "delay_alert")
	for h.live.Subscribers() < 2 {
		time.Sleep(20 * time.Millisecond)
	}
	office := h.demo.PostOffices[0].ID

	r := rand.New(rand.NewPCG(24, 32))
	from, to := arrivals[0].Add(-time.Hour), arrivals[len(arrivals)-1].Add(2*time.Hour)
	var times []time.Time
	for range 10 {
		times = append(times, from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))))
	}
	slices.SortFunc(times, time.Time.Compare)
	times = append(times, to)
	raised := 0
	for _, now := range times {
		h.dispatchClock.at(now)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, process := range []*harness{h, other, h, other} {
			wg.Go(func() {
				n, err := process.built.Dispatch.CheckDelays(context.Background(), office)
				if err != nil {
					t.Errorf("check at %v: %v", now, err)
				}
				mu.Lock()
				raised += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if n, err := h.built.Dispatch.CheckDelays(context.Background(), office); err != nil || n != 0 {
			t.Fatalf("evaluated again at %v: %d raised, %v", now, n, err)
		}
		var rows int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM delay_alerts`).Scan(&rows); err != nil || rows != raised {
			t.Fatalf("at %v: %d alerts kept, %d raised (%v)", now, rows, raised, err)
		}
	}
	t.Logf("%d routes, %d stops, %d evaluation times: %d alerts raised", routes, len(arrivals), len(times), raised)
	var late int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM delay_alerts WHERE kind = 'courier_late' AND action = 'move_stops'`).Scan(&late); err != nil || late != routes {
		t.Fatalf("by the evening, %d courier alerts for %d routes (%v)", late, routes, err)
	}
	if raised == late {
		t.Fatal("no stop in a slot was found late")
	}

	// Each one reached the office's screen, once; the other office's screen got none.
	seen := map[string]bool{}
	for len(seen) < raised {
		select {
		case data := <-mine:
			var a struct {
				ID, Kind, Action, ReceiptCode string
				TaskID                        string `json:"task_id"`
			}
			_ = json.Unmarshal([]byte(data), &a)
			if seen[a.ID] || (a.Kind == "stop_deadline") != (a.TaskID != "") {
				t.Fatalf("an alert twice or malformed: %s", data)
			}
			seen[a.ID] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d alerts reached the dispatcher's stream", len(seen), raised)
		}
	}
	select {
	case data := <-theirs:
		t.Fatalf("another office's dispatcher received %s", data)
	case <-time.After(300 * time.Millisecond):
	}

	// Listed, paged, newest first; none for the other office; not for a courier.
	var listed []string
	for cursor := ""; ; {
		page := h.as("dispatcher").do(t, http.MethodGet, "/v1/alerts?closed=false&limit=7&cursor="+url.QueryEscape(cursor), "")
		if page.status != http.StatusOK || page.body["total"] != float64(raised) {
			t.Fatalf("the open alerts: %d %s", page.status, page.raw)
		}
		for _, it := range page.body["items"].([]any) {
			a := it.(map[string]any)
			if a["action"] != map[string]string{"courier_late": "move_stops", "stop_deadline": "call_applicant"}[a["kind"].(string)] {
				t.Fatalf("an alert's action: %v", a)
			}
			listed = append(listed, a["id"].(string))
		}
		next, _ := page.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(listed) != raised || !allSeen(listed, seen) {
		t.Fatalf("listed %d alerts, %d raised", len(listed), raised)
	}
	if list := h.as("dispatcher2").do(t, http.MethodGet, "/v1/alerts", ""); list.status != http.StatusOK || list.body["total"] != float64(0) {
		t.Fatalf("another office's dispatcher lists %s", list.raw)
	}
	wantProblem(t, h.as("courier01").do(t, http.MethodGet, "/v1/alerts", ""), http.StatusForbidden, "FORBIDDEN")

	// Closing: with a note, by the office's dispatcher, once; the cause stays dealt with.
	closing := "/v1/alerts/" + listed[0] + "/close"
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, closing, `{"note":"  "}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "note")
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodPost, closing, `{"note":"mine now"}`), http.StatusNotFound, "NOT_FOUND")
	if c := h.as("dispatcher").do(t, http.MethodPost, closing, `{"note":"Moved two stops to another courier"}`); c.status != http.StatusNoContent {
		t.Fatalf("close: %d %s", c.status, c.raw)
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, closing, `{"note":"again"}`), http.StatusNotFound, "NOT_FOUND")
	closed := h.as("dispatcher").do(t, http.MethodGet, "/v1/alerts?closed=true", "")
	if items := closed.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["note"] != "Moved two stops to another courier" {
		t.Fatalf("the closed alerts: %s", closed.raw)
	}
	if n, err := h.built.Dispatch.CheckDelays(context.Background(), office); err != nil || n != 0 {
		t.Fatalf("a closed cause raised again: %d, %v", n, err)
	}
}

func allSeen(ids []string, seen map[string]bool) bool {
	for _, id := range ids {
		if !seen[id] {
			return false
		}
	}
	return true
}

// courierAccount is the username of the demo courier with id, "" when none logs in.
func (h *harness) courierAccount(id string) string {
	for _, a := range h.demo.Accounts {
		if a.CourierID.String() == id {
			return a.Username
		}
	}
	return ""
}

// TestDelayAlertInBrowser: end to end, a dispatcher's console follows the day live. A
// courier of the published plan is on time, then the day moves on past their first stop's
// planned arrival with the stop not reached; the position their handheld sends moves
// their marker on the map and has the rule evaluated, and the alert, worded with what to
// do, shows on the console within 5 s of the fact's commit (the time is logged). Closing
// it there with a note closes it on the server.
func TestDelayAlertInBrowser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	plan := h.publishToday(t, 30, 9)
	var courier, username string
	var first time.Time
	for _, r := range plan["routes"].([]any) {
		route := r.(map[string]any)
		stops := route["stops"].([]any)
		if name := h.courierAccount(route["courier_id"].(string)); len(stops) > 0 && name != "" {
			courier, username = route["courier_id"].(string), name
			first, _ = time.Parse(time.RFC3339, stops[0].(map[string]any)["arrival"].(string))
			break
		}
	}
	if courier == "" {
		t.Fatalf("no route of a courier who logs in: %v", plan["routes"])
	}
	h.dispatchClock.at(first.Add(-30 * time.Minute)) // on time, for now
	h.watchLive(t)
	base := h.listen(t)
	b := newBrowser(t, 1366, 900, false)
	b.run(t, "log in", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "dispatcher"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "the published day shows", `document.getElementById('plan-state').textContent === 'Đã công bố'`)
	for h.live.Subscribers() < 1 {
		time.Sleep(20 * time.Millisecond)
	}
	if n := b.count(t, ".courier-icon"); n != 0 {
		t.Fatalf("%d couriers on the map before any position", n)
	}
	handheld := h.as(username+"@device").with("X-App-Version", "1.4.2")
	h.token(t, username+"@device") // logged in beforehand: the timing is the fact's, not the login's
	at := func(int) time.Time { return time.Now() }
	if r := handheld.do(t, http.MethodPost, "/v1/device/locations", points(1, 1, at)); r.status != http.StatusOK {
		t.Fatalf("an on-time position: %d %s", r.status, r.raw)
	}
	b.waitFor(t, "the courier's marker appears from the stream", `document.querySelectorAll('.courier-icon').length === 1`)
	if n := b.count(t, "#alerts li"); n != 0 {
		t.Fatalf("%d alerts for a courier on time", n)
	}

	// The day moves on: 25 minutes past the first stop's planned arrival, not there yet.
	h.dispatchClock.at(first.Add(25 * time.Minute))
	sent := time.Now() // the fact commits before its answer: the latency is at most what is measured
	if r := handheld.do(t, http.MethodPost, "/v1/device/locations", points(2, 2, at)); r.status != http.StatusOK {
		t.Fatalf("a late position: %d %s", r.status, r.raw)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#alerts li.alert-courier_late') !== null`,
		chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		t.Fatalf("no delay alert on the console within 5 s of the late courier's position: %v", err)
	}
	t.Logf("delay alert latency, from the position's commit to the alert on the console: %v", time.Since(sent).Round(time.Millisecond))
	shown := b.text(t, "#alerts li.alert-courier_late")
	if !strings.Contains(shown, "Chuyển bớt điểm dừng cho bưu tá khác") || !strings.Contains(shown, "phút") {
		t.Fatalf("the alert reads %q", shown)
	}
	if tab := b.text(t, "#alerts-count"); !strings.Contains(tab, "1") {
		t.Fatalf("the alerts tab counts %q", tab)
	}

	b.run(t, "open the alerts", chromedp.Click(chromedp.CSS("#tab-alerts")))
	screenshot(t, b, "console-alerts")
	b.run(t, "close the alert with a note", chromedp.SendKeys(chromedp.CSS("#alerts li.alert-courier_late input"), "Đã chuyển 2 điểm cho bưu tá khác"),
		chromedp.Click(chromedp.CSS("#alerts li.alert-courier_late button")))
	b.waitFor(t, "the alert leaves the list", `document.querySelector('#alerts li.alert-courier_late') === null`)
	closed := h.as("dispatcher").do(t, http.MethodGet, "/v1/alerts?closed=true", "")
	if items := closed.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["note"] != "Đã chuyển 2 điểm cho bưu tá khác" {
		t.Fatalf("closed from the console: %s", closed.raw)
	}
}

// TestLiveStreamCarriesFieldFacts: over generated batches of points from couriers of two
// offices, sent in any order, each office's dispatcher receives, as committed, one
// position event per batch that moved one of their couriers forward (an older point moves
// nothing), never another office's courier, the last one the courier's latest point; a
// pickup done reaches the screen as the stop's outcome, without the proof's fingerprint.
func TestLiveStreamCarriesFieldFacts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.watchLive(t)
	base := h.listen(t)
	mine, theirs := h.token(t, "dispatcher"), h.token(t, "dispatcher2")
	positions := map[string]<-chan string{"dispatcher": liveStream(t, base, mine, "position"), "dispatcher2": liveStream(t, base, theirs, "position")}
	outcomes := liveStream(t, base, mine, "outcome")
	for h.live.Subscribers() < 3 {
		time.Sleep(20 * time.Millisecond)
	}
	officeOf := map[string]string{} // courier → the dispatcher who sees them
	for _, c := range h.demo.Couriers {
		switch c.PostOfficeID {
		case h.demo.PostOffices[0].ID:
			officeOf[c.ID.String()] = "dispatcher"
		case h.demo.PostOffices[1].ID:
			officeOf[c.ID.String()] = "dispatcher2"
		}
	}

	r := rand.New(rand.NewPCG(24, 33))
	couriers := []string{"courier01", "courier02", "courier09"}
	latest := map[string]time.Time{}
	moves := map[string]int{} // dispatcher → position events due
	seq := map[string]int{}
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	for range 24 {
		name := couriers[r.IntN(len(couriers))]
		id := h.courierOf(name)
		n := 1 + r.IntN(5)
		var newest time.Time
		at := func(int) time.Time {
			p := start.Add(time.Duration(r.IntN(3*3600)) * time.Second)
			newest = later(newest, p)
			return p
		}
		body := points(seq[name]+1, seq[name]+n, at)
		seq[name] += n
		if res := h.as(name+"@device").with("X-App-Version", "1.4.2").do(t, http.MethodPost, "/v1/device/locations", body); res.status != http.StatusOK {
			t.Fatalf("points: %d %s", res.status, res.raw)
		}
		if newest.After(latest[id]) {
			latest[id] = newest
			moves[officeOf[id]]++
		}
	}
	// Positions are announced each courier's latest once a second: every screen ends on
	// each courier's latest point, and hears of no point that moved nothing.
	for who, feed := range positions {
		last := map[string]time.Time{}
		caughtUp := func() bool {
			for id, at := range latest {
				if officeOf[id] == who && !last[id].Equal(at) {
					return false
				}
			}
			return true
		}
		for heard := 0; !caughtUp(); heard++ {
			select {
			case data := <-feed:
				var p struct {
					CourierID string    `json:"courier_id"`
					At        time.Time `json:"at"`
				}
				if err := json.Unmarshal([]byte(data), &p); err != nil || officeOf[p.CourierID] != who {
					t.Fatalf("%s received %s", who, data)
				}
				if !p.At.After(last[p.CourierID]) {
					t.Fatalf("%s heard %s go back to %v from %v", who, p.CourierID, p.At, last[p.CourierID])
				}
				last[p.CourierID] = p.At
			case <-time.After(10 * time.Second):
				t.Fatalf("%s heard %d positions and not each courier's latest (%d moves): %v, want %v", who, heard, moves[who], last, latest)
			}
		}
		select {
		case data := <-feed:
			t.Fatalf("%s received a position that moved nothing: %s", who, data)
		case <-time.After(1500 * time.Millisecond): // past the next announcement
		}
	}

	task := pickupTask(h, t, h.assigned(t, "courier01"))
	if res := h.push(t, "courier01", mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload)); statuses(res) != "applied" {
		t.Fatalf("pickup: %s", res.raw)
	}
	select {
	case data := <-outcomes:
		if !strings.Contains(data, task) || !strings.Contains(data, `"outcome":"done"`) || strings.Contains(data, "aa11") {
			t.Fatalf("the pickup's outcome: %s", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pickup's outcome did not reach the dispatcher's stream")
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
