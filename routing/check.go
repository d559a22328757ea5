package routing

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// checkTolerance absorbs floating-point drift in times and totals.
const checkTolerance = 1e-6

// Check verifies a solution against its problem without trusting anything the solver
// computed: every job and shipment is served once or listed as unassigned; each route's
// vehicle is used once and has the skills; service begins inside a window, after the
// arrival, which follows the previous departure and the travel; the load, starting each
// trip with every delivery of the trip on board, never exceeds the capacity; pickups
// precede their deliveries in the same trip; a route makes no more trips than its vehicle
// may, reloading at one of its depots for its reload time, never first, last or twice in
// a row; shifts and maximum durations hold; and the totals add up.
func Check(p *Problem, s Solution) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	jobSeen := make([]int, len(p.Jobs))
	pickupSeen := make([]int, len(p.Shipments))
	deliverySeen := make([]int, len(p.Shipments))
	vehicleUsed := make([]bool, len(p.Vehicles))
	var distance, duration float64
	used := 0
	for r, route := range s.Routes {
		if route.Vehicle < 0 || route.Vehicle >= len(p.Vehicles) {
			bad("route %d: no vehicle %d", r, route.Vehicle)
			continue
		}
		if vehicleUsed[route.Vehicle] {
			bad("route %d: vehicle %d drives two routes", r, route.Vehicle)
		}
		vehicleUsed[route.Vehicle] = true
		if len(route.Steps) == 0 {
			continue
		}
		used++
		v := p.Vehicles[route.Vehicle]
		dims := len(v.Capacity)
		// What each trip leaves with: the deliveries of its jobs.
		loads := []Amount{make(Amount, dims)}
		for _, st := range route.Steps {
			switch {
			case st.Kind == StepJob && st.Index >= 0 && st.Index < len(p.Jobs):
				addTo(loads[len(loads)-1], p.Jobs[st.Index].Delivery, 1)
			case st.Kind == StepReload:
				loads = append(loads, make(Amount, dims))
			}
		}
		if len(loads) > v.trips() {
			bad("route %d: makes %d trips, the vehicle may make %d", r, len(loads), v.trips())
		}
		load := slices.Clone(loads[0])
		if !fits(load, v.Capacity) {
			bad("route %d: loaded %v at the start, over the capacity %v", r, load, v.Capacity)
		}
		onRoute := map[int]int{} // shipment → step of its pickup
		aboard := map[int]bool{} // shipments picked up in this trip and not yet delivered
		trip := 0
		at, here := v.Shift.Start, v.Start
		if route.Depart < v.Shift.Start-checkTolerance {
			bad("route %d: leaves at %.2f, before the shift starts at %.2f", r, route.Depart, v.Shift.Start)
		}
		at = math.Max(at, route.Depart)
		depart := at
		var routeDistance, waiting float64
		for k, st := range route.Steps {
			var loc int
			var service float64
			var windows []Window
			var skills []string
			switch st.Kind {
			case StepJob:
				if st.Index < 0 || st.Index >= len(p.Jobs) {
					bad("route %d step %d: no job %d", r, k, st.Index)
					continue
				}
				j := p.Jobs[st.Index]
				jobSeen[st.Index]++
				loc, service, windows, skills = j.Location, j.Service, j.Windows, j.Skills
				addTo(load, j.Delivery, -1)
				addTo(load, j.Pickup, 1)
			case StepPickup, StepDelivery:
				if st.Index < 0 || st.Index >= len(p.Shipments) {
					bad("route %d step %d: no shipment %d", r, k, st.Index)
					continue
				}
				sh := p.Shipments[st.Index]
				skills = sh.Skills
				if st.Kind == StepPickup {
					pickupSeen[st.Index]++
					onRoute[st.Index] = k
					aboard[st.Index] = true
					loc, service, windows = sh.Pickup.Location, sh.Pickup.Service, sh.Pickup.Windows
					addTo(load, sh.Amount, 1)
				} else {
					deliverySeen[st.Index]++
					if !aboard[st.Index] {
						bad("route %d step %d: shipment %d delivered before it is picked up on this route's trip", r, k, st.Index)
					}
					delete(aboard, st.Index)
					loc, service, windows = sh.Delivery.Location, sh.Delivery.Service, sh.Delivery.Windows
					addTo(load, sh.Amount, -1)
				}
			case StepReload:
				loc, service = v.depot(st.Index), v.Reload
				if loc < 0 {
					bad("route %d step %d: reloads at depot %d, the vehicle has no such depot", r, k, st.Index)
					loc = st.Location
				}
				if k == 0 || k == len(route.Steps)-1 || route.Steps[k-1].Kind == StepReload {
					bad("route %d step %d: a reload first, last or right after another", r, k)
				}
				for sh := range aboard {
					bad("route %d step %d: shipment %d carried across a reload", r, k, sh)
				}
				clear(aboard)
				trip++
				load = slices.Clone(loads[trip])
			default:
				bad("route %d step %d: unknown kind %d", r, k, st.Kind)
				continue
			}
			if !hasSkills(v.Skills, skills) {
				bad("route %d step %d: vehicle %d lacks a skill the stop needs", r, k, route.Vehicle)
			}
			if loc != st.Location {
				bad("route %d step %d: at location %d, the stop is at %d", r, k, st.Location, loc)
			}
			routeDistance += p.Matrix.Distance(here, loc)
			arrival := at + v.travelTime(p.Matrix, here, loc)
			if st.Arrival < arrival-checkTolerance {
				bad("route %d step %d: arrives at %.2f, the travel allows %.2f at the earliest", r, k, st.Arrival, arrival)
			}
			arrival = math.Max(arrival, st.Arrival)
			start := math.Max(arrival, st.Start)
			if !inWindows(windows, start) {
				bad("route %d step %d: service begins at %.2f, outside its windows %v", r, k, start, windows)
			}
			waiting += start - arrival
			at, here = start+service, loc
			if math.Abs(st.Departure-at) > checkTolerance {
				bad("route %d step %d: departs at %.2f, service ends at %.2f", r, k, st.Departure, at)
			}
			for d := range load {
				if load[d] < 0 {
					bad("route %d step %d: a negative load %v", r, k, load)
					break
				}
			}
			if !fits(load, v.Capacity) {
				bad("route %d step %d: load %v over the capacity %v", r, k, load, v.Capacity)
			}
		}
		for sh := range onRoute {
			if pickupSeen[sh] != deliverySeen[sh] {
				bad("route %d: shipment %d picked up but not delivered on it", r, sh)
			}
		}
		if v.End >= 0 {
			routeDistance += p.Matrix.Distance(here, v.End)
			at += v.travelTime(p.Matrix, here, v.End)
		}
		if at > v.Shift.End+checkTolerance {
			bad("route %d: ends at %.2f, after the shift's end %.2f", r, at, v.Shift.End)
		}
		if v.MaxDuration > 0 && at-depart > v.MaxDuration+checkTolerance {
			bad("route %d: lasts %.2f, over the vehicle's maximum %.2f", r, at-depart, v.MaxDuration)
		}
		if math.Abs(routeDistance-route.Distance) > checkTolerance*math.Max(1, routeDistance) {
			bad("route %d: reports distance %.4f, the stops add up to %.4f", r, route.Distance, routeDistance)
		}
		distance += routeDistance
		duration += at - depart
	}
	unassignedJobs := make([]int, len(p.Jobs))
	unassignedShipments := make([]int, len(p.Shipments))
	for _, u := range s.Unassigned {
		switch {
		case u.Kind == StepJob && u.Index >= 0 && u.Index < len(p.Jobs):
			unassignedJobs[u.Index]++
		case u.Kind != StepJob && u.Index >= 0 && u.Index < len(p.Shipments):
			unassignedShipments[u.Index]++
		default:
			bad("unassigned: no such item %+v", u)
		}
		if u.Reason == "" {
			bad("unassigned %+v without a reason", u)
		}
	}
	for i := range p.Jobs {
		if jobSeen[i]+unassignedJobs[i] != 1 {
			bad("job %d (%s) is served %d times and left out %d times", i, p.Jobs[i].ID, jobSeen[i], unassignedJobs[i])
		}
	}
	for i := range p.Shipments {
		if pickupSeen[i] != deliverySeen[i] || pickupSeen[i]+unassignedShipments[i] != 1 {
			bad("shipment %d (%s) is picked up %d times, delivered %d, left out %d", i, p.Shipments[i].ID,
				pickupSeen[i], deliverySeen[i], unassignedShipments[i])
		}
	}
	if math.Abs(distance-s.Distance) > checkTolerance*math.Max(1, distance) {
		bad("the solution reports distance %.4f, its routes add up to %.4f", s.Distance, distance)
	}
	if used != s.Vehicles {
		bad("the solution reports %d vehicles, %d routes have stops", s.Vehicles, used)
	}
	return errors.Join(errs...)
}

func addTo(load, a Amount, sign int64) {
	for d := range a {
		if d < len(load) {
			load[d] += sign * a[d]
		}
	}
}

func fits(load, capacity Amount) bool {
	for d := range load {
		if d >= len(capacity) || load[d] > capacity[d] {
			return false
		}
	}
	return true
}

// inWindows reports whether service may begin at t; no windows means any time.
func inWindows(ws []Window, t float64) bool {
	if len(ws) == 0 {
		return true
	}
	for _, w := range ws {
		if t >= w.Start-checkTolerance && t <= w.End+checkTolerance {
			return true
		}
	}
	return false
}
