package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/domain/dossier"
	"courierd/domain/notify"
	"courierd/storage/outbound/messaging"
)

// fake is a gateway that records what it was sent and answers with status and body.
type fake struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []map[string]any
	status   int
	answer   string
}

func (f *fake) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("not JSON: %v", err)
		}
		f.mu.Lock()
		f.requests, f.bodies = append(f.requests, r), append(f.bodies, body)
		status, answer := f.status, f.answer
		f.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	return srv
}

var message = notify.Message{Phone: "0913456789", Notice: dossier.NoticeResultReady, Receipt: "7K3M-9QX2-D",
	Text:   "Hồ sơ 7K3M-9QX2-D đã có kết quả. Chọn nhận tại nhà hoặc tại bưu cục: https://x.vn/t?ma=7K3M9QX2D",
	Params: map[string]string{"receipt_code": "7K3M-9QX2-D", "link": "https://x.vn/t?ma=7K3M9QX2D"}, Ref: "d1/result_ready"}

func TestSMS(t *testing.T) {
	f := &fake{status: http.StatusOK}
	sms := messaging.SMS{URL: f.server(t).URL + "/send", Token: "secret", From: "BUUDIEN"}
	if err := sms.Send(context.Background(), message); err != nil {
		t.Fatal(err)
	}
	r, body := f.requests[0], f.bodies[0]
	if r.Method != http.MethodPost || r.URL.Path != "/send" || r.Header.Get("Authorization") != "Bearer secret" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("request: %s %s %v", r.Method, r.URL, r.Header)
	}
	if body["to"] != "84913456789" || body["from"] != "BUUDIEN" || body["text"] != message.Text || body["ref"] != "d1/result_ready" {
		t.Fatalf("body: %v", body)
	}
	// A busy gateway is retried; a refusal is not.
	f.status = http.StatusServiceUnavailable
	if err := sms.Send(context.Background(), message); err == nil || errors.As(err, new(notify.Refused)) {
		t.Fatalf("503: %v, want a temporary error", err)
	}
	f.status = http.StatusBadRequest
	if err := sms.Send(context.Background(), message); !errors.As(err, new(notify.Refused)) {
		t.Fatalf("400: %v, want a refusal", err)
	}
}

func TestZNSAndFallback(t *testing.T) {
	zalo := &fake{status: http.StatusOK, answer: `{"error":0,"message":"Success","data":{"msg_id":"1"}}`}
	zns := messaging.ZNS{URL: zalo.server(t).URL + "/message/template", Tokens: messaging.FixedToken("zalo-token"),
		Templates: map[dossier.Notice]string{dossier.NoticeResultReady: "281234"}}
	if err := zns.Send(context.Background(), message); err != nil {
		t.Fatal(err)
	}
	r, body := zalo.requests[0], zalo.bodies[0]
	data, _ := body["template_data"].(map[string]any)
	if r.Header.Get("access_token") != "zalo-token" || r.URL.Path != "/message/template" || body["phone"] != "84913456789" ||
		body["template_id"] != "281234" || body["tracking_id"] != "d1/result_ready" || data["receipt_code"] != "7K3M-9QX2-D" || data["link"] == nil {
		t.Fatalf("ZNS request: %v %v", r.Header, body)
	}

	// Zalo refuses (the phone has no Zalo): the fallback sends the SMS; a notice with no
	// template goes to SMS too.
	zalo.answer = `{"error":-108,"message":"Phone number is invalid"}`
	gateway := &fake{status: http.StatusOK}
	both := messaging.Fallback{First: zns, Then: messaging.SMS{URL: gateway.server(t).URL, Token: "t"}}
	if err := both.Send(context.Background(), message); err != nil || len(gateway.bodies) != 1 {
		t.Fatalf("fallback: %v, %d SMS", err, len(gateway.bodies))
	}
	held := message
	held.Notice = dossier.NoticeHeld
	if err := both.Send(context.Background(), held); err != nil || len(gateway.bodies) != 2 || len(zalo.bodies) != 2 {
		t.Fatalf("no template: %v, %d SMS, %d Zalo", err, len(gateway.bodies), len(zalo.bodies))
	}
	// A Zalo outage is retried, not passed to SMS (the applicant would get both later).
	zalo.status = http.StatusBadGateway
	if err := both.Send(context.Background(), message); err == nil || errors.As(err, new(notify.Refused)) || len(gateway.bodies) != 2 {
		t.Fatalf("outage: %v, %d SMS", err, len(gateway.bodies))
	}
}

// TestFallbackHonoursPreference: an applicant who prefers SMS is never sent a Zalo
// message, and one who prefers Zalo gets no SMS when Zalo refuses.
func TestFallbackHonoursPreference(t *testing.T) {
	zalo := &fake{status: http.StatusOK, answer: `{"error":-108,"message":"Phone number is invalid"}`}
	gateway := &fake{status: http.StatusOK}
	both := messaging.Fallback{
		First: messaging.ZNS{URL: zalo.server(t).URL, Tokens: messaging.FixedToken("z"), Templates: map[dossier.Notice]string{dossier.NoticeResultReady: "281234"}},
		Then:  messaging.SMS{URL: gateway.server(t).URL, Token: "t"}, FirstIs: dossier.PreferZalo, ThenIs: dossier.PreferSMS}
	sms := message
	sms.Prefer = dossier.PreferSMS
	if err := both.Send(context.Background(), sms); err != nil || len(zalo.bodies) != 0 || len(gateway.bodies) != 1 {
		t.Fatalf("prefers SMS: %v, %d Zalo, %d SMS", err, len(zalo.bodies), len(gateway.bodies))
	}
	onlyZalo := message
	onlyZalo.Prefer = dossier.PreferZalo
	if err := both.Send(context.Background(), onlyZalo); !errors.As(err, new(notify.Refused)) || len(zalo.bodies) != 1 || len(gateway.bodies) != 1 {
		t.Fatalf("prefers Zalo: %v, %d Zalo, %d SMS", err, len(zalo.bodies), len(gateway.bodies))
	}
	anyChannel := message
	anyChannel.Prefer = dossier.PreferAny
	if err := both.Send(context.Background(), anyChannel); err != nil || len(zalo.bodies) != 2 || len(gateway.bodies) != 2 {
		t.Fatalf("any: %v, %d Zalo, %d SMS", err, len(zalo.bodies), len(gateway.bodies))
	}
}

// TestSMSSendsLoginCodes: the one-time code goes to the phone with no reference to a dossier.
func TestSMSSendsLoginCodes(t *testing.T) {
	f := &fake{status: http.StatusOK}
	sms := messaging.SMS{URL: f.server(t).URL, Token: "secret", From: "BUUDIEN"}
	if err := sms.SendCode(context.Background(), "0913456789", "482913"); err != nil {
		t.Fatal(err)
	}
	body := f.bodies[0]
	if body["to"] != "84913456789" || body["ref"] != nil || !strings.Contains(body["text"].(string), "482913") ||
		f.requests[0].Header.Get("Authorization") != "Bearer secret" {
		t.Fatalf("code SMS: %v", body)
	}
}

// TestZaloOAuth: the refresh is a form POST with the app's secret in a header; the answer's
// expires_in is read as Zalo writes it (a string) or as a number, and an answer whose
// expires_in, or another field, cannot be read keeps its tokens (the refresh token sent is
// spent); errors are temporary, never refusals, and name neither token nor the secret.
func TestZaloOAuth(t *testing.T) {
	var got *http.Request
	var form map[string][]string
	status, answer := http.StatusOK, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		got, form = r, r.PostForm
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	oauth := messaging.ZaloOAuth{URL: srv.URL + "/v4/oa/access_token", AppID: "4291763606161179100", Secret: "app-secret-Zq81"}
	for expiresIn, want := range map[string]time.Duration{
		`"90000"`: 25 * time.Hour, `90000`: 25 * time.Hour, `"3600"`: time.Hour, `7200`: 2 * time.Hour,
		`""`: time.Hour, `"soon"`: time.Hour, `null`: time.Hour, `-5`: time.Hour, `{}`: time.Hour,
		`"90000","message":17,"error_name":[]`: 25 * time.Hour,
	} {
		answer = `{"access_token":"A2","refresh_token":"R2","expires_in":` + expiresIn + `}`
		access, refresh, lifetime, err := oauth.Refresh(context.Background(), "R1")
		if err != nil || access != "A2" || refresh != "R2" || lifetime != want {
			t.Errorf("expires_in %s: %q %q %v %v, want A2 R2 %v", expiresIn, access, refresh, lifetime, err, want)
		}
	}
	if got.Method != http.MethodPost || got.URL.Path != "/v4/oa/access_token" || got.Header.Get("secret_key") != "app-secret-Zq81" ||
		got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		fmt.Sprint(form) != fmt.Sprint(map[string][]string{"app_id": {"4291763606161179100"}, "grant_type": {"refresh_token"}, "refresh_token": {"R1"}}) {
		t.Fatalf("request: %s %s %v %v", got.Method, got.URL, got.Header, form)
	}
	for _, failure := range []struct {
		status      int
		answer, say string
	}{
		{http.StatusOK, `{"error":-14014,"error_name":"Invalid refresh token","error_description":"refresh token is invalid"}`, "Invalid refresh token"},
		{http.StatusOK, `{"error":-118,"message":"App is not valid"}`, "App is not valid"},
		{http.StatusOK, `{"access_token":"A2"}`, "without tokens"},
		{http.StatusBadRequest, ``, "HTTP 400"},
		{http.StatusServiceUnavailable, ``, "HTTP 503"},
		{http.StatusOK, `not json`, "unreadable"},
	} {
		status, answer = failure.status, failure.answer
		_, _, _, err := oauth.Refresh(context.Background(), "R1-secret-refresh")
		if err == nil || errors.As(err, new(notify.Refused)) || !strings.Contains(err.Error(), failure.say) ||
			strings.Contains(err.Error(), "R1-secret-refresh") || strings.Contains(err.Error(), "app-secret-Zq81") {
			t.Errorf("HTTP %d %s: %v, want a temporary error saying %q", failure.status, failure.answer, err, failure.say)
		}
	}
}

// TestFixedToken: a fixed access token is sent as it is and, once Zalo refuses it, the
// message is refused (so SMS may take it) rather than retried for ever.
func TestFixedToken(t *testing.T) {
	zalo := &fake{status: http.StatusOK, answer: `{"error":-124,"message":"Access token is invalid"}`}
	zns := messaging.ZNS{URL: zalo.server(t).URL, Tokens: messaging.FixedToken("fixed-token"),
		Templates: map[dossier.Notice]string{dossier.NoticeResultReady: "281234"}}
	if err := zns.Send(context.Background(), message); !errors.As(err, new(notify.Refused)) || len(zalo.requests) != 1 ||
		zalo.requests[0].Header.Get("access_token") != "fixed-token" {
		t.Fatalf("expired fixed token: %v after %d requests", err, len(zalo.requests))
	}
}
