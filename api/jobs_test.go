package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"courierd/storage"
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

// TestHoldExpiryJob runs the workers: a hold that has run out sends the result back to
// the agency, and the applicant is told, once.
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
	h.startWorkers(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "")
		if d.body["state"] == "returned_to_agency" {
			if d.body["holder"].(map[string]any)["kind"] != "agency" {
				t.Fatalf("returned but not held by the agency: %s", d.raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hold did not expire within 10 s: %s", d.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) && strings.Count(h.log.String(), `"notice":"returned_to_agency"`) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	logs := h.log.String()
	if strings.Count(logs, `"notice":"returned_to_agency"`) != 1 || strings.Contains(logs, "0913456789") {
		t.Fatalf("the applicant must be told once, without the phone in the log:\n%s", logs)
	}
}

// startWorkers runs the background jobs until the test ends.
func (h *harness) startWorkers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	workers, err := storage.StartWorkers(ctx, h.db, storage.JobHandlers{Dossiers: h.dossiers, Webhooks: h.hooks}, 100*time.Millisecond,
		storage.Retention{Tracks: 90 * 24 * time.Hour, Sync: 30 * 24 * time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = workers.Stop(context.Background())
		cancel()
	})
}
