package main

import (
	"fmt"
	"strings"
	"time"
)

// report writes the figures as Markdown.
func report(o options, m machine, micro string, runs []sizeRun, fl floor) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("Written by `make bench` on %s. Rerun it on your machine to compare; every figure below comes from one run.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	w("## The machine\n\n")
	w("courierd, PostgreSQL and the device simulator share it, as in CI.\n\n")
	w("| | |\n|---|---|\n| CPU | %s |\n| cores | %d |\n| memory | %s |\n| system | %s |\n| Go | %s |\n| PostgreSQL | %s |\n\n",
		m.CPU, m.Cores, m.Memory, m.OS, m.Go, m.Postgres)

	w("## Devices against courierd\n\n")
	w("`cmd/devicesim` through the generated contract client, %s per size, each size against a fresh `courierd serve`: ", o.duration)
	if o.stopsAhead > 0 {
		w("every device logs in and is given %d pickups by the dispatcher before the clock starts; then it pulls them, walks to them sending GPS points, ", o.stopsAhead)
	} else {
		w("every device logs in, is given pickups by the dispatcher as it runs short (two API calls each), pulls them, walks to them sending GPS points, ")
	}
	w("records each pickup (with a signature file) or a failed visit, adds %d notes to every stop, goes offline now and then (20 %% of the time) ", o.notes)
	w("and loses 5 %% of its answers (so it sends again). `lost` is checked in the database after the run: every mutation a device saw acknowledged must be stored exactly once.\n\n")
	w("| devices | mutations sent | applied | duplicates | rejected | lost | mutations/s | share of the floor | push p50 | push p99 | pull p99 | GPS points/s | courierd peak RSS |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		rep := r.report
		share := 0.0
		if fl.MutationsCopyPerS > 0 {
			share = 100 * rep.MutationsPerS / fl.MutationsCopyPerS
		}
		w("| %d | %d | %d | %d | %d | %d | %.0f | %.1f %% | %.1f ms | %.1f ms | %.1f ms | %.0f | %.0f MiB |\n",
			rep.Devices, rep.MutationsSent, rep.Applied, rep.Duplicates, rep.Rejected, rep.Lost, rep.MutationsPerS, share,
			rep.PushP50MS, rep.PushP99MS, rep.PullP99MS, rep.GPSPointsPerS, float64(r.peakRSS)/(1<<20))
	}
	w("\n")

	w("## The floor: PostgreSQL alone\n\n")
	w("The same rows courierd stores, written by a small Go program the cheapest ways, from %d connections at once, %s each, ", fl.Writers, o.floorFor)
	w("into tables with the same columns and indexes (no foreign keys, no partitions): a note's outcome and field report per mutation, in batches of 50; ")
	w("breadcrumbs in batches of 500.\n\n")
	w("| rows | COPY | one multi-row INSERT per batch |\n|---|---|---|\n")
	w("| mutations (outcome + field report) | %.0f /s | %.0f /s |\n", fl.MutationsCopyPerS, fl.MutationsInsertPerS)
	w("| breadcrumbs | %.0f /s | %.0f /s |\n\n", fl.BreadcrumbsCopyPerS, fl.BreadcrumbsInsertPerS)

	w("## Targets\n\n")
	w("| target | goal | measured (largest run) |\n|---|---|---|\n")
	if len(runs) > 0 {
		last := runs[len(runs)-1]
		w("| sync push with %d devices | ≥ 5,000 mutations/s, p99 < 250 ms, 0 lost | %.0f mutations/s, p99 %.0f ms, %d lost |\n",
			last.report.Devices, last.report.MutationsPerS, last.report.PushP99MS, last.report.Lost)
		w("| courierd memory | < 300 MiB | %.0f MiB |\n", float64(last.peakRSS)/(1<<20))
	}
	w("\n")

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
