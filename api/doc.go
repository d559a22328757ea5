// Package api is courierd's HTTP edge on fiber v2: routes, strict request decoding, the
// access log and metrics, and the one error handler that turns every error into an RFC
// 9457 problem+json body with a stable code. Handlers are thin: decode, call a domain
// service, encode. DTOs (the JSON shapes) never leave this package.
//
// Imports allowed: courierd/domain and its subpackages, fiber, prometheus, kin-openapi (the
// API document). Never storage, gorm or pgx: the database is reached only through
// domain's ports.
package api
