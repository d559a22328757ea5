// Command devicesim simulates couriers' handhelds against a running courierd, through the
// Go client generated from the device contract, and prints a JSON report. See sim.Config
// for what each flag drives; with -factor, the fleet lives a working day that much faster
// than in life instead (sim.DayConfig).
//
//	devicesim -base http://127.0.0.1:8080 -devices 8 -duration 1m -password … -database "$DATABASE_URL"
//	devicesim -devices 3300 -factor 10 -duration 3m -password …
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"courierd/cmd/devicesim/sim"
)

func main() {
	var cfg sim.Config
	flag.StringVar(&cfg.Base, "base", "http://127.0.0.1:8080", "courierd's address")
	flag.IntVar(&cfg.Devices, "devices", 8, "simulated handhelds, one per seeded courier account")
	flag.DurationVar(&cfg.Duration, "duration", time.Minute, "how long the devices work before draining their queues")
	flag.Int64Var(&cfg.Seed, "seed", 1, "random seed of the devices' choices")
	flag.StringVar(&cfg.Password, "password", os.Getenv("SEED_PASSWORD"), "password of the seeded accounts (default $SEED_PASSWORD)")
	flag.StringVar(&cfg.Admin, "admin", "admin", "the account that plays the dispatchers")
	flag.StringVar(&cfg.CourierPrefix, "couriers", "courier", "courier accounts are <prefix>01, <prefix>02…")
	flag.Float64Var(&cfg.OfflineShare, "offline", 0.2, "share of the run a device spends without network")
	flag.Float64Var(&cfg.FailShare, "fail", 0.1, "share of visits where nobody is at home")
	flag.Float64Var(&cfg.LostAnswerShare, "lost-answers", 0.05, "share of answers a device never sees and sends again")
	flag.IntVar(&cfg.Batch, "batch", 50, "most mutations per push")
	flag.IntVar(&cfg.NotesPerStop, "notes", 0, "notes added to every stop recorded (more push load per stop opened)")
	flag.IntVar(&cfg.StopsAhead, "stops-ahead", 0, "pickups opened for every device before the clock starts, and none during the run (0: opened as devices run short)")
	flag.DurationVar(&cfg.Think, "think", 100*time.Millisecond, "pause between a device's steps")
	flag.Float64Var(&cfg.Rate, "rate", 0, "mutations per second the whole fleet records, paced (latency under a load offered); 0: each device as fast as it is answered, with -think between steps")
	flag.StringVar(&cfg.DatabaseURL, "database", os.Getenv("DATABASE_URL"), "courierd's database, read after the run to check nothing acknowledged was lost (default $DATABASE_URL; empty: not checked)")
	flag.DurationVar(&cfg.Drain, "drain", 10*time.Second, "how long devices keep syncing their backlog after the run, retrying while the server is away")
	factor := flag.Float64("factor", 0, "live a national working day this many times faster than life for -duration (stops, GPS, sessions, tracking and re-plans at their rates in life); 0: the plain run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var report any
	var fleet sim.Report
	var err error
	if *factor > 0 {
		day := sim.DefaultDay(cfg)
		day.Factor = *factor
		var r sim.DayReport
		r, err = runDay(ctx, day)
		report, fleet = r, r.Report
	} else {
		fleet, err = sim.Run(ctx, cfg)
		report = fleet
	}
	if fleet.Devices > 0 {
		out, _ := json.Marshal(report)
		fmt.Println(string(out))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devicesim:", err)
		os.Exit(1)
	}
	if fleet.Lost > 0 {
		fmt.Fprintf(os.Stderr, "devicesim: %d acknowledged mutations are not stored exactly once\n", fleet.Lost)
		os.Exit(2)
	}
}

// runDay sets the fleet up with the stops its window of the day reaches, and lives it.
func runDay(ctx context.Context, day sim.DayConfig) (sim.DayReport, error) {
	day.StopsAhead = day.StopsAheadFor()
	fleet, err := sim.Setup(ctx, day.Config)
	if err != nil {
		return sim.DayReport{}, err
	}
	defer fleet.Close()
	return fleet.Day(ctx, day)
}
