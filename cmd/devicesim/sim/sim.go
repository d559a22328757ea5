// Package sim simulates couriers' handhelds against a running courierd through the Go
// client generated from the device contract: each device registers, logs in, is given
// pickups by the dispatcher, pulls them, walks to them sending GPS breadcrumbs, records
// pickups (with a signature file) or failed attempts, goes offline for a while and syncs
// its backlog, and now and then loses an answer and sends the same batch again, as
// devices in the field do. The report says what was sent, what the server answered, and,
// checked against the database, whether anything acknowledged was lost.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// appVersion is the app version the simulated devices announce.
const appVersion = "1.4.2"

// Config is one simulation run.
type Config struct {
	Base     string        // courierd's address
	Devices  int           // simulated handhelds, one per seeded courier account
	Duration time.Duration // how long devices work before draining their queues
	Seed     int64
	// Password of the seeded accounts (SEED_PASSWORD when seeding).
	Password      string
	Admin         string // the account that plays the dispatchers
	CourierPrefix string // courier accounts are <prefix>01, <prefix>02…
	// OfflineShare is the share of the run a device spends without network.
	OfflineShare float64
	// FailShare is the share of visits where nobody is at home.
	FailShare float64
	// LostAnswerShare is the share of answers the device never sees (it sends again).
	LostAnswerShare float64
	Batch           int // most mutations per push
	// NotesPerStop adds notes to every stop recorded: more mutations per stop opened, to
	// load the push path without the dispatcher's work that opening a stop takes.
	NotesPerStop int
	// StopsAhead, when set, opens this many pickups for every device before the clock
	// starts, and none during the run: the run then measures the devices' traffic alone,
	// not the dispatcher's (who opens far fewer dossiers a day than couriers record facts).
	StopsAhead int
	Think      time.Duration // the pause between a device's steps
	// Rate, when set, paces the fleet to record this many mutations per second in all
	// (each device its share, starting at a random moment of its first period), instead of
	// working as fast as answers come: latency is then measured under a load offered, not
	// under whatever load the server's answers allow.
	Rate float64
	// Started, when set, is called as the clock starts, setup done (for a profiler).
	Started func()
	// DatabaseURL, when set, is read after the run to check that every acknowledged
	// mutation is stored exactly once.
	DatabaseURL string
	// Drain bounds how long devices keep syncing their backlog after Duration, retrying
	// while the server is away (0: ten seconds).
	Drain time.Duration
}

// Report is what a run measured.
type Report struct {
	Devices       int     `json:"devices"`
	Seconds       float64 `json:"seconds"`
	MutationsSent int     `json:"mutations_sent"`
	Applied       int     `json:"applied"`
	Duplicates    int     `json:"duplicates"`
	// FactsApplied counts the applied mutations that record what happened at a door or a
	// desk (pickups, deliveries, failed visits, collections), every kind but notes, which
	// cost the server far less.
	FactsApplied int `json:"facts_applied"`
	Rejected     int `json:"rejected"`
	// RejectedBy counts rejections by problem code.
	RejectedBy     map[string]int `json:"rejected_by"`
	Unacknowledged int            `json:"unacknowledged"`
	// Lost is the acknowledged mutations the database does not hold exactly once; -1 when
	// the database was not checked.
	Lost          int `json:"lost"`
	GPSPointsSent int `json:"gps_points_sent"`
	// GPSPointsStored is counted in the database when it was checked, else from the answers.
	GPSPointsStored int     `json:"gps_points_stored"`
	PushP50MS       float64 `json:"push_p50_ms"`
	PushP99MS       float64 `json:"push_p99_ms"`
	PullP99MS       float64 `json:"pull_p99_ms"`
	MutationsPerS   float64 `json:"mutations_per_s"`
	FactsPerS       float64 `json:"facts_per_s"`
	GPSPointsPerS   float64 `json:"gps_points_per_s"`
	Errors          int     `json:"errors"`
	// Shed counts pushes answered 503 (busy), sent again later.
	Shed int `json:"shed"`
}

// Fleet is a set of simulated handhelds, logged in and given their first work, ready for
// a run or for the fixed-rate probes.
type Fleet struct {
	cfg     Config
	staff   staffClient
	admin   string // the dispatchers' token
	devices []*device
}

// Run simulates cfg.Devices handhelds for cfg.Duration, drains their queues, and reports.
func Run(ctx context.Context, cfg Config) (Report, error) {
	f, err := Setup(ctx, cfg)
	if err != nil {
		return Report{}, err
	}
	defer f.Close()
	return f.Work(ctx)
}

// Setup registers and logs in cfg.Devices handhelds, one per seeded courier account, and
// opens cfg.StopsAhead pickups for each.
func Setup(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.Devices < 1 || cfg.Batch < 1 || cfg.Duration <= 0 {
		return nil, errors.New("need at least one device, a batch of at least one and a duration")
	}
	// Every device keeps its connection between requests, as an app does: Go's default of
	// two idle connections per host would have most requests open a new one.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 0, cfg.Devices+16
	f := &Fleet{cfg: cfg, staff: staffClient{base: cfg.Base, http: &http.Client{Timeout: 30 * time.Second, Transport: transport}}}
	admin, err := f.staff.login(ctx, cfg.Admin, cfg.Password, "")
	if err != nil {
		f.Close()
		return nil, err
	}
	f.admin = admin.AccessToken
	f.devices = make([]*device, cfg.Devices)
	templates := map[string]template{}
	var templatesMu sync.Mutex
	setup, setupCtx := errgroup.WithContext(ctx)
	setup.SetLimit(8)
	for i := range f.devices {
		setup.Go(func() error {
			d, err := newDevice(setupCtx, cfg, f.staff, admin.AccessToken, i)
			if err != nil {
				return err
			}
			templatesMu.Lock()
			tpl, ok := templates[d.office]
			templatesMu.Unlock()
			if !ok {
				if tpl, err = f.staff.templateFor(setupCtx, admin.AccessToken, d.office); err != nil {
					return err
				}
				templatesMu.Lock()
				templates[d.office] = tpl
				templatesMu.Unlock()
			}
			d.template = tpl
			f.devices[i] = d
			return nil
		})
	}
	if err := errors.Join(setup.Wait(), f.OpenStops(ctx, cfg.StopsAhead)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// OpenStops has the dispatcher open n pickups for every device of the fleet and give them
// to its courier. The dispatcher logs in again first: a long run outlives an access token.
func (f *Fleet) OpenStops(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	admin, err := f.staff.login(ctx, f.cfg.Admin, f.cfg.Password, "")
	if err != nil {
		return err
	}
	f.admin = admin.AccessToken
	for _, d := range f.devices {
		d.admin = f.admin
	}
	open, openCtx := errgroup.WithContext(ctx)
	open.SetLimit(8)
	for _, d := range f.devices {
		open.Go(func() error {
			for range n {
				if err := d.openStop(openCtx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return open.Wait()
}

// resetStats starts every device's counts again before a run: a fleet lives several runs
// (make bench's factors), and each reports its own.
func (f *Fleet) resetStats() {
	for _, d := range f.devices {
		d.resetStats()
	}
}

// Close lets go of the fleet's connections: kept open, they would hold up the server's
// shutdown.
func (f *Fleet) Close() { f.staff.http.CloseIdleConnections() }

// Work runs the devices' day for cfg.Duration, drains their queues, and reports, checked
// against the database when cfg.DatabaseURL is set.
func (f *Fleet) Work(ctx context.Context) (Report, error) {
	cfg := f.cfg
	f.resetStats()
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	if cfg.Started != nil {
		cfg.Started()
	}
	var work sync.WaitGroup
	for _, d := range f.devices {
		work.Add(1)
		go func() {
			defer work.Done()
			d.work(ctx, start, deadline)
		}()
	}
	work.Wait()
	elapsed := time.Since(start)
	report := summarize(f.devices, elapsed)
	report.Lost = -1
	if cfg.DatabaseURL != "" {
		if err := check(ctx, cfg.DatabaseURL, f.devices, &report); err != nil {
			return report, fmt.Errorf("checking the database: %w", err)
		}
	}
	return report, ctx.Err()
}

func summarize(devices []*device, elapsed time.Duration) Report {
	r := Report{Devices: len(devices), Seconds: round(elapsed.Seconds()), RejectedBy: map[string]int{}}
	var push, pull []float64
	for _, d := range devices {
		r.MutationsSent += d.stats.sent
		r.Applied += d.stats.applied
		r.Duplicates += d.stats.duplicates
		r.FactsApplied += d.stats.facts
		r.Rejected += d.stats.rejected
		for code, n := range d.stats.rejectedBy {
			r.RejectedBy[code] += n
		}
		r.Unacknowledged += len(d.queue)
		r.GPSPointsSent += d.stats.pointsSent
		r.GPSPointsStored += d.stats.pointsStored
		r.Errors += d.stats.errors
		r.Shed += d.stats.shed
		push = append(push, d.stats.calls["push"]...)
		pull = append(pull, d.stats.calls["pull"]...)
	}
	r.PushP50MS, r.PushP99MS, r.PullP99MS = percentile(push, 0.50), percentile(push, 0.99), percentile(pull, 0.99)
	r.MutationsPerS = round(float64(r.Applied+r.Rejected) / elapsed.Seconds())
	r.FactsPerS = round(float64(r.FactsApplied) / elapsed.Seconds())
	r.GPSPointsPerS = round(float64(r.GPSPointsStored) / elapsed.Seconds())
	return r
}

func percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return round(sorted[int(math.Ceil(q*float64(len(sorted))))-1])
}

func round(x float64) float64 { return math.Round(x*100) / 100 }
