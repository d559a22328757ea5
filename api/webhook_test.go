package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/api"
	"courierd/domain/webhook"
)

func (h *harness) portalCall(t testing.TB, body string, at time.Time, secret string) reply {
	t.Helper()
	return h.portalPost(t, "/v1/webhooks/portal/dossiers", body, at, secret)
}

// portalPost is a portal's signed call to path.
func (h *harness) portalPost(t testing.TB, path, body string, at time.Time, secret string) reply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Portal-Timestamp", fmt.Sprint(at.Unix()))
	req.Header.Set("X-Portal-Signature", api.SignPortalRequest([]byte(secret), at.Unix(), []byte(body)))
	return h.as("").send(t, req)
}

func TestPortalWebhook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := func(ref, procedure string) string {
		return fmt.Sprintf(`{"portal_ref":%q,"procedure_code":%q,"agency_code":%q,"pickup":true,"return":true,
			"applicant":{"name":"Lê Văn Tâm","phone":"0977123456","citizen_id":"074088004321","address":"số 5, đường Yersin, phường Phú Lợi",
			"admin_unit_code":"25744","location":{"lat":10.99,"lon":106.685}}}`, ref, procedure, h.agency("Sở Tư pháp").Code)
	}
	now := time.Now()
	first := h.portalCall(t, body("DVC-2026-000123", judicialRecord), now, portalSecret)
	if first.status != http.StatusCreated || first.body["state"] != "requested" {
		t.Fatalf("portal dossier: %d %s", first.status, first.raw)
	}
	again := h.portalCall(t, body("DVC-2026-000123", judicialRecord), now.Add(time.Second), portalSecret)
	if again.status != http.StatusOK || again.body["id"] != first.body["id"] {
		t.Fatalf("a retry must answer the same dossier: %d %s", again.status, again.raw)
	}
	if d := h.do(t, http.MethodGet, "/v1/dossiers/"+first.body["id"].(string), ""); d.body["channel"] != "portal" {
		t.Fatalf("channel: %s", d.raw)
	}
	refusals := map[string]reply{
		"wrong secret":     h.portalCall(t, body("DVC-2", judicialRecord), now, "not the shared secret at all, no"),
		"stale timestamp":  h.portalCall(t, body("DVC-3", judicialRecord), now.Add(-10*time.Minute), portalSecret),
		"future timestamp": h.portalCall(t, body("DVC-4", judicialRecord), now.Add(10*time.Minute), portalSecret),
		"unsigned":         h.as("").do(t, http.MethodPost, "/v1/webhooks/portal/dossiers", body("DVC-5", judicialRecord)),
	}
	for name, r := range refusals {
		t.Run(name, func(t *testing.T) { wantProblem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED") })
	}
	wantProblem(t, h.portalCall(t, body("DVC-6", "9.999999"), now, portalSecret), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "procedure_code")
	if r := h.do(t, http.MethodGet, "/v1/dossiers", ""); r.body["total"] != float64(1) {
		t.Fatalf("refused calls opened dossiers: %v", r.body["total"])
	}
}

// TestPortalReportsAResult: a portal tells that the agency's result is ready, signed the
// same way; the dossier moves on (accepted on the way if the agency had not said so), a
// repeated report changes nothing, and bad calls change nothing.
func TestPortalReportsAResult(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	open := func(ref string) string {
		body := fmt.Sprintf(`{"portal_ref":%q,"procedure_code":%q,"agency_code":%q,"pickup":true,"return":true,
			"applicant":{"name":"Lê Văn Tâm","phone":"0977123456","citizen_id":"074088004321","address":"số 5, đường Yersin, phường Phú Lợi",
			"admin_unit_code":"25744","location":{"lat":10.99,"lon":106.685}}}`, ref, judicialRecord, h.agency("Sở Tư pháp").Code)
		return h.portalCall(t, body, time.Now(), portalSecret).body["id"].(string)
	}
	id := open("DVC-R-1")
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", id, `{"event":"pick_up"}`, "picked_up")
	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")

	result := func(ref string, secret string) reply {
		return h.portalPost(t, "/v1/webhooks/portal/results", `{"portal_ref":"`+ref+`"}`, time.Now(), secret)
	}
	first := result("DVC-R-1", portalSecret)
	if first.status != http.StatusOK || first.body["state"] != "result_ready" || first.body["id"] != id {
		t.Fatalf("result: %d %s", first.status, first.raw)
	}
	version := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["version"]
	if again := result("DVC-R-1", portalSecret); again.status != http.StatusOK || again.body["state"] != "result_ready" ||
		h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["version"] != version {
		t.Fatalf("a repeated report changed the dossier: %s", again.raw)
	}
	wantProblem(t, result("DVC-R-1", "not the shared secret at all, no"), http.StatusUnauthorized, "UNAUTHENTICATED")
	wantProblem(t, result("DVC-NONE", portalSecret), http.StatusNotFound, "NOT_FOUND")
	early := open("DVC-R-2")
	wantProblem(t, result("DVC-R-2", portalSecret), http.StatusConflict, "INVALID_TRANSITION")
	if d := h.do(t, http.MethodGet, "/v1/dossiers/"+early, ""); d.body["state"] != "requested" {
		t.Fatalf("a refused report moved the dossier: %s", d.raw)
	}
}

// TestWebhookDeliveries: an agency's subscriber hears of its dossiers' events, signed with
// its secret and without the applicant's data; a delivery its endpoint refuses is tried
// again until it goes through, and the log shows the attempts.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const secret = "a shared secret of the agency, 32+ characters long"
	var mu sync.Mutex
	var got []map[string]any
	calls := 0
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if r.Header.Get(webhook.HeaderSignature) != webhook.Sign([]byte(secret), ts, body) || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("a delivery with a bad signature: %v", r.Header)
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first attempt fails
			return
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		m["header_event"] = r.Header.Get(webhook.HeaderEvent)
		got = append(got, m)
	}))
	defer endpoint.Close()

	agency := h.agency("Sở Tư pháp").ID.String()
	sub := h.do(t, http.MethodPost, "/v1/webhooks/subscribers", `{"name":"Cổng dịch vụ công tỉnh","url":"`+endpoint.URL+`","secret":"`+secret+`",
		"agency_id":"`+agency+`","events":["hand_to_agency","result_ready"]}`)
	if sub.status != http.StatusCreated || strings.Contains(sub.raw, secret) {
		t.Fatalf("subscribe: %d %s", sub.status, sub.raw)
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, "/v1/webhooks/subscribers", `{"name":"x","url":"https://x.vn","secret":"`+secret+`"}`),
		http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/webhooks/subscribers", `{"name":"x","url":"ftp://x","secret":"short","events":["no_such"]}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "url", "secret", "events[0]")

	h.startWorkers(t)
	h.pickedUpToResult(t)

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 deliveries arrived in 20 s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	events := []string{got[0]["event"].(string), got[1]["event"].(string)}
	slices.Sort(events)
	raw, _ := json.Marshal(got)
	mu.Unlock()
	if strings.Join(events, ",") != "hand_to_agency,result_ready" || !strings.Contains(string(raw), `"receipt_code"`) {
		t.Fatalf("deliveries: %s", raw)
	}
	for _, personal := range []string{"Trần Thị Mai", "0913456789", "074190001234", "Lê Hồng Phong"} {
		if strings.Contains(string(raw), personal) {
			t.Fatalf("a delivery carries %q: %s", personal, raw)
		}
	}
	log := h.do(t, http.MethodGet, "/v1/webhooks/subscribers/"+sub.body["id"].(string)+"/deliveries", "")
	attempts := 0.0
	for _, d := range log.body["items"].([]any) {
		m := d.(map[string]any)
		if m["status"] != "delivered" || m["last_status"] != float64(200) {
			t.Fatalf("delivery log: %s", log.raw)
		}
		attempts += m["attempts"].(float64)
	}
	if len(log.body["items"].([]any)) != 2 || attempts != 3 {
		t.Fatalf("two deliveries in three attempts (one refused, then retried): %s", log.raw)
	}
	// The log pages by cursor like every list: one by one, the same two in the same order.
	first := h.do(t, http.MethodGet, "/v1/webhooks/subscribers/"+sub.body["id"].(string)+"/deliveries?limit=1", "")
	second := h.do(t, http.MethodGet, "/v1/webhooks/subscribers/"+sub.body["id"].(string)+"/deliveries?limit=1&cursor="+first.body["next_cursor"].(string), "")
	paged := append(first.body["items"].([]any), second.body["items"].([]any)...)
	if _, more := second.body["next_cursor"]; more || !reflect.DeepEqual(paged, log.body["items"]) {
		t.Fatalf("paged delivery log:\n%s\n%s\nwhole:\n%s", first.raw, second.raw, log.raw)
	}
}

// TestWebhookPayloadsTellTheirOwnEvent: events applied one after another before any worker
// runs are each delivered with their own states, version and time, as the dossier's history
// records them, not with the dossier as it stands when the jobs run.
func TestWebhookPayloadsTellTheirOwnEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var mu sync.Mutex
	var got []map[string]any
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("a delivery that is not JSON: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
	}))
	defer endpoint.Close()
	h.mustCreate(t, "/v1/webhooks/subscribers", `{"name":"Cổng dịch vụ công tỉnh","url":"`+endpoint.URL+`",
		"secret":"a shared secret of the agency, 32+ characters long"}`, "id")

	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	steps := []struct{ as, body, state string }{
		{"dispatcher", `{"event":"assign_pickup","courier_id":"` + h.courierOf("courier01") + `"}`, "assigned"},
		{"dispatcher", `{"event":"pick_up"}`, "picked_up"},
		{"dispatcher", `{"event":"hand_to_agency"}`, "handed_to_agency"},
		{"clerk", `{"event":"agency_accept"}`, "in_processing"},
		{"clerk", `{"event":"result_ready"}`, "result_ready"},
	}
	for _, s := range steps {
		h.mustEvent(t, s.as, id, s.body, s.state)
	}
	var history struct {
		Items []struct {
			At       time.Time `json:"at"`
			Event    string    `json:"event"`
			From, To string
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/history", "").raw), &history); err != nil {
		t.Fatal(err)
	}
	h.startWorkers(t)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(steps) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries arrived in 30 s", n, len(steps))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	told := map[string]map[string]any{}
	for _, m := range got {
		told[m["event"].(string)] = m
	}
	for _, r := range history.Items[1:] { // after "created", which no subscriber is told of
		m := told[r.Event]
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["at"]))
		// The history keeps microseconds; a payload's time is the event's, to the microsecond.
		if m == nil || err != nil || m["from_state"] != r.From || m["state"] != r.To || at.Sub(r.At).Abs() >= time.Microsecond {
			t.Errorf("%s (%s → %s at %s) was delivered as %v", r.Event, r.From, r.To, r.At.Format(time.RFC3339Nano), m)
		}
	}
	versions := map[float64]bool{}
	for _, m := range got {
		versions[m["version"].(float64)] = true
	}
	if len(history.Items) != len(steps)+1 || len(versions) != len(steps) {
		t.Fatalf("history %d records, deliveries of %d versions: %v", len(history.Items), len(versions), got)
	}
}

// TestWebhookSecretsAreSealed: a subscriber registered now is stored with its secret sealed,
// never in plain text. One the previous release stored in plain text still gets deliveries
// signed with its secret; the retention job, run as the workers start, seals it; and from
// then on both subscribers' deliveries are still signed with their own secrets.
func TestWebhookSecretsAreSealed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	secrets := map[string]string{"/new": "the new portal's shared secret, 32+ characters", "/old": "the old portal's shared secret, 32+ characters"}
	var mu sync.Mutex
	signed := map[string]int{} // deliveries with a right signature, by endpoint
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if r.Header.Get(webhook.HeaderSignature) != webhook.Sign([]byte(secrets[r.URL.Path]), ts, body) {
			t.Errorf("a delivery to %s with a wrong signature", r.URL.Path)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		signed[r.URL.Path]++
	}))
	defer endpoint.Close()
	waitSigned := func(newCount, oldCount int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			mu.Lock()
			n, o := signed["/new"], signed["/old"]
			mu.Unlock()
			if n >= newCount && o >= oldCount {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("signed deliveries: %d to the new subscriber, %d to the old; want %d and %d", n, o, newCount, oldCount)
			}
		}
	}
	// plainStored counts the subscribers whose secret is kept in plain text, or shows in
	// what is kept.
	plainStored := func() int {
		t.Helper()
		var n int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM webhook_subscribers WHERE secret IS NOT NULL OR coalesce(secret_sealed, '') = ''
			OR strpos(secret_sealed, $1) > 0 OR strpos(secret_sealed, $2) > 0`, secrets["/new"], secrets["/old"]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	h.mustCreate(t, "/v1/webhooks/subscribers", `{"name":"Cổng mới","url":"`+endpoint.URL+`/new","secret":"`+secrets["/new"]+`","events":["result_ready"]}`, "id")
	if n := plainStored(); n != 0 {
		t.Fatalf("a subscriber registered now has its secret in plain text (%d rows)", n)
	}
	old := uuid.New() // as the previous release wrote it
	if _, err := h.db.SQL().Exec(`INSERT INTO webhook_subscribers (id, name, url, secret, events, created_at) VALUES ($1, 'Cổng cũ', $2, $3, 'result_ready', now())`,
		old, endpoint.URL+"/old", secrets["/old"]); err != nil {
		t.Fatal(err)
	}
	toResult := func() string { return h.pickedUpToResult(t) }
	first := toResult()
	// Before any worker runs: a delivery to the old subscriber is signed with its plain secret.
	delivery := uuid.New()
	if _, err := h.db.SQL().Exec(`INSERT INTO webhook_deliveries (id, subscriber_id, dossier_id, event, body, status, created_at)
		VALUES ($1, $2, $3, 'result_ready', '{"event":"result_ready"}', 'pending', now())`, delivery, old, first); err != nil {
		t.Fatal(err)
	}
	if err := h.hooks.Deliver(ctx, delivery); err != nil {
		t.Fatal(err)
	}
	waitSigned(0, 1)

	h.startWorkers(t) // the retention job runs at start
	for deadline := time.Now().Add(30 * time.Second); plainStored() > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the retention job left a webhook secret in plain text")
		}
	}
	waitSigned(1, 2) // the first dossier's result, told to both
	if n, err := h.hooks.SealSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("sealing again changed %d secrets, %v; want none", n, err)
	}
	toResult()
	waitSigned(2, 3)
}

// pickedUpToResult opens a dossier that a courier picks up at the door and walks it until
// its result is ready, returning its id.
func (h *harness) pickedUpToResult(t testing.TB) string {
	t.Helper()
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", id, `{"event":"pick_up"}`, "picked_up")
	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	return id
}
