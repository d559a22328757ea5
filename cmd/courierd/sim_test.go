package main

import (
	"bytes"
	"context"
	"maps"
	"slices"
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
	base, env := simServer(t, nil)
	report, err := sim.Run(context.Background(), sim.Config{Base: base, Devices: 4, Duration: 3 * time.Second, Seed: 7,
		Password: simPassword, Admin: "admin", CourierPrefix: "courier", OfflineShare: 0.4, FailShare: 0.2, LostAnswerShare: 0.3, Batch: 3,
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
	if report.FactsApplied == 0 || report.FactsApplied > report.Applied {
		t.Fatalf("facts applied %d of %d applied: pickups and failed visits are facts", report.FactsApplied, report.Applied)
	}
	if report.GPSPointsSent == 0 || report.GPSPointsStored != report.GPSPointsSent {
		t.Fatalf("breadcrumbs sent %d, stored %d", report.GPSPointsSent, report.GPSPointsStored)
	}
}

// TestNationalDay lives two hours of a working day in ten seconds (liveDay), then another
// day with the same fleet, as make bench lives one day per factor: the second day's
// report counts its own calls and points, not the first day's again.
func TestNationalDay(t *testing.T) {
	base, env := simServer(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	fleet, day, first := liveDay(t, base, env["DATABASE_URL"], 10*time.Second)
	second, err := fleet.Day(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	if second.GPSPointsSent > first.GPSPointsSent*3/2 || second.Calls["pull"].Answered > first.Calls["pull"].Answered*3/2 || second.Lost != 0 {
		t.Fatalf("one day after another: %d then %d GPS points, %d then %d pulls, %d lost", first.GPSPointsSent, second.GPSPointsSent,
			first.Calls["pull"].Answered, second.Calls["pull"].Answered, second.Lost)
	}
}

// liveDay lives two hours of a working day in d with six handhelds against base, many of
// them out of coverage or missing answers: every kind of call a device makes must be
// answered, every queue drain, nothing acknowledged be lost, every GPS point (one per
// 10 s of life) be stored once, and applicants' lookups and dispatchers' re-plans be
// answered. The server must trust the loopback's X-Forwarded-For (each applicant is an
// address of their own). It returns the fleet and its day, to live again.
func liveDay(t *testing.T, base, databaseURL string, d time.Duration) (*sim.Fleet, sim.DayConfig, sim.DayReport) {
	t.Helper()
	day := sim.DefaultDay(sim.Config{Base: base, Devices: 6, Duration: d, Seed: 11, Password: simPassword, Admin: "admin",
		CourierPrefix: "courier", OfflineShare: 0.3, FailShare: 0.2, LostAnswerShare: 0.2, Batch: 5, DatabaseURL: databaseURL,
		Drain: 20 * time.Second})
	day.Factor, day.PasswordShare, day.TracksPerStop, day.ReplansPerOffice = (2*time.Hour).Seconds()/d.Seconds(), 0.5, 5, 10
	day.StopsAhead = day.StopsAheadFor()
	fleet := setupFleet(t, day.Config)
	r, err := fleet.Day(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Lost != 0 || r.Unacknowledged != 0 || r.Errors != 0 || r.FactsApplied == 0 {
		t.Fatalf("lost %d, unsent %d, errors %d, facts %d", r.Lost, r.Unacknowledged, r.Errors, r.FactsApplied)
	}
	for _, kind := range append(slices.Clone(sim.DeviceCalls), "track", "plan") {
		if c := r.Calls[kind]; c.Answered == 0 || c.Failed != 0 {
			t.Errorf("%s: %d answered, %d failed", kind, c.Answered, c.Failed)
		}
	}
	// Two hours of life at one point per 10 s, less the morning before each device starts.
	if lived := float64(r.GPSPointsSent) / float64(day.Devices); lived < 500 || r.GPSPointsStored != r.GPSPointsSent {
		t.Errorf("GPS points sent %d (%.0f a device), stored %d", r.GPSPointsSent, lived, r.GPSPointsStored)
	}
	return fleet, day, r
}

const simPassword = "a-long-enough-password"

// seededServerEnv prepares a server's settings, extra ones added, and its seeded database
// on a free port.
func seededServerEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	return seededServerEnvBy(t, extra, func(env map[string]string, args ...string) (string, error) { return runCmd(t, env, args...) })
}

// seededServerEnvBy is seededServerEnv with its commands run by courierd, which may be
// another build than this one.
func seededServerEnvBy(t *testing.T, extra map[string]string, courierd func(env map[string]string, args ...string) (string, error)) map[string]string {
	t.Helper()
	env := map[string]string{"DATABASE_URL": dbtest.NewEmpty(t), "PORT": freePort(t), "HOST": "127.0.0.1", "SHUTDOWN_TIMEOUT": "5s",
		"AUTH_KEY_DIR": t.TempDir(), "DATA_KEY_DIR": t.TempDir(), "BLOB_DIR": t.TempDir(), "SEED_PASSWORD": simPassword}
	maps.Copy(env, extra)
	for _, args := range [][]string{{"keygen", env["AUTH_KEY_DIR"], "k1"}, {"migrate", "up"}, {"seed", "--dossiers", "40"}} {
		if out, err := courierd(env, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	return env
}

// simServer serves a seeded database on a free port until the test ends, with extra
// settings added, and returns its address and settings.
func simServer(t *testing.T, extra map[string]string) (string, map[string]string) {
	t.Helper()
	env := seededServerEnv(t, extra)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), &bytes.Buffer{}, &bytes.Buffer{}) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://127.0.0.1:" + env["PORT"]
	waitFor(t, base+"/healthz")
	return base, env
}

// setupFleet sets simulated handhelds up as cfg says; they are closed when the test ends.
// setupFleet readies a fleet of handhelds, logged in as the demo's seeded accounts.
func setupFleet(t *testing.T, cfg sim.Config) *sim.Fleet {
	t.Helper()
	cfg.Password, cfg.Admin, cfg.CourierPrefix = simPassword, "admin", "courier"
	fleet, err := sim.Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	return fleet
}

// TestFleetPacedAndProbed runs a paced fleet, which must record about the rate asked and
// no more, then the fixed-rate probes, each of which must be answered in full.
func TestFleetPacedAndProbed(t *testing.T) {
	base, env := simServer(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	ctx := context.Background()
	const devices, notes, rate = 3, 4, 15.0
	fleet := setupFleet(t, sim.Config{Base: base, Devices: devices, Duration: 2 * time.Second, Seed: 11,
		Batch: 20, NotesPerStop: notes, StopsAhead: 2, Rate: rate, DatabaseURL: env["DATABASE_URL"]})
	report, err := fleet.Work(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", report)
	// Each device records a stop at a time: at most one stop's worth ahead of its share.
	if most := int(rate*2) + devices*(notes+2); report.MutationsSent == 0 || report.MutationsSent > most || report.Lost != 0 {
		t.Fatalf("paced at %.0f/s for 2 s: sent %d (want 1 to %d), lost %d", rate, report.MutationsSent, most, report.Lost)
	}

	ingest := fleet.Ingest(ctx, 2, 100, time.Second)
	if ingest.Uploads == 0 || ingest.Failed != 0 || ingest.PointsStored != 100*ingest.Uploads {
		t.Fatalf("ingest: %+v", ingest)
	}
	pulls := fleet.PullRoutes(ctx, 20, time.Second)
	if pulls.Requests != 20 || pulls.Failed != 0 {
		t.Fatalf("route pulls: %+v", pulls)
	}
	lookups, err := fleet.Track(ctx, 20, time.Second)
	if err != nil || lookups.Requests != 20 || lookups.Failed != 0 {
		t.Fatalf("tracking: %+v, %v", lookups, err)
	}
	if _, err := fleet.Track(ctx, 100, time.Second); err == nil {
		t.Fatal("a tracking probe with more lookups than its dossiers allow under the per-code limit ran")
	}
}
