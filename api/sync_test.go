package api_test

import (
	"context"
	"courierd/domain/auth"
	"courierd/storage"
	"fmt"
	"github.com/google/uuid"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// device is what a courier's handheld holds after applying pulls.
type device struct {
	cursor string
	tasks  map[string]map[string]any
}

// pull reads one page as courier and applies it, returning the page.
func (h *harness) pull(t testing.TB, courier string, d *device, limit int) reply {
	t.Helper()
	r := h.as(courier+"@device").with("X-App-Version", "1.4.2").do(t, http.MethodGet,
		fmt.Sprintf("/v1/device/sync/pull?cursor=%s&limit=%d", url.QueryEscape(d.cursor), limit), "")
	if r.status != http.StatusOK {
		t.Fatalf("pull as %s: %d %s", courier, r.status, r.raw)
	}
	if r.body["reset"] == true || d.tasks == nil {
		d.tasks = map[string]map[string]any{}
	}
	for _, c := range r.body["changes"].([]any) {
		ch := c.(map[string]any)
		if ch["op"] == "remove" {
			delete(d.tasks, ch["id"].(string))
		} else {
			d.tasks[ch["id"].(string)] = ch["data"].(map[string]any)
		}
	}
	d.cursor = r.body["cursor"].(string)
	return r
}

// drain pulls until nothing more is waiting.
func (h *harness) drain(t testing.TB, courier string, d *device) {
	t.Helper()
	for h.pull(t, courier, d, 50).body["has_more"] == true {
	}
}

// assigned opens a dossier and gives its pickup to courier, returning the dossier id.
func (h *harness) assigned(t testing.TB, courier string) string {
	t.Helper()
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf(courier)+`"}`, "assigned")
	return id
}

func pickupTask(h *harness, t testing.TB, id string) string {
	t.Helper()
	for _, task := range h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["tasks"].([]any) {
		if m := task.(map[string]any); m["kind"] == "pickup" {
			return m["id"].(string)
		}
	}
	t.Fatal("no pickup task")
	return ""
}

func TestPullFollowsAssignments(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var one, two device
	first := h.pull(t, "courier01", &one, 50)
	if first.body["reset"] != true || len(one.tasks) != 0 {
		t.Fatalf("a first pull is a (here empty) snapshot: %s", first.raw)
	}
	h.pull(t, "courier02", &two, 50)

	id := h.assigned(t, "courier01")
	task := pickupTask(h, t, id)
	h.drain(t, "courier01", &one)
	if got := one.tasks[task]; got == nil || got["state"] != "assigned" || got["applicant_name"] != "Trần Thị Mai" || got["receipt_code"] == "" {
		t.Fatalf("courier01 holds %v", one.tasks)
	}
	// Reassigned: gone from courier01 with the reason, arrived at courier02.
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier02")+`"}`, "assigned")
	page := h.pull(t, "courier01", &one, 50)
	if _, still := one.tasks[task]; still || !containsChange(page, "remove", task, "reassigned") {
		t.Fatalf("after reassignment courier01 got %s", page.raw)
	}
	h.drain(t, "courier02", &two)
	if two.tasks[task] == nil {
		t.Fatalf("courier02 did not get the stop: %v", two.tasks)
	}
	// Cancelled: gone from courier02.
	h.mustEvent(t, "dispatcher", id, `{"event":"cancel"}`, "cancelled")
	page = h.pull(t, "courier02", &two, 50)
	if _, still := two.tasks[task]; still || !containsChange(page, "remove", task, "cancelled") {
		t.Fatalf("after cancellation courier02 got %s", page.raw)
	}
	// Nothing new: an empty page, the cursor kept.
	before := two.cursor
	if r := h.pull(t, "courier02", &two, 50); len(r.body["changes"].([]any)) != 0 || two.cursor != before {
		t.Fatalf("an idle pull: %s", r.raw)
	}
	wantProblem(t, h.as("courier02").with("X-App-Version", "1.4.2").do(t, http.MethodGet, "/v1/device/sync/pull", ""), http.StatusForbidden, "FORBIDDEN")
}

func containsChange(r reply, op, id, reason string) bool {
	for _, c := range r.body["changes"].([]any) {
		if m := c.(map[string]any); m["op"] == op && m["id"] == id && (reason == "" || m["reason"] == reason) {
			return true
		}
	}
	return false
}

func TestPullPagesAndBadCursors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var d device
	h.pull(t, "courier03", &d, 10)
	// Scenario 13 at full size: 1,000 changes for one courier, written by eight dispatchers
	// at once (eight stops given to courier03, then each passed to courier04 and back 124
	// times: every move is one change on courier03's feed), pulled 200 at a time.
	const stops, moves = 8, 124
	var wg sync.WaitGroup
	for w := 0; w < stops; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := h.assigned(t, "courier03")
			for i := 0; i < moves; i++ {
				to := []string{"courier04", "courier03"}[i%2]
				h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf(to)+`"}`, "assigned")
			}
		}()
	}
	wg.Wait()
	seen := map[float64]bool{}
	last, pages := 0.0, 0
	for {
		page := h.pull(t, "courier03", &d, 200)
		pages++
		for _, c := range page.body["changes"].([]any) {
			v := c.(map[string]any)["v"].(float64)
			if seen[v] || v <= last {
				t.Fatalf("change %v came twice or out of order", v)
			}
			seen[v], last = true, v
		}
		if page.body["has_more"] != true {
			break
		}
	}
	if len(seen) != stops*(moves+1) || len(d.tasks) != stops || pages != 5 {
		t.Fatalf("%d changes in %d pages, %d stops; want %d in 5, %d", len(seen), pages, len(d.tasks), stops*(moves+1), stops)
	}
	// Someone else's, forged and garbled cursors all get a snapshot of one's own stops.
	var other device
	h.pull(t, "courier04", &other, 10)
	h.assigned(t, "courier04")
	for name, cursor := range map[string]string{"another courier's": d.cursor, "forged": "1.AAAAAAAAAAAAAAAAAAAAAA",
		"garbled": "%%%", "from the future": "999999.x"} {
		probe := device{cursor: cursor}
		r := h.pull(t, "courier04", &probe, 10)
		if r.body["reset"] != true || len(probe.tasks) != 1 {
			t.Fatalf("%s cursor: %s", name, r.raw)
		}
	}
}

// TestPullCompleteUnderConcurrentWriters: while dispatchers assign and reassign at once, a
// device pulling in a loop ends up holding exactly the courier's stops.
func TestPullCompleteUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var d device
	h.pull(t, "courier05", &d, 50)
	h.token(t, "dispatcher")
	var wg sync.WaitGroup
	// Scenario 12 at full size: 50 dispatchers writing at once.
	for w := 0; w < 50; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 2; i++ {
				id := h.assigned(t, "courier05")
				if (w+i)%3 == 0 { // some go elsewhere at once
					h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier06")+`"}`, "assigned")
				}
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			h.pull(t, "courier05", &d, 5)
		}
	}
	h.drain(t, "courier05", &d)
	server := h.as("courier05@device").do(t, http.MethodGet, "/v1/tasks?state=assigned&limit=500", "")
	want := map[string]bool{}
	for _, task := range server.body["items"].([]any) {
		want[task.(map[string]any)["id"].(string)] = true
	}
	if len(want) != len(d.tasks) || len(want) == 0 {
		t.Fatalf("the device holds %d stops, the server says %d", len(d.tasks), len(want))
	}
	for id := range d.tasks {
		if !want[id] {
			t.Fatalf("the device holds %s, which is not courier05's", id)
		}
	}
}

// TestSyncRetention: pruning the feed and the mutation log never makes a device skip a
// change or apply a fact twice. A cursor inside what is kept is served as before; one
// from before it gets a snapshot; a retry of a mutation whose answer was forgotten is a
// duplicate, not a reused id; quarantined facts and field reports stay.
func TestSyncRetention(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	var early device
	h.pull(t, "courier02", &early, 50)
	old := h.assigned(t, "courier02")
	var mid device
	h.drain(t, "courier02", &mid)
	kept := h.assigned(t, "courier02")
	pick := mutation(1, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, old), pickupPayload)
	other := h.assigned(t, "courier03")
	h.mustEvent(t, "dispatcher", other, `{"event":"cancel"}`, "cancelled")
	refused := mutation(2, uuid.NewString(), "task.fail.v1", pickupTask(h, t, other), `{"reason":"not_at_home"}`)
	if r := h.push(t, "courier02", pick, refused); statuses(r) != "applied rejected:TASK_CANCELLED" {
		t.Fatalf("push: %s", r.raw)
	}
	// Age the feed's first change (the first stop's assignment), its third (the pickup,
	// which must stay: the second is recent, and pruning only takes a prefix), and both
	// mutations past the cutoff.
	for _, stmt := range []string{
		`UPDATE courier_changes SET at = now() - interval '40 days' WHERE courier_id = '` + h.courierOf("courier02") + `' AND v IN (1, 3)`,
		`UPDATE sync_mutations SET applied_at = now() - interval '40 days'`,
	} {
		if _, err := h.db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	changes, mutations, err := storage.PruneSync(ctx, h.db, time.Now().Add(-30*24*time.Hour))
	if err != nil || changes != 1 || mutations != 1 {
		t.Fatalf("pruned %d changes and %d mutations, %v; want 1 and 1 (the quarantined one stays)", changes, mutations, err)
	}

	if r := h.pull(t, "courier02", &early, 50); r.body["reset"] != true || early.tasks[pickupTask(h, t, kept)] == nil {
		t.Fatalf("a cursor from before what is kept: %s", r.raw)
	}
	if r := h.pull(t, "courier02", &mid, 50); r.body["reset"] == true || mid.tasks[pickupTask(h, t, kept)] == nil {
		t.Fatalf("a cursor inside what is kept must be served from the feed: %s", r.raw)
	}
	again := h.push(t, "courier02", pick, refused, mutation(3, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, kept), pickupPayload))
	if statuses(again) != "duplicate duplicate:TASK_CANCELLED applied" || again.body["last_seq"] != float64(3) {
		t.Fatalf("retries after pruning: %s", again.raw)
	}
	if q := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false", ""); q.body["total"] != float64(1) {
		t.Fatalf("the quarantined fact went with the pruning: %s", q.raw)
	}
	if r := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+old+"/field-reports", ""); len(r.body["items"].([]any)) != 1 {
		t.Fatalf("the pickup's report went with the pruning: %s", r.raw)
	}
}

// TestOlderAppsAreNotSentNewKindsOfStop: collection stops came with contract 1.1.0; an
// app before it is never sent one (it could not show it), while a current app is.
func TestOlderAppsAreNotSentNewKindsOfStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.minAppVersion = "1.0.0"
	h = h.withRevocations(t, auth.NewRevocationList())
	pickup := pickupTask(h, t, h.assigned(t, "courier01"))
	returned := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["pickup"] = "false" }))
	id := returned.body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_collection","courier_id":"`+h.courierOf("courier01")+`"}`, "handed_to_agency")
	collection := taskOfKind(h, t, id, "collection")
	for version, wantCollection := range map[string]bool{"1.0.5": false, "1.1.0": true} {
		r := h.as("courier01@device").with("X-App-Version", version).do(t, http.MethodGet, "/v1/device/sync/pull", "")
		if r.status != http.StatusOK || !strings.Contains(r.raw, pickup) || strings.Contains(r.raw, collection) != wantCollection {
			t.Fatalf("app %s: %s", version, r.raw)
		}
	}
}

// TestFirstPullPages: a snapshot keeps to the limit too, page by page (the first says
// reset, the next ones add), and what changes between its pages comes after it, so the
// device ends holding exactly the courier's stops.
func TestFirstPullPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ids := make([]string, 7)
	for i := range ids {
		ids[i] = h.assigned(t, "courier05")
	}
	var d device
	var sizes []int
	var resets []bool
	for {
		page := h.pull(t, "courier05", &d, 3)
		sizes, resets = append(sizes, len(page.body["changes"].([]any))), append(resets, page.body["reset"] == true)
		if len(sizes) == 1 {
			// Between the pages: a stop goes to someone else, a new one comes.
			h.mustEvent(t, "dispatcher", ids[0], `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier04")+`"}`, "assigned")
			ids = append(ids[1:], h.assigned(t, "courier05"))
		}
		if page.body["has_more"] != true {
			break
		}
	}
	// Which stops the move and the new one fall among is up to their random ids: the pages
	// after the first hold 1 to 3 stops.
	if len(sizes) < 2 || sizes[0] != 3 || slices.Max(sizes) > 3 || !resets[0] || slices.Contains(resets[1:], true) {
		t.Fatalf("snapshot pages of %v, resets %v", sizes, resets)
	}
	h.drain(t, "courier05", &d)
	var fresh device
	h.pull(t, "courier05", &fresh, 1000)
	if len(d.tasks) != len(ids) || len(fresh.tasks) != len(ids) {
		t.Fatalf("the device holds %d stops, a fresh snapshot %d, the courier has %d", len(d.tasks), len(fresh.tasks), len(ids))
	}
	for id := range fresh.tasks {
		if d.tasks[id] == nil {
			t.Fatalf("stop %s missing on the device", id)
		}
	}
}
