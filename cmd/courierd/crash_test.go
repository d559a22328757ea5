package main

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"courierd/cmd/devicesim/sim"
)

// childCommand, set in a test binary's environment, makes it run courierd with these
// arguments instead of the tests: a process the crash test can kill outright.
const childCommand = "COURIERD_TEST_CHILD"

// runAsChild runs courierd when the binary was started as a child; false otherwise.
func runAsChild() (exitCode int, child bool) {
	args := os.Getenv(childCommand)
	if args == "" {
		return 0, false
	}
	if err := run(context.Background(), strings.Fields(args), os.Getenv, os.Stdout, os.Stderr); err != nil {
		os.Stderr.WriteString("courierd: " + err.Error() + "\n")
		return 1, true
	}
	return 0, true
}

// killable is a courierd serving from a child process, restarted after every kill.
type killable struct {
	t    *testing.T
	env  []string
	base string
	log  *os.File
	cmd  *exec.Cmd
	// binary is the program run: this test binary as courierd, or another build of it.
	binary string
}

func startKillable(t *testing.T, env map[string]string) *killable {
	t.Helper()
	return startBinary(t, os.Args[0], env)
}

// startBinary serves with binary, this test binary or a courierd built apart (which takes
// its command from its arguments).
func startBinary(t *testing.T, binary string, env map[string]string) *killable {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), "courierd.log"))
	if err != nil {
		t.Fatal(err)
	}
	k := &killable{t: t, base: "http://127.0.0.1:" + env["PORT"], log: log, env: append(os.Environ(), childCommand+"=serve"), binary: binary}
	for name, value := range env {
		k.env = append(k.env, name+"="+value)
	}
	k.start()
	t.Cleanup(func() {
		k.kill()
		log.Close()
	})
	return k
}

// start runs the server and waits until it is ready.
func (k *killable) start() {
	k.t.Helper()
	k.cmd = exec.Command(k.binary, "serve")
	k.cmd.Env, k.cmd.Stdout, k.cmd.Stderr = k.env, k.log, k.log
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r, err := http.Get(k.base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
	}
	k.t.Fatalf("courierd did not become ready again; its log is %s", k.log.Name())
}

// stop ends the server as an orchestrator does, with SIGTERM, and waits for it to exit.
func (k *killable) stop() error {
	if err := k.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	err := k.cmd.Wait()
	k.cmd = nil
	return err
}

// kill ends the server with SIGKILL: no shutdown, no flush, whatever it was doing.
func (k *killable) kill() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	_ = k.cmd.Process.Signal(syscall.SIGKILL)
	_ = k.cmd.Wait()
	k.cmd = nil
}

// TestSurvivesKills: couriers' handhelds work while courierd is killed with SIGKILL at
// random moments and started again, at least crashKills times. Afterwards every mutation
// a device saw acknowledged is stored exactly once and the devices' queues are empty (what
// was never acknowledged was sent again and stored once), every breadcrumb is stored once,
// every custody chain verifies, and every event's job is in the queue, none given up.
func TestSurvivesKills(t *testing.T) {
	const crashKills = 20
	env := seededServerEnv(t, nil)
	seeded := time.Now()
	k := startKillable(t, env)
	// Under -race on two cores the 20 kills can outlast the run: the devices keep draining
	// (and meeting kills) until the last restart, well within the drain.
	fleet := setupFleet(t, sim.Config{Base: k.base, Devices: 6, Duration: 35 * time.Second, Drain: 90 * time.Second, Seed: 29,
		OfflineShare: 0.2, FailShare: 0.2, LostAnswerShare: 0.1,
		Batch: 5, NotesPerStop: 2, Think: 30 * time.Millisecond, DatabaseURL: env["DATABASE_URL"]})
	finished := workInBackground(t, fleet)
	rng := rand.New(rand.NewPCG(29, 1))
	for range crashKills {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		k.kill()
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond) // away for a moment
		k.start()
	}
	report := finished()
	if report.Lost != 0 || report.Unacknowledged != 0 {
		t.Fatalf("after %d kills: lost %d, unacknowledged %d", crashKills, report.Lost, report.Unacknowledged)
	}
	if report.Applied < 50 || report.Errors == 0 {
		t.Fatalf("applied %d, errors %d: the devices should have worked, and met the server away", report.Applied, report.Errors)
	}
	if report.GPSPointsSent == 0 || report.GPSPointsStored != report.GPSPointsSent {
		t.Fatalf("breadcrumbs sent %d, stored %d", report.GPSPointsSent, report.GPSPointsStored)
	}
	if out, err := runCmd(t, env, "verify-custody"); err != nil {
		t.Fatalf("custody chains after the kills: %v\n%s", err, out)
	}
	checkJobsKept(t, env["DATABASE_URL"], seeded)
	checkLogKeepsNoPersonalData(t, readLog(t, k), env["DATABASE_URL"])
}

// idNumber is how a citizen ID number would show in a log: 12 digits standing alone (not
// the tail of a request id or any other hex run).
var idNumber = regexp.MustCompile(`(^|[^0-9A-Za-z-])[0-9]{12}([^0-9A-Za-z-]|$)`)

// checkLogKeepsNoPersonalData: the whole log of a run holds no applicant's, citizen's or
// courier's phone, and nothing shaped like an ID number.
func checkLogKeepsNoPersonalData(t *testing.T, log, databaseURL string) {
	t.Helper()
	if len(log) < 1000 {
		t.Fatalf("the server's log is %d bytes: nothing to scan", len(log))
	}
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT applicant_phone FROM dossiers UNION SELECT phone FROM citizens UNION SELECT phone FROM couriers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	phones := 0
	for rows.Next() {
		var phone string
		if err := rows.Scan(&phone); err != nil {
			t.Fatal(err)
		}
		phones++
		if len(phone) >= 9 && strings.Contains(log, phone) {
			t.Fatalf("the log holds the phone %s…", phone[:3])
		}
	}
	if err := rows.Err(); err != nil || phones == 0 {
		t.Fatalf("%d phones read: %v", phones, err)
	}
	if m := idNumber.FindString(log); m != "" {
		t.Fatalf("the log holds something shaped like an ID number: %q", m)
	}
}

// checkJobsKept: every dossier event since the seed (whose history is the past, told to
// nobody) enqueued its webhook job in its own transaction, so a dossier has as many such
// jobs as events since then; none was given up.
func checkJobsKept(t *testing.T, databaseURL string, seeded time.Time) {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events, mismatched, discarded int
	err = db.QueryRow(`WITH ev AS (SELECT dossier_id, count(*) AS n FROM dossier_events WHERE event <> 'created' AND at >= $1 GROUP BY 1),
		jobs AS (SELECT (args->>'dossier_id')::uuid AS dossier_id, count(DISTINCT args->>'version') AS n FROM river_job
			WHERE kind = 'dossier_webhook' GROUP BY 1)
		SELECT (SELECT coalesce(sum(n), 0) FROM ev),
			(SELECT count(*) FROM ev FULL JOIN jobs USING (dossier_id) WHERE coalesce(ev.n, 0) <> coalesce(jobs.n, 0)),
			(SELECT count(*) FROM river_job WHERE state = 'discarded')`, seeded).Scan(&events, &mismatched, &discarded)
	if err != nil {
		t.Fatal(err)
	}
	if events == 0 || mismatched != 0 || discarded != 0 {
		t.Fatalf("%d events; %d dossiers whose webhook jobs do not match their events; %d jobs given up", events, mismatched, discarded)
	}
}
