package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	devapi "courierd/mobile-contract/client"
)

// Probe is what a fixed-rate probe measured. Requests go out on a fixed schedule whatever
// the answers (an open loop), and each one's latency counts from the moment it was due,
// so a server that falls behind shows it in the latency instead of slowing the probe.
type Probe struct {
	Requests     int     `json:"requests"`
	Failed       int     `json:"failed"`
	OfferedPerS  float64 `json:"offered_per_s"`
	AnsweredPerS float64 `json:"answered_per_s"` // answered well, per second of the probe
	P50MS        float64 `json:"p50_ms"`
	P99MS        float64 `json:"p99_ms"`
}

// openLoop sends rate requests per second for d, request i by calling do(ctx, i).
func openLoop(ctx context.Context, rate float64, d time.Duration, do func(ctx context.Context, i int) error) Probe {
	n := int(rate * d.Seconds())
	latencies := make([]float64, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := do(ctx, i); err != nil {
				failed.Add(1)
			}
			latencies[i] = float64(time.Since(due).Microseconds()) / 1000
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	p := Probe{Requests: n, Failed: int(failed.Load()), OfferedPerS: rate, P50MS: percentile(latencies, 0.50), P99MS: percentile(latencies, 0.99)}
	p.AnsweredPerS = round(float64(p.Requests-p.Failed) / elapsed)
	return p
}

// PullRoutes has the fleet's devices download their whole route (a pull from no cursor,
// as in the morning or after a reset) rate times a second for d, in turn.
func (f *Fleet) PullRoutes(ctx context.Context, rate float64, d time.Duration) Probe {
	return openLoop(ctx, rate, d, func(ctx context.Context, i int) error {
		dev := f.devices[i%len(f.devices)]
		r, err := dev.api.PullChangesWithResponse(ctx, &devapi.PullChangesParams{XDeviceID: dev.key, XAppVersion: ptr(appVersion), Limit: ptr(200)})
		if err == nil && r.JSON200 == nil {
			err = fmt.Errorf("answered %d", r.StatusCode())
		}
		return err
	})
}

// lookup is what an applicant types to follow their dossier.
type lookup struct {
	Receipt    string `json:"receipt_code"`
	PhoneLast4 string `json:"phone_last4"`
}

// lookupsPerCode is how many public lookups of one receipt code a probe makes: the
// server locks a code out after ten in ten minutes.
const lookupsPerCode = 8

// Track has applicants look up the dossiers opened for the fleet on the public tracking
// endpoint, rate times a second for d, each from an address of its own (the server must
// trust the loopback proxy's X-Forwarded-For: TRUSTED_PROXIES=127.0.0.1), so that the
// per-address limit counts each applicant and not the probe as one.
func (f *Fleet) Track(ctx context.Context, rate float64, d time.Duration) (Probe, error) {
	var all []lookup
	for _, dev := range f.devices {
		all = append(all, dev.opened...)
	}
	if need := int(rate*d.Seconds()/lookupsPerCode) + 1; len(all) < need {
		return Probe{}, fmt.Errorf("tracking at %.0f/s for %s needs %d dossiers, the fleet opened %d (more devices or stops ahead)", rate, d, need, len(all))
	}
	return openLoop(ctx, rate, d, func(ctx context.Context, i int) error {
		source := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		var timeline struct {
			Steps []any `json:"steps"`
		}
		err := f.staff.call(ctx, http.MethodPost, "/v1/track", "", map[string]string{"X-Forwarded-For": source}, all[i%len(all)], &timeline)
		if err == nil && len(timeline.Steps) == 0 {
			err = errors.New("a timeline with no steps")
		}
		return err
	}), nil
}

// Ingest is what a GPS ingest run measured.
type Ingest struct {
	Uploaders    int     `json:"uploaders"`
	BatchPoints  int     `json:"batch_points"`
	Uploads      int     `json:"uploads"`
	Failed       int     `json:"failed"`
	PointsStored int     `json:"points_stored"`
	PointsPerS   float64 `json:"points_per_s"`
	P50MS        float64 `json:"p50_ms"`
	P99MS        float64 `json:"p99_ms"`
}

// Ingest has uploaders of the fleet's devices upload breadcrumbs in batches of points, one
// batch after the other as fast as they are answered, for d: the most GPS the server
// stores, as after a morning of devices out of coverage.
func (f *Fleet) Ingest(ctx context.Context, uploaders, points int, d time.Duration) Ingest {
	uploaders = min(uploaders, len(f.devices))
	out := Ingest{Uploaders: uploaders, BatchPoints: points}
	var mu sync.Mutex
	var latencies []float64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, dev := range f.devices[:uploaders] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				where := dev.pos
				if where == (point{}) {
					where = dev.template.Applicant.Location
				}
				batch := make([]devapi.Breadcrumb, points)
				at := time.Now().Add(-time.Duration(points) * time.Second)
				for i := range batch {
					batch[i] = dev.breadcrumb(at.Add(time.Duration(i)*time.Second), where)
				}
				began := time.Now()
				r, err := dev.api.UploadBreadcrumbsWithResponse(ctx, &devapi.UploadBreadcrumbsParams{XDeviceID: dev.key, XAppVersion: ptr(appVersion)},
					devapi.UploadBreadcrumbsJSONRequestBody{Points: batch})
				took := float64(time.Since(began).Microseconds()) / 1000
				mu.Lock()
				out.Uploads++
				if err != nil || r.JSON200 == nil {
					out.Failed++
				} else {
					out.PointsStored += r.JSON200.Stored
					latencies = append(latencies, took)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	out.PointsPerS = round(float64(out.PointsStored) / time.Since(start).Seconds())
	out.P50MS, out.P99MS = percentile(latencies, 0.50), percentile(latencies, 0.99)
	return out
}
