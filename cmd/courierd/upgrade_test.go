package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"courierd/cmd/devicesim/sim"
)

// previousRelease is the newest migration of the release before this one: the upgrade
// test builds that release as this code with its migration set cut there.
const previousRelease = 22

// TestUpgradeWithoutOutage: the previous release serves working handhelds behind a
// balancer; meanwhile this release's `migrate up` applies its migrations, its server starts
// beside the old one, the balancer moves traffic to it, and the old one is stopped with
// SIGTERM. No request answers 5xx or fails in transport, the old server stays ready after
// the migration, and every acknowledged mutation is in the database.
func TestUpgradeWithoutOutage(t *testing.T) {
	previous := buildPreviousRelease(t)
	env := seededServerEnvBy(t, nil, func(env map[string]string, args ...string) (string, error) {
		return runBinary(previous, env, args...)
	})
	if v := schemaVersion(t, env["DATABASE_URL"]); v != previousRelease {
		t.Fatalf("the previous release migrated the database to version %d, want %d", v, previousRelease)
	}
	old := startBinary(t, previous, env)
	lb := newBalancer(t, old.base)
	fleet := setupFleet(t, sim.Config{Base: lb.URL, Devices: 4, Duration: 20 * time.Second, Seed: 43,
		LostAnswerShare: 0.1, Batch: 5, NotesPerStop: 2, Think: 30 * time.Millisecond, DatabaseURL: env["DATABASE_URL"]})
	finished := workInBackground(t, fleet)
	time.Sleep(2 * time.Second) // the fleet works on the previous release

	began, requestsBefore := time.Now(), lb.requests.Load()
	oldReady := watchReady(old.base)
	out, err := runCmd(t, env, "migrate", "up")
	migrated := time.Since(began)
	if err != nil || !strings.Contains(out, "applied ") {
		t.Fatalf("this release's migrate up: %v\n%s", err, out)
	}
	if status, err := runCmd(t, env, "migrate", "status"); err != nil || strings.Contains(status, "pending") {
		t.Fatalf("migrate status after up: %v\n%s", err, status)
	}
	// The next release's expand migrations will add columns to tables this release reads
	// with statements its connections have prepared: played here on every table, under
	// the old server's traffic.
	addColumnToEveryTable(t, env["DATABASE_URL"])
	requestsMigrated := lb.requests.Load()
	next := maps.Clone(env)
	next["PORT"] = freePort(t)
	current := startKillable(t, next) // returns once its /readyz answers 200
	started := time.Since(began) - migrated
	lb.moveTo(t, current.base)
	moved := lb.requests.Load()
	oldOnNewSchema := moved - requestsMigrated
	// A balancer deregisters before the old server stops: requests it already sent there finish.
	time.Sleep(time.Second)
	readyChecks, notReady := oldReady()
	if err := old.stop(); err != nil {
		t.Fatalf("the previous release's server on SIGTERM: %v; its log is %s", err, old.log.Name())
	}
	switched := time.Since(began)
	during := lb.requests.Load() - requestsBefore
	report := finished()
	afterMove := lb.requests.Load() - moved

	t.Logf("schema %d -> %d; migrate up %s, new server ready %s later, switch done in %s; %d requests in all, %d during the switch, %d after the move; "+
		"%d answered 5xx, %d transport errors; the old server answered %d on the new schema; old /readyz checked %d times after the migration began, %d not ready",
		previousRelease, schemaVersion(t, env["DATABASE_URL"]), migrated.Round(time.Millisecond), started.Round(time.Millisecond),
		switched.Round(time.Millisecond), lb.requests.Load(), during, afterMove, lb.serverErrors.Load(), lb.transportErrors.Load(), oldOnNewSchema, readyChecks, notReady)
	if n := lb.serverErrors.Load() + lb.transportErrors.Load(); n != 0 {
		t.Fatalf("%d requests failed during the upgrade; the first: %s", n, lb.firstFailure.Load())
	}
	if readyChecks == 0 || notReady != 0 {
		t.Fatalf("the previous release's /readyz after the migration: %d of %d checks not ready", notReady, readyChecks)
	}
	if during < 50 || afterMove < 50 || oldOnNewSchema == 0 {
		t.Fatalf("%d requests during the switch, %d after the move, %d to the old server on the new schema: the fleet should have worked through it",
			during, afterMove, oldOnNewSchema)
	}
	if report.Lost != 0 || report.Unacknowledged != 0 || report.Errors != 0 || report.Shed != 0 || report.Applied == 0 {
		t.Fatalf("applied %d, lost %d, unacknowledged %d, errors %d, shed %d", report.Applied, report.Lost, report.Unacknowledged, report.Errors, report.Shed)
	}
	checkPreviousReleaseLeftBehind(t, previous, env)
}

// checkPreviousReleaseLeftBehind: on the upgraded schema the previous release may not
// migrate either way, and once a contract migration raises the floor past it, it refuses
// to serve.
func checkPreviousReleaseLeftBehind(t *testing.T, previous string, env map[string]string) {
	t.Helper()
	schema := schemaVersion(t, env["DATABASE_URL"])
	for _, direction := range []string{"up", "down"} {
		want := fmt.Sprintf("migrate %s refused, nothing changed: the database schema is at version %d, newer than this courierd knows (%d)",
			direction, schema, previousRelease)
		if out, err := runBinary(previous, env, "migrate", direction); err == nil || !strings.Contains(out, want) {
			t.Fatalf("the previous release's migrate %s on the upgraded schema: %v\n%s", direction, err, out)
		}
	}
	if v := schemaVersion(t, env["DATABASE_URL"]); v != schema {
		t.Fatalf("the refused migrations moved the schema from %d to %d", schema, v)
	}
	// What a contract migration after this release does.
	db, err := sql.Open("pgx", env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE schema_compatibility SET oldest_binary_schema = $1`, schema); err != nil {
		t.Fatal(err)
	}
	if out, err := runBinary(previous, env, "serve"); err == nil || !strings.Contains(out, "deploy the newer release") {
		t.Fatalf("the previous release's serve past the floor: %v\n%s", err, out)
	}
}

// buildPreviousRelease builds courierd with its migrations cut at previousRelease.
func buildPreviousRelease(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "courierd-previous")
	cmd := exec.Command("go", "build", "-ldflags", "-X courierd/migrations.lastVersion="+strconv.Itoa(previousRelease), "-o", binary, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release: %v\n%s", err, out)
	}
	return binary
}

// runBinary runs a courierd built apart with env's settings added to this process's.
func runBinary(binary string, env map[string]string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = os.Environ()
	for name, value := range env {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func schemaVersion(t *testing.T, databaseURL string) int64 {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int64
	if err := db.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// addColumnToEveryTable adds a nullable column to each of courierd's tables (partitioned
// ones through their parent; not goose's or River's, whose schema only their own
// migrations change), one table at a time as an expand migration would.
func addColumnToEveryTable(t *testing.T, databaseURL string) {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		AND c.relname <> 'goose_db_version' AND c.relname NOT LIKE 'river%' ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil || len(tables) < 20 {
		t.Fatalf("courierd's tables: %v, %d found", err, len(tables))
	}
	for _, table := range tables {
		if _, err := db.Exec(fmt.Sprintf(`ALTER TABLE %q ADD COLUMN next_release_probe text`, table)); err != nil {
			t.Fatalf("add a column to %s: %v", table, err)
		}
	}
}

// balancer sends every request to one backend, which moveTo changes, and counts what the
// clients would have seen fail.
type balancer struct {
	*httptest.Server
	backend                                 atomic.Pointer[url.URL]
	requests, serverErrors, transportErrors atomic.Int64
	firstFailure                            atomic.Value
}

func newBalancer(t *testing.T, base string) *balancer {
	b := &balancer{}
	b.moveTo(t, base)
	failed := func(what string) {
		b.firstFailure.CompareAndSwap(nil, what)
	}
	b.Server = httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(b.backend.Load()) },
		ModifyResponse: func(r *http.Response) error {
			b.requests.Add(1)
			if r.StatusCode >= 500 {
				b.serverErrors.Add(1)
				failed(r.Request.Method + " " + r.Request.URL.String() + ": " + r.Status)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b.requests.Add(1)
			b.transportErrors.Add(1)
			failed(r.Method + " " + r.URL.String() + ": " + err.Error())
			w.WriteHeader(http.StatusBadGateway)
		},
	})
	t.Cleanup(b.Close)
	return b
}

func (b *balancer) moveTo(t *testing.T, base string) { b.backend.Store(mustURL(t, base)) }

// watchReady polls base's /readyz until the returned function is called, which reports
// how many checks were made and how many did not answer 200.
func watchReady(base string) func() (checks, notReady int) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan [2]int)
	go func() {
		client := &http.Client{Timeout: 3 * time.Second}
		var counts [2]int
		for ctx.Err() == nil {
			counts[0]++
			r, err := client.Get(base + "/readyz")
			if err != nil || r.StatusCode != http.StatusOK {
				counts[1]++
			}
			if err == nil {
				r.Body.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
		done <- counts
	}()
	return func() (int, int) {
		stop()
		counts := <-done
		return counts[0], counts[1]
	}
}
