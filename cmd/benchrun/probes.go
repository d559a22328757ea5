package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"courierd/cmd/devicesim/sim"
)

type probeOptions struct {
	devices             int
	pullRate, trackRate float64
	uploaders           int
	duration            time.Duration
}

// probeStops is the pickups opened for each probe device: its route to pull, and the
// dossiers the tracking probe looks up.
const probeStops = 4

// probeBatches are the GPS batch sizes of the ingest runs: what a device sends after a few
// minutes out of coverage, and after an hour.
var probeBatches = []int{100, 500}

type probes struct {
	devices int
	ingest  []sim.Ingest
	pull    sim.Probe
	track   sim.Probe
	peakRSS int64
}

// measureProbes starts a fresh courierd (trusting the loopback's X-Forwarded-For, so that
// each simulated applicant counts as its own address), sets up a fleet, and measures GPS
// ingest, then route pulls and public tracking at fixed rates.
func measureProbes(ctx context.Context, o options, env []string, base string) (probes, error) {
	p := probes{devices: o.probes.devices}
	srv, err := startServer(ctx, env, o, base, "TRUSTED_PROXIES=127.0.0.1")
	if err != nil {
		return p, err
	}
	defer srv.stop()
	fleet, err := sim.Setup(ctx, sim.Config{Base: base, Devices: o.probes.devices, Duration: o.probes.duration, Seed: 1_000_003,
		Password: benchPassword, Admin: "admin", CourierPrefix: "courier", Batch: 50, StopsAhead: probeStops})
	if err != nil {
		return p, err
	}
	defer fleet.Close()
	for _, points := range probeBatches {
		fmt.Fprintf(os.Stderr, "benchrun: GPS ingest, %d devices, batches of %d\n", o.probes.uploaders, points)
		p.ingest = append(p.ingest, fleet.Ingest(ctx, o.probes.uploaders, points, o.probes.duration))
	}
	fmt.Fprintf(os.Stderr, "benchrun: route pulls at %.0f/s\n", o.probes.pullRate)
	profiled := profileMiddle(ctx, srv, o, "pull", o.probes.duration)
	p.pull = fleet.PullRoutes(ctx, o.probes.pullRate, o.probes.duration)
	if err := <-profiled; err != nil {
		return p, err
	}
	fmt.Fprintf(os.Stderr, "benchrun: tracking lookups at %.0f/s\n", o.probes.trackRate)
	profiled = profileMiddle(ctx, srv, o, "track", o.probes.duration)
	if p.track, err = fleet.Track(ctx, o.probes.trackRate, o.probes.duration); err != nil {
		return p, err
	}
	if err := <-profiled; err != nil {
		return p, err
	}
	p.peakRSS, err = peakRSS(srv.cmd.Process.Pid)
	return p, err
}
