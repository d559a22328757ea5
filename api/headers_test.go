package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// consoleOrigin is the one web origin the test server lets call it from a browser.
const consoleOrigin = "https://console.test"

// TestSecurityHeaders: every answer, a success, a refusal or a failure before any route,
// tells browsers and caches to keep it to themselves.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, r := range []reply{
		h.as("").do(t, http.MethodGet, "/healthz", ""),
		h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers?limit=1", ""),
		h.as("").do(t, http.MethodGet, "/v1/dossiers", ""),
		h.as("").do(t, http.MethodGet, "/v1/no-such-thing", ""),
	} {
		for header, want := range map[string]string{
			"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "no-referrer", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := r.header.Get(header); got != want {
				t.Errorf("answer %d: %s is %q, want %q", r.status, header, got, want)
			}
		}
		if strings.Contains(r.raw, "goroutine ") || strings.Contains(r.raw, ".go:") {
			t.Errorf("answer %d shows internals: %s", r.status, r.raw)
		}
	}
}

// TestCrossOrigin: a browser page of the configured origin may call the API; any other
// origin's page is given no CORS header, so the browser keeps the answer from it.
func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	preflight := func(origin string) *http.Response {
		req := httptest.NewRequest(http.MethodOptions, "/v1/dossiers", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := h.app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ok := preflight(consoleOrigin)
	if ok.Header.Get("Access-Control-Allow-Origin") != consoleOrigin || !strings.Contains(strings.ToLower(ok.Header.Get("Access-Control-Allow-Headers")), "authorization") ||
		ok.Header.Get("Access-Control-Allow-Credentials") == "true" {
		t.Fatalf("preflight from the console: %d %v", ok.StatusCode, ok.Header)
	}
	if other := preflight("https://evil.test"); other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin allowed: %v", other.Header)
	}
	for origin, allowed := range map[string]bool{consoleOrigin: true, "https://evil.test": false} {
		r := h.as("dispatcher").with("Origin", origin).do(t, http.MethodGet, "/v1/dossiers?limit=1", "")
		if got := r.header.Get("Access-Control-Allow-Origin"); (got == origin) != allowed || (!allowed && got != "") {
			t.Errorf("GET from %s: Access-Control-Allow-Origin %q", origin, got)
		}
	}
}
