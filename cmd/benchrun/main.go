// Command benchrun measures courierd on this machine, against a local PostgreSQL, and
// writes the figures to a Markdown report (docs/BENCHMARKS.md by default): the machine,
// the Go micro-benchmarks (their output, given with -micro), the device simulator at a few
// sizes against a fresh courierd process each (with its peak memory), and the floor, what
// PostgreSQL takes to store the same rows the cheapest way, so that courierd's rates read
// as a share of the database's. `make bench` runs it.
//
//	benchrun -database "$DATABASE_URL" -courierd bin/courierd -sizes 50,500,2000 -duration 30s -micro micro.txt
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver

	"courierd/cmd/devicesim/sim"
)

// benchPassword is the seeded accounts' password in the throwaway bench database.
const benchPassword = "bench-password-not-for-use"

type options struct {
	database, courierd, micro, out string
	profiles                       string // a directory for courierd's CPU and memory profiles; empty: none
	sizes                          []int
	duration, floorFor             time.Duration
	notes, stopsAhead              int
	rates                          []float64 // mutations/s of the paced runs at the largest size
	probes                         probeOptions
	national                       nationalOptions
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&o.database, "database", os.Getenv("DATABASE_URL"), "a PostgreSQL URL whose server may create the bench database (courier_bench)")
	flag.StringVar(&o.courierd, "courierd", "bin/courierd", "the courierd binary to measure")
	flag.StringVar(&o.micro, "micro", "", "the output of go test -bench to include")
	flag.StringVar(&o.out, "out", "docs/BENCHMARKS.md", "where to write the report")
	flag.StringVar(&sizes, "sizes", "50,500,2000", "numbers of simulated handhelds, one run each")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long each simulator run lasts")
	flag.DurationVar(&o.floorFor, "floor", 10*time.Second, "how long each floor measurement lasts")
	flag.IntVar(&o.notes, "notes", 50, "notes each simulated courier adds to every stop (push load per stop opened)")
	flag.IntVar(&o.stopsAhead, "stops-ahead", 4, "pickups opened for every device before each run starts (the run measures the devices alone); 0: opened during the run")
	var rates string
	flag.StringVar(&rates, "rates", "2500,5000", "mutations/s the fleet of the largest size records in paced runs after the others, one run each (latency under a load offered); empty: none")
	flag.IntVar(&o.probes.devices, "probe-devices", 500, "handhelds set up for the fixed-rate probes (route pulls by them, tracking of the dossiers opened for them)")
	flag.Float64Var(&o.probes.pullRate, "pull-rate", 500, "route pulls per second in the route probe")
	flag.Float64Var(&o.probes.trackRate, "track-rate", 1000, "public tracking lookups per second in the tracking probe")
	flag.IntVar(&o.probes.uploaders, "gps-uploaders", 40, "devices uploading GPS at once in the ingest run")
	flag.DurationVar(&o.probes.duration, "probe-duration", 10*time.Second, "how long each probe lasts")
	flag.IntVar(&o.national.devices, "national-devices", 3300, "handhelds of the national day (the country's couriers); 0: no national day")
	var factors string
	flag.StringVar(&factors, "factors", "1,10", "how many times faster than life the national day is lived, one run each")
	flag.DurationVar(&o.national.duration, "national-duration", 3*time.Minute, "how long each national day run lasts (the day lived is this times the factor)")
	flag.BoolVar(&o.national.search, "search", true, "after -factors, look for the largest factor that holds (doubling, then once halfway)")
	flag.StringVar(&o.profiles, "profiles", "", "a directory to keep courierd's CPU profile (the middle half of each run) and heap profile in; empty: none")
	flag.Parse()
	for _, s := range strings.Split(sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fail(fmt.Errorf("-sizes: %q is not a number of devices", s))
		}
		o.sizes = append(o.sizes, n)
	}
	for _, r := range strings.Split(rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		rate, err := strconv.ParseFloat(r, 64)
		if err != nil || rate <= 0 {
			fail(fmt.Errorf("-rates: %q is not a rate", r))
		}
		o.rates = append(o.rates, rate)
	}
	for _, f := range strings.Split(factors, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		factor, err := strconv.ParseFloat(f, 64)
		if err != nil || factor <= 0 {
			fail(fmt.Errorf("-factors: %q is not a factor", f))
		}
		o.national.factors = append(o.national.factors, factor)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchrun:", err)
	os.Exit(1)
}

// sizeRun is one simulator run and what the courierd process used.
type sizeRun struct {
	report     sim.Report
	rate       float64    // mutations/s offered; 0: as fast as answers came
	peakRSS    int64      // bytes
	cpu        sim.CPUUse // while the devices worked
	statements []statementStat
}

func run(ctx context.Context, o options) error {
	benchURL, err := freshDatabase(ctx, o.database, "courier_bench")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "benchrun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	port, err := freePort()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "DATABASE_URL="+benchURL, "SEED_PASSWORD="+benchPassword, "PORT="+port, "HOST=127.0.0.1",
		"AUTH_KEY_DIR="+filepath.Join(work, "keys"), "DATA_KEY_DIR="+filepath.Join(work, "data-keys"), "BLOB_DIR="+filepath.Join(work, "blobs"),
		"LOG_LEVEL=warn", "OTP_SENDER=")
	largest := 0
	for _, n := range o.sizes {
		largest = max(largest, n)
	}
	// The seed makes one courier account for every device of the largest fleet.
	accounts := max(largest, o.probes.devices, o.national.devices)
	for _, args := range [][]string{{"keygen", filepath.Join(work, "keys"), "bench"}, {"migrate", "up"},
		{"seed", "--couriers", strconv.Itoa(accounts), "--dossiers", "100"}} {
		cmd := exec.CommandContext(ctx, o.courierd, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("courierd %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	base := "http://127.0.0.1:" + port
	var runs []sizeRun
	for _, n := range o.sizes {
		fmt.Fprintf(os.Stderr, "benchrun: %d devices for %s\n", n, o.duration)
		r, err := measureSize(ctx, o, env, base, benchURL, n, 0)
		if err != nil {
			return fmt.Errorf("%d devices: %w", n, err)
		}
		runs = append(runs, r)
	}
	for _, rate := range o.rates {
		fmt.Fprintf(os.Stderr, "benchrun: %d devices paced at %.0f mutations/s for %s\n", largest, rate, o.duration)
		r, err := measureSize(ctx, o, env, base, benchURL, largest, rate)
		if err != nil {
			return fmt.Errorf("%d devices paced: %w", largest, err)
		}
		runs = append(runs, r)
	}
	var pr probes
	if o.probes.duration > 0 {
		fmt.Fprintln(os.Stderr, "benchrun: fixed-rate probes")
		if pr, err = measureProbes(ctx, o, env, base); err != nil {
			return fmt.Errorf("probes: %w", err)
		}
	}
	var national nationalResult
	if o.national.devices > 0 {
		if national, err = measureNational(ctx, o, env, base, benchURL); err != nil {
			return fmt.Errorf("national day: %w", err)
		}
	}
	fmt.Fprintln(os.Stderr, "benchrun: the floor")
	fl, err := measureFloor(ctx, benchURL, 8, o.floorFor)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	micro := ""
	if o.micro != "" {
		b, err := os.ReadFile(o.micro)
		if err != nil {
			return err
		}
		micro = string(b)
	}
	machine, err := describeMachine(ctx, benchURL)
	if err != nil {
		return err
	}
	return os.WriteFile(o.out, []byte(report(o, machine, micro, runs, pr, fl, national)), 0o644)
}

// server is a courierd process started for one measurement.
type server struct {
	cmd         *exec.Cmd
	profileAddr string // where its profiles are served; empty: not served
}

// startServer starts a fresh courierd and waits until it is ready.
func startServer(ctx context.Context, env []string, o options, base string, extra ...string) (*server, error) {
	s := &server{cmd: exec.CommandContext(ctx, o.courierd, "serve")}
	s.cmd.Env = append(append([]string{}, env...), extra...)
	if o.profiles != "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.profileAddr = "127.0.0.1:" + port
		s.cmd.Env = append(s.cmd.Env, "PPROF_ADDR="+s.profileAddr)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, base+"/readyz"); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// profileMiddle keeps a CPU profile of the middle half of the d that starts now, as
// cpu-<name>.pprof in the profiles directory; the answer comes when it is written, at once
// when profiles are not kept.
func profileMiddle(ctx context.Context, srv *server, o options, name string, d time.Duration) <-chan error {
	done := make(chan error, 1)
	if srv.profileAddr == "" {
		done <- nil
		return done
	}
	go func() {
		time.Sleep(d / 4)
		done <- fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", srv.profileAddr, max(1, int(d.Seconds()/2))),
			filepath.Join(o.profiles, "cpu-"+name+".pprof"))
	}()
	return done
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// measureSize starts a fresh courierd, runs the simulator with n devices against it (paced
// at rate mutations/s when rate is set), and reads the CPU each part used while the devices
// worked and the process's peak memory before stopping it.
func measureSize(ctx context.Context, o options, env []string, base, databaseURL string, n int, rate float64) (sizeRun, error) {
	srv, err := startServer(ctx, env, o, base)
	if err != nil {
		return sizeRun{}, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	name := fmt.Sprint(n)
	if rate > 0 {
		name = fmt.Sprintf("%d-paced", n)
	}
	var profiled <-chan error
	var before sim.CPUUse
	statements, err := newStatementStats(ctx, databaseURL)
	if err != nil {
		return sizeRun{}, err
	}
	defer statements.close()
	started := func() {
		before = sim.CPUNow(pid)
		if err := statements.reset(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "benchrun: pg_stat_statements:", err)
		}
		// Once the devices are set up, and before their queues drain.
		profiled = profileMiddle(ctx, srv, o, name, o.duration)
	}
	rep, err := sim.Run(ctx, sim.Config{Started: started, Base: base, Devices: n, Duration: o.duration, Seed: int64(n) + int64(rate), Password: benchPassword,
		Admin: "admin", CourierPrefix: "courier", OfflineShare: 0.2, FailShare: 0.1, LostAnswerShare: 0.05, Batch: 50,
		NotesPerStop: o.notes, StopsAhead: o.stopsAhead, Rate: rate, DatabaseURL: databaseURL})
	if err != nil {
		return sizeRun{}, err
	}
	used := sim.CPUNow(pid).Since(before)
	top, err := statements.top(ctx, 10)
	if err != nil {
		return sizeRun{}, err
	}
	if err := <-profiled; err != nil {
		return sizeRun{}, err
	}
	if srv.profileAddr != "" {
		if err := fetch(ctx, "http://"+srv.profileAddr+"/debug/pprof/heap", filepath.Join(o.profiles, "heap-"+name+".pprof")); err != nil {
			return sizeRun{}, err
		}
	}
	rss, err := peakRSS(pid)
	return sizeRun{report: rep, rate: rate, peakRSS: rss, cpu: used, statements: top}, err
}

// fetch saves what url answers to path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, body)
	}
	return os.WriteFile(path, body, 0o644)
}

// freshDatabase drops and creates name on the server of adminURL and returns its URL.
func freshDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if adminURL == "" {
		return "", errors.New("set -database or DATABASE_URL (make bench provisions one)")
	}
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			return "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

func waitFor(ctx context.Context, url string) error {
	for range 200 {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer", url)
}

// peakRSS is a process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) { return statusKiB(pid, "VmHWM:") }

// machine describes where the figures come from.
type machine struct {
	CPU, Memory, Postgres, Go, OS string
	Cores                         int
}

func describeMachine(ctx context.Context, databaseURL string) (machine, error) {
	m := machine{Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				m.Memory = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
			}
		}
	}
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return m, err
	}
	defer db.Close()
	return m, db.QueryRowContext(ctx, "SHOW server_version").Scan(&m.Postgres)
}
