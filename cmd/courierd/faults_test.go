package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"courierd/cmd/devicesim/sim"
)

// dbProxy stands between courierd and PostgreSQL on loopback, so that a test can slow the
// database's network down, or take the database away (every connection cut, new ones
// refused, as in a restart) and give it back.
type dbProxy struct {
	target string
	ln     net.Listener
	delay  atomic.Int64 // nanoseconds each chunk waits, either way
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func startDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *dbProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		// Registered under the lock that cut takes, so that no connection outlives a cut.
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			client.Close() // the server is away: the connection is refused at once
			server.Close()
			continue
		}
		p.conns[client], p.conns[server] = true, true
		p.mu.Unlock()
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

func (p *dbProxy) pipe(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			time.Sleep(time.Duration(p.delay.Load()))
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut drops every connection and refuses new ones until restore.
func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *dbProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// awayFleet is the four handhelds at work while the database goes away, some of whose
// answers are lost; drain bounds how long they take to send their backlog once it is back.
func awayFleet(t *testing.T, base, databaseURL string, seed int64, drain time.Duration) *sim.Fleet {
	t.Helper()
	return setupFleet(t, sim.Config{Base: base, Devices: 4, Duration: 8 * time.Second, Drain: drain, Seed: seed,
		LostAnswerShare: 0.1, Batch: 5, NotesPerStop: 2, Think: 30 * time.Millisecond, DatabaseURL: databaseURL})
}

// TestDatabaseAway: PostgreSQL's network slows down, then it goes away while handhelds
// work (every connection cut, new ones refused, as in a restart) and comes back. While it is away, /readyz answers 503
// and requests that need it answer 503 UNAVAILABLE with Retry-After, never a 500; when it
// is back, courierd recovers by itself, and nothing a device saw acknowledged is lost.
func TestDatabaseAway(t *testing.T) {
	env := seededServerEnv(t, nil)
	direct := env["DATABASE_URL"]
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startDBProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	env["DATABASE_URL"] = u.String()
	k := startKillable(t, env)
	fleet := awayFleet(t, k.base, direct, 31, 20*time.Second)
	token := login(t, k.base, "admin", simPassword)
	finished := workInBackground(t, fleet)
	time.Sleep(time.Second)
	// A slow network first: every exchange with the database waits 50 ms each way.
	proxy.delay.Store(int64(50 * time.Millisecond))
	if r := get(t, k.base+"/v1/dossiers?limit=5", token); r.status != http.StatusOK {
		t.Fatalf("over a slow network: %d %s", r.status, r.raw)
	}
	time.Sleep(time.Second)
	proxy.delay.Store(0)
	proxy.cut()
	awayThenBack(t, k, token, 3*time.Second, proxy.restore)
	log := checkRecovered(t, k, finished())
	// Errors logged while the database was away carry causes, never the values sent.
	checkLogKeepsNoPersonalData(t, log, direct)
}

// workInBackground sets the fleet to work and returns what waits for its report.
func workInBackground(t *testing.T, fleet *sim.Fleet) func() sim.Report {
	type work struct {
		report sim.Report
		err    error
	}
	done := make(chan work, 1)
	go func() {
		r, err := fleet.Work(context.Background())
		done <- work{r, err}
	}()
	return func() sim.Report {
		t.Helper()
		w := <-done
		if w.err != nil {
			t.Fatal(w.err)
		}
		t.Logf("%+v", w.report)
		return w.report
	}
}

// awayThenBack checks what courierd answers with its database gone (readiness fails, a
// request that needs the database is told to come back, the process stays alive), brings
// the database back after away with restore, and waits until courierd has recovered.
func awayThenBack(t *testing.T, k *killable, token string, away time.Duration, restore func()) {
	t.Helper()
	waitStatus(t, k.base+"/readyz", "", http.StatusServiceUnavailable, 10*time.Second)
	r := get(t, k.base+"/v1/dossiers?limit=5", token)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.problem.Code != "UNAVAILABLE" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("with the database away: %d %v %s\nthe server's errors:\n%s", r.status, r.header, r.raw, errorLines(readLog(t, k)))
	}
	if health := get(t, k.base+"/healthz", ""); health.status != http.StatusOK {
		t.Fatalf("/healthz with the database away: %d (the process is alive)", health.status)
	}
	time.Sleep(away) // the devices go on recording, and fail to sync
	restore()
	waitStatus(t, k.base+"/readyz", "", http.StatusOK, 30*time.Second)
	waitStatus(t, k.base+"/v1/dossiers?limit=5", token, http.StatusOK, 30*time.Second)
}

// checkRecovered: after the database came back, nothing acknowledged is lost, the queues
// drained, and no request in the whole log answered 500. It returns the log.
func checkRecovered(t *testing.T, k *killable, report sim.Report) string {
	t.Helper()
	if report.Lost != 0 || report.Unacknowledged != 0 || report.Applied == 0 {
		t.Fatalf("after the database came back: applied %d, lost %d, unacknowledged %d", report.Applied, report.Lost, report.Unacknowledged)
	}
	log := readLog(t, k)
	if strings.Contains(log, `"status":500`) {
		t.Fatalf("some request answered 500 while the database was away; the server's errors:\n%s", errorLines(log))
	}
	return log
}

type answer struct {
	status  int
	header  http.Header
	raw     string
	problem struct {
		Code string `json:"code"`
	}
}

func get(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.problem)
	return a
}

// waitStatus waits until url answers status.
func waitStatus(t *testing.T, url, token string, status int, within time.Duration) {
	t.Helper()
	var last answer
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = get(t, url, token); last.status == status {
			return
		}
	}
	t.Fatalf("%s did not answer %d within %s: last %d %s", url, status, within, last.status, last.raw)
}

func login(t *testing.T, base, username, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	resp, err := http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil || tokens.AccessToken == "" {
		t.Fatalf("login %s: %d %v", username, resp.StatusCode, err)
	}
	return tokens.AccessToken
}

// errorLines are the log's lines at level ERROR.
func errorLines(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func readLog(t *testing.T, k *killable) string {
	t.Helper()
	raw, err := io.ReadAll(io.NewSectionReader(k.log, 0, 1<<40))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
