package api_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"courierd/api"
	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/domain/demo"
	"courierd/domain/dossier"
	"courierd/domain/live"
	"courierd/domain/payment"
	"courierd/domain/webhook"
	"courierd/storage"
	"courierd/storage/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	app  *api.Server
	log  *syncBuffer
	db   *storage.DB
	demo demo.Dataset
	// demoClock is the dossier service's: playDemo sets it back to each dossier's age.
	demoClock *demo.Clock
	tokensMu  sync.Mutex
	tokens    map[string]*tokenEntry
	// keyPath is the signing key, so that tests can forge tokens the server would accept
	// but for the one flaw each test puts in.
	keyPath string
	// dataKeyDir holds the data key that seals citizens' ID numbers, shared by h's servers.
	dataKeyDir string
	blobDir    string
	// built is the whole application behind app (its jobs start with startWorkers).
	built    *app.App
	ready    func(context.Context) error
	dossiers *dossier.Service
	hooks    *webhook.Service
	// clock is the time sessions are issued and checked by, which a test may move on.
	clock *testClock
	// live reaches dispatchers' screens; a test that wants it runs storage.WatchLive.
	live *live.Hub
	// dispatchClock is the dispatch service's time, which a test may move on to let a
	// courier fall behind.
	dispatchClock *testClock
	// minAppVersion is MIN_APP_VERSION ("1.2.0" when empty).
	minAppVersion string
	// mapTileURL is MAP_TILE_URL (none when empty).
	mapTileURL string
	// alertStreamFor and alertHeartbeat shape dispatchers' live streams (the server's
	// defaults when zero: a stream lives minutes, so that a test counting events misses none
	// between two streams).
	alertStreamFor, alertHeartbeat time.Duration
	// clientRateLimit is CLIENT_RATE_LIMIT (none when 0).
	clientRateLimit int
	// settings, when set, changes the server's settings further (e.g. a routing engine).
	settings func(*app.Settings)
}

// testClock is the wall clock moved on by an offset.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// forgetTokens drops the cached logins, for a test that moved the clock past them.
func (h *harness) forgetTokens() {
	h.tokensMu.Lock()
	defer h.tokensMu.Unlock()
	h.tokens = map[string]*tokenEntry{}
}

const (
	portalSecret = "a shared secret of the provincial portal"

	paymentSecret = "a shared secret of the bank's payment gateway"
	testBodyLimit = 1 << 20
	// testMetricsToken is what the test server's scraper would send.
	testMetricsToken = "a metrics token of the test server, long enough"
	testBlobLimit    = 2 << 20
	testPassword     = "correct horse battery"
)

// passwordHash is computed once: argon2id is slow on purpose.
var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(testPassword, rand.Reader)
	if err != nil {
		panic(err)
	}
	return h
})

// newHarness serves a fresh database holding the demo catalog and accounts (no
// citizens); ready replaces the readiness probe when not nil.
func newHarness(t testing.TB, ready func(context.Context) error) *harness {
	t.Helper()
	db, _ := dbtest.New(t)
	ds := demo.Build(1, 0)
	for i := range ds.Accounts {
		ds.Accounts[i].PasswordHash = passwordHash()
	}
	if _, err := storage.SeedDemo(context.Background(), db, ds, false); err != nil {
		t.Fatal(err)
	}
	if ready == nil {
		ready = db.Ping
	}
	keyDir := t.TempDir()
	keyPath, err := api.WriteKeyFile(keyDir, "k1")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: db, demo: ds, demoClock: demo.NewClock(ds), keyPath: keyPath, dataKeyDir: t.TempDir(), ready: ready, blobDir: t.TempDir(), clock: &testClock{},
		live: live.NewHub(), dispatchClock: &testClock{}}
	return h.withRevocations(t, auth.NewRevocationList())
}

// newEveryRouteHarness is newHarness for tests that call every route in process and wait
// for each whole answer: its live streams end after 300 ms instead of living minutes.
func newEveryRouteHarness(t testing.TB) *harness {
	h := newHarness(t, nil)
	h.alertStreamFor = 300 * time.Millisecond
	return h.withRevocations(t, auth.NewRevocationList())
}

// withRevocations is another server over h's database and keys, with its own revocation
// list: a second courierd process. It is built as courierd builds itself (app.Build),
// with the test's settings and clock.
func (h *harness) withRevocations(t testing.TB, revoked *auth.RevocationList) *harness {
	t.Helper()
	s := app.Defaults()
	s.AuthKeyDir, s.DataKeyDir, s.BlobDir = filepath.Dir(h.keyPath), h.dataKeyDir, h.blobDir
	s.MinAppVersion = cmp.Or(h.minAppVersion, "1.2.0")
	s.BodyLimit, s.BlobMaxBytes, s.PushSlots = testBodyLimit, testBlobLimit, 2
	s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	s.PortalSecret, s.PaymentSecret, s.MetricsToken = portalSecret, paymentSecret, testMetricsToken
	s.CORSOrigins, s.MapTileURL, s.MapAttribution = []string{consoleOrigin}, h.mapTileURL, "© test tiles"
	s.DeprecatedBelow, s.DeprecatedSince, s.Sunset = "1.3.0", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	s.CollectionAccount = collectionAccount()
	s.ClientRateLimit = h.clientRateLimit
	s.OTPSender = "log"
	s.JobPoll = 100 * time.Millisecond
	// Subscribers in tests are fake servers on loopback.
	s.WebhookAllowPrivate = true
	// A Zalo app, so that its token's age is exported; notices still go to the log.
	s.ZaloAppID, s.ZaloAppSecret = testZaloApp, "zalo-app-secret-of-the-tests"
	if h.settings != nil {
		h.settings(&s)
	}
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	a, err := app.Build(context.Background(), s, app.Deps{DB: h.db, SessionClock: h.clock.now, DossierClock: h.demoClock.Now, Revocations: revoked, Live: h.live, DispatchClock: h.dispatchClock.now, Ready: h.ready,
		AlertStreamFor: h.alertStreamFor, AlertHeartbeat: h.alertHeartbeat}, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return &harness{app: a.Server, built: a, log: logs, db: h.db, demo: h.demo, demoClock: h.demoClock, tokens: map[string]*tokenEntry{}, keyPath: h.keyPath, dataKeyDir: h.dataKeyDir,
		ready: h.ready, dossiers: a.Dossiers, hooks: a.Webhooks, blobDir: h.blobDir,
		clock: h.clock, live: h.live, dispatchClock: h.dispatchClock, minAppVersion: h.minAppVersion, mapTileURL: h.mapTileURL, alertStreamFor: h.alertStreamFor, alertHeartbeat: h.alertHeartbeat,
		clientRateLimit: h.clientRateLimit, settings: h.settings}
}

// watchLive feeds h's live streams from the database until t ends, as a serving process
// does, and returns once what commits reaches them.
func (h *harness) watchLive(t testing.TB) {
	t.Helper()
	go storage.WatchLive(t.Context(), h.db, h.live, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for began := time.Now(); !h.live.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Since(began) > 30*time.Second {
			t.Fatal("the live feed does not listen after 30 s")
		}
	}
}

// A username with an @ names a courier logged in from a registered handheld:
// "courier01@device", or "courier01@second" for another handheld of the same courier.

// deviceKey is the handheld a test courier uses.
func deviceKey(username string) string {
	return "test-handheld-" + strings.ReplaceAll(username, "@", "-")
}

// token logs username in (once per harness) and returns its access token; a username
// ending in @device registers the courier's handheld and logs in from it.
func (h *harness) token(t testing.TB, username string) string {
	t.Helper()
	// One login per user, even when goroutines ask at once: a burst of logins would be
	// throttled like any other burst.
	h.tokensMu.Lock()
	e := h.tokens[username]
	if e == nil {
		e = &tokenEntry{}
		h.tokens[username] = e
	}
	h.tokensMu.Unlock()
	e.once.Do(func() { e.token, e.failure = h.logIn(t, username) })
	if e.failure != "" {
		t.Fatal(e.failure)
	}
	return e.token
}

// tokenEntry is one user's login, made once.
type tokenEntry struct {
	once    sync.Once
	token   string
	failure string
}

// logIn logs username in; a username ending in @label registers the courier's handheld
// and logs in from it. It reports failure instead of failing, as it may run for another
// goroutine's test.
func (h *harness) logIn(t testing.TB, username string) (string, string) {
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, testPassword)
	if courier, _, onDevice := strings.Cut(username, "@"); onDevice {
		reg := h.as(courier).do(t, http.MethodPost, "/v1/devices",
			fmt.Sprintf(`{"device_id":%q,"model":"Test","os":"Android 14","app_version":"1.4.2"}`, deviceKey(username)))
		if reg.status != http.StatusOK {
			return "", fmt.Sprintf("register %s's handheld: %d %s", courier, reg.status, reg.raw)
		}
		body = fmt.Sprintf(`{"username":%q,"password":%q,"device_id":%q}`, courier, testPassword, deviceKey(username))
	}
	r := h.as("").do(t, http.MethodPost, "/v1/auth/login", body)
	if r.status != http.StatusOK {
		return "", fmt.Sprintf("login %s: %d %s", username, r.status, r.raw)
	}
	return r.body["access_token"].(string), ""
}

// client sends requests as one caller: a bearer token and extra headers.
type client struct {
	h       *harness
	token   string
	headers map[string]string
}

// as is a client with username's token; "" is an anonymous client.
func (h *harness) as(username string) client {
	return client{h: h, headers: map[string]string{}, token: username}
}

func (c client) with(header, value string) client {
	headers := map[string]string{header: value}
	for k, v := range c.headers {
		headers[k] = v
	}
	c.headers = headers
	return c
}

func (c client) bearer(token string) client {
	return c.with("Authorization", "Bearer "+token)
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request as the demo admin.
func (h *harness) do(t testing.TB, method, path, body string) reply {
	t.Helper()
	return h.as("admin").do(t, method, path, body)
}

func (c client) do(t testing.TB, method, path, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(t, req)
}

func (c client) send(t testing.TB, req *http.Request) reply {
	t.Helper()
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.h.token(t, c.token))
		if strings.Contains(c.token, "@") {
			req.Header.Set("X-Device-ID", deviceKey(c.token))
		}
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	// A device call is rebuilt by the generated contract client, as a handheld would build
	// it, and its answer must be one the generated client reads.
	parse := func(*http.Response) error { return nil }
	if built, readAnswer, ok := viaGeneratedClient(t, req, reqBody); ok {
		req, parse = built, readAnswer
	}
	resp, err := c.h.app.Test(req, 10_000)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	r := readReply(t, resp)
	// Tests hold every call to its document; benchmarks time the server alone.
	if _, timing := t.(*testing.B); !timing {
		checkContract(t, req, reqBody, r)
		checkDocument(t, c.h.app, req, reqBody, r)
	}
	if err := parse(&http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(strings.NewReader(r.raw))}); err != nil {
		t.Fatalf("the generated client cannot read %s %s → %d %s: %v", req.Method, req.URL.Path, r.status, r.raw, err)
	}
	return r
}

func readReply(t testing.TB, resp *http.Response) reply {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// listen serves the app on a loopback port until the test ends and returns its base URL.
func (h *harness) listen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.app.Listener(ln) }()
	t.Cleanup(func() { _ = h.app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// mustCreate posts body and returns the created record's id (or code).
func (h *harness) mustCreate(t testing.TB, path, body, key string) string {
	t.Helper()
	r := h.do(t, http.MethodPost, path, body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, r.status, r.raw)
	}
	return r.body[key].(string)
}

// wantProblem checks a problem+json answer: status, code, and the fields at fault.
func wantProblem(t testing.TB, r reply, status int, code string, fields ...string) {
	t.Helper()
	if r.status != status || r.body["code"] != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	if r.body["status"] != float64(status) || r.body["type"] == "" || r.body["title"] == "" || r.body["request_id"] == "" {
		t.Fatalf("incomplete problem body: %s", r.raw)
	}
	var got []string
	if errs, ok := r.body["errors"].([]any); ok {
		for _, e := range errs {
			got = append(got, e.(map[string]any)["field"].(string))
		}
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Fatalf("fields at fault %v, want %v (%s)", got, fields, r.raw)
	}
}

// Records of a province the demo data does not cover, so tests add to the demo catalog
// without colliding with it.
const (
	province  = `{"code":"01","name":"Thành phố Hà Nội","level":"province","kind":"city"}`
	ward      = `{"code":"00004","name":"Phường Ba Đình","level":"commune","kind":"ward","parent_code":"01"}`
	areaJSON  = `{"type":"Polygon","coordinates":[[[105.81,21.02],[105.85,21.02],[105.85,21.05],[105.81,21.05],[105.81,21.02]]]}`
	officeFmt = `{"code":"100000","name":"Bưu cục Ba Đình","kind":"post_office","admin_unit_code":"00004","address":"1 Điện Biên Phủ","location":{"lat":21.03,"lon":105.83},"service_area":%s}`
	procedure = `{"code":"1.009999","name":"Thủ tục thử nghiệm cấp giấy xác nhận","agency_kind":"commune_committee","processing_days":3,"fee_vnd":8000,"postage_vnd":25000,"pickup_by_post":true,"return_by_post":true,"identity_check_required":false,"proxy_allowed":true,"documents":[{"name":"Tờ khai","form":"original","quantity":1}]}`
)

func office(area string) string { return strings.Replace(officeFmt, "%s", area, 1) }

// seedUnits creates the province and ward every test below hangs records on.
func seedUnits(t testing.TB, h *harness) {
	t.Helper()
	h.mustCreate(t, "/v1/admin-units", province, "code")
	h.mustCreate(t, "/v1/admin-units", ward, "code")
}

func newRequest(method, path, body, contentType string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return req
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func unb64url(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// collectionAccount is where the harness's VietQR codes pay into.
func collectionAccount() payment.Account {
	return payment.Account{BankBIN: "970415", Number: "113366668888"}
}
