// Package routing holds courierd's pure algorithms: travel-time matrices, the vehicle
// routing solver (time windows, capacities, pickups and deliveries) and geometry helpers
// on orb. No database, no HTTP, deterministic for a seed.
//
// Imports allowed: the standard library and github.com/paulmach/orb only; nothing of
// courierd's own (domain/dispatch calls in, never the other way). arch_test.go in
// domain enforces this.
package routing
