package dispatch

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// cityDay is a generated day over a real city's extent, the same for a seed: a post office
// at the centre, stops scattered within radius degrees of it (a third deliveries, the rest
// pickups and a few collections), half with a two-hour slot; couriers on 07:30–17:30
// shifts, most on motorbikes carrying 40 items, every fifth on a bicycle carrying 15, a
// third able to take cash and check identities, a third only to check identities
// (deliveries need it).
func cityDay(seed uint64, centre orb.Point, radius float64, stops, couriers int) (catalog.PostOffice, []catalog.Courier, []Stop) {
	rng := rand.New(rand.NewPCG(seed, 1))
	office := catalog.PostOffice{ID: uuid.New(), Location: centre}
	var cs []catalog.Courier
	for i := range couriers {
		c := catalog.Courier{ID: uuid.New(), VehicleKind: catalog.VehicleMotorbike, CapacityItems: 40, ShiftStartMin: 450, ShiftEndMin: 1050}
		if i%5 == 4 {
			c.VehicleKind, c.CapacityItems = catalog.VehicleBicycle, 15
		}
		switch i % 3 {
		case 0:
			c.Skills = []string{catalog.SkillCashCollection, catalog.SkillIdentityCheck}
		case 1:
			c.Skills = []string{catalog.SkillIdentityCheck}
		}
		cs = append(cs, c)
	}
	var out []Stop
	for i := range stops {
		st := Stop{StopRef: StopRef{TaskID: uuid.New(), DossierID: uuid.New(), Kind: dossier.TaskPickup,
			Location: orb.Point{centre[0] + (rng.Float64()*2-1)*radius, centre[1] + (rng.Float64()*2-1)*radius}}}
		switch {
		case i%3 == 0:
			st.Kind, st.Skills = dossier.TaskDelivery, []string{catalog.SkillIdentityCheck}
		case i%17 == 1:
			st.Kind = dossier.TaskCollection
		case i%4 == 1:
			st.Skills = []string{catalog.SkillCashCollection}
		}
		if rng.IntN(2) == 0 {
			start := 480 + 60*rng.IntN(8)
			st.Slot = &dossier.Slot{StartMin: start, EndMin: start + 120}
		}
		out = append(out, st)
	}
	return office, cs, out
}

// benchmarkPlan plans a generated day and reports what a dispatcher would look at: the
// solver's time, the total distance, the share of stops planned inside their slot and
// the courier's shift (the solver plans only such, so it is the share planned), and how
// many were left out.
func benchmarkPlan(b *testing.B, centre orb.Point, radius float64, stops, couriers int, limit time.Duration) {
	office, cs, st := cityDay(1, centre, radius, stops, couriers)
	s := NewService(nil, nil, nil, Config{}, dossier.DefaultClock, time.Now, uuid.New)
	for b.Loop() {
		plan := Plan{Day: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Seed: 1, TimeLimit: limit}
		if err := s.solve(context.Background(), &plan, office, cs, st, nil); err != nil {
			b.Fatal(err)
		}
		plan.totals()
		planned := 0
		for _, r := range plan.Routes {
			planned += len(r.Stops)
		}
		b.ReportMetric(plan.SolveTime.Seconds(), "solve_s")
		b.ReportMetric(plan.DistanceM/1000, "km")
		b.ReportMetric(100*float64(planned)/float64(len(st)), "on_time_%")
		b.ReportMetric(float64(len(plan.Unplanned)), "unassigned")
		b.ReportMetric(float64(len(plan.Routes)), "routes")
	}
}

// A post office's day: 500 stops for 12 couriers within about 5 km of Thủ Dầu Một's
// central post office.
func BenchmarkPlanDay500(b *testing.B) {
	benchmarkPlan(b, orb.Point{106.6519, 10.9804}, 0.045, 500, 12, 10*time.Second)
}

// A city's day: 10,000 stops for 200 couriers over Ho Chi Minh City's inner districts
// (about 15 km around the Saigon Central Post Office).
func BenchmarkPlanDay10000(b *testing.B) {
	benchmarkPlan(b, orb.Point{106.6999, 10.7798}, 0.13, 10000, 200, 60*time.Second)
}

// TestSolveKeepsSlotsSkillsAndLoads: in a generated day, every planned stop begins inside
// its slot, in its courier's shift; a stop that takes cash or an identity check goes to a
// courier who may; no
// courier carries more than the vehicle holds; and every stop is planned or explained.
func TestSolveKeepsSlotsSkillsAndLoads(t *testing.T) {
	office, cs, st := cityDay(3, orb.Point{106.6519, 10.9804}, 0.03, 120, 4)
	s := NewService(nil, nil, nil, Config{}, dossier.DefaultClock, time.Now, uuid.New)
	plan := Plan{Day: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Seed: 1, TimeLimit: time.Minute}
	if err := s.solve(context.Background(), &plan, office, cs, st, nil); err != nil {
		t.Fatal(err)
	}
	byTask := map[uuid.UUID]Stop{}
	for _, stop := range st {
		byTask[stop.TaskID] = stop
	}
	byCourier := map[uuid.UUID]catalog.Courier{}
	for _, c := range cs {
		byCourier[c.ID] = c
	}
	local := func(at time.Time) int { t := at.In(domain.Vietnam); return t.Hour()*60 + t.Minute() }
	seen := 0
	for _, r := range plan.Routes {
		c := byCourier[r.CourierID]
		if local(r.Depart) < c.ShiftStartMin || local(r.Return) > c.ShiftEndMin {
			t.Fatalf("route of %s runs %v–%v, outside the shift", c.ID, r.Depart, r.Return)
		}
		for _, ps := range r.Stops {
			seen++
			stop := byTask[ps.TaskID]
			if stop.Slot != nil && (local(ps.Start) < stop.Slot.StartMin || local(ps.Start) > stop.Slot.EndMin) {
				t.Fatalf("stop %s begins at %v, outside its slot %+v", ps.TaskID, ps.Start, *stop.Slot)
			}
			if !hasSkills(c.Skills, stop.Skills) {
				t.Fatalf("a stop needing %v went to a courier with %v", stop.Skills, c.Skills)
			}
			if ps.Load > c.CapacityItems {
				t.Fatalf("courier %s leaves a stop carrying %d of %d", c.ID, ps.Load, c.CapacityItems)
			}
		}
	}
	for _, u := range plan.Unplanned {
		if u.Reason == "" || u.Detail == "" {
			t.Fatalf("a stop left out without a reason: %+v", u)
		}
	}
	if seen+len(plan.Unplanned) != len(st) || seen < len(st)/2 {
		t.Fatalf("%d planned and %d left out of %d stops", seen, len(plan.Unplanned), len(st))
	}
}
