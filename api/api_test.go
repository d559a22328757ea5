package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"courierd/api"
	"courierd/domain/catalog"
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
	app *fiber.App
	log *syncBuffer
}

const testBodyLimit = 64 << 10

func newHarness(t *testing.T, ready func(context.Context) error) *harness {
	t.Helper()
	db, _ := dbtest.New(t)
	if ready == nil {
		ready = db.Ping
	}
	logs := &syncBuffer{}
	app := api.New(api.Config{BodyLimit: testBodyLimit, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second},
		api.Services{Catalog: catalog.New(storage.NewCatalogStores(db), uuid.New), Ready: ready},
		slog.New(slog.NewJSONHandler(logs, nil)), prometheus.NewRegistry())
	return &harness{app: app, log: logs}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *harness) do(t *testing.T, method, path, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return h.send(t, req)
}

func (h *harness) send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := h.app.Test(req, 10_000)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return readReply(t, resp)
}

func readReply(t *testing.T, resp *http.Response) reply {
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
func (h *harness) listen(t *testing.T) string {
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
func (h *harness) mustCreate(t *testing.T, path, body, key string) string {
	t.Helper()
	r := h.do(t, http.MethodPost, path, body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, r.status, r.raw)
	}
	return r.body[key].(string)
}

// wantProblem checks a problem+json answer: status, code, and the fields at fault.
func wantProblem(t *testing.T, r reply, status int, code string, fields ...string) {
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

const (
	province  = `{"code":"79","name":"Thành phố Hồ Chí Minh","level":"province","kind":"city"}`
	ward      = `{"code":"25747","name":"Phường Phú Hòa","level":"commune","kind":"ward","parent_code":"79"}`
	areaJSON  = `{"type":"Polygon","coordinates":[[[106.64,10.96],[106.70,10.96],[106.70,11.00],[106.64,11.00],[106.64,10.96]]]}`
	officeFmt = `{"code":"820100","name":"Bưu cục Thủ Dầu Một","kind":"post_office","admin_unit_code":"25747","address":"1 Đại lộ Bình Dương","location":{"lat":10.98,"lon":106.67},"service_area":%s}`
	procedure = `{"code":"1.001193","name":"Đăng ký khai sinh","agency_kind":"commune_committee","processing_days":3,"fee_vnd":8000,"postage_vnd":25000,"pickup_by_post":true,"return_by_post":true,"identity_check_required":false,"proxy_allowed":true,"documents":[{"name":"Tờ khai","form":"original","quantity":1}]}`
)

func office(area string) string { return strings.Replace(officeFmt, "%s", area, 1) }

// seedUnits creates the province and ward every test below hangs records on.
func seedUnits(t *testing.T, h *harness) {
	t.Helper()
	h.mustCreate(t, "/v1/admin-units", province, "code")
	h.mustCreate(t, "/v1/admin-units", ward, "code")
}

func newRequest(method, path, body, contentType string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return req
}
