package fieldsync

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// MaxPoints is the most breadcrumbs one upload may carry.
const MaxPoints = 500

// lateness is how old a breadcrumb may be on arrival: a device offline for days still
// delivers its track, but nothing older than the track is kept.
const lateness = 30 * 24 * time.Hour

// Point is one GPS fix of a courier's track. Seq is the device's own numbering of its
// points, which makes a replayed upload harmless.
type Point struct {
	Seq        int64
	At         time.Time
	Lat, Lon   float64
	AccuracyM  float64
	SpeedMPS   *float64
	HeadingDeg *float64
	BatteryPct *int
}

// TrackStore keeps breadcrumbs.
type TrackStore interface {
	// SaveTrack stores points not stored before and moves the courier's latest position
	// forward, returning how many were new.
	SaveTrack(ctx context.Context, device, courier uuid.UUID, points []Point) (int, error)
	// Position is the courier's latest known fix, if any.
	Position(ctx context.Context, courier uuid.UUID) (Point, bool, error)
}

// Tracks accepts breadcrumbs.
type Tracks struct {
	store TrackStore
	now   func() time.Time
}

func NewTracks(store TrackStore, now func() time.Time) *Tracks {
	return &Tracks{store: store, now: now}
}

// Upload stores the calling device's points, in any order, late or not, each once. It
// answers how many were new and how many the server already had.
func (t *Tracks) Upload(ctx context.Context, points []Point) (int, int, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.RoleCourier || p.DeviceID == uuid.Nil {
		return 0, 0, domain.Errorf(domain.CodeForbidden, "only a courier's registered device uploads a track")
	}
	if len(points) > MaxPoints {
		return 0, 0, domain.Errorf(domain.CodeBodyTooLarge, "at most %d points per upload; send the rest in another", MaxPoints)
	}
	now := t.now()
	var probs domain.Problems
	for i, pt := range points {
		field := fmt.Sprintf("points[%d]", i)
		probs.Check(pt.Seq >= 1, field+".seq", "must be 1 or more")
		probs.Check(pt.Lat >= -90 && pt.Lat <= 90 && pt.Lon >= -180 && pt.Lon <= 180, field, "must be a real position")
		probs.Check(!pt.At.Before(now.Add(-lateness)) && pt.At.Before(now.Add(time.Hour)), field+".at", "must be within the last 30 days (check the device's clock)")
		probs.Check(pt.AccuracyM >= 0 && pt.AccuracyM <= 100_000, field+".accuracy_m", "must be 0 to 100000 metres")
		probs.Check(pt.SpeedMPS == nil || (*pt.SpeedMPS >= 0 && *pt.SpeedMPS <= 100), field+".speed_mps", "must be 0 to 100 m/s")
		probs.Check(pt.HeadingDeg == nil || (*pt.HeadingDeg >= 0 && *pt.HeadingDeg < 360), field+".heading_deg", "must be 0 to 360")
		probs.Check(pt.BatteryPct == nil || (*pt.BatteryPct >= 0 && *pt.BatteryPct <= 100), field+".battery_pct", "must be 0 to 100")
	}
	if err := probs.Err(); err != nil {
		return 0, 0, err
	}
	if len(points) == 0 {
		return 0, 0, nil
	}
	stored, err := t.store.SaveTrack(ctx, p.DeviceID, p.CourierID, points)
	return stored, len(points) - stored, err
}

// Position is a courier's latest fix: NOT_FOUND when none has come yet.
func (t *Tracks) Position(ctx context.Context, courier uuid.UUID) (Point, error) {
	pt, ok, err := t.store.Position(ctx, courier)
	if err == nil && !ok {
		err = domain.Errorf(domain.CodeNotFound, "no position of this courier yet")
	}
	return pt, err
}
