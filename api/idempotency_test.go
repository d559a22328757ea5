package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/domain/auth"
)

const replayedHeader = "Idempotent-Replayed"

// TestIdempotencyReplay: a repeat with the same key and request gets the first answer
// again, byte for byte and marked replayed, and creates nothing; the same key with another
// body or on another route is refused; another caller's key of the same name is its own;
// a refused request's answer is replayed too.
func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := h.dossierBody(nil)
	clerk := h.as("clerk").with("Idempotency-Key", "portal-7f3a-0001")
	before := h.dossierCount(t)
	first := clerk.do(t, http.MethodPost, "/v1/dossiers", body)
	if first.status != http.StatusCreated || first.header.Get(replayedHeader) != "" {
		t.Fatalf("first: %d %q %s", first.status, first.header.Get(replayedHeader), first.raw)
	}
	for i := range 3 {
		again := clerk.do(t, http.MethodPost, "/v1/dossiers", body)
		if again.status != first.status || again.raw != first.raw || again.header.Get(replayedHeader) != "true" ||
			again.header.Get("Content-Type") != first.header.Get("Content-Type") {
			t.Fatalf("repeat %d: %d %v %s; want the first answer replayed: %s", i, again.status, again.header, again.raw, first.raw)
		}
	}
	if n := h.dossierCount(t); n != before+1 {
		t.Fatalf("%d dossiers created by one request and its repeats", n-before)
	}

	other := h.dossierBody(func(f map[string]string) { f["phone"] = "0913 456 780" })
	wantProblem(t, clerk.do(t, http.MethodPost, "/v1/dossiers", other), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
	wantProblem(t, clerk.do(t, http.MethodPost, "/v1/manifests", body), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
	if n := h.dossierCount(t); n != before+1 {
		t.Fatalf("a reused key created %d dossiers", n-before-1)
	}

	// Keys are each caller's own: the dispatcher's key of the same name is a new request.
	theirs := h.as("dispatcher").with("Idempotency-Key", "portal-7f3a-0001").do(t, http.MethodPost, "/v1/dossiers", body)
	if theirs.status != http.StatusCreated || theirs.header.Get(replayedHeader) != "" || theirs.body["id"] == first.body["id"] {
		t.Fatalf("another caller's key: %d %s", theirs.status, theirs.raw)
	}

	// A refused request is the client's mistake: its answer stands for its repeats.
	invalid := h.dossierBody(func(f map[string]string) { f["cid"] = "12" })
	refuse := h.as("clerk").with("Idempotency-Key", "portal-7f3a-0002")
	refused := refuse.do(t, http.MethodPost, "/v1/dossiers", invalid)
	wantProblem(t, refused, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "applicant.citizen_id")
	again := refuse.do(t, http.MethodPost, "/v1/dossiers", invalid)
	if again.raw != refused.raw || again.header.Get(replayedHeader) != "true" {
		t.Fatalf("a refused request's repeat: %d %s, want %s replayed", again.status, again.raw, refused.raw)
	}
	if n := h.dossierCount(t); n != before+2 {
		t.Fatalf("%d dossiers, want %d", n, before+2)
	}
}

// TestIdempotencyEachKindOfCreate: for each kind of record a partner or an admin creates,
// a repeat with the key is the first answer replayed and leaves one new row (without the
// key, the repeat of a record with a unique field would be a 409 instead).
func TestIdempotencyEachKindOfCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[0].ID.String()
	for _, tc := range []struct{ table, path, body string }{
		{"dossiers", "/v1/dossiers", h.dossierBody(nil)},
		{"accounts", "/v1/accounts", `{"username":"portal.binhduong","password":"long enough secret","role":"dispatcher","post_office_ids":["` + office + `"]}`},
		{"calendar_days", "/v1/holidays", `{"date":"2031-09-02","kind":"holiday","name":"Quốc khánh"}`},
		{"webhook_subscribers", "/v1/webhooks/subscribers", `{"name":"Cổng","url":"https://portal.example.vn/hook",
			"secret":"a shared secret of the agency, 32+ characters long","events":["result_ready"]}`},
		{"couriers", "/v1/couriers", `{"staff_code":"BD-K01","name":"Nguyễn Văn Thêm","phone":"0912000001","post_office_id":"` + office + `",
			"vehicle_kind":"motorbike","capacity_items":40,"shift_start":"07:30","shift_end":"17:30","skills":["cash_collection"]}`},
	} {
		count := func() int {
			t.Helper()
			var n int
			if err := h.db.SQL().QueryRow(`SELECT count(*) FROM ` + tc.table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		admin := h.as("admin").with("Idempotency-Key", "create-"+tc.table)
		first := admin.do(t, http.MethodPost, tc.path, tc.body)
		again := admin.do(t, http.MethodPost, tc.path, tc.body)
		if first.status != http.StatusCreated || again.status != first.status || again.raw != first.raw ||
			again.header.Get(replayedHeader) != "true" || again.header.Get("Location") != first.header.Get("Location") {
			t.Errorf("%s: first %d %s; repeat %d %v %s", tc.path, first.status, first.raw, again.status, again.header, again.raw)
		}
		if n := count(); n != before+1 {
			t.Errorf("%s: %d rows added to %s, want 1", tc.path, n-before, tc.table)
		}
	}
}

// TestIdempotencyKeyFormat: a key that is empty, over 255 characters or not printable
// ASCII is refused before anything is done; keys of 1 and 255 printable characters work.
// (NUL and DEL never get this far: the HTTP parser refuses such headers itself.)
func TestIdempotencyKeyFormat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := h.dossierBody(nil)
	before := h.dossierCount(t)
	bad := map[string]string{
		"empty":      "",
		"256 chars":  strings.Repeat("k", 256),
		"2000 chars": strings.Repeat("k", 2000),
		"non-ASCII":  "khóa-1",
		"tab":        "a\tb",
		"multi-byte": "🔑",
	}
	for name, key := range bad {
		r := h.as("clerk").with("Idempotency-Key", key).do(t, http.MethodPost, "/v1/dossiers", body)
		if r.status == http.StatusCreated {
			t.Errorf("%s: created", name)
			continue
		}
		if r.status != http.StatusBadRequest || r.body["code"] != "IDEMPOTENCY_KEY_INVALID" {
			t.Errorf("%s: %d %s, want 400 IDEMPOTENCY_KEY_INVALID", name, r.status, r.raw)
		}
	}
	if n := h.dossierCount(t); n != before {
		t.Fatalf("invalid keys created %d dossiers", n-before)
	}
	var printable strings.Builder
	for c := byte(0x20); c <= 0x7e; c++ {
		printable.WriteByte(c)
	}
	for _, key := range []string{"k", strings.Repeat("x", 255), strings.TrimSpace(printable.String())} {
		if r := h.as("clerk").with("Idempotency-Key", key).do(t, http.MethodPost, "/v1/dossiers", body); r.status != http.StatusCreated {
			t.Errorf("key %q: %d %s", key, r.status, r.raw)
		}
	}
}

// TestIdempotencyConcurrent: 16 requests with one key, sent at once to two courierd
// processes on one database, create one dossier; each is answered that dossier (first or
// replayed) or told the key is in use, with when to retry; and retries once the first is
// answered get it from either process.
func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	servers := []*harness{h, h.withRevocations(t, auth.NewRevocationList())}
	body := h.dossierBody(nil)
	before := h.dossierCount(t)
	const n = 16
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = servers[i%2].as("clerk").with("Idempotency-Key", "batch-2026-12-06").do(t, http.MethodPost, "/v1/dossiers", body)
		}()
	}
	wg.Wait()
	var created, replayed, inUse int
	ids := map[any]bool{}
	for _, r := range replies {
		switch {
		case r.status == http.StatusCreated && r.header.Get(replayedHeader) == "":
			created++
			ids[r.body["id"]] = true
		case r.status == http.StatusCreated:
			replayed++
			ids[r.body["id"]] = true
		case r.status == http.StatusConflict && r.body["code"] == "IDEMPOTENCY_KEY_IN_USE" && r.header.Get("Retry-After") != "":
			inUse++
		default:
			t.Fatalf("unexpected answer: %d %s", r.status, r.raw)
		}
	}
	t.Logf("16 concurrent requests over 2 servers: %d created, %d replayed, %d told the key is in use", created, replayed, inUse)
	if created != 1 || len(ids) != 1 {
		t.Fatalf("%d created, %d distinct dossiers answered; want 1 and 1", created, len(ids))
	}
	if got := h.dossierCount(t); got != before+1 {
		t.Fatalf("%d dossiers created", got-before)
	}
	for _, s := range servers {
		r := s.as("clerk").with("Idempotency-Key", "batch-2026-12-06").do(t, http.MethodPost, "/v1/dossiers", body)
		if r.status != http.StatusCreated || r.header.Get(replayedHeader) != "true" || !ids[r.body["id"]] {
			t.Fatalf("retry after the rush: %d %s", r.status, r.raw)
		}
	}
}

// TestIdempotencyServerFailureNotStored: a request that failed on the server's side
// (500) leaves its key free, so its retry does the work; a retry after the key expired
// is a new request.
func TestIdempotencyServerFailureNotStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := h.dossierBody(nil)
	before := h.dossierCount(t)
	// The database refuses new dossiers for a moment, as a failing disk would.
	exec := func(stmt string) {
		t.Helper()
		if _, err := h.db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE FUNCTION refuse_dossier() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated failure'; END $$`)
	exec(`CREATE TRIGGER refuse_dossier BEFORE INSERT ON dossiers FOR EACH ROW EXECUTE FUNCTION refuse_dossier()`)
	clerk := h.as("clerk").with("Idempotency-Key", "retry-me")
	wantProblem(t, clerk.do(t, http.MethodPost, "/v1/dossiers", body), http.StatusInternalServerError, "INTERNAL")
	exec(`DROP TRIGGER refuse_dossier ON dossiers`)
	r := clerk.do(t, http.MethodPost, "/v1/dossiers", body)
	if r.status != http.StatusCreated || r.header.Get(replayedHeader) != "" {
		t.Fatalf("retry after a 500: %d %q %s; want created afresh", r.status, r.header.Get(replayedHeader), r.raw)
	}
	if n := h.dossierCount(t); n != before+1 {
		t.Fatalf("%d dossiers, want %d", n, before+1)
	}

	// IDEMPOTENCY_TTL (24 h) later the key is free for another request.
	h.clock.advance(24*time.Hour + time.Minute)
	h.forgetTokens()
	other := h.dossierBody(func(f map[string]string) { f["phone"] = "0913 456 780" })
	if r := h.as("clerk").with("Idempotency-Key", "retry-me").do(t, http.MethodPost, "/v1/dossiers", other); r.status != http.StatusCreated {
		t.Fatalf("an expired key: %d %s", r.status, r.raw)
	}
}

// TestEveryCallerPostTakesIdempotencyKey: every POST a caller makes (every route that
// creates, and any that will) reads the header: a malformed key is refused there before
// the handler runs. POSTs without it are the public and device routes, which dedupe by
// their own ids; a new one must be added here, deliberately.
func TestEveryCallerPostTakesIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	users := map[string]string{"admin": "admin", "dispatcher": "dispatcher", "clerk": "clerk", "courier": "courier01"}
	var without []string
	checked := 0
	for route, rule := range h.app.RouteAccess() {
		method, path, _ := strings.Cut(route, " ")
		if method != http.MethodPost {
			continue
		}
		if rule == "public" || strings.HasSuffix(rule, "+device") {
			without = append(without, route)
			continue
		}
		role, _, _ := strings.Cut(rule, ",")
		path = strings.ReplaceAll(path, ":key", "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11")
		caller := h.as(users[role])
		if role == string(auth.RoleCitizen) {
			caller = h.as("").bearer(h.citizenToken(t))
		}
		if scope, partnersOnly := strings.CutPrefix(role, "partner:"); partnersOnly {
			caller = h.as("").bearer(h.accessToken(t, h.registerClient(t, scope), ""))
		}
		r := caller.with("Idempotency-Key", strings.Repeat("k", 256)).do(t, method, path, "{}")
		if r.status != http.StatusBadRequest || r.body["code"] != "IDEMPOTENCY_KEY_INVALID" {
			t.Errorf("%s as %s ignores Idempotency-Key: %d %s", route, role, r.status, r.raw)
		}
		checked++
	}
	t.Logf("%d caller POST routes take Idempotency-Key; %d public or device POSTs do not", checked, len(without))
	want := fmt.Sprint([]string{"POST /v1/auth/login", "POST /v1/auth/refresh", "POST /v1/citizen/otp", "POST /v1/citizen/otp/verify",
		"POST /v1/device/locations", "POST /v1/device/sync/push", "POST /v1/oauth/token", "POST /v1/payments/callback", "POST /v1/track",
		"POST /v1/webhooks/portal/dossiers", "POST /v1/webhooks/portal/results"})
	slices.Sort(without)
	if fmt.Sprint(without) != want {
		t.Fatalf("POSTs without Idempotency-Key %v, want exactly %v", without, want)
	}
	if checked < 15 {
		t.Fatalf("only %d routes checked", checked)
	}
}

// BenchmarkIdempotentCreate: what a key costs a dossier's creation (claim before, answer
// sealed and kept after), and what a replay costs, against a creation without a key.
func BenchmarkIdempotentCreate(b *testing.B) {
	h := newHarness(b, nil)
	body := h.dossierBody(nil)
	clerk := h.as("clerk")
	clerk.do(b, http.MethodPost, "/v1/dossiers", body) // the login and warm caches are no one's cost
	measure := func(name string, send func(n int) reply) {
		start := time.Now()
		for n := 0; n < b.N; n++ {
			if r := send(n); r.status != http.StatusCreated {
				b.Fatalf("%s: %d %.300s", name, r.status, r.raw)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/"+name)
	}
	measure("plain", func(int) reply { return clerk.do(b, http.MethodPost, "/v1/dossiers", body) })
	measure("keyed", func(n int) reply {
		return clerk.with("Idempotency-Key", fmt.Sprintf("bench-%d", n)).do(b, http.MethodPost, "/v1/dossiers", body)
	})
	measure("replay", func(n int) reply {
		return clerk.with("Idempotency-Key", fmt.Sprintf("bench-%d", n)).do(b, http.MethodPost, "/v1/dossiers", body)
	})
}
