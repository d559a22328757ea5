// Package domain is the language of the business: the types, rules, state machines and
// coded errors of courierd, with one subpackage per area (catalog, and later dossier,
// custody, dispatch, fieldsync, citizen, payment, auth).
//
// Imports allowed: the standard library, small value libraries (uuid, orb for geometry)
// and, for dispatch, courierd/routing. Never gorm, fiber, pgx or net/http: rules are
// tested without a database or a server. arch_test.go enforces this.
package domain
