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

	"courierd/domain"
)

// DayConfig is a working day of the whole fleet, lived Factor times faster than in life:
// each courier starts their day in the morning (a password login for a few, a session
// renewed with its refresh token for the rest), pulls the route published for them, visits
// their stops spread along the day and records what happened with its proof files, sends
// a GPS point every GPSEvery in batches every UploadEvery, renews the session every
// SessionEvery, goes out of coverage now and then with a backlog, and misses an answer
// now and then; meanwhile applicants look their dossiers up and dispatchers plan again,
// at their rates in life times Factor. The run lasts Duration (real time): Duration ×
// Factor of the day, from its start.
type DayConfig struct {
	Config
	Factor        float64
	Day           time.Duration // a working day in life (8 h)
	StopsPerDay   int           // stops a courier visits in a day (20)
	GPSEvery      time.Duration // in life (10 s)
	UploadEvery   time.Duration // in life (1 min)
	PullEvery     time.Duration // a device looks for changes at least this often in life, besides after each visit (5 min)
	SessionEvery  time.Duration // in life (1 h)
	Morning       time.Duration // devices start their day spread over this much life from the day's start (30 min)
	PasswordShare float64       // devices whose day starts with a password login; the others renew their session
	OfflineSpell  time.Duration // how long, in life, a device out of coverage stays out (30 min)
	// TracksPerStop are applicants' public lookups per stop and day; ReplansPerOffice are
	// the plans a dispatcher asks for again per office and day.
	TracksPerStop, ReplansPerOffice float64
}

// DefaultDay is the national day as DOMAIN.md has it, at factor 1 (the fleet's size and
// the run's length are the caller's).
func DefaultDay(cfg Config) DayConfig {
	return DayConfig{Config: cfg, Factor: 1, Day: 8 * time.Hour, StopsPerDay: 20, GPSEvery: 10 * time.Second, UploadEvery: time.Minute,
		PullEvery: 5 * time.Minute, SessionEvery: time.Hour, Morning: 30 * time.Minute, PasswordShare: 0.1, OfflineSpell: 30 * time.Minute,
		TracksPerStop: 2, ReplansPerOffice: 2}
}

// StopsAheadFor is how many stops each device needs opened for a day run: those its
// window of the day reaches, and one more.
func (c DayConfig) StopsAheadFor() int {
	lived := time.Duration(float64(c.Duration) * c.Factor)
	return int(math.Ceil(float64(c.StopsPerDay)*min(lived, c.Day).Hours()/c.Day.Hours())) + 1
}

// Calls are the latencies of one kind of call in a run, in ms.
type Calls struct {
	Answered int     `json:"answered"`
	Failed   int     `json:"failed"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
}

// DayReport is what a day run measured: the fleet's report, and each kind of call's
// latencies (the devices' push, pull, gps, blob, login, refresh; applicants' track;
// dispatchers' plan).
type DayReport struct {
	Report
	Factor      float64          `json:"factor"`
	LifeMinutes float64          `json:"life_minutes"`
	Calls       map[string]Calls `json:"calls"`
}

// DeviceCalls are the calls a handheld makes, whose latency a courier feels.
var DeviceCalls = []string{"push", "pull", "gps", "blob", "login", "refresh"}

// WorstDeviceP99 is the largest p99 of the devices' calls, and its kind.
func (r DayReport) WorstDeviceP99() (float64, string) {
	worst, kind := 0.0, ""
	for _, k := range DeviceCalls {
		if c := r.Calls[k]; c.P99MS > worst {
			worst, kind = c.P99MS, k
		}
	}
	return worst, kind
}

// dayClock maps the day in life to real time: life runs factor times faster from start.
type dayClock struct {
	start  time.Time
	factor float64
}

// at is when, in real time, the day reaches lived.
func (c dayClock) at(lived time.Duration) time.Time {
	return c.start.Add(time.Duration(float64(lived) / c.factor))
}

// Day runs the fleet's day (see DayConfig), drains the devices' queues, and reports,
// checked against the database when DatabaseURL is set. The fleet was set up with
// StopsAheadFor stops each.
func (f *Fleet) Day(ctx context.Context, dc DayConfig) (DayReport, error) {
	if dc.Factor <= 0 || dc.StopsPerDay < 1 || dc.Day <= 0 || dc.GPSEvery <= 0 || dc.UploadEvery <= 0 || dc.SessionEvery <= 0 {
		return DayReport{}, errors.New("a day needs a positive factor, length, stops, GPS, upload and session intervals")
	}
	f.resetStats()
	clock := dayClock{start: time.Now(), factor: dc.Factor}
	window := time.Duration(float64(dc.Duration) * dc.Factor)
	if dc.Started != nil {
		dc.Started()
	}
	var work sync.WaitGroup
	for _, d := range f.devices {
		work.Add(1)
		go func() {
			defer work.Done()
			d.day(ctx, dc, clock, window)
		}()
	}
	perLifeSecond := dc.Factor / dc.Day.Seconds()
	var track, plan Probe
	var trackErr error
	work.Add(2)
	go func() {
		defer work.Done()
		rate := float64(len(f.devices)*dc.StopsPerDay) * dc.TracksPerStop * perLifeSecond
		if rate > 0 {
			track, trackErr = f.Track(ctx, rate, dc.Duration)
		}
	}()
	go func() {
		defer work.Done()
		if rate := float64(len(f.offices())) * dc.ReplansPerOffice * perLifeSecond; rate > 0 {
			plan = f.replan(ctx, rate, dc.Duration)
		}
	}()
	work.Wait()
	elapsed := time.Since(clock.start)
	r := DayReport{Report: summarize(f.devices, elapsed), Factor: dc.Factor, LifeMinutes: round(elapsed.Minutes() * dc.Factor),
		Calls: map[string]Calls{}}
	for _, kind := range DeviceCalls {
		var latencies []float64
		for _, d := range f.devices {
			latencies = append(latencies, d.stats.calls[kind]...)
		}
		r.Calls[kind] = Calls{Answered: len(latencies), P50MS: percentile(latencies, 0.50), P99MS: percentile(latencies, 0.99)}
	}
	for kind, p := range map[string]Probe{"track": track, "plan": plan} {
		r.Calls[kind] = Calls{Answered: p.Requests - p.Failed, Failed: p.Failed, P50MS: p.P50MS, P99MS: p.P99MS}
	}
	r.Lost = -1
	if dc.DatabaseURL != "" {
		if err := check(ctx, dc.DatabaseURL, f.devices, &r.Report); err != nil {
			return r, fmt.Errorf("checking the database: %w", err)
		}
	}
	return r, errors.Join(trackErr, ctx.Err())
}

// offices are the post offices of the fleet's couriers.
func (f *Fleet) offices() []string {
	var out []string
	for _, d := range f.devices {
		if !slices.Contains(out, d.office) {
			out = append(out, d.office)
		}
	}
	return out
}

// replan has dispatchers ask for a plan of their office's day rate times a second for d,
// the offices in turn. A plan already running for the office (409) is an answer too: the
// console shows it.
func (f *Fleet) replan(ctx context.Context, rate float64, d time.Duration) Probe {
	offices := f.offices()
	today := time.Now().In(domain.Vietnam).Format(time.DateOnly)
	return openLoop(ctx, rate, d, func(ctx context.Context, i int) error {
		err := f.staff.call(ctx, http.MethodPost, "/v1/dispatch/plans", f.admin, nil,
			map[string]any{"post_office_id": offices[i%len(offices)], "date": today}, nil)
		var refused *problemError
		if errors.As(err, &refused) && refused.status == http.StatusConflict {
			return nil
		}
		return err
	})
}

// day is one courier's day until window (in life), then online until the queues drain.
// A courier whose day starts after the window has none.
func (d *device) day(ctx context.Context, dc DayConfig, clock dayClock, window time.Duration) {
	lived := time.Duration(d.rng.Float64() * float64(dc.Morning))
	if lived > window || !d.waitUntil(ctx, clock.at(lived)) {
		return
	}
	// The day begins: a session, then the route as published.
	if d.rng.Float64() < dc.PasswordShare {
		d.passwordLogin(ctx)
	} else {
		d.renew(ctx)
	}
	d.cursor = ""
	d.pull(ctx)
	gap := dc.Day / time.Duration(dc.StopsPerDay)
	nextStop := lived + time.Duration(d.rng.Float64()*float64(gap))
	nextUpload, nextPull, nextSession := lived+dc.UploadEvery, lived+dc.PullEvery, lived+dc.SessionEvery
	lastPoint, offlineUntil := lived, time.Duration(0)
	// A spell out of coverage starts at an upload with this chance, so that OfflineShare of
	// the day is spent out.
	spellChance := 0.0
	if dc.OfflineShare > 0 && dc.OfflineShare < 1 && dc.OfflineSpell > 0 {
		spellChance = dc.OfflineShare / (1 - dc.OfflineShare) * float64(dc.UploadEvery) / float64(dc.OfflineSpell)
	}
	for ctx.Err() == nil {
		lived = min(nextStop, nextUpload, nextPull, nextSession)
		if lived > window || !d.waitUntil(ctx, clock.at(lived)) {
			break
		}
		for ; lastPoint+dc.GPSEvery <= lived; lastPoint += dc.GPSEvery {
			d.points = append(d.points, d.breadcrumb(time.Now().Add(-time.Duration(float64(lived-lastPoint)/dc.Factor)), d.pos))
			d.stats.pointsSent++
		}
		online := lived >= offlineUntil
		switch lived {
		case nextStop:
			nextStop += gap/2 + time.Duration(d.rng.Float64()*float64(gap))
			if d.visitNext() && online {
				d.sync(ctx)
			}
		case nextUpload:
			nextUpload += dc.UploadEvery
			if !online {
				continue
			}
			if d.rng.Float64() < spellChance {
				offlineUntil = lived + dc.OfflineSpell
				continue
			}
			if d.uploadBlobs(ctx) && d.push(ctx) {
				d.uploadPoints(ctx)
			}
		case nextPull:
			nextPull += dc.PullEvery
			if online {
				d.pull(ctx)
			}
		case nextSession:
			nextSession += dc.SessionEvery
			if online {
				d.renew(ctx)
			}
		}
	}
	d.drain(ctx)
}

// waitUntil sleeps until t; false when ctx ended first.
func (d *device) waitUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// visitNext goes to the next stop still to visit and records what happened there; false
// when none is left.
func (d *device) visitNext() bool {
	for id, stop := range d.stops {
		if !d.toVisit(id, stop) {
			continue
		}
		d.pos = point{Lat: stop.Location.Lat, Lon: stop.Location.Lon}
		d.record(stop)
		d.visited[id] = true
		d.last = &stop
		return true
	}
	return false
}

// passwordLogin starts the day with the courier's password, as after a new install or a
// forgotten phone: the slow way in (Argon2id).
func (d *device) passwordLogin(ctx context.Context) {
	began := time.Now()
	t, err := d.staff.login(ctx, d.username, d.cfg.Password, d.key)
	if err != nil {
		d.stats.errors++
		return
	}
	d.answered("login", began)
	d.tokens = t
}
