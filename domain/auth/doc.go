// Package auth is who may do what: staff accounts and their roles and scopes, couriers'
// devices, sessions (refresh-token families with rotation and reuse detection), login
// throttling, the revocation list that access-token checks consult, and the Principal
// every request carries. Signing access tokens is the HTTP edge's business (api); this
// package decides whom to issue them to.
//
// Imports allowed: the standard library, courierd/domain, courierd/domain/audit, uuid,
// golang.org/x/crypto (argon2id) and golang.org/x/mod/semver.
package auth
