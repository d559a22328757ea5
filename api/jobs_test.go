package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
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
func (h *harness) startWorkers(t testing.TB) {
	if err := h.built.StartJobs(); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionJob runs the workers with the served settings: the retention job, run at
// start, forgets what is past keeping in every table it covers, and keeps what is not yet:
// a code, token or revocation spent within the last day, a counter still locked, a
// delivery younger than WEBHOOK_DELIVERY_RETENTION_DAYS (90).
func TestRetentionJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	day := 24 * time.Hour
	now := time.Now()
	subscriber := h.mustCreate(t, "/v1/webhooks/subscribers", `{"name":"Cổng","url":"https://portal.example.vn/hook",
		"secret":"a shared secret of the agency, 32+ characters long","events":["result_ready"]}`, "id")
	dossier := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	account := h.demo.Accounts[0].ID
	type row struct {
		table, key, insert string
		args               []any
	}
	throttle := `INSERT INTO auth_throttle (key_hash, failures, window_started, locked_until) VALUES ($1, 1, $2, $3)`
	code := `INSERT INTO otp_challenges (id, phone_index, code_hash, created_at, expires_at) VALUES ($1, 'p', 'h', $2, $2)`
	token := `INSERT INTO refresh_tokens (id, family_id, account_id, token_hash, issued_at, expires_at, used_at) VALUES ($1, $1, $3, $4, $2, $2, $2)`
	revocation := `INSERT INTO revocations (kind, subject, revoked_at, expires_at) VALUES ('session', $1, $2, $2)`
	delivery := `INSERT INTO webhook_deliveries (id, subscriber_id, dossier_id, event, body, status, created_at) VALUES ($1, $3, $4, 'result_ready', '{}', 'delivered', $2)`
	var none *time.Time
	locked := now.Add(time.Hour)
	key := func() uuid.UUID { return uuid.New() }
	gone := []row{
		{"auth_throttle", "key_hash", throttle, []any{"stale", now.Add(-3 * day), none}},
		{"otp_challenges", "id", code, []any{key(), now.Add(-25 * time.Hour)}},
		{"refresh_tokens", "id", token, []any{key(), now.Add(-25 * time.Hour), account, key().String()}},
		{"revocations", "subject", revocation, []any{key(), now.Add(-25 * time.Hour)}},
		{"webhook_deliveries", "id", delivery, []any{key(), now.Add(-91 * day), subscriber, dossier}},
	}
	kept := []row{
		{"auth_throttle", "key_hash", throttle, []any{"counting", now.Add(-time.Hour), none}},
		{"auth_throttle", "key_hash", throttle, []any{"locked", now.Add(-3 * day), &locked}},
		{"otp_challenges", "id", code, []any{key(), now.Add(-23 * time.Hour)}},
		{"refresh_tokens", "id", token, []any{key(), now.Add(-23 * time.Hour), account, key().String()}},
		{"revocations", "subject", revocation, []any{key(), now.Add(-23 * time.Hour)}},
		{"webhook_deliveries", "id", delivery, []any{key(), now.Add(-89 * day), subscriber, dossier}},
	}
	for _, r := range append(slices.Clone(gone), kept...) {
		if _, err := h.db.SQL().Exec(r.insert, r.args...); err != nil {
			t.Fatalf("%s: %v", r.table, err)
		}
	}
	present := func(r row) bool {
		var n int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM `+r.table+` WHERE `+r.key+`::text = $1`, fmt.Sprint(r.args[0])).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	h.startWorkers(t)
	var state string
	for deadline := time.Now().Add(20 * time.Second); state != "completed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the retention job is %q after 20 s", state)
		}
		_ = h.db.SQL().QueryRow(`SELECT state FROM river_job WHERE kind = 'retention'`).Scan(&state)
	}
	for _, r := range gone {
		if present(r) {
			t.Errorf("%s: a row past keeping (%v) is still there", r.table, r.args[1])
		}
	}
	for _, r := range kept {
		if !present(r) {
			t.Errorf("%s: a row not yet past keeping (%v) was forgotten", r.table, r.args[1])
		}
	}
}
