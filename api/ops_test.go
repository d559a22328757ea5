package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"courierd/storage"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	dbDown := errors.New("dial tcp 127.0.0.1:5432: connection refused")
	var down atomic.Bool
	h := newHarness(t, func(context.Context) error {
		if down.Load() {
			return dbDown
		}
		return nil
	})

	if r := h.do(t, http.MethodGet, "/healthz", ""); r.status != http.StatusOK {
		t.Fatalf("/healthz: %d", r.status)
	}
	if r := h.do(t, http.MethodGet, "/readyz", ""); r.status != http.StatusOK || r.body["status"] != "ready" {
		t.Fatalf("/readyz: %d %s", r.status, r.raw)
	}
	readySeries := func(want string) {
		t.Helper()
		if m := h.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.raw, "\ncourierd_ready "+want+"\n") {
			t.Fatalf("/metrics lacks courierd_ready %s", want)
		}
	}
	readySeries("1")
	down.Store(true)
	readySeries("0")
	r := h.do(t, http.MethodGet, "/readyz", "")
	wantProblem(t, r, http.StatusServiceUnavailable, "UNAVAILABLE")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if strings.Contains(r.raw, "5432") {
		t.Fatalf("readiness leaks internals to the client: %s", r.raw)
	}
	if h := h.do(t, http.MethodGet, "/healthz", ""); h.status != http.StatusOK {
		t.Fatal("/healthz must stay up while the database is away: the process is alive")
	}
}

func TestPanicIsInternalAndLoggedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(context.Context) error { panic("secret detail 0912345678") })
	r := h.do(t, http.MethodGet, "/readyz", "")
	wantProblem(t, r, http.StatusInternalServerError, "INTERNAL")
	if strings.Contains(r.raw, "secret") {
		t.Fatalf("internals reached the client: %s", r.raw)
	}
	logs := h.log.String()
	if n := strings.Count(logs, `"msg":"request failed"`); n != 1 {
		t.Fatalf("the failure was logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, r.body["request_id"].(string)) {
		t.Fatal("the log line does not carry the request id the client was given")
	}
}

func TestAccessLogHasNoPersonalData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	officeID := h.mustCreate(t, "/v1/post-offices", office(areaJSON), "id")
	body := `{"staff_code":"HN01","name":"Nguyễn Văn An","phone":"0912345678","post_office_id":"` + officeID +
		`","vehicle_kind":"motorbike","capacity_items":30,"shift_start":"07:30","shift_end":"17:00","skills":["identity_check"]}`
	h.mustCreate(t, "/v1/couriers", body, "id")
	h.do(t, http.MethodGet, "/v1/couriers?q=Nguyen&phone=0912345678", "")
	logs := h.log.String()
	for _, secret := range []string{"0912345678", "Nguy", "Nguyen"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `"route":"/v1/couriers"`) || !strings.Contains(logs, `"status":201`) || !strings.Contains(logs, `"request_id"`) {
		t.Fatalf("the access log lacks route, status or request id:\n%s", logs)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.do(t, http.MethodGet, "/v1/procedures", "")
	h.do(t, http.MethodGet, "/v1/procedures/whatever", "")
	h.do(t, http.MethodGet, "/random/scanner/path", "")
	r := h.do(t, http.MethodGet, "/metrics", "")
	for _, want := range []string{
		`courierd_http_requests_total{method="GET",route="/v1/procedures",status="200"} 1`,
		`courierd_http_requests_total{method="GET",route="/v1/procedures/:key",status="404"} 1`,
		`courierd_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`courierd_http_request_duration_seconds_bucket{method="GET",route="/v1/procedures",status="200",le="`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Fatalf("metrics lack %s:\n%s", want, r.raw)
		}
	}
	// Who may read them: an admin, or a scraper with the metrics token; nobody else.
	for _, c := range []struct {
		who    client
		status int
	}{
		{h.as(""), http.StatusUnauthorized},
		{h.as("").bearer("a-token-that-is-not-the-metrics-token!!"), http.StatusUnauthorized},
		{h.as("dispatcher"), http.StatusForbidden},
		{h.as(""), http.StatusOK},
	} {
		if c.status == http.StatusOK {
			c.who = c.who.bearer(testMetricsToken)
		}
		if got := c.who.do(t, http.MethodGet, "/metrics", ""); got.status != c.status {
			t.Errorf("/metrics: %d, want %d", got.status, c.status)
		}
	}
}

// TestGracefulShutdown starts a real listener, begins a slow request, shuts down, and
// checks the request still got its answer while new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := newHarness(t, func(context.Context) error {
		close(started)
		time.Sleep(500 * time.Millisecond)
		return nil
	})
	url := h.listen(t)

	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			answered <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-started
	if err := h.app.ShutdownWithTimeout(5 * time.Second); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if status := <-answered; status != http.StatusOK {
		t.Fatalf("the in-flight request got %d, want 200", status)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("the server still accepts requests after shutdown")
	}
}

const testZaloApp = "4318000000000000001"

// TestZaloTokenAgeExported: /metrics says when the Zalo tokens were stored, 0 before any
// was, which deploy/alerts.yaml reads as a week and more.
func TestZaloTokenAgeExported(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	exported := func(want string) {
		t.Helper()
		if m := h.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.raw, "\ncourierd_zalo_tokens_refreshed_timestamp_seconds "+want+"\n") {
			t.Fatalf("/metrics lacks courierd_zalo_tokens_refreshed_timestamp_seconds %s", want)
		}
	}
	exported("0")
	stored := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	if err := storage.NewZaloTokenStore(h.db).ReplaceZaloRefreshToken(context.Background(), testZaloApp, "sealed-elsewhere", stored); err != nil {
		t.Fatal(err)
	}
	exported(strconv.FormatFloat(float64(stored.Unix()), 'g', -1, 64))
}
