package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"courierd/cmd/devicesim/sim"
	"courierd/storage/dbtest"
)

// TestDeviceSimulator runs the device simulator against a real server for a few seconds,
// with many lost answers and much time offline: every acknowledged mutation must be in
// the database exactly once, duplicates must have happened (and been answered as such),
// and every breadcrumb sent must be stored once.
func TestDeviceSimulator(t *testing.T) {
	const password = "a-long-enough-password"
	env := map[string]string{"DATABASE_URL": dbtest.NewEmpty(t), "PORT": freePort(t), "HOST": "127.0.0.1", "SHUTDOWN_TIMEOUT": "5s",
		"AUTH_KEY_DIR": t.TempDir(), "DATA_KEY_DIR": t.TempDir(), "BLOB_DIR": t.TempDir(), "SEED_PASSWORD": password}
	for _, args := range [][]string{{"keygen", env["AUTH_KEY_DIR"], "k1"}, {"migrate", "up"}, {"seed", "--dossiers", "40"}} {
		if out, err := runCmd(t, env, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), &bytes.Buffer{}, &logs) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://127.0.0.1:" + env["PORT"]
	waitFor(t, base+"/healthz")

	report, err := sim.Run(context.Background(), sim.Config{Base: base, Devices: 4, Duration: 3 * time.Second, Seed: 7, Password: password,
		Admin: "admin", CourierPrefix: "courier", OfflineShare: 0.4, FailShare: 0.2, LostAnswerShare: 0.3, Batch: 3,
		Think: 20 * time.Millisecond, DatabaseURL: env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", report)
	if report.Lost != 0 || report.Unacknowledged != 0 || report.Errors != 0 {
		t.Fatalf("lost %d, unacknowledged %d, errors %d", report.Lost, report.Unacknowledged, report.Errors)
	}
	if report.MutationsSent < 10 || report.Applied+report.Rejected+report.Duplicates < report.MutationsSent || report.Duplicates == 0 {
		t.Fatalf("sent %d, applied %d, rejected %d, duplicates %d: every mutation answered, some twice",
			report.MutationsSent, report.Applied, report.Rejected, report.Duplicates)
	}
	if report.GPSPointsSent == 0 || report.GPSPointsStored != report.GPSPointsSent {
		t.Fatalf("breadcrumbs sent %d, stored %d", report.GPSPointsSent, report.GPSPointsStored)
	}
}
