package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"courierd/api"
)

// fuzzTarget is one way outside bytes reach the server: who sends them, where, and how
// the bytes are placed in the request.
type fuzzTarget struct {
	who, method string
	path        func(h *harness, body []byte) string
	body        func(body []byte) []byte // nil: the bytes as they are
	sign        func(req *http.Request, body []byte)
}

func fixed(path string) func(*harness, []byte) string {
	return func(*harness, []byte) string { return path }
}

func signed(secret, header string) func(*http.Request, []byte) {
	return func(req *http.Request, body []byte) {
		at := time.Now().Unix()
		req.Header.Set("X-"+header+"-Timestamp", fmt.Sprint(at))
		req.Header.Set("X-"+header+"-Signature", api.SignPortalRequest([]byte(secret), at, body))
	}
}

// fuzzTargets: every decoder of outside bytes, reached through the HTTP API as a caller
// allowed to reach it (a stranger's bytes stop at authentication, which decodes nothing).
var fuzzTargets = []fuzzTarget{
	{who: "courier01@device", method: http.MethodPost, path: fixed("/v1/device/sync/push")},
	{who: "courier01@device", method: http.MethodPost, path: fixed("/v1/device/locations")},
	{who: "courier01@device", method: http.MethodGet, path: func(_ *harness, b []byte) string {
		// Past 4 KiB of request line the server refuses before reading it, which app.Test
		// reports as its own error: TestResourceLimits checks that answer on a real connection.
		return "/v1/device/sync/pull?cursor=" + url.QueryEscape(string(b[:min(len(b), 1000)]))
	}},
	{who: "courier01@device", method: http.MethodPut, path: func(_ *harness, b []byte) string {
		sum := sha256.Sum256(b)
		return "/v1/device/blobs/" + hex.EncodeToString(sum[:])
	}},
	{who: "dispatcher", method: http.MethodPost, path: func(h *harness, _ []byte) string {
		return "/v1/post-offices/" + h.demo.PostOffices[0].ID.String() + "/zones"
	}, body: func(b []byte) []byte { return append(append([]byte(`{"name":"Vùng thử","area":`), b...), '}') }},
	{who: "admin", method: http.MethodPost, path: fixed("/v1/post-offices")},
	{who: "admin", method: http.MethodPost, path: fixed("/v1/dossiers")},
	{who: "dispatcher", method: http.MethodPost, path: fixed("/v1/dispatch/plans")},
	{who: "admin", method: http.MethodPost, path: fixed("/v1/webhooks/subscribers")},
	{who: "", method: http.MethodPost, path: fixed("/v1/track")},
	{who: "", method: http.MethodPost, path: fixed("/v1/auth/login")},
	{who: "", method: http.MethodPost, path: fixed("/v1/citizen/otp")},
	{who: "", method: http.MethodPost, path: fixed("/v1/payments/callback"), sign: signed(paymentSecret, "Gateway")},
	{who: "", method: http.MethodPost, path: fixed("/v1/webhooks/portal/dossiers"), sign: signed(portalSecret, "Portal")},
	{who: "", method: http.MethodPost, path: fixed("/v1/webhooks/portal/results"), sign: signed(portalSecret, "Portal")},
}

// inputClassSeeds put what PostgreSQL refuses where the targets read it: text with a NUL,
// bytes that are not UTF-8 and lone surrogates (which encoding/json silently turns into
// U+FFFD), integers just past int4 and int8. The fuzzer missed them: a raw 0x00 byte is
// not JSON at all, so mutating bytes never makes a NUL string (that takes the six bytes
// of \u0000 inside a string of a field a decoder knows), and the seeds had no integer
// field a mutation could push past its column (task_version was in none of them).
var inputClassSeeds = []string{
	`{"username":"nobody\u0000","password":"x"}`,
	"{\"username\":\"nobody\xff\",\"password\":\"x\"}",
	`{"username":"nobody\ud800","password":"x"}`,
	`{"receipt_code":"7K3M-9QX2-D\u0000","phone_last4":"1234"}`,
	`{"name":"Vùng\u0000","area":{"type":"Polygon\u0000","coordinates":[]}}`,
	`{"mutations":[{"seq":1,"id":"6f1c2a8e-3b4d-4c5e-9f60-718293a4b5c6","type":"task.note.v1","task_id":"0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11",` +
		`"task_version":2147483648,"occurred_at":"2026-11-24T02:15:00Z","payload":{"text":"đã gọi\u0000"}}]}`,
	`{"mutations":[{"seq":9223372036854775808,"id":"6f1c2a8e-3b4d-4c5e-9f60-718293a4b5c7","type":"task.collect_fee.v1\u0000",` +
		`"task_id":"0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11","occurred_at":"2026-11-24T02:15:00Z","payload":{"amount_vnd":9223372036854775808,"method":"cash"}}]}`,
	`{"points":[{"seq":9223372036854775807,"at":"2026-11-24T02:15:00Z","lat":10.9,"lon":106.6,"accuracy_m":1e300,"battery_pct":32768}]}`,
	`{"transaction_id":"FT1\u0000","reference":"HS 7K3M9QX2D","amount_vnd":9223372036854775808,"paid_at":"2026-11-24T02:15:00Z"}`,
	`{"post_office_id":"0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11","date":"2100-01-01","time_limit_ms":2147483648,"seed":18446744073709551615}`,
	"\x00", "\xff\xfe",
}

// FuzzRequests sends outside bytes to every decoder: whatever arrives, the answer is never
// a 5xx, every refusal is a problem+json document with its stable code, and the answer is
// one the API document describes (outside the device contract).
func FuzzRequests(f *testing.F) {
	h := newHarness(f, nil)
	shapes := []string{"", "{}", "null", "[]", `{"mutations":[{"seq":1}]}`, `{"type":"Polygon","coordinates":[[[106.6,10.9],[106.7,10.9],[106.7,11],[106.6,10.9]]]}`,
		`{"receipt_code":"7K3M-9QX2-D","phone_last4":"1234"}`, `{"transaction_id":"FT1","reference":"HS 7K3M9QX2D","amount_vnd":1,"paid_at":"2026-11-24T02:15:00Z"}`}
	for i := range fuzzTargets {
		for _, seed := range append(shapes, inputClassSeeds...) {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		target := fuzzTargets[int(which)%len(fuzzTargets)]
		body := raw
		if target.body != nil {
			body = target.body(raw)
		}
		req := httptest.NewRequest(target.method, target.path(h, raw), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if target.method == http.MethodPut {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		if target.sign != nil {
			target.sign(req, body)
		}
		if target.who != "" {
			req.Header.Set("Authorization", "Bearer "+h.token(t, target.who))
			if strings.Contains(target.who, "@") {
				req.Header.Set("X-Device-ID", deviceKey(target.who))
				req.Header.Set("X-App-Version", "1.4.2")
			}
		}
		resp, err := h.app.Test(req, 10_000)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		r := readReply(t, resp)
		// Whatever arrives, the answer is one the API document describes.
		checkDocument(t, h.app, req, body, r)
		if r.status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", req.Method, req.URL.Path, body, r.status, r.raw)
		}
		if r.status < 400 {
			return
		}
		var problem struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Title  string `json:"title"`
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("%s %s with %q: %d as %q, not problem+json: %s", req.Method, req.URL.Path, body, r.status, ct, r.raw)
		}
		if err := json.Unmarshal([]byte(r.raw), &problem); err != nil || problem.Status != r.status || problem.Code == "" || problem.Title == "" {
			t.Fatalf("%s %s with %q: an incomplete problem: %d %s", req.Method, req.URL.Path, body, r.status, r.raw)
		}
	})
}
