package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courierd/cmd/devicesim/sim"
)

// privateCluster is a PostgreSQL server of the test's own (scripts/pg.sh makes it), which
// the test may stop and start: the machine's shared server must not be restarted under
// other tests.
type privateCluster struct {
	t   *testing.T
	env []string
}

func startPrivateCluster(t *testing.T) (*privateCluster, string) {
	t.Helper()
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(found) == 0 {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to run a private cluster with")
	}
	// PostgreSQL runs as its own user, who must reach the data directory.
	parent, err := os.MkdirTemp("", "courierd-restart-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &privateCluster{t: t, env: append(os.Environ(), "DATABASE_URL=", "PG_SKIP_LOCAL=1", "PG_AUTO_INSTALL=0", "APP_DB=courier_restart",
		"PRIVATE_PG_DIR="+filepath.Join(parent, "pgdata"), "PRIVATE_PG_PORT="+freePort(t))}
	t.Cleanup(func() {
		c.run("stop")
		os.RemoveAll(parent)
	})
	out := c.run("env")
	for _, line := range strings.Split(out, "\n") {
		if url, ok := strings.CutPrefix(line, "export DATABASE_URL="); ok {
			return c, strings.Trim(url, `'"`)
		}
	}
	t.Fatalf("scripts/pg.sh env printed no DATABASE_URL:\n%s", out)
	return nil, ""
}

// run runs scripts/pg.sh with the cluster's settings: env starts the server, stop stops it.
func (c *privateCluster) run(command string) string {
	c.t.Helper()
	cmd := exec.Command("../../scripts/pg.sh", command)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("scripts/pg.sh %s: %v\n%s", command, err, out)
	}
	return string(out)
}

// TestDatabaseRestarts: PostgreSQL itself is stopped (fast shutdown: sessions ended) and
// started again while handhelds work. While it is down courierd answers 503 and /readyz
// says so; once it is up, courierd recovers by itself, and nothing acknowledged is lost.
func TestDatabaseRestarts(t *testing.T) {
	cluster, databaseURL := startPrivateCluster(t)
	env := seededServerEnv(t, map[string]string{"DATABASE_URL": databaseURL})
	k := startKillable(t, env)
	fleet := setupFleet(t, sim.Config{Base: k.base, Devices: 4, Duration: 8 * time.Second, Drain: 30 * time.Second, Seed: 41,
		Password: simPassword, Admin: "admin", CourierPrefix: "courier", LostAnswerShare: 0.1, Batch: 5, NotesPerStop: 2,
		Think: 30 * time.Millisecond, DatabaseURL: databaseURL})
	token := login(t, k.base, "admin", simPassword)
	type work struct {
		report sim.Report
		err    error
	}
	done := make(chan work, 1)
	go func() {
		r, err := fleet.Work(context.Background())
		done <- work{r, err}
	}()
	time.Sleep(2 * time.Second)
	cluster.run("stop")
	waitStatus(t, k.base+"/readyz", "", http.StatusServiceUnavailable, 10*time.Second)
	if r := get(t, k.base+"/v1/dossiers?limit=5", token); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.problem.Code != "UNAVAILABLE" {
		t.Fatalf("with PostgreSQL stopped: %d %s\nthe server's errors:\n%s", r.status, r.raw, errorLines(readLog(t, k)))
	}
	time.Sleep(2 * time.Second)
	cluster.run("env")
	waitStatus(t, k.base+"/readyz", "", http.StatusOK, 30*time.Second)
	waitStatus(t, k.base+"/v1/dossiers?limit=5", token, http.StatusOK, 30*time.Second)
	w := <-done
	if w.err != nil {
		t.Fatal(w.err)
	}
	t.Logf("%+v", w.report)
	if w.report.Lost != 0 || w.report.Unacknowledged != 0 || w.report.Applied == 0 {
		t.Fatalf("after PostgreSQL restarted: applied %d, lost %d, unacknowledged %d", w.report.Applied, w.report.Lost, w.report.Unacknowledged)
	}
	if log := readLog(t, k); strings.Contains(log, `"status":500`) {
		t.Fatalf("some request answered 500 across the restart; the server's errors:\n%s", errorLines(log))
	}
}
