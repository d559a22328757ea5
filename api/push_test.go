package api_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/live"
)

// mutation is a device's JSON for one recorded fact.
func mutation(seq int, id, typ, task, payload string) string {
	return mutationAt(seq, id, typ, task, payload, factTime())
}

// factTime is when the tests' facts from the field happened: an hour ago, but never before
// today began in Vietnam, so that the day's ledgers and reports read as today's hold them
// at any hour the tests run.
func factTime() time.Time {
	now := time.Now()
	y, m, d := now.In(domain.Vietnam).Date()
	return later(now.Add(-time.Hour), time.Date(y, m, d, 0, 0, 1, 0, domain.Vietnam))
}

// mutationAt is a mutation recorded at the device time at.
func mutationAt(seq int, id, typ, task, payload string, at time.Time) string {
	return fmt.Sprintf(`{"seq":%d,"id":%q,"type":%q,"task_id":%q,"occurred_at":%q,"gps":{"lat":10.9732,"lon":106.6889,"accuracy_m":9},"payload":%s}`,
		seq, id, typ, task, at.UTC().Format(time.RFC3339), payload)
}

func (h *harness) push(t testing.TB, courier string, mutations ...string) reply {
	t.Helper()
	if !strings.Contains(courier, "@") {
		courier += "@device"
	}
	return h.as(courier).with("X-App-Version", "1.4.2").do(t, http.MethodPost, "/v1/device/sync/push",
		`{"mutations":[`+strings.Join(mutations, ",")+`]}`)
}

func statuses(r reply) string {
	var out []string
	for _, res := range r.body["results"].([]any) {
		m := res.(map[string]any)
		s := m["status"].(string)
		if code, ok := m["code"].(string); ok && code != "" {
			s += ":" + code
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

const pickupPayload = `{"signature_sha256":"` + "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11" + `","fee_collected_vnd":115000}`

func TestPushExactlyOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.assigned(t, "courier01")
	task := pickupTask(h, t, id)
	pick := mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload)

	first := h.push(t, "courier01", pick)
	if first.status != http.StatusOK || statuses(first) != "applied" || first.body["last_seq"] != float64(1) {
		t.Fatalf("first push: %d %s", first.status, first.raw)
	}
	// The answer was lost; the device sends the batch again, twice.
	for i := 0; i < 2; i++ {
		again := h.push(t, "courier01", pick)
		if statuses(again) != "duplicate" || again.body["last_seq"] != float64(1) {
			t.Fatalf("replay %d: %s", i+1, again.raw)
		}
	}
	d := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "")
	if d.body["state"] != "picked_up" || d.body["custody_entries"] != float64(1) {
		t.Fatalf("after three pushes: %s", d.raw)
	}
	// One fee-ledger line: the cash taken at the door is counted once.
	day := factTime().In(domain.Vietnam).Format(time.DateOnly)
	if c := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier01")+"/cash?date="+day, ""); c.body["total_vnd"] != float64(115000) ||
		len(c.body["items"].([]any)) != 1 {
		t.Fatalf("the cash ledger after three pushes: %s", c.raw)
	}

	t.Run("concurrent duplicates apply once", func(t *testing.T) {
		other := h.assigned(t, "courier01")
		batch := mutation(2, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, other), pickupPayload)
		var wg sync.WaitGroup
		results := make([]string, 4)
		for i := range results {
			wg.Add(1)
			go func(i int) { defer wg.Done(); results[i] = statuses(h.push(t, "courier01", batch)) }(i)
		}
		wg.Wait()
		applied := 0
		for _, r := range results {
			if r == "applied" {
				applied++
			} else if r != "duplicate" {
				t.Fatalf("results %v", results)
			}
		}
		if applied != 1 || h.do(t, http.MethodGet, "/v1/dossiers/"+other, "").body["custody_entries"] != float64(1) {
			t.Fatalf("applied %d times: %v", applied, results)
		}
	})
	t.Run("the same seq with another payload", func(t *testing.T) {
		wantProblem(t, h.push(t, "courier01", mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload)),
			http.StatusUnprocessableEntity, "MUTATION_ID_REUSED")
	})
	t.Run("a gap", func(t *testing.T) {
		r := h.push(t, "courier01", mutation(9, uuid.NewString(), "task.pickup.v1", task, pickupPayload))
		wantProblem(t, r, http.StatusConflict, "SEQUENCE_GAP", "expected_seq")
		if !strings.Contains(r.raw, `"reason":"3"`) {
			t.Fatalf("the answer must say which seq to send: %s", r.raw)
		}
	})
}

func TestPushRejectionsNeverBlockTheQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a, b, c := h.assigned(t, "courier02"), h.assigned(t, "courier02"), h.assigned(t, "courier02")
	// b goes to someone else before the device syncs.
	h.mustEvent(t, "dispatcher", b, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier03")+`"}`, "assigned")
	r := h.push(t, "courier02",
		mutation(1, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, a), pickupPayload),
		mutation(2, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, b), pickupPayload),
		mutation(3, uuid.NewString(), "task.teleport.v7", pickupTask(h, t, c), `{}`),
		mutation(4, uuid.NewString(), "task.fail.v1", pickupTask(h, t, c), `{"reason":"not_at_home"}`),
	)
	if r.status != http.StatusOK || r.body["last_seq"] != float64(4) ||
		statuses(r) != "applied rejected:TASK_REASSIGNED rejected:UNKNOWN_MUTATION_TYPE applied" {
		t.Fatalf("mixed batch: %d %s", r.status, r.raw)
	}
	open := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false", "")
	items, _ := open.body["items"].([]any)
	if open.status != http.StatusOK || len(items) != 2 {
		t.Fatalf("the dispatcher must see the reassigned pickup and the unknown mutation: %d %s", open.status, open.raw)
	}
	if other := h.as("dispatcher2").do(t, http.MethodGet, "/v1/quarantine", ""); other.body["total"] != float64(0) {
		t.Fatalf("another office's dispatcher sees this courier's quarantine: %s", other.raw)
	}
	if m := h.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.raw, `courierd_sync_quarantined_total{code="TASK_REASSIGNED"} 1`) ||
		!strings.Contains(m.raw, `courierd_sync_quarantined_total{code="UNKNOWN_MUTATION_TYPE"} 1`) {
		t.Fatalf("quarantines are not counted for alerting:\n%s", m.raw)
	}
	// Both came in one transaction, so their order in the list is not theirs in the batch.
	first := items[0].(map[string]any)
	if first["code"] != "TASK_REASSIGNED" {
		first = items[1].(map[string]any)
	}
	if first["code"] != "TASK_REASSIGNED" || first["courier_id"] != h.courierOf("courier02") || first["payload"] == nil {
		t.Fatalf("quarantined item: %v", first)
	}
	resolve := "/v1/quarantine/" + first["mutation_id"].(string) + "/resolve"
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, resolve, `{"resolution":"  "}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "resolution")
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodPost, resolve, `{"resolution":"mine now"}`), http.StatusNotFound, "NOT_FOUND")
	if r := h.as("dispatcher").do(t, http.MethodPost, resolve, `{"resolution":"courier03 collected it; the handheld's record is void"}`); r.status != http.StatusNoContent {
		t.Fatalf("resolve: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, resolve, `{"resolution":"again"}`), http.StatusNotFound, "NOT_FOUND")
	if done := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=true", ""); done.body["total"] != float64(1) ||
		!strings.Contains(done.raw, "courier03 collected it") {
		t.Fatalf("resolved list: %s", done.raw)
	}
	if still := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false", ""); still.body["total"] != float64(1) {
		t.Fatalf("open list after resolving one: %s", still.raw)
	}
	if h.do(t, http.MethodGet, "/v1/dossiers/"+b, "").body["state"] != "assigned" {
		t.Fatal("a rejected fact changed the dossier")
	}
	if h.do(t, http.MethodGet, "/v1/dossiers/"+c, "").body["state"] != "requested" {
		t.Fatal("the failed pickup did not put the dossier back to requested")
	}
}

// badItems are the ways one mutation can be unreadable, each as a change to a good note
// (or to the fact named), with the field its rejection names: text PostgreSQL cannot
// store, integers past their column, and what the contract refuses otherwise.
var badItems = []struct {
	name, typ, payload string
	from, to           string // replaced in the mutation's JSON
	field              string
}{
	{name: "NUL in the payload", from: `"đã gọi"`, to: `"đã gọi\u0000"`, field: "payload.text"},
	{name: "NUL in the type", from: `"task.note.v1"`, to: `"task.note.v1\u0000"`, field: "type"},
	{name: "NUL in the task id", from: `"task_id":"`, to: `"task_id":"\u0000`, field: "task_id"},
	{name: "a byte that is not UTF-8", from: `"đã gọi"`, to: "\"đã gọi\xff\"", field: "payload.text"},
	{name: "a lone surrogate", from: `"đã gọi"`, to: `"đã gọi\ud800"`, field: "payload.text"},
	{name: "task_version past int4", from: `"seq"`, to: `"task_version":2147483648,"seq"`, field: "task_version"},
	{name: "task_version negative", from: `"seq"`, to: `"task_version":-1,"seq"`, field: "task_version"},
	{name: "task_version past int64", from: `"seq"`, to: `"task_version":99999999999999999999,"seq"`, field: "task_version"},
	{name: "a clock in 1970", from: `"occurred_at":"20`, to: `"occurred_at":"19`, field: "occurred_at"},
	{name: "latitude 200", from: `"lat":10.9732`, to: `"lat":200`, field: "gps"},
	{name: "an accuracy past real", from: `"accuracy_m":9`, to: `"accuracy_m":1e300`, field: "gps.accuracy_m"},
	{name: "an unknown member", from: `"seq"`, to: `"sneaky":true,"seq"`, field: "sneaky"},
	{name: "a payload that is not an object", from: `{"text":"đã gọi"}`, to: `"đã gọi"`, field: "payload"},
	{name: "money past int64", typ: "task.collect_fee.v1", payload: `{"amount_vnd":115000,"method":"cash"}`,
		from: `115000`, to: `9223372036854775808`, field: "payload.amount_vnd"},
	{name: "NUL in a fact, kept in quarantine", typ: "task.fail.v1", payload: `{"reason":"not_at_home","note":"đã gọi"}`,
		from: `"đã gọi"`, to: `"đã gọi\u0000"`, field: "payload.note"},
}

// TestPushRefusesBadItemsAlone: a mutation that cannot be read is rejected as itself, with
// its field at fault, between good ones that apply; the device's queue moves on (no
// SEQUENCE_GAP after it), a retry gets the same answer, and nothing of it is stored but
// its answer (and, for a fact, its quarantined record, made storable).
func TestPushRefusesBadItemsAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	task := pickupTask(h, t, h.assigned(t, "courier04"))
	note := func(seq int) string {
		return mutation(seq, uuid.NewString(), "task.note.v1", task, `{"text":"đã gọi"}`)
	}
	seq := 1
	for _, bad := range badItems {
		typ, payload := cmp.Or(bad.typ, "task.note.v1"), cmp.Or(bad.payload, `{"text":"đã gọi"}`)
		id := uuid.NewString()
		item := strings.Replace(mutation(seq+1, id, typ, task, payload), bad.from, bad.to, 1)
		batch := []string{note(seq), item, note(seq + 2)}
		r := h.push(t, "courier04", batch...)
		if r.status != http.StatusOK || statuses(r) != "applied rejected:VALIDATION_FAILED applied" {
			t.Fatalf("%s: %d %s", bad.name, r.status, r.raw)
		}
		wantItemFields(t, bad.name, r.body["results"].([]any)[1], bad.field)
		again := h.push(t, "courier04", batch...)
		if statuses(again) != "duplicate duplicate:VALIDATION_FAILED duplicate" {
			t.Fatalf("%s, sent again: %s", bad.name, again.raw)
		}
		wantItemFields(t, bad.name+", sent again", again.body["results"].([]any)[1], bad.field)
		if next := h.push(t, "courier04", note(seq+3)); statuses(next) != "applied" {
			t.Fatalf("%s: the next mutation: %s", bad.name, next.raw)
		}
		var reports int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM field_reports WHERE mutation_id = $1`, id).Scan(&reports); err != nil || reports != 0 {
			t.Fatalf("%s: %d field reports of a rejected mutation (%v)", bad.name, reports, err)
		}
		seq += 4
	}
	var kept string
	if err := h.db.SQL().QueryRow(`SELECT payload->>'note' FROM sync_quarantine WHERE type = 'task.fail.v1'`).Scan(&kept); err != nil || kept != "đã gọi\uFFFD" {
		t.Fatalf("the quarantined fact's note: %q (%v)", kept, err)
	}
	t.Run("an id used twice", func(t *testing.T) {
		id := uuid.NewString()
		batch := []string{mutation(seq, id, "task.note.v1", task, `{"text":"a"}`), mutation(seq+1, id, "task.note.v1", task, `{"text":"b"}`)}
		for _, want := range []string{"applied rejected:MUTATION_ID_REUSED", "duplicate duplicate:MUTATION_ID_REUSED"} {
			if r := h.push(t, "courier04", batch...); r.status != http.StatusOK || statuses(r) != want {
				t.Fatalf("want %s: %d %s", want, r.status, r.raw)
			}
		}
		if r := h.push(t, "courier04", mutation(seq+2, id, "task.note.v1", task, `{"text":"c"}`), note(seq+3)); statuses(r) != "rejected:MUTATION_ID_REUSED applied" {
			t.Fatalf("the id again in a later batch: %s", r.raw)
		}
		seq += 4
	})
	t.Run("an item that cannot be answered refuses the batch", func(t *testing.T) {
		for _, item := range []string{mutation(seq, "", "task.note.v1", task, `{}`), mutation(seq, uuid.Nil.String(), "task.note.v1", task, `{}`), `null`, `[]`} {
			wantProblem(t, h.push(t, "courier04", item), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "mutations[0]")
		}
		wantProblem(t, h.push(t, "courier04", strings.Replace(note(seq), fmt.Sprintf(`"seq":%d`, seq), `"seq":9223372036854775808`, 1)),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "mutations[0]")
	})
}

// wantItemFields checks one rejected item's errors: the fields named.
func wantItemFields(t *testing.T, name string, item any, fields ...string) {
	t.Helper()
	var got []string
	errs, _ := item.(map[string]any)["errors"].([]any)
	for _, e := range errs {
		got = append(got, e.(map[string]any)["field"].(string))
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Fatalf("%s: fields at fault %v, want %v (%v)", name, got, fields, item)
	}
}

func TestPushAgainstTheWorld(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)

	t.Run("a pull after a push shows its effects and its last_seq", func(t *testing.T) {
		var d device
		h.pull(t, "courier05", &d, 50)
		id := h.assigned(t, "courier05")
		task := pickupTask(h, t, id)
		h.push(t, "courier05", mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload))
		page := h.pull(t, "courier05", &d, 50)
		for page.body["has_more"] == true {
			page = h.pull(t, "courier05", &d, 50)
		}
		if page.body["last_seq"] != float64(1) || d.tasks[task]["state"] != "done" {
			t.Fatalf("after the push the device holds %v, last_seq %v", d.tasks[task], page.body["last_seq"])
		}
	})
	t.Run("two handhelds of one courier: the first delivery wins", func(t *testing.T) {
		id := h.assigned(t, "courier06")
		task := pickupTask(h, t, id)
		first := h.push(t, "courier06@device", mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload))
		second := h.push(t, "courier06@second", mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload))
		if statuses(first) != "applied" || statuses(second) != "rejected:TASK_ALREADY_COMPLETED" {
			t.Fatalf("first %s, second %s", first.raw, second.raw)
		}
	})
	t.Run("reassigned away and back before the device syncs: accepted", func(t *testing.T) {
		id := h.assigned(t, "courier07")
		h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier08")+`"}`, "assigned")
		h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier07")+`"}`, "assigned")
		r := h.push(t, "courier07", mutation(1, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, id), pickupPayload))
		if statuses(r) != "applied" {
			t.Fatalf("A→B→A then A's pickup: %s", r.raw)
		}
	})
	t.Run("a failure reported on a cancelled stop: rejected and quarantined", func(t *testing.T) {
		id := h.assigned(t, "courier03")
		task := pickupTask(h, t, id)
		h.mustEvent(t, "dispatcher", id, `{"event":"cancel"}`, "cancelled")
		mutationID := uuid.NewString()
		if r := h.push(t, "courier03", mutation(1, mutationID, "task.fail.v1", task, `{"reason":"not_at_home"}`)); statuses(r) != "rejected:TASK_CANCELLED" {
			t.Fatalf("a failure on a cancelled stop: %s", r.raw)
		}
		if q := h.do(t, http.MethodGet, "/v1/quarantine?resolved=false&limit=100", ""); !strings.Contains(q.raw, mutationID) {
			t.Fatalf("the cancelled stop's fact was dropped: %s", q.raw)
		}
	})
	t.Run("a device clock three hours off orders nothing", func(t *testing.T) {
		first, second := h.assigned(t, "courier04"), h.assigned(t, "courier04")
		ahead, behind := time.Now().Add(3*time.Hour).Truncate(time.Second), time.Now().Add(-3*time.Hour).Truncate(time.Second)
		r := h.push(t, "courier04",
			mutationAt(1, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, first), pickupPayload, ahead),
			mutationAt(2, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, second), pickupPayload, behind))
		if statuses(r) != "applied applied" {
			t.Fatalf("clock off: %s", r.raw)
		}
		var server [2]time.Time
		for i, id := range []string{first, second} {
			c := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody", "")
			entry := c.body["items"].([]any)[0].(map[string]any)
			server[i], _ = time.Parse(time.RFC3339Nano, entry["server_time"].(string))
			want := []time.Time{ahead, behind}[i].UTC().Format(time.RFC3339)
			if entry["device_time"] != want || time.Since(server[i]).Abs() > time.Minute {
				t.Fatalf("custody of seq %d: device %v, server %v", i+1, entry["device_time"], entry["server_time"])
			}
		}
		if server[1].Before(server[0]) {
			t.Fatalf("the device's clock reordered the handovers: %v", server)
		}
	})
	t.Run("a fault mid-batch rolls everything back; the retry applies once", func(t *testing.T) {
		a, b := h.assigned(t, "courier08"), h.assigned(t, "courier08")
		// The database fails the second mutation's handover, as a dropped connection would.
		for _, stmt := range []string{
			`CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
				RAISE EXCEPTION 'injected fault' USING ERRCODE = '57P01'; END $$`,
			`CREATE TRIGGER fail_once BEFORE INSERT ON custody_entries FOR EACH ROW
				WHEN (NEW.dossier_id = '` + b + `') EXECUTE FUNCTION fail_once()`,
		} {
			if _, err := h.db.SQL().Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		batch := []string{
			mutation(1, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, a), pickupPayload),
			mutation(2, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, b), pickupPayload),
		}
		r := h.push(t, "courier08", batch...)
		wantProblem(t, r, http.StatusServiceUnavailable, "UNAVAILABLE")
		if h.do(t, http.MethodGet, "/v1/dossiers/"+a, "").body["state"] != "assigned" {
			t.Fatal("the first mutation survived the batch's rollback")
		}
		if _, err := h.db.SQL().Exec(`DROP TRIGGER fail_once ON custody_entries`); err != nil {
			t.Fatal(err)
		}
		if retry := h.push(t, "courier08", batch...); statuses(retry) != "applied applied" || retry.body["last_seq"] != float64(2) {
			t.Fatalf("retry: %s", retry.raw)
		}
	})
}

// TestOldAppsStillDrain: below the minimum version, pull and new work are refused, but the
// queue of what was recorded still goes through.
func TestOldAppsStillDrain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil) // the harness's minimum is 1.2.0
	task := pickupTask(h, t, h.assigned(t, "courier03"))
	old := h.as("courier03@device").with("X-App-Version", "1.0.0")
	wantProblem(t, old.do(t, http.MethodGet, "/v1/device/sync/pull", ""), http.StatusUpgradeRequired, "UPGRADE_REQUIRED")
	r := old.do(t, http.MethodPost, "/v1/device/sync/push", `{"mutations":[`+mutation(1, uuid.NewString(), "task.pickup.v1", task, pickupPayload)+`]}`)
	if r.status != http.StatusOK || statuses(r) != "applied" {
		t.Fatalf("an old app's push: %d %s", r.status, r.raw)
	}
	// Between the minimum (1.2.0) and the deprecation (1.3.0): served, and warned.
	warned := h.as("courier03@device").with("X-App-Version", "1.2.5").do(t, http.MethodGet, "/v1/device/sync/pull", "")
	if warned.status != http.StatusOK || warned.header.Get("Sunset") != "Fri, 01 Jan 2027 00:00:00 GMT" || warned.header.Get("Deprecation") != "@1780272000" {
		t.Fatalf("a deprecated app: %d, Deprecation %q, Sunset %q", warned.status, warned.header.Get("Deprecation"), warned.header.Get("Sunset"))
	}
	if current := h.as("courier03@device").with("X-App-Version", "1.4.2").do(t, http.MethodGet, "/v1/device/sync/pull", ""); current.header.Get("Sunset") != "" {
		t.Fatal("a current app was told of a sunset")
	}
}

// TestOfflineTwoDaysWhileReassigned is scenario 8 whole: courier A pulls a stop and goes
// offline; the dispatcher gives it to B; two days pass, so A's access token has expired.
// A's push is refused as unauthenticated with the queue kept, A refreshes its session and
// pushes again: the pickup is rejected as reassigned and quarantined with its signature
// for the dispatcher; A's next pull removes the stop, B's brings it.
func TestOfflineTwoDaysWhileReassigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	key := deviceKey("courier01@device")
	if r := h.as("courier01").do(t, http.MethodPost, "/v1/devices", `{"device_id":"`+key+`","model":"Test","os":"Android 14","app_version":"1.4.2"}`); r.status != http.StatusOK {
		t.Fatalf("register: %s", r.raw)
	}
	login := h.as("").do(t, http.MethodPost, "/v1/auth/login", `{"username":"courier01","password":"`+testPassword+`","device_id":"`+key+`"}`)
	access, refresh := login.body["access_token"].(string), login.body["refresh_token"].(string)
	handheld := func() client { return h.as("").with("X-Device-ID", key).with("X-App-Version", "1.4.2").bearer(access) }

	id := h.assigned(t, "courier01")
	task := pickupTask(h, t, id)
	first := handheld().do(t, http.MethodGet, "/v1/device/sync/pull", "")
	cursor, _ := first.body["cursor"].(string)
	if !strings.Contains(first.raw, task) {
		t.Fatalf("the stop never reached A's device: %s", first.raw)
	}
	var b device
	h.pull(t, "courier02", &b, 200)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier02")+`"}`, "assigned")

	h.clock.advance(48 * time.Hour)
	h.forgetTokens()
	mutationID := uuid.NewString()
	batch := `{"mutations":[` + mutation(1, mutationID, "task.pickup.v1", task, pickupPayload) + `]}`
	wantProblem(t, handheld().do(t, http.MethodPost, "/v1/device/sync/push", batch), http.StatusUnauthorized, "UNAUTHENTICATED")

	renewed := h.as("").with("X-Device-ID", key).do(t, http.MethodPost, "/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`)
	if renewed.status != http.StatusOK {
		t.Fatalf("refresh after two days offline: %d %s", renewed.status, renewed.raw)
	}
	access = renewed.body["access_token"].(string)
	r := handheld().do(t, http.MethodPost, "/v1/device/sync/push", batch)
	if statuses(r) != "rejected:TASK_REASSIGNED" || r.body["last_seq"] != float64(1) {
		t.Fatalf("A's pickup after the reassignment: %s", r.raw)
	}
	q := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false&limit=100", "")
	if !strings.Contains(q.raw, mutationID) || !strings.Contains(q.raw, "aa11aa11") {
		t.Fatalf("the fact and its signature are not kept for the dispatcher: %s", q.raw)
	}
	if m := h.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.raw, `courierd_sync_quarantined_total{code="TASK_REASSIGNED"} 1`) {
		t.Fatal("the dispatcher alert metric did not move")
	}

	next := handheld().do(t, http.MethodGet, "/v1/device/sync/pull?cursor="+url.QueryEscape(cursor), "")
	if next.body["reset"] == true || !containsChange(next, "remove", task, "reassigned") {
		t.Fatalf("A's next pull does not remove the stop: %s", next.raw)
	}
	h.pull(t, "courier02", &b, 200)
	if b.tasks[task] == nil {
		t.Fatalf("B's pull does not bring the stop: %v", b.tasks)
	}
}

// liveStream follows a dispatcher's live stream as a screen does, reconnecting when it
// ends, and hands on the data of each event of kind until the test ends.
func liveStream(t *testing.T, base, token, kind string) <-chan string {
	out := make(chan string, 64)
	go func() {
		for t.Context().Err() == nil {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/live", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				resp.Body.Close()
				t.Errorf("live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
				return
			}
			lines := bufio.NewScanner(resp.Body)
			for lines.Scan() {
				if data, ok := eventData(lines.Text(), kind); ok {
					out <- data
				}
			}
			resp.Body.Close()
		}
	}()
	return out
}

// eventData is the data of a live event of kind, if line carries one.
func eventData(line, kind string) (string, bool) {
	raw, ok := strings.CutPrefix(line, "data: ")
	if !ok {
		return "", false
	}
	var e struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(raw), &e) != nil || e.Event != kind {
		return "", false
	}
	return string(e.Data), true
}

// TestQuarantineAlertsReachDispatchers: a fact quarantined in a dispatcher's office reaches
// that dispatcher's open screen as it is committed, with ids and the code but not the
// payload, and never a dispatcher of another office.
func TestQuarantineAlertsReachDispatchers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.watchLive(t)
	base := h.listen(t)
	mine, theirs := liveStream(t, base, h.token(t, "dispatcher"), "quarantined"), liveStream(t, base, h.token(t, "dispatcher2"), "quarantined")

	sent, got := h.quarantineUntilAlerted(t, mine)
	var alert struct {
		MutationID string `json:"mutation_id"`
		CourierID  string `json:"courier_id"`
		Code       string `json:"code"`
		Type       string `json:"type"`
	}
	if err := json.Unmarshal([]byte(got), &alert); err != nil || !sent[alert.MutationID] || alert.Code != "TASK_CANCELLED" ||
		alert.CourierID != h.courierOf("courier01") || alert.Type != "task.pickup.v1" || strings.Contains(got, "aa11") {
		t.Fatalf("the dispatcher's alert: %q", got)
	}

	other := h.quarantine(t, "courier09", "dispatcher2", 1, 1)
	select {
	case data := <-theirs:
		if !strings.Contains(data, other) {
			t.Fatalf("the other office's dispatcher was alerted about %s", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other office's dispatcher was not alerted about their own courier")
	}
}

// quarantine has courier report a pickup of a stop their dispatcher cancelled meanwhile,
// as push number seq, and returns the quarantined mutation's id.
func (h *harness) quarantine(t *testing.T, courier, dispatcher string, office int, seq int) string {
	t.Helper()
	body := h.dossierBody(func(f map[string]string) { f["office"] = h.demo.PostOffices[office].ID.String() })
	id := h.as(dispatcher).do(t, http.MethodPost, "/v1/dossiers", body).body["id"].(string)
	h.mustEvent(t, dispatcher, id, `{"event":"assign_pickup","courier_id":"`+h.courierOf(courier)+`"}`, "assigned")
	h.mustEvent(t, dispatcher, id, `{"event":"cancel"}`, "cancelled")
	mutationID := uuid.NewString()
	if r := h.push(t, courier, mutation(seq, mutationID, "task.pickup.v1", pickupTask(h, t, id), pickupPayload)); statuses(r) != "rejected:TASK_CANCELLED" {
		t.Fatalf("push: %s", r.raw)
	}
	return mutationID
}

// quarantineUntilAlerted quarantines courier01's facts in the dispatcher's office until an
// alert reaches alerts (the server's LISTEN may still be connecting at first), and returns
// the mutations sent and the first alert's data.
func (h *harness) quarantineUntilAlerted(t *testing.T, alerts <-chan string) (map[string]bool, string) {
	t.Helper()
	sent := map[string]bool{}
	for seq := 1; seq <= 20; seq++ {
		sent[h.quarantine(t, "courier01", "dispatcher", 0, seq)] = true
		select {
		case got := <-alerts:
			return sent, got
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatal("no alert reached the dispatcher's stream after 20 quarantined facts")
	return nil, ""
}

// TestLiveStreamIsLive: on a real socket, the live stream's headers and first comment
// arrive at once, an alert of a fact another courierd process quarantined arrives while
// the stream stays open, heartbeats keep it open past the server's write timeout, and a
// client that goes away has its subscription removed.
func TestLiveStreamIsLive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.alertStreamFor, h.alertHeartbeat = time.Hour, 200*time.Millisecond
	// Two processes: the devices push to one, whose hub nobody watches (a push publishes
	// nothing in-process); the screen follows the other, which hears the database's NOTIFY,
	// sent only when the quarantining transaction commits.
	pushed := h.withRevocations(t, auth.NewRevocationList())
	h.live = live.NewHub()
	h = h.withRevocations(t, auth.NewRevocationList())
	h.watchLive(t)
	base := h.listen(t)

	ctx, leave := context.WithCancel(t.Context())
	defer leave()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/live", nil)
	req.Header.Set("Authorization", "Bearer "+h.token(t, "dispatcher"))
	opened := time.Now()
	// The stream lives an hour: anything that arrives came while it was open, not at its end.
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("open the live stream: %v", err)
			return
		}
		answered <- resp
	}()
	var resp *http.Response
	select {
	case resp = <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("the live stream's headers did not arrive")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		scan := bufio.NewScanner(resp.Body)
		for scan.Scan() {
			lines <- scan.Text()
		}
	}()
	next := func(want func(string) bool, what string) string {
		t.Helper()
		for {
			select {
			case line, open := <-lines:
				if !open {
					t.Fatalf("the stream ended before %s", what)
				}
				if want(line) {
					return line
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s on the open stream", what)
			}
		}
	}
	next(func(l string) bool { return l == "retry: 3000" }, "reconnection delay")
	next(func(l string) bool { return l == ": live" }, "opening comment")
	next(func(l string) bool { return l == ": still here" }, "heartbeat")
	if n := h.live.Subscribers(); n != 1 {
		t.Fatalf("%d subscriptions while one screen is open", n)
	}

	data := make(chan string, 16)
	go func() {
		for line := range lines {
			if d, ok := eventData(line, "quarantined"); ok {
				data <- d
			}
		}
	}()
	sent, got := pushed.quarantineUntilAlerted(t, data)
	var alert struct {
		MutationID string `json:"mutation_id"`
	}
	if err := json.Unmarshal([]byte(got), &alert); err != nil || !sent[alert.MutationID] {
		t.Fatalf("the alert: %q", got)
	}
	// Heartbeats carry the stream past the server's write timeout (5 s here).
	for time.Since(opened) < 6*time.Second {
		time.Sleep(200 * time.Millisecond)
	}
	if n := h.live.Subscribers(); n != 1 {
		t.Fatalf("the stream closed past the write timeout: %d subscriptions", n)
	}
	last := pushed.quarantine(t, "courier01", "dispatcher", 0, len(sent)+1)
	select {
	case d := <-data:
		if !strings.Contains(d, last) {
			t.Fatalf("after the write timeout, the alert: %q", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an alert after the write timeout did not arrive")
	}

	leave()
	for h.live.Subscribers() != 0 {
		if time.Since(opened) > time.Minute {
			t.Fatal("the abandoned stream's subscription stayed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLiveStreamEndsAfterItsLifetime: a stream ends by itself when its lifetime is up
// (five minutes in service, so that screens spread over processes), having told the client
// how long to wait before it reconnects, and its subscription goes with it.
func TestLiveStreamEndsAfterItsLifetime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.alertStreamFor = 300 * time.Millisecond
	h = h.withRevocations(t, auth.NewRevocationList())
	base := h.listen(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/live", nil)
	req.Header.Set("Authorization", "Bearer "+h.token(t, "dispatcher"))
	opened := time.Now()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open the live stream: %v %v", err, resp)
	}
	body, err := io.ReadAll(resp.Body) // to the end the server makes, within the client's 10 s
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(string(body), "retry: 3000\n") {
		t.Fatalf("the stream until it ended: %q, %v", body, err)
	}
	t.Logf("the stream of 300 ms ended after %v", time.Since(opened).Round(time.Millisecond))
	for h.live.Subscribers() != 0 {
		if time.Since(opened) > 10*time.Second {
			t.Fatal("the ended stream's subscription stayed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPushShedsWhenBusy: with every push slot taken, a push waits a second and is turned
// away with 503 and Retry-After, nothing applied; sent again once a slot frees, it applies.
func TestPushShedsWhenBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	task := pickupTask(h, t, h.assigned(t, "courier01"))
	note := mutation(1, uuid.NewString(), "task.note.v1", task, `{"text":"gọi trước khi đến"}`)
	release := h.app.HoldPushSlots()
	busy := h.push(t, "courier01", note)
	release()
	wantProblem(t, busy, http.StatusServiceUnavailable, "UNAVAILABLE")
	if busy.header.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q, want 2", busy.header.Get("Retry-After"))
	}
	if strings.Contains(h.log.String(), `"msg":"request failed"`) {
		t.Fatal("a shed push was logged as a failure")
	}
	if again := h.push(t, "courier01", note); statuses(again) != "applied" {
		t.Fatalf("sent again: %s", again.raw)
	}
}
