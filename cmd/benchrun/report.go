package main

import (
	"fmt"
	"strings"
	"time"
)

// report writes the figures as Markdown.
func report(o options, m machine, micro string, runs []sizeRun, pr probes, fl floor, national nationalResult) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("Written by `make bench` on %s. Rerun it on your machine to compare; every figure below comes from one run.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	w("## The machine\n\n")
	w("courierd, PostgreSQL and the device simulator share it, as in CI.\n\n")
	w("| | |\n|---|---|\n| CPU | %s |\n| cores | %d |\n| memory | %s |\n| system | %s |\n| Go | %s |\n| PostgreSQL | %s |\n\n",
		m.CPU, m.Cores, m.Memory, m.OS, m.Go, m.Postgres)

	if len(national.runs) > 0 {
		writeNational(w, o, national)
	}
	writeFactPath(w, micro)
	if len(runs) > 0 {
		writeSizes(w, o, runs, fl)
	}
	if o.probes.duration > 0 {
		writeProbes(w, o, pr)
	}
	w("## The floor: PostgreSQL alone\n\n")
	w("The same rows courierd stores, written by a small Go program the cheapest ways, from %d connections at once, %s each, ", fl.Writers, o.floorFor)
	w("into tables with the same columns and indexes (no foreign keys, no partitions): a note's outcome and field report per mutation, in batches of 50; ")
	w("breadcrumbs in batches of 500.\n\n")
	w("| rows | COPY | one multi-row INSERT per batch |\n|---|---|---|\n")
	w("| mutations (outcome + field report) | %.0f /s | %.0f /s |\n", fl.MutationsCopyPerS, fl.MutationsInsertPerS)
	w("| breadcrumbs | %.0f /s | %.0f /s |\n\n", fl.BreadcrumbsCopyPerS, fl.BreadcrumbsInsertPerS)

	w("## Targets\n\n")
	w("| target | goal | measured |\n|---|---|---|\n")
	if len(runs) > 0 {
		push := runs[len(runs)-1]
		w("| sync push, %s devices | ≥ 5,000 mutations/s, p99 < 250 ms, 0 lost | %.0f mutations/s, p99 %.0f ms, %d lost |\n",
			push.label(), push.report.MutationsPerS, push.report.PushP99MS, push.report.Lost)
	}
	best := 0.0
	for _, in := range pr.ingest {
		best = max(best, in.PointsPerS)
	}
	w("| GPS ingest, batches of 100–500 | ≥ 50,000 points/s | %.0f points/s |\n", best)
	if o.probes.duration > 0 {
		w("| route pull at %.0f/s | p99 < 50 ms | p99 %.1f ms |\n", pr.pull.OfferedPerS, pr.pull.P99MS)
		w("| tracking lookup at %.0f/s | p99 < 20 ms | p99 %.1f ms |\n", pr.track.OfferedPerS, pr.track.P99MS)
	}
	if len(national.runs) > 0 {
		w("| national day, %d handhelds, this machine | F ≥ 10, every device call's p99 < %.0f ms, 0 lost | largest F that held: %g |\n",
			o.national.devices, holdsP99, largestHeld(national.runs))
	}
	peak := pr.peakRSS
	for _, r := range runs {
		peak = max(peak, r.peakRSS)
	}
	w("| courierd memory, any run | < 300 MiB | %.0f MiB |\n\n", float64(peak)/(1<<20))

	if micro != "" {
		w("## Go micro-benchmarks\n\n`go test -run '^$' -bench . -benchmem ./...`\n\n")
		w("| benchmark | runs | figures |\n|---|---|---|\n")
		for _, line := range strings.Split(micro, "\n") {
			fields := strings.Fields(line)
			if len(fields) < 3 || !strings.HasPrefix(fields[0], "Benchmark") {
				continue
			}
			w("| %s | %s | %s |\n", fields[0], fields[1], strings.Join(fields[2:], " "))
		}
		w("\n")
	}
	return b.String()
}

// label names a run in the tables.
func (r sizeRun) label() string {
	if r.rate > 0 {
		return fmt.Sprintf("%d, paced at %.0f/s", r.report.Devices, r.rate)
	}
	return fmt.Sprint(r.report.Devices)
}

// writeFunc writes a formatted piece of the report.
type writeFunc func(format string, args ...any)

func writeSizes(w writeFunc, o options, runs []sizeRun, fl floor) {
	w("## Devices against courierd\n\n")
	w("`cmd/devicesim` through the generated contract client, %s per size, each size against a fresh `courierd serve`: ", o.duration)
	if o.stopsAhead > 0 {
		w("every device logs in and is given %d pickups by the dispatcher before the clock starts (and, once it has visited them, goes on writing notes on its last stop); then it pulls them, walks to them sending GPS points, ", o.stopsAhead)
	} else {
		w("every device logs in, is given pickups by the dispatcher as it runs short (two API calls each), pulls them, walks to them sending GPS points, ")
	}
	w("records each pickup (with a signature file) or a failed visit, adds %d notes to every stop, goes offline now and then (20 %% of the time) ", o.notes)
	w("and loses 5 %% of its answers (so it sends again). `lost` is checked in the database after the run: every mutation a device saw acknowledged must be stored exactly once.\n\n")
	if len(o.rates) > 0 {
		w("The rows marked paced are the largest fleet recording a fixed number of mutations per second together (each device its share, starting at a random moment), ")
		w("so their latencies are those of a load offered; the other rows show how much the server takes when every device sends again as soon as it is answered.\n\n")
	}
	w("`facts/s` counts the applied mutations other than notes (pickups, deliveries, failed visits, collections): each changes its dossier, and costs the server far more than a note.\n\n")
	w("| devices | mutations sent | applied | duplicates | rejected | lost | mutations/s | facts/s | share of the floor | push p50 | push p99 | pull p99 | GPS points/s | courierd peak RSS |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		rep := r.report
		share := 0.0
		if fl.MutationsCopyPerS > 0 {
			share = 100 * rep.MutationsPerS / fl.MutationsCopyPerS
		}
		w("| %s | %d | %d | %d | %d | %d | %.0f | %.0f | %.1f %% | %.1f ms | %.1f ms | %.1f ms | %.0f | %.0f MiB |\n",
			r.label(), rep.MutationsSent, rep.Applied, rep.Duplicates, rep.Rejected, rep.Lost, rep.MutationsPerS, rep.FactsPerS, share,
			rep.PushP50MS, rep.PushP99MS, rep.PullP99MS, rep.GPSPointsPerS, float64(r.peakRSS)/(1<<20))
	}
	w("\n")

	w("### Where the CPU went\n\n")
	w("CPU time each part used while the devices worked, read from `/proc`: as cores kept busy, and per 1,000 mutations answered. ")
	w("The simulator is this program; it loads the same cores.\n\n")
	w("| devices | courierd cores | PostgreSQL cores | simulator cores | courierd ms / 1,000 mutations | PostgreSQL ms / 1,000 mutations |\n|---|---|---|---|---|---|\n")
	for _, r := range runs {
		secs, answered := r.report.Seconds, float64(r.report.Applied+r.report.Rejected)
		if secs <= 0 || answered <= 0 {
			continue
		}
		pg := "not on this machine"
		pgPer := pg
		if r.cpu.PostgresSeen {
			pg = fmt.Sprintf("%.2f", r.cpu.Postgres.Seconds()/secs)
			pgPer = fmt.Sprintf("%.0f", float64(r.cpu.Postgres.Milliseconds())/answered*1000)
		}
		w("| %s | %.2f | %s | %.2f | %.0f | %s |\n", r.label(), r.cpu.Courierd.Seconds()/secs, pg, r.cpu.Simulator.Seconds()/secs,
			float64(r.cpu.Courierd.Milliseconds())/answered*1000, pgPer)
	}
	w("\n")
	if last := runs[len(runs)-1]; len(last.statements) > 0 {
		w("### The database's time, statement by statement (%s devices)\n\n", last.label())
		w("From `pg_stat_statements`, reset as the devices started.\n\n| calls | total ms | rows | statement |\n|---|---|---|---|\n")
		for _, st := range last.statements {
			q := st.Query
			if len(q) > 160 {
				q = q[:160] + "…"
			}
			w("| %d | %.0f | %d | `%s` |\n", st.Calls, st.TotalMS, st.Rows, strings.ReplaceAll(q, "|", "\\|"))
		}
		w("\n")
	} else {
		w("The server does not load `pg_stat_statements` (it must be in `shared_preload_libraries`), so there is no statement-by-statement table; ")
		w("`PG_SKIP_LOCAL=1 make bench` runs against the project's private cluster, which loads it.\n\n")
	}

}

func writeProbes(w writeFunc, o options, pr probes) {
	w("## Fixed-rate probes\n\n")
	w("A fresh courierd, %d handhelds set up with %d pickups each. Requests go out on a fixed schedule whatever the answers, ", pr.devices, probeStops)
	w("and each latency counts from the moment the request was due, so a server falling behind shows in the latency. %s each.\n\n", o.probes.duration)
	w("| probe | requests | failed | offered /s | answered /s | p50 | p99 |\n|---|---|---|---|---|---|---|\n")
	w("| route pull (a device's whole route, no cursor) | %d | %d | %.0f | %.0f | %.1f ms | %.1f ms |\n",
		pr.pull.Requests, pr.pull.Failed, pr.pull.OfferedPerS, pr.pull.AnsweredPerS, pr.pull.P50MS, pr.pull.P99MS)
	w("| public tracking lookup (receipt code and phone digits) | %d | %d | %.0f | %.0f | %.1f ms | %.1f ms |\n\n",
		pr.track.Requests, pr.track.Failed, pr.track.OfferedPerS, pr.track.AnsweredPerS, pr.track.P50MS, pr.track.P99MS)
	w("GPS ingest: devices upload batches one after the other, as fast as they are answered.\n\n")
	w("| devices uploading | points per batch | uploads | failed | points stored/s | upload p50 | upload p99 |\n|---|---|---|---|---|---|---|\n")
	for _, in := range pr.ingest {
		w("| %d | %d | %d | %d | %.0f | %.1f ms | %.1f ms |\n", in.Uploaders, in.BatchPoints, in.Uploads, in.Failed, in.PointsPerS, in.P50MS, in.P99MS)
	}
	w("\n")

}
