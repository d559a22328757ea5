// Package auth is who may do what: staff accounts and their roles and scopes, couriers'
// devices, sessions (refresh-token families with rotation and reuse detection), login
// throttling, the revocation list that access-token checks consult, the Principal
// every request carries, and its Scope: what that person may see, which every list's
// filter and every visibility check in the domain reads. Signing access tokens is the HTTP edge's business (api); this
// package decides whom to issue them to.
//
// Imports allowed: the standard library, courierd/domain, courierd/domain/audit, uuid,
// golang.org/x/crypto (argon2id) and golang.org/x/mod/semver.
package auth
