package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	fleet := awayFleet(t, k.base, databaseURL, 41, 30*time.Second)
	token := login(t, k.base, "admin", simPassword)
	finished := workInBackground(t, fleet)
	time.Sleep(2 * time.Second)
	cluster.run("stop")
	awayThenBack(t, k, token, 2*time.Second, func() { cluster.run("env") })
	checkRecovered(t, k, finished())
}
