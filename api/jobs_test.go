package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// heldDossier walks a new dossier to held_at_post_office and returns its id.
func (h *harness) heldDossier(t testing.TB) string {
	t.Helper()
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["pickup"] = "false" })).body["id"].(string)
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	h.mustEvent(t, "clerk", id, `{"event":"collect_result"}`, "result_at_post_office")
	h.mustEvent(t, "dispatcher", id, `{"event":"hold"}`, "held_at_post_office")
	return id
}

func (h *harness) jobCount(t testing.TB, kind, id string) int {
	t.Helper()
	var n int
	err := h.db.SQL().QueryRow(`SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'dossier_id' = $2`, kind, id).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestJobsAreEnqueuedWithTheChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.heldDossier(t)
	if h.jobCount(t, "dossier_hold_expiry", id) != 1 || h.jobCount(t, "dossier_notify_applicant", id) != 2 {
		t.Fatalf("after result_ready and hold: %d expiry, %d notices", h.jobCount(t, "dossier_hold_expiry", id), h.jobCount(t, "dossier_notify_applicant", id))
	}
	var runAt time.Time
	if err := h.db.SQL().QueryRow(`SELECT scheduled_at FROM river_job WHERE kind = 'dossier_hold_expiry'`).Scan(&runAt); err != nil {
		t.Fatal(err)
	}
	held := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["held_until"].(string)
	if runAt.In(time.FixedZone("ICT", 7*3600)).Format("2006-01-02 15:04") != held+" 00:00" {
		t.Fatalf("the expiry runs at %s, the hold ends on %s", runAt, held)
	}
	// A refused event writes no job: the job goes with the change or not at all.
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"hold"}`), http.StatusConflict, "INVALID_TRANSITION")
	if h.jobCount(t, "dossier_hold_expiry", id) != 1 {
		t.Fatal("a refused event enqueued a job")
	}
}

// TestHoldExpiryJob runs the workers: a hold that has run out tells the applicant, once,
// and moves nothing — the result stays on the office's shelf, still collectable, until
// the office hands it back to the agency.
func TestHoldExpiryJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.heldDossier(t)
	// Let the hold have ended yesterday, and its job be due now.
	for _, stmt := range []string{
		`UPDATE dossiers SET held_until = current_date - 1 WHERE id = '` + id + `'`,
		`UPDATE river_job SET scheduled_at = now() WHERE kind = 'dossier_hold_expiry'`,
	} {
		if _, err := h.db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	before := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body
	h.startWorkers(t)
	deadline := time.Now().Add(10 * time.Second)
	var state string
	for time.Now().Before(deadline) && state != "completed" {
		time.Sleep(50 * time.Millisecond)
		if err := h.db.SQL().QueryRow(`SELECT state FROM river_job WHERE kind = 'dossier_hold_expiry'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
	}
	if state != "completed" {
		t.Fatalf("the expiry job is still %q after 10 s", state)
	}
	logs := h.log.String()
	if strings.Count(logs, `"notice":"hold_expired"`) != 1 || strings.Contains(logs, "0913456789") {
		t.Fatalf("the applicant must be told once, without the phone in the log:\n%s", logs)
	}
	after := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body
	if after["state"] != "held_at_post_office" || after["version"] != before["version"] || after["custody_entries"] != before["custody_entries"] {
		t.Fatalf("a timer moved the result: %v", after)
	}
	r := h.mustEvent(t, "dispatcher", id, `{"event":"return_to_agency"}`, "returned_to_agency")
	if party(r.body["holder"]) != "agency:"+h.agency("Sở Tư pháp").ID.String() {
		t.Fatalf("returned at the desk but not held by the agency: %s", r.raw)
	}
}

// startWorkers runs the background jobs until the test ends.
func (h *harness) startWorkers(t *testing.T) {
	if err := h.built.StartJobs(); err != nil {
		t.Fatal(err)
	}
}
