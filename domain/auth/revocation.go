package auth

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// RevocationKind says what a revocation covers.
type RevocationKind string

const (
	RevokeAccount RevocationKind = "account" // every token of an account
	RevokeDevice  RevocationKind = "device"  // every token bound to a device
	RevokeSession RevocationKind = "session" // every token of one login (refresh family)
)

// Revocation invalidates the tokens of Subject issued at or before At. It matters only
// until Until, when every such access token has expired anyway.
type Revocation struct {
	Kind    RevocationKind
	Subject uuid.UUID
	At      time.Time
	Until   time.Time
}

// RevocationList is every live revocation, held in memory so that checking a token costs
// a map lookup, not a database read. Each process keeps one, filled from the database at
// start, on every notification of a new revocation, and periodically as a safety net.
type RevocationList struct {
	mu      sync.RWMutex
	entries map[revocationKey]time.Time
}

type revocationKey struct {
	kind    RevocationKind
	subject uuid.UUID
}

func NewRevocationList() *RevocationList {
	return &RevocationList{entries: map[revocationKey]time.Time{}}
}

// Replace swaps in the full set of live revocations.
func (l *RevocationList) Replace(all []Revocation) {
	entries := make(map[revocationKey]time.Time, len(all))
	for _, r := range all {
		k := revocationKey{r.Kind, r.Subject}
		if at, ok := entries[k]; !ok || r.At.After(at) {
			entries[k] = r.At
		}
	}
	l.mu.Lock()
	l.entries = entries
	l.mu.Unlock()
}

// Add records one revocation at once, ahead of the next reload.
func (l *RevocationList) Add(r Revocation) {
	k := revocationKey{r.Kind, r.Subject}
	l.mu.Lock()
	if at, ok := l.entries[k]; !ok || r.At.After(at) {
		l.entries[k] = r.At
	}
	l.mu.Unlock()
}

// Revoked reports whether a token of p issued at issuedAt has been revoked: issued at or
// before the revocation. Tokens carry milliseconds, so a login right after a revocation
// is not caught by it.
func (l *RevocationList) Revoked(p Principal, issuedAt time.Time) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, k := range []revocationKey{{RevokeAccount, p.AccountID}, {RevokeDevice, p.DeviceID}, {RevokeSession, p.SessionID}} {
		if k.subject == uuid.Nil {
			continue
		}
		if at, ok := l.entries[k]; ok && !issuedAt.After(at) {
			return true
		}
	}
	return false
}
