package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"courierd/domain/dossier"
	"courierd/domain/notify"
)

// TestNotifierChannels: each NOTIFY_CHANNEL reaches the gateways it names; under zns+sms a
// message Zalo refuses, including for a fixed access token that has expired, goes by SMS.
func TestNotifierChannels(t *testing.T) {
	var zaloCalls, smsCalls atomic.Int32
	zaloAnswer := `{"error":0}`
	zalo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		zaloCalls.Add(1)
		_, _ = w.Write([]byte(zaloAnswer))
	}))
	defer zalo.Close()
	sms := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { smsCalls.Add(1) }))
	defer sms.Close()
	message := notify.Message{Phone: "0913456789", Notice: dossier.NoticeResultReady, Text: "x", Params: map[string]string{}, Ref: "d1/result_ready"}
	for _, c := range []struct {
		channel, zaloAnswer string
		zalo, sms           int32
	}{
		{"sms", `{"error":0}`, 0, 1},
		{"zns", `{"error":0}`, 1, 0},
		{"zns+sms", `{"error":0}`, 1, 0},
		{"zns+sms", `{"error":-108,"message":"Phone number is invalid"}`, 1, 1},
		{"zns+sms", `{"error":-124,"message":"Access token is invalid"}`, 1, 1},
	} {
		zaloAnswer = c.zaloAnswer
		zaloCalls.Store(0)
		smsCalls.Store(0)
		s, err := Load(envOf(map[string]string{"NOTIFY_CHANNEL": c.channel, "SMS_GATEWAY_URL": sms.URL, "ZNS_URL": zalo.URL,
			"ZNS_ACCESS_TOKEN": "fixed-access-token", "ZNS_TEMPLATES": "result_ready=281234"}))
		if err != nil {
			t.Fatal(err)
		}
		notifier, err := applicantNotifier(context.Background(), s, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := notifier.(notify.Notifier).Channel.Send(context.Background(), message); err != nil ||
			zaloCalls.Load() != c.zalo || smsCalls.Load() != c.sms {
			t.Errorf("%s, Zalo answering %s: %v; %d Zalo and %d SMS requests, want %d and %d",
				c.channel, c.zaloAnswer, err, zaloCalls.Load(), smsCalls.Load(), c.zalo, c.sms)
		}
	}
}
