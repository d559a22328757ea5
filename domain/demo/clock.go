package demo

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain/catalog"
)

// vietnam is the zone the demo's days are counted in.
var vietnam = time.FixedZone("ICT", 7*3600)

// Clock is the time the dossier service reads while Play opens and moves the demo's
// dossiers: each at its plan's age, so that the day seeded has deadlines passed, due and
// near, not only fresh ones. Outside Play it is the wall clock.
type Clock struct {
	cal  catalog.Calendar
	mu   sync.Mutex
	back time.Duration
}

// NewClock is a clock over ds's calendar, which counts the working days back.
func NewClock(ds Dataset) *Clock {
	return &Clock{cal: catalog.NewCalendar(ds.CalendarDays)}
}

// Now is the time as Play has set it.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(-c.back)
}

// openedAgo sets the clock back workingDays working days; 0 is the wall clock again.
func (c *Clock) openedAgo(workingDays int) {
	now := time.Now()
	at := now
	for n := workingDays; n > 0; {
		at = at.AddDate(0, 0, -1)
		if c.cal.IsWorkingDay(at.In(vietnam)) {
			n--
		}
	}
	c.mu.Lock()
	c.back = now.Sub(at)
	c.mu.Unlock()
}

// Breadcrumb is a GPS point of a demo courier's handheld, Before the moment it is loaded.
type Breadcrumb struct {
	CourierID  uuid.UUID
	DeviceID   uuid.UUID
	Seq        int64
	Before     time.Duration
	Location   orb.Point
	BatteryPct int
}

// trailPoints and trailEvery make each courier's recent track: the last forty minutes.
const (
	trailPoints = 10
	trailEvery  = 4 * time.Minute
)

// Trails are the couriers' recent tracks, out from their post office a point every four
// minutes, so that the console shows each courier where they are; the last courier of
// each office last reported over an hour ago (the handheld off), so that an old position
// shows too. The same seed gives the same trails.
func Trails(ds Dataset, seed int64) []Breadcrumb {
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream+3))
	var out []Breadcrumb
	for _, o := range ds.PostOffices {
		ids := couriersOf(ds, o.ID)
		for i, id := range ids {
			last := time.Duration(1+rng.IntN(3)) * time.Minute
			if i == len(ids)-1 && len(ids) > 1 {
				last = 70 * time.Minute
			}
			at, battery := o.Location, 60+rng.IntN(40)
			for p := range trailPoints {
				// About 150 m between points: a motorbike through town streets.
				at = orb.Point{at.Lon() + (rng.Float64()-0.5)*0.003, at.Lat() + (rng.Float64()-0.5)*0.003}
				out = append(out, Breadcrumb{CourierID: id, DeviceID: stableID("device", id.String()), Seq: int64(p + 1),
					Before: last + time.Duration(trailPoints-1-p)*trailEvery, Location: at, BatteryPct: battery - (trailPoints-1-p)/3})
			}
		}
	}
	return out
}
