package dispatch

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"courierd/domain"
	"courierd/domain/dossier"
)

// Outcome is one courier's day, planned against what happened.
type Outcome struct {
	CourierID        uuid.UUID
	PlannedDistanceM float64
	PlannedDuration  time.Duration
	// ActualDistanceM is the length of the courier's GPS track that day; ActualDuration
	// the time from its first point to its last.
	ActualDistanceM float64
	ActualDuration  time.Duration
	Planned         int
	Done, Failed    int
	// OnTime counts stops done inside their slot, or on the day for a stop without one.
	OnTime int
}

// Outcomes are a day's published plan and how it went.
type Outcomes struct {
	PlanID uuid.UUID
	Day    time.Time
	Routes []Outcome
}

// Outcomes compares a post office's published plan for a day with what its couriers did:
// distance and time planned and travelled (from their GPS tracks), stops done, failed and
// done on time, per route.
func (s *Service) Outcomes(ctx context.Context, postOffice uuid.UUID, day time.Time) (Outcomes, error) {
	if _, _, err := s.office(ctx, postOffice); err != nil {
		return Outcomes{}, err
	}
	plan, err := s.published(ctx, postOffice, day)
	if err != nil {
		return Outcomes{}, err
	}
	day = plan.Day
	_, states, err := s.progress(ctx, plan)
	if err != nil {
		return Outcomes{}, err
	}
	done, err := s.store.Completions(ctx, slices.Collect(maps.Keys(states)))
	if err != nil {
		return Outcomes{}, err
	}
	midnight := domain.Midnight(day)
	out := Outcomes{PlanID: plan.ID, Day: day}
	for _, r := range plan.Routes {
		o := Outcome{CourierID: r.CourierID, PlannedDistanceM: r.DistanceM, PlannedDuration: r.Duration, Planned: len(r.Stops)}
		latest := latestVisits(r)
		for k, st := range r.Stops {
			if !latest[k] {
				o.Failed++ // an earlier visit that failed; the stop came again later
				continue
			}
			switch states[st.TaskID] {
			case dossier.TaskDone:
				o.Done++
				by := midnight.AddDate(0, 0, 1)
				if st.Slot != nil {
					by = midnight.Add(time.Duration(st.Slot.EndMin) * time.Minute)
				}
				if at, ok := done[st.TaskID]; ok && !at.After(by) {
					o.OnTime++
				}
			case dossier.TaskFailed:
				o.Failed++
			}
		}
		track, err := s.store.Track(ctx, r.CourierID, midnight, midnight.AddDate(0, 0, 1))
		if err != nil {
			return Outcomes{}, err
		}
		for k := 1; k < len(track); k++ {
			o.ActualDistanceM += geo.Distance(track[k-1].Location, track[k].Location)
		}
		if len(track) > 1 {
			o.ActualDuration = track[len(track)-1].At.Sub(track[0].At)
		}
		out.Routes = append(out.Routes, o)
	}
	return out, nil
}

// TrackPoint is one GPS point of a courier's day.
type TrackPoint struct {
	Location orb.Point
	At       time.Time
}
