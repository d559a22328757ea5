package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"courierd/cmd/devicesim/sim"
)

// nationalOptions drive the national day: the country's handhelds living a working day
// Factor times faster than in life against one courierd.
type nationalOptions struct {
	devices  int
	factors  []float64
	duration time.Duration
	search   bool // after the factors given, look for the largest that holds
}

// holdsP99 is the most a device call's p99 may take for a factor to hold.
const holdsP99 = 250.0

// idleConnections are the keep-alive connections held still to measure what they cost.
const idleConnections = 5000

// nationalResult is the national day's runs, and the idle connections' cost.
type nationalResult struct {
	runs []nationalRun
	idle idleCost
}

// nationalRun is the day lived at one factor, and what courierd and PostgreSQL used.
type nationalRun struct {
	report sim.DayReport
	cpu    sim.CPUUse
	rss    int64 // courierd's resident memory at the run's end, bytes
}

// holds: every device call answered within holdsP99 at p99, every device's queue drained,
// and nothing acknowledged missing from the database.
func (r nationalRun) holds() bool {
	worst, _ := r.report.WorstDeviceP99()
	return worst < holdsP99 && r.report.Lost == 0 && r.report.Unacknowledged == 0
}

// measureNational starts a courierd (trusting the loopback's X-Forwarded-For, so that each
// applicant counts as their own address), sets the fleet up once, and lives the day at
// each factor, on the same server and fleet, with the stops each window reaches opened
// before it; then, when asked, doubles the largest factor that held until one does not,
// and tries once between the two.
func measureNational(ctx context.Context, o options, env []string, base, databaseURL string) (nationalResult, error) {
	var result nationalResult
	srv, err := startServer(ctx, env, o, base, "TRUSTED_PROXIES=127.0.0.1")
	if err != nil {
		return result, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	fmt.Fprintf(os.Stderr, "benchrun: %d idle keep-alive connections\n", idleConnections)
	if result.idle, err = measureIdle(ctx, base, pid, idleConnections, 20*time.Second); err != nil {
		return result, fmt.Errorf("idle connections: %w", err)
	}
	cfg := sim.Config{Base: base, Devices: o.national.devices, Duration: o.national.duration, Seed: 26, Password: benchPassword,
		Admin: "admin", CourierPrefix: "courier", OfflineShare: 0.1, FailShare: 0.1, LostAnswerShare: 0.02, Batch: 50,
		DatabaseURL: databaseURL, Drain: time.Minute}
	fmt.Fprintf(os.Stderr, "benchrun: national day, setting up %d handhelds\n", cfg.Devices)
	fleet, err := sim.Setup(ctx, cfg)
	if err != nil {
		return result, err
	}
	defer fleet.Close()
	live := func(factor float64) (nationalRun, error) {
		day := sim.DefaultDay(cfg)
		day.Factor = factor
		fmt.Fprintf(os.Stderr, "benchrun: national day at %g× for %s\n", factor, cfg.Duration)
		if err := fleet.OpenStops(ctx, day.StopsAheadFor()); err != nil {
			return nationalRun{}, err
		}
		// Opening the stops queued their notices; the day starts once those are sent, as
		// they would have been over the days before.
		if err := jobsDone(ctx, databaseURL, 3*time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "benchrun: the day starts with jobs still due:", err)
		}
		fmt.Fprintln(os.Stderr, "benchrun: the day starts")
		profiled := profileMiddle(ctx, srv, o, fmt.Sprintf("national-%g", factor), cfg.Duration)
		before := sim.CPUNow(pid)
		rep, err := fleet.Day(ctx, day)
		run := nationalRun{report: rep, cpu: sim.CPUNow(pid).Since(before)}
		if err != nil {
			return run, err
		}
		if err := <-profiled; err != nil {
			return run, fmt.Errorf("profile: %w", err)
		}
		seconds := cfg.Duration.Seconds()
		fmt.Fprintf(os.Stderr, "benchrun: cores used: courierd %.2f, PostgreSQL %.2f, driver %.2f\n",
			run.cpu.Courierd.Seconds()/seconds, run.cpu.Postgres.Seconds()/seconds, run.cpu.Simulator.Seconds()/seconds)
		for kind, c := range rep.Calls {
			fmt.Fprintf(os.Stderr, "benchrun: %-8s %6d answered, %4d failed, p50 %6.1f ms, p99 %7.1f ms\n", kind, c.Answered, c.Failed, c.P50MS, c.P99MS)
		}
		run.rss, err = residentSet(pid)
		result.runs = append(result.runs, run)
		return run, err
	}
	largest, failed := 0.0, 0.0
	for _, f := range o.national.factors {
		run, err := live(f)
		if err != nil {
			return result, err
		}
		if run.holds() {
			largest = max(largest, f)
		} else if failed == 0 || f < failed {
			failed = f
		}
	}
	if !o.national.search || largest == 0 {
		return result, nil
	}
	// Double until a factor fails, then try once halfway between.
	for failed == 0 {
		run, err := live(largest * 2)
		if err != nil {
			return result, err
		}
		if run.holds() {
			largest *= 2
		} else {
			failed = largest * 2
		}
	}
	if halfway := (largest + failed) / 2; halfway > largest*1.1 {
		_, err := live(halfway)
		return result, err
	}
	return result, nil
}

// residentSet is a process's resident memory now (VmRSS), in bytes.
func residentSet(pid int) (int64, error) {
	return statusKiB(pid, "VmRSS:")
}

// statusKiB reads a field of /proc/<pid>/status given in kB, in bytes.
func statusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib * 1024, err
		}
	}
	return 0, errors.New("no " + field + " in /proc status")
}

// largestHeld is the largest factor whose run held; 0 when none did.
func largestHeld(runs []nationalRun) float64 {
	largest := 0.0
	for _, r := range runs {
		if r.holds() {
			largest = max(largest, r.report.Factor)
		}
	}
	return largest
}

func writeNational(w writeFunc, o options, result nationalResult) {
	runs := result.runs
	day := sim.DefaultDay(sim.Config{})
	w("## The national day\n\n")
	w("%d handhelds, the country's couriers, against one `courierd serve` on this machine, living a working day of %s F times faster than in life, %s per run ",
		o.national.devices, span(day.Day), span(o.national.duration))
	w("(the same server and fleet for every run; before each, the dispatcher opens the stops its part of the day reaches). ")
	w("Each courier starts in the first %s of the day (%.0f %% with a password login, the others renewing their session with its refresh token), ",
		span(day.Morning), 100*day.PasswordShare)
	w("pulls the route given to them, visits %d stops a day spread along it and records each (a pickup with its signature file, or a failed visit), ", day.StopsPerDay)
	w("takes a GPS point every %s and uploads them every %s, looks for changes every %s and after each visit, renews the session every %s, ",
		span(day.GPSEvery), span(day.UploadEvery), span(day.PullEvery), span(day.SessionEvery))
	w("spends 10 %% of the day out of coverage in spells of %s (then syncs its backlog), and misses 2 %% of its answers (so sends again). ", span(day.OfflineSpell))
	w("Applicants look their dossiers up %g times per stop and day, and dispatchers ask for %g plans per office and day, at F times their rate in life. ", day.TracksPerStop, day.ReplansPerOffice)
	w("`lost` is checked in the database: every mutation a device saw acknowledged must be stored exactly once. ")
	w("A factor **holds** when every device call's p99 is under %.0f ms, every queue drained and nothing was lost. ", holdsP99)
	w("CPU per fact is all the CPU of the run (GPS, pulls, tracking, plans included) over the facts applied.\n\n")
	w("| F | day lived | facts/s | push p50 / p99 | pull p99 | GPS upload p99 | proof file p99 | login p99 | refresh p99 | tracking p99 | plan ask p99 | lost | unsent | courierd CPU / fact | PostgreSQL CPU / fact | courierd RSS | holds |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		rep, facts := r.report, float64(max(r.report.FactsApplied, 1))
		c := rep.Calls
		w("| %g | %.0f min | %.1f | %.0f / %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %d | %d | %.1f ms | %.1f ms | %.0f MiB | %s |\n",
			rep.Factor, rep.LifeMinutes, rep.FactsPerS, c["push"].P50MS, c["push"].P99MS, c["pull"].P99MS, c["gps"].P99MS, c["blob"].P99MS,
			c["login"].P99MS, c["refresh"].P99MS, c["track"].P99MS, c["plan"].P99MS, rep.Lost, rep.Unacknowledged,
			float64(r.cpu.Courierd.Microseconds())/facts/1000, float64(r.cpu.Postgres.Microseconds())/facts/1000, float64(r.rss)/(1<<20),
			map[bool]string{true: "yes", false: "no"}[r.holds()])
	}
	w("\nLargest F that held: **%g**.\n\n", largestHeld(runs))
	writeIdle(w, result.idle)
}

// factPathBenchmark is the micro-benchmark whose figures the fact-path table reads.
const factPathBenchmark = "BenchmarkOfflineCourierConverges/queued=300"

// writeFactPath reads the fact path's figures from the micro-benchmarks' output: a
// courier's 300-pickup backlog pushed at once, the CPU each fact took in courierd (the
// test process) and in PostgreSQL, beside PostgreSQL's floor for the same rows.
func writeFactPath(w writeFunc, micro string) {
	for _, line := range strings.Split(micro, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.HasPrefix(fields[0], factPathBenchmark) {
			continue
		}
		figures := map[string]string{}
		for i := 2; i+1 < len(fields); i += 2 {
			figures[fields[i+1]] = fields[i]
		}
		w("## The fact path\n\n")
		w("`%s`: a courier back after two days offline pushes 300 pickups at once (`go test -bench` in `api/`, courierd in the test's process). ", factPathBenchmark)
		w("CPU is read from `/proc` around the push; the floor is PostgreSQL writing the very rows that push left (the dossiers and stops as changed, ledger entries, history and feed lines, outcomes, field reports, cash lines, audit entries) into tables with the same columns and indexes, one `INSERT … SELECT` or `UPDATE … FROM` per table.\n\n")
		w("| per fact | courierd CPU | PostgreSQL CPU | together | PostgreSQL's floor, same rows | batch applied in |\n|---|---|---|---|---|---|\n")
		courierd, _ := strconv.ParseFloat(figures["courierd-cpu-µs/fact"], 64)
		postgres, _ := strconv.ParseFloat(figures["postgres-cpu-µs/fact"], 64)
		w("| 300-fact backlog | %.0f µs | %.0f µs | %.0f µs | %s µs | %s ms |\n\n", courierd, postgres, courierd+postgres,
			figures["floor-postgres-cpu-µs/fact"], figures["ms/batch"])
		return
	}
}

// span writes a duration as a reader says it: 8 h, 30 min, 10 s.
func span(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

// jobsDone waits until the job queue holds nothing due, for at most limit.
func jobsDone(ctx context.Context, databaseURL string, limit time.Duration) error {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	for until := time.Now().Add(limit); ; {
		var due int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable') AND scheduled_at <= now()`).
			Scan(&due); err != nil {
			return err
		}
		if due == 0 {
			return nil
		}
		if time.Now().After(until) {
			return fmt.Errorf("%d jobs still due after %s", due, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
