package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/storage"
)

// counterBody is a dossier handed in at the post office's counter, its result returned by post.
func (h *harness) counterBody() string {
	return strings.Replace(h.dossierBody(func(f map[string]string) { f["pickup"] = "false" }), `{"procedure_id"`, `{"channel":"counter","procedure_id"`, 1)
}

// custodyOf is a dossier's ledger, oldest first, and whether its chain verifies.
func (h *harness) custodyOf(t testing.TB, id string) ([]map[string]any, bool) {
	t.Helper()
	r := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody", "")
	if r.status != http.StatusOK {
		t.Fatalf("custody of %s: %d %s", id, r.status, r.raw)
	}
	var entries []map[string]any
	for _, e := range r.body["items"].([]any) {
		entries = append(entries, e.(map[string]any))
	}
	v := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody/verify", "")
	return entries, v.body["intact"] == true
}

// weekdaySoon is a Monday to Friday a week or so ahead, in Vietnam.
func weekdaySoon() string {
	day := time.Now().In(domain.Vietnam).AddDate(0, 0, 7)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	return day.Format(time.DateOnly)
}

// party is an entry side or a holder as "kind:id".
func party(v any) string {
	m := v.(map[string]any)
	return fmt.Sprint(m["kind"], ":", m["id"])
}

// TestCounterIntake: a dossier handed in at the counter starts in the post office's
// custody, with the ledger's first entry saying so; it is on the office's shelf and
// reaches the agency by a manifest, whose receipt starts the legal clock.
func TestCounterIntake(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office, agency := h.demo.PostOffices[0].ID.String(), h.agency("Sở Tư pháp").ID.String()
	r := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.counterBody())
	if r.status != http.StatusCreated || r.body["state"] != "at_post_office" || party(r.body["holder"]) != "post_office:"+office {
		t.Fatalf("counter intake: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	if r.body["appointment_date"] != nil {
		t.Fatalf("the legal clock starts when the agency receives it, not at the counter: %s", r.raw)
	}
	entries, intact := h.custodyOf(t, id)
	if len(entries) != 1 || !intact || entries[0]["event"] != "lodge" || party(entries[0]["from"]) != "applicant:"+id ||
		party(entries[0]["to"]) != "post_office:"+office {
		t.Fatalf("the first entry must be the applicant handing it in at the counter (intact %v): %v", intact, entries)
	}
	shelf := h.as("dispatcher").do(t, http.MethodGet, "/v1/post-offices/"+office+"/holdings", "")
	if !strings.Contains(shelf.raw, id) {
		t.Fatalf("the office's holdings lack the dossier handed in: %s", shelf.raw)
	}
	sent := h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests", `{"direction":"to_agency","post_office_id":"`+office+
		`","agency_id":"`+agency+`","dossier_ids":["`+id+`"]}`)
	if sent.status != http.StatusCreated {
		t.Fatalf("send: %d %s", sent.status, sent.raw)
	}
	got := h.as("clerk").do(t, http.MethodPost, "/v1/manifests/"+sent.body["id"].(string)+"/receive", `{"dossier_ids":["`+id+`"]}`)
	if got.status != http.StatusOK || got.body["discrepancies"] != float64(0) {
		t.Fatalf("receive: %d %s", got.status, got.raw)
	}
	d := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body
	entries, intact = h.custodyOf(t, id)
	if d["state"] != "handed_to_agency" || d["appointment_date"] == nil || len(entries) != 2 || !intact ||
		party(entries[1]["to"]) != "agency:"+agency || party(d["holder"]) != "agency:"+agency {
		t.Fatalf("after the agency's receipt: %v, ledger %v (intact %v)", d, entries, intact)
	}
	// A holder changed behind the ledger's back is caught: the chain verifies, but it does
	// not end with the holder the dossier claims.
	if _, err := h.db.SQL().Exec(`UPDATE dossiers SET holder_kind = 'post_office', holder_id = $1 WHERE id = $2`, office, id); err != nil {
		t.Fatal(err)
	}
	if v := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody/verify", ""); v.body["intact"] != false ||
		!strings.Contains(v.raw, "the ledger leaves the item with agency") {
		t.Fatalf("a holder the ledger does not name passes verification: %s", v.raw)
	}
	// Only that verification, of the three, counts for the alert.
	if m := h.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.raw, "\ncourierd_custody_broken_chains_total 1\n") {
		t.Fatalf("the broken chain is not counted:\n%s", m.raw)
	}
	// A clerk's own desk intake stays with the agency: the post never held it.
	desk := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.counterBody())
	if desk.status != http.StatusCreated || desk.body["state"] != "handed_to_agency" {
		t.Fatalf("desk intake: %d %s", desk.status, desk.raw)
	}
	if entries, _ := h.custodyOf(t, desk.body["id"].(string)); len(entries) != 0 {
		t.Fatalf("the post never held a dossier lodged at the agency's desk: %v", entries)
	}
}

// TestDecisionsMoveNothing: dispatching moves nothing until the courier has the result;
// after a failed delivery it is still in the courier's bag; the dispatcher's new date, a
// hold and a redispatch write no handover, and what needs the office to hold the result
// is refused until the courier hands it in.
func TestDecisionsMoveNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id, _ := h.resultAtPostOffice(t)
	courier := h.courierOf("courier01")
	atOffice, _ := h.custodyOf(t, id)
	// Dispatching assigns the stop; the result is still on the office's shelf.
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	if entries, _ := h.custodyOf(t, id); len(entries) != len(atOffice) || h.holder(t, id) != "post_office:"+h.demo.PostOffices[0].ID.String() {
		t.Fatalf("dispatching moved the result: %v", entries[len(atOffice):])
	}
	// The handheld did not record taking it; the failed attempt at the door proves it did.
	h.mustEvent(t, "courier01@device", id, `{"event":"delivery_fail","reason":"not_at_home"}`, "delivery_failed")
	before, _ := h.custodyOf(t, id)
	if taken := before[len(before)-1]; len(before) != len(atOffice)+1 || taken["event"] != "hand_to_courier" ||
		party(taken["to"]) != "courier:"+courier || taken["device_time"] != nil {
		t.Fatalf("the failed attempt must record the implied handover, without a time of its own: %v", before[len(atOffice):])
	}
	h.mustEvent(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+weekdaySoon()+`"}`, "redelivery_scheduled")
	after, intact := h.custodyOf(t, id)
	if len(after) != len(before) || !intact || h.holder(t, id) != "courier:"+courier {
		t.Fatalf("a new date moved the result (ledger %d → %d entries, holder %s)", len(before), len(after), h.holder(t, id))
	}
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+h.courierOf("courier02")+`"}`),
		http.StatusConflict, "NOT_HELD")
	// The same courier sets out again with what they kept: nothing changes hands.
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	h.mustEvent(t, "courier01@device", id, `{"event":"delivery_fail","reason":"not_at_home"}`, "held_at_post_office")
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"collect_at_counter","recipient":"applicant","proof":{"identity_method":"cccd"}}`),
		http.StatusConflict, "NOT_HELD")
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"return_to_agency"}`), http.StatusConflict, "NOT_HELD")
	if entries, _ := h.custodyOf(t, id); len(entries) != len(before) {
		t.Fatalf("decisions wrote handovers: %v", entries[len(before):])
	}
	h.mustEvent(t, "courier01@device", id, `{"event":"arrive_post_office"}`, "held_at_post_office")
	entries, intact := h.custodyOf(t, id)
	last := entries[len(entries)-1]
	if len(entries) != len(before)+1 || !intact || last["event"] != "arrive_post_office" || party(last["from"]) != "courier:"+courier {
		t.Fatalf("the courier's return is the one handover: %v", entries[len(before):])
	}
}

// TestOneOpenManifest: many batches listing the same dossiers, sent at once, leave each
// dossier on one open manifest; a desk handover of an item a batch carries is refused;
// the receiver counts by receipt codes scanned, and a seal read that differs from the one
// sent is a discrepancy.
func TestOneOpenManifest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office, agency := h.demo.PostOffices[0].ID.String(), h.agency("Sở Tư pháp").ID.String()
	var ids []string
	for range 3 {
		ids = append(ids, h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.counterBody()).body["id"].(string))
	}
	batch := func(seal string, ids ...string) string {
		return `{"direction":"to_agency","post_office_id":"` + office + `","agency_id":"` + agency + `","seal_number":"` + seal +
			`","dossier_ids":["` + strings.Join(ids, `","`) + `"]}`
	}
	const racers = 8
	statuses := make([]int, racers)
	var manifest string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each racer lists the dossiers in another order, so that the lines collide
			// at different positions.
			order := []string{ids[i%3], ids[(i+1)%3], ids[(i+2)%3]}
			r := h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests", batch("BD-7", order...))
			mu.Lock()
			defer mu.Unlock()
			statuses[i] = r.status
			if r.status == http.StatusCreated {
				manifest = r.body["id"].(string)
			} else if r.status != http.StatusConflict && r.status != http.StatusUnprocessableEntity {
				t.Errorf("a racing batch answered %d: %s", r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == http.StatusCreated {
			created++
		}
	}
	var lines int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM manifest_items WHERE status = 'sent' AND dossier_id::text = ANY($1)`,
		"{"+strings.Join(ids, ",")+"}").Scan(&lines); err != nil {
		t.Fatal(err)
	}
	if created != 1 || lines != 3 {
		t.Fatalf("%d of %d racing batches were sent, %d open lines (statuses %v)", created, racers, lines, statuses)
	}
	wantProblem(t, h.event(t, "clerk", ids[0], `{"event":"hand_to_agency"}`), http.StatusConflict, "ON_OPEN_MANIFEST")

	receipt := func(id string) string {
		return h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["receipt_code"].(string)
	}
	receive := "/v1/manifests/" + manifest + "/receive"
	wantProblem(t, h.as("clerk").do(t, http.MethodPost, receive, `{"dossier_ids":["`+ids[0]+`"]}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "seal_number")
	wantProblem(t, h.as("clerk").do(t, http.MethodPost, receive, `{"receipt_codes":["NOPE"],"seal_number":"BD-7"}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "receipt_codes[0]")
	// Two scanned off the items (one as typed, in lower case), one by id; the seal read is another.
	got := h.as("clerk").do(t, http.MethodPost, receive, `{"receipt_codes":["`+receipt(ids[0])+`","`+strings.ToLower(receipt(ids[1]))+
		`"],"dossier_ids":["`+ids[2]+`","`+ids[0]+`"],"seal_number":"BD-8"}`)
	if got.status != http.StatusOK || got.body["discrepancies"] != float64(1) || got.body["seal_read"] != "BD-8" {
		t.Fatalf("receive by codes with another seal: %d %s", got.status, got.raw)
	}
	for _, it := range got.body["items"].([]any) {
		if it.(map[string]any)["status"] != "received" {
			t.Fatalf("every scanned item is received: %s", got.raw)
		}
	}
	if last := h.lastCustody(t, ids[1]); last["proof"].(map[string]any)["seal_number"] != "BD-8" {
		t.Fatalf("the handover records the seal read: %v", last)
	}
	// Received, the dossiers may go on a new batch again (results back, later).
	if again := h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests", batch("", ids[0])); again.status != http.StatusUnprocessableEntity {
		t.Fatalf("a dossier the agency holds is not on the office's shelf: %d %s", again.status, again.raw)
	}
}

// TestCustodyCheckJob: the daily check, run at start, verifies every ledger that grew in
// the last day and records the run; the slices of the older ones share out every ledger
// once; a chain broken behind courierd's back is found by the next run, named, recorded
// and exported for the alert.
func TestCustodyCheckJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	var withLedger []string
	for range 4 {
		withLedger = append(withLedger, h.pickedUpToResult(t))
	}
	slices.Sort(withLedger)
	if desk := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.counterBody()); desk.status != http.StatusCreated {
		t.Fatalf("desk intake: %d %s", desk.status, desk.raw)
	}

	store := storage.NewDossierStore(h.db, nil)
	names := func(ids []uuid.UUID) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = id.String()
		}
		slices.Sort(out)
		return out
	}
	grown, err := store.ChainsToCheck(ctx, time.Now().Add(-time.Hour), 0, 30)
	if err != nil || !slices.Equal(names(grown), withLedger) {
		t.Fatalf("ledgers grown in the last hour: %v, %v; want %v", names(grown), err, withLedger)
	}
	seen := map[string]int{}
	for slice := range 30 {
		ids, err := store.ChainsToCheck(ctx, time.Now().Add(time.Hour), slice, 30)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range names(ids) {
			seen[id]++
		}
	}
	if len(seen) != len(withLedger) {
		t.Fatalf("the slices hold %v; want each of %v once", seen, withLedger)
	}
	for _, id := range withLedger {
		if seen[id] != 1 {
			t.Fatalf("dossier %s is in %d slices", id, seen[id])
		}
	}

	exported := func(series, want string) {
		t.Helper()
		if m := h.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.raw, "\n"+series+" "+want+"\n") {
			t.Fatalf("/metrics lacks %s %s", series, want)
		}
	}
	exported("courierd_custody_check_timestamp_seconds", "0")
	h.startWorkers(t)
	var checked, broken int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := h.db.SQL().QueryRow(`SELECT checked, broken FROM custody_checks ORDER BY id DESC LIMIT 1`).Scan(&checked, &broken)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no custody check recorded after start: %v", err)
		}
	}
	if checked != len(withLedger) || broken != 0 {
		t.Fatalf("the check at start: %d checked, %d broken; want %d and 0", checked, broken, len(withLedger))
	}
	exported("courierd_custody_check_checked", strconv.Itoa(len(withLedger)))
	exported("courierd_custody_check_broken", "0")

	tampered := withLedger[2]
	if _, err := h.db.SQL().Exec(`UPDATE dossiers SET holder_kind = 'courier', holder_id = gen_random_uuid() WHERE id = $1`, tampered); err != nil {
		t.Fatal(err)
	}
	run, err := h.dossiers.CheckChains(ctx)
	if err != nil || run.Checked != len(withLedger) || run.Broken != 1 || len(run.BrokenIDs) != 1 || run.BrokenIDs[0].String() != tampered {
		t.Fatalf("the check after tampering: %+v, %v", run, err)
	}
	var named string
	if err := h.db.SQL().QueryRow(`SELECT broken_ids::text FROM custody_checks ORDER BY id DESC LIMIT 1`).Scan(&named); err != nil || named != "{"+tampered+"}" {
		t.Fatalf("the recorded run names %q, %v; want %s", named, err, tampered)
	}
	exported("courierd_custody_check_broken", "1")
}
