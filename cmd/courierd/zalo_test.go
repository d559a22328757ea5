package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"courierd/cmd/courierd/app"
	"courierd/domain/notify"
	"courierd/storage/dbtest"
)

const (
	zaloRefreshToken = "refresh-token-from-the-zalo-console-8Qm2"
	zaloAccessToken  = "fixed-access-token-kP7w"
	zaloSecret       = "app-secret-Zq81"
)

// TestZaloTokenCommand: an operator stores the OA's refresh token from standard input and
// replaces it later; status tells when, never the token; nothing prints or logs it, and the
// database holds it sealed only.
func TestZaloTokenCommand(t *testing.T) {
	ctx := context.Background()
	db, url := dbtest.New(t)
	cfg, err := app.Load(envOf(map[string]string{"DATABASE_URL": url, "DATA_KEY_DIR": t.TempDir(),
		"ZALO_APP_ID": "4291763606161179100", "ZALO_APP_SECRET": zaloSecret, "NOTIFY_CHANNEL": "zns"}))
	if err != nil {
		t.Fatal(err)
	}
	var logs, printed bytes.Buffer
	log := app.NewLogger(cfg, &logs)
	zaloToken := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := app.ZaloToken(ctx, cfg, args, strings.NewReader(stdin), &out, log)
		printed.Write(out.Bytes())
		return out.String(), err
	}
	if _, err := zaloToken("", "status"); !errors.Is(err, notify.ErrNoZaloToken) {
		t.Fatalf("status before any token: %v", err)
	}
	// A server started before the token is stored says what to do.
	core, err := app.OpenCore(ctx, cfg, app.Deps{DB: db}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "zalo-token set") {
		t.Fatalf("no warning that the refresh token is missing: %s", logs.String())
	}
	for _, bad := range [][]string{{}, {"get"}, {"set", "extra"}} {
		if _, err := zaloToken(zaloRefreshToken, bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Fatalf("zalo-token %v: %v", bad, err)
		}
	}
	if _, err := zaloToken("\n", "set"); err == nil {
		t.Fatal("an empty refresh token was stored")
	}
	for version, stdin := range []string{zaloRefreshToken + "\n", "  " + zaloRefreshToken + "-2"} {
		if out, err := zaloToken(stdin, "set"); err != nil || !strings.Contains(out, "stored the refresh token") {
			t.Fatalf("set: %v %s", err, out)
		}
		out, err := zaloToken("", "status")
		if err != nil || !strings.Contains(out, fmt.Sprintf("version %d", version+1)) || !strings.Contains(out, "expires none yet") {
			t.Fatalf("status after set #%d: %v %s", version+1, err, out)
		}
	}
	var stored string
	if err := db.SQL().QueryRow(`SELECT zalo_tokens::text FROM zalo_tokens`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	for _, where := range []string{stored, printed.String(), logs.String()} {
		if strings.Contains(where, "refresh-token-from") || strings.Contains(where, zaloSecret) {
			t.Fatalf("a secret in clear: %s", where)
		}
	}
}

// TestZaloStartup: a server that sends Zalo messages needs the app's id and secret, or a
// fixed access token, which it warns will expire; it never logs either.
func TestZaloStartup(t *testing.T) {
	db, _ := dbtest.New(t)
	base := map[string]string{"DATA_KEY_DIR": t.TempDir(), "NOTIFY_CHANNEL": "zns+sms", "SMS_GATEWAY_URL": "http://127.0.0.1:1/send"}
	for _, c := range []struct {
		name      string
		env       map[string]string
		fails     bool
		logs, not string
	}{
		{"nothing to send with", nil, true, "", ""},
		{"an app without its secret", map[string]string{"ZALO_APP_ID": "4291763606161179100"}, true, "", ""},
		{"a fixed token", map[string]string{"ZNS_ACCESS_TOKEN": zaloAccessToken}, false, "ZNS_ACCESS_TOKEN is a fixed Zalo access token", ""},
		{"an app and its secret", map[string]string{"ZALO_APP_ID": "4291763606161179100", "ZALO_APP_SECRET": zaloSecret, "ZNS_ACCESS_TOKEN": zaloAccessToken},
			false, "zalo-token set", "ZNS_ACCESS_TOKEN is a fixed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, c.env)
			cfg, err := app.Load(envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			core, err := app.OpenCore(context.Background(), cfg, app.Deps{DB: db}, app.NewLogger(cfg, &logs))
			if err == nil {
				defer core.Close(context.Background())
			}
			if (err != nil) != c.fails || (c.fails && !strings.Contains(err.Error(), "ZALO_APP_SECRET")) {
				t.Fatalf("start: %v, want failure %v naming ZALO_APP_SECRET", err, c.fails)
			}
			if !strings.Contains(logs.String(), c.logs) || (c.not != "" && strings.Contains(logs.String(), c.not)) ||
				strings.Contains(logs.String(), zaloAccessToken) || strings.Contains(logs.String(), zaloSecret) {
				t.Fatalf("logs: %s, want %q and not %q, and no secret", logs.String(), c.logs, c.not)
			}
		})
	}
}
