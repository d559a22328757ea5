package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"courierd/storage/dbtest"
)

// bouncerPoolSize is the server connections PgBouncer keeps for the test's database: far
// fewer than the two servers' clients, so that each transaction lands on whichever is free.
const bouncerPoolSize = 10

// TestBehindPgBouncer: two courierd processes reach PostgreSQL through Debian's PgBouncer in
// transaction mode (DATABASE_URL, DATABASE_POOLER=pgbouncer), and directly for what needs a
// session of its own (DATABASE_DIRECT_URL). Two `migrate up` at once take turns and leave no
// lock behind; the demo is seeded through the pooler; logins succeed, and wrong passwords
// are counted across both servers until the account is locked; handhelds push and pull
// through one server while a dispatcher's live stream on the other hears what they commit;
// a plan is made by a River worker; every job runs once, and no request answers 500.
func TestBehindPgBouncer(t *testing.T) {
	bouncer := pgbouncerPath(t)
	direct := dbtest.NewEmpty(t)
	pooled, bouncerLog := startPgBouncer(t, bouncer, direct)
	migrated := [2]string{}
	env := seededServerEnvBy(t, map[string]string{"DATABASE_URL": pooled, "DATABASE_DIRECT_URL": direct, "DATABASE_POOLER": "pgbouncer",
		"TRUSTED_PROXIES": "127.0.0.1"},
		func(env map[string]string, args ...string) (string, error) {
			if args[0] != "migrate" {
				return runCmd(t, env, args...)
			}
			// Two hosts' `migrate up` at once, as a rollout may start them.
			var wg sync.WaitGroup
			errs := [2]error{}
			for i := range migrated {
				wg.Go(func() { migrated[i], errs[i] = runCmd(t, env, args...) })
			}
			wg.Wait()
			return migrated[0] + migrated[1], errors.Join(errs[:]...)
		})
	if a, b := strings.Count(migrated[0], "applied "), strings.Count(migrated[1], "applied "); a*b != 0 || a+b == 0 {
		t.Fatalf("two migrate up at once each applied migrations (%d and %d): they did not take turns", a, b)
	}
	db, err := sql.Open("pgx", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var locks int
	if err := db.QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&locks); err != nil || locks != 0 {
		t.Fatalf("advisory locks held after the migrations: %d, %v", locks, err)
	}

	first := startKillable(t, env)
	second := maps.Clone(env)
	second["PORT"] = freePort(t)
	other := startKillable(t, second)

	token := login(t, first.base, "dispatcher", simPassword)
	// The counters are kept in the database, whichever server counts.
	for i, base := range []string{first.base, other.base, first.base, other.base, first.base, other.base} {
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		resp, err := http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(`{"username":"clerk","password":"not the password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("wrong password %d for clerk: %d, want %d", i+1, resp.StatusCode, want)
		}
	}

	events := liveEvents(t, first.base, token)
	// The national day, two hours of it, through the pooler.
	liveDay(t, other.base, direct, 6*time.Second)
	select {
	case kind := <-events:
		t.Logf("the live stream on one server heard a %s committed through the other", kind)
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatcher's live stream heard nothing of what the handhelds did through the other server")
	}

	state := makePlan(t, first.base, token)
	if state != "draft" {
		t.Fatalf("the plan's job left it %s", state)
	}
	checkJobsRanOnce(t, direct)
	for _, server := range []*killable{first, other} {
		log := readLog(t, server)
		if strings.Contains(log, `"status":500`) {
			t.Fatalf("some request answered 500 behind the pooler; the server's errors:\n%s", errorLines(log))
		}
		checkLogKeepsNoPersonalData(t, log, direct)
	}
	if raw, _ := os.ReadFile(bouncerLog); !strings.Contains(string(raw), "login attempt") {
		t.Fatalf("nothing logged in through PgBouncer:\n%s", raw)
	}
}

// pgbouncerPath is the PgBouncer scripts/pgbouncer.sh finds, or installs when it may.
func pgbouncerPath(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../../scripts/pgbouncer.sh").Output()
	path := strings.TrimSpace(string(out))
	if err != nil || path == "" {
		missing(t, fmt.Sprintf("no PgBouncer (%v): install Debian's pgbouncer, or set PGBOUNCER_PATH; scripts/pgbouncer.sh installs it where it may", err))
	}
	return path
}

// missing skips a test that needs what this machine lacks, saying what; under CI, where
// the scripts install it, that fails.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// startPgBouncer runs PgBouncer in transaction mode on a free port in front of the server
// of the database direct names, until the test ends. It returns the URL of that database
// through the pooler, and the path of PgBouncer's log.
func startPgBouncer(t *testing.T, path, direct string) (pooled, logPath string) {
	t.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	// PgBouncer refuses to run as root: then it runs as postgres, who must read its files.
	var runAs *syscall.Credential
	if os.Getuid() == 0 {
		account, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "PgBouncer will not run as root, and there is no postgres user to run it as")
		}
		uid, _ := strconv.Atoi(account.Uid)
		gid, _ := strconv.Atoi(account.Gid)
		runAs = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "courierd-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// auth_type trust still wants the user in auth_file, with the password PgBouncer logs
	// in to PostgreSQL with, each quoted, a quote doubled.
	password, _ := u.User.Password()
	quoted := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(quoted(u.User.Username())+" "+quoted(password)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	serverPort := u.Port()
	if serverPort == "" {
		serverPort = "5432"
	}
	// server_round_robin hands a client's next transaction to another server connection,
	// as a busy pooler does, where a quiet one would hand it the same again: what leans on
	// a session's state fails here as it would under load.
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %s
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 200
server_round_robin = 1
`, u.Hostname(), serverPort, port, filepath.Join(dir, "userlist.txt"), bouncerPoolSize)
	config := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(config, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath = filepath.Join(t.TempDir(), "pgbouncer.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, config)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: runAs}
	if err := cmd.Start(); err != nil {
		log.Close()
		missing(t, fmt.Sprintf("PgBouncer did not start: %v", err))
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // immediate shutdown: every server is stopped by now
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		log.Close()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			raw, _ := os.ReadFile(logPath)
			missing(t, "PgBouncer stopped at start:\n"+string(raw))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("PgBouncer did not listen on %s within 10 s", port)
		}
	}
	u.Host = "127.0.0.1:" + port
	return u.String(), logPath
}

// liveEvents follows the live stream at base as the holder of token until the test ends,
// and sends the kind of each event it hears (dropping those nobody waits for).
func liveEvents(t *testing.T, base, token string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("/v1/live: %d", resp.StatusCode)
	}
	events := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if kind, ok := strings.CutPrefix(lines.Text(), "event: "); ok {
				select {
				case events <- kind:
				default:
				}
			}
		}
	}()
	return events
}

// makePlan asks for a plan of the dispatcher's office on the first day it may be planned,
// waits for the plan workers to make it, and returns its state.
func makePlan(t *testing.T, base, token string) string {
	t.Helper()
	var me struct {
		PostOfficeIDs []string `json:"post_office_ids"`
	}
	if r := get(t, base+"/v1/me", token); r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &me) != nil || len(me.PostOfficeIDs) == 0 {
		t.Fatalf("/v1/me: %d %s", r.status, r.raw)
	}
	// Weekends and holidays are refused (422); two weeks hold a working day, Tết's too.
	for day := range 15 {
		body := fmt.Sprintf(`{"post_office_id":%q,"date":%q,"time_limit_ms":500,"seed":1}`,
			me.PostOfficeIDs[0], time.Now().AddDate(0, 0, day).Format(time.DateOnly))
		req, err := http.NewRequest(http.MethodPost, base+"/v1/dispatch/plans", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Prefer", "wait=60")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var plan struct {
			State string `json:"state"`
		}
		err = json.NewDecoder(resp.Body).Decode(&plan)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnprocessableEntity:
			continue
		case resp.StatusCode != http.StatusCreated || err != nil:
			t.Fatalf("a plan for %s: %d, %v", body, resp.StatusCode, err)
		}
		return plan.State
	}
	t.Fatal("no day of the coming two weeks could be planned")
	return ""
}
