package dispatch

import (
	"context"
	"errors"

	"courierd/routing"
)

// Travel says what a plan's travel times and distances were measured on: the routing
// engine's roads, or straight lines × the road factor and why.
type Travel struct {
	Source   string // TravelRoads or TravelStraight; empty on plans made before it was kept
	Fallback string // why a plan is on straight lines (a Fallback… reason); empty on roads
}

// What travel was measured on.
const (
	TravelRoads    = "osrm"
	TravelStraight = "straight_line"
)

// Why a plan is on straight lines.
const (
	FallbackNoEngine      = "no_engine"       // no engine is configured
	FallbackTooManyPoints = "too_many_points" // more points than an engine's table is asked for
	FallbackTimeout       = "osrm_timeout"    // the engine did not answer in time
	FallbackError         = "osrm_error"      // the engine refused or could not be reached
	FallbackGarbage       = "osrm_garbage"    // the engine answered something unusable
)

// ErrTravelGarbage marks a TravelProvider's error for an answer it could not use (unreadable,
// the wrong size, impossible values), as opposed to an engine that refused or was not
// reached.
var ErrTravelGarbage = errors.New("the routing engine's answer is unusable")

// measured is a travel matrix with what it was measured on, for the plan to say.
type measured struct {
	routing.Matrix
	travel Travel
}

// travelOf is what m was measured on.
func travelOf(m routing.Matrix) Travel {
	if t, ok := m.(measured); ok {
		return t.travel
	}
	return Travel{}
}

// fallbackReason names why the engine's table could not be used.
func fallbackReason(err error) string {
	var timeout interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout():
		return FallbackTimeout
	case errors.Is(err, ErrTravelGarbage):
		return FallbackGarbage
	}
	return FallbackError
}

func (s *Service) fellBack(reason string, points int, err error) {
	if s.cfg.FellBack != nil {
		s.cfg.FellBack(reason, points, err)
	}
}

// retimed is what a plan is on after some of its routes were timed again on then: once
// any of them is on straight lines, so is the plan.
func (t Travel) retimed(then routing.Matrix) Travel {
	if now := travelOf(then); now.Source == TravelStraight && t.Source != TravelStraight {
		return now
	}
	return t
}
