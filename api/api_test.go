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

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"courierd/api"
	"courierd/domain/applicant"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/counter"
	"courierd/domain/demo"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/payment"
	"courierd/domain/pii"
	"courierd/domain/webhook"
	"courierd/storage"
	"courierd/storage/dbtest"
	"courierd/storage/outbound"
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
	app      *api.Server
	log      *syncBuffer
	db       *storage.DB
	demo     demo.Dataset
	tokensMu sync.Mutex
	tokens   map[string]*tokenEntry
	// keyPath is the signing key, so that tests can forge tokens the server would accept
	// but for the one flaw each test puts in.
	keyPath  string
	blobDir  string
	ready    func(context.Context) error
	dossiers *dossier.Service
	hooks    *webhook.Service
	// clock is the time sessions are issued and checked by, which a test may move on.
	clock *testClock
	// alerts reach dispatchers' screens; a test that wants them runs storage.WatchAlerts.
	alerts *fieldsync.Alerts
	// minAppVersion is MIN_APP_VERSION ("1.2.0" when empty).
	minAppVersion string
	// mapTileURL is MAP_TILE_URL (none when empty).
	mapTileURL string
	// alertStreamFor and alertHeartbeat shape dispatchers' alert streams (300 ms and the
	// server's default when zero).
	alertStreamFor, alertHeartbeat time.Duration
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
	h := &harness{db: db, demo: ds, keyPath: keyPath, ready: ready, blobDir: t.TempDir(), clock: &testClock{},
		alerts: fieldsync.NewAlerts()}
	return h.withRevocations(t, auth.NewRevocationList())
}

// withRevocations is another server over h's database and keys, with its own revocation
// list: a second courierd process.
func (h *harness) withRevocations(t testing.TB, revoked *auth.RevocationList) *harness {
	t.Helper()
	authService, err := auth.NewService(storage.NewAuthStore(h.db), auth.Config{AccessTTL: 10 * time.Minute, RefreshTTL: 30 * 24 * time.Hour,
		Throttle: auth.DefaultThrottle, MinAppVersion: cmp.Or(h.minAppVersion, "1.2.0")}, revoked, h.clock.now, rand.Reader, uuid.New)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := api.LoadKeyDir(filepath.Dir(h.keyPath), "")
	if err != nil {
		t.Fatal(err)
	}
	dataKey, err := pii.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := pii.NewKeyring(map[string][]byte{"k": dataKey}, "k", "k", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(storage.NewCatalogStores(h.db), uuid.New)
	queue, err := storage.NewQueue(h.db)
	if err != nil {
		t.Fatal(err)
	}
	blobStore, err := storage.NewFileBlobs(h.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	dossierStore := storage.NewDossierStore(h.db, queue)
	citizens := auth.NewCitizens(storage.NewAuthStore(h.db), dossierStore, auth.LogSender{Log: slog.New(slog.NewJSONHandler(logs, nil)).Info},
		keyring.Index, auth.DefaultOTP, time.Now, uuid.New)
	dossiers := dossier.NewService(dossierStore, cat, keyring, dossier.LogNotifier{Log: slog.New(slog.NewJSONHandler(logs, nil)).Info},
		dossier.DefaultClock, time.Now, rand.Reader, uuid.New)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	// Subscribers in tests are fake servers on loopback.
	hooks := webhook.NewService(storage.NewWebhookStore(h.db, queue), dossiers,
		storage.HTTPPoster{Client: outbound.Client(5*time.Second, true, "WEBHOOK_ALLOW_PRIVATE")}, time.Now, uuid.New)
	app := api.New(api.Config{BodyLimit: testBodyLimit, BlobLimit: testBlobLimit, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second,
		PushSlots: 2, Keys: keys, AccessTTL: 10 * time.Minute, CitizenTTL: 30 * time.Minute, PortalSecret: []byte(portalSecret), PaymentSecret: []byte(paymentSecret), Now: h.clock.now, AlertStreamFor: cmp.Or(h.alertStreamFor, 300*time.Millisecond), AlertHeartbeat: h.alertHeartbeat,
		CORSOrigins: []string{consoleOrigin}, MetricsToken: testMetricsToken, MapTileURL: h.mapTileURL, MapAttribution: "© test tiles", DeprecatedBelow: "1.3.0", DeprecatedSince: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Sunset: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		api.Services{Catalog: cat, Auth: authService, Audit: audit.NewLog(storage.NewAuditStore(h.db)), Ready: h.ready,
			Dossiers: dossiers, Citizens: citizens, Sync: fieldsync.NewService(storage.NewFeedStore(h.db), keyring.Index, dossierStore, blobStore),
			Blobs: fieldsync.NewBlobs(blobStore, testBlobLimit), Tracks: fieldsync.NewTracks(storage.NewTrackStore(h.db), time.Now),
			Quarantine: fieldsync.NewQuarantine(storage.NewPushStore(h.db, dossierStore), time.Now),
			Reports:    fieldsync.NewReports(storage.NewPushStore(h.db, dossierStore)), Alerts: h.alerts,
			Push:     fieldsync.NewPusher(storage.NewPushStore(h.db, dossierStore), dossiers),
			Limiter:  auth.NewLimiter(storage.NewAuthStore(h.db), time.Now),
			Webhooks: hooks,
			Payments: payment.NewService(storage.NewPaymentStore(h.db), collectionAccount(), dossiers, time.Now, uuid.New),
			Dispatch: dispatch.NewService(storage.NewDispatchStore(h.db, dossierStore), cat, dossiers, dispatch.Config{}, dossier.DefaultClock, time.Now, uuid.New),
			Counter:  counter.NewService(storage.NewCounterStore(h.db, dossierStore), dossiers, cat, time.Now, uuid.New), Applicants: applicant.NewService(storage.NewApplicantStore(h.db), dossiers, cat, time.Now)},
		slog.New(slog.NewJSONHandler(logs, nil)), prometheus.NewRegistry())
	return &harness{app: app, log: logs, db: h.db, demo: h.demo, tokens: map[string]*tokenEntry{}, keyPath: h.keyPath, ready: h.ready, dossiers: dossiers, hooks: hooks, blobDir: h.blobDir,
		clock: h.clock, alerts: h.alerts, minAppVersion: h.minAppVersion, mapTileURL: h.mapTileURL, alertStreamFor: h.alertStreamFor, alertHeartbeat: h.alertHeartbeat}
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
	checkContract(t, req, reqBody, r)
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
