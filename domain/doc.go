// Package domain is the language of the business: the types, rules, state machines and
// coded errors of courierd, with one subpackage per area: catalog and auth underneath;
// dossier, the aggregate; beside it, each on the dossier alone, applicant (the citizens'
// side), counter (manifests, couriers' days), dispatch and fieldsync; then payment,
// notify, webhook and the rest. The root holds what every area shares: coded errors,
// pages, money, phone numbers, and Vietnam's time zone with its civil dates (civil.go).
//
// Imports allowed: the standard library, small value libraries (uuid, orb for geometry)
// and, for dispatch, courierd/routing. Never gorm, fiber, pgx or net/http: rules are
// tested without a database or a server. The dossier imports none of the areas built on
// it. arch_test.go enforces this.
package domain
