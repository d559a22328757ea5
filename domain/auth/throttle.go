package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ThrottleRule limits failures: Limit failures within Window lock the key for Lockout.
type ThrottleRule struct {
	Limit   int
	Window  time.Duration
	Lockout time.Duration
}

// ThrottleKey is one counter: the hash of what is counted, and its rule.
type ThrottleKey struct {
	Hash string
	Rule ThrottleRule
}

// throttleHash keys a counter by a hash, so that the table holds no usernames, phone
// numbers or addresses.
func throttleHash(scope, value string) string {
	h := sha256.Sum256([]byte(scope + "\x00" + value))
	return hex.EncodeToString(h[:])
}

// ThrottleConfig is the login throttling policy.
type ThrottleConfig struct {
	// PerAccount slows guessing one account's password; keyed by the username as typed,
	// so unknown usernames are throttled the same way and reveal nothing.
	PerAccount ThrottleRule
	// PerSource slows one address guessing many accounts.
	PerSource ThrottleRule
}

// DefaultThrottle: 5 wrong passwords in 15 minutes lock an account name for 15 minutes;
// 50 failures from one address in 15 minutes lock the address for 15 minutes.
var DefaultThrottle = ThrottleConfig{
	PerAccount: ThrottleRule{Limit: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute},
	PerSource:  ThrottleRule{Limit: 50, Window: 15 * time.Minute, Lockout: 15 * time.Minute},
}

// Public tracking by receipt code: one address may look up 60 times in 10 minutes, and
// get one code wrong 10 times in a row (a right answer clears the count), before a pause;
// enough for a family checking a dossier, far too few to walk through codes or guess a
// code's phone digits. The pause falls on the address that guessed, never on the code: a
// lock on the code would let anyone who saw it lock its owner out.
var (
	TrackPerSource        = ThrottleRule{Limit: 60, Window: 10 * time.Minute, Lockout: 10 * time.Minute}
	TrackPerCodeAndSource = ThrottleRule{Limit: 10, Window: 10 * time.Minute, Lockout: 30 * time.Minute}
)

// OutlinesPerSource bounds the map's public outlines: a page asks once per map it draws,
// so 300 in 10 minutes serve an office behind one address, and keep one address from
// making the server read and send a city's shapes without end.
var OutlinesPerSource = ThrottleRule{Limit: 300, Window: 10 * time.Minute, Lockout: 10 * time.Minute}

// ThrottleHorizon is how long a counter can matter: the longest window of every rule a
// counter is kept under (logins, one-time codes, tracking, map outlines). A counter whose
// window began longer ago, and whose lock has ended, would start afresh at the next
// attempt, so retention may forget it.
var ThrottleHorizon = longestWindow(DefaultThrottle.PerAccount, DefaultThrottle.PerSource,
	DefaultOTP.PhoneMinute, DefaultOTP.PhoneHour, DefaultOTP.SourceDay, DefaultOTP.PhoneFails,
	TrackPerSource, TrackPerCodeAndSource, OutlinesPerSource)

func longestWindow(rules ...ThrottleRule) time.Duration {
	var longest time.Duration
	for _, r := range rules {
		longest = max(longest, r.Window)
	}
	return longest
}

// Limiter counts requests (not only failures) against throttle rules kept in the
// database, so that every courierd process counts together: for lookups anyone may make,
// such as tracking a dossier by its receipt code.
type Limiter struct {
	store Store
	now   func() time.Time
}

func NewLimiter(store Store, now func() time.Time) *Limiter { return &Limiter{store: store, now: now} }

// LimitKey is one counter of a Limiter: what is counted (hashed before it is stored) under
// which rule.
type LimitKey struct {
	Scope, Value string
	Rule         ThrottleRule
}

// Allow counts one request under each key and refuses it with TOO_MANY_ATTEMPTS (and a
// Retry-After) when any of them is over its rule.
func (l *Limiter) Allow(ctx context.Context, keys ...LimitKey) error {
	hashed := make([]ThrottleKey, len(keys))
	for i, k := range keys {
		hashed[i] = ThrottleKey{Hash: throttleHash(k.Scope, k.Value), Rule: k.Rule}
	}
	return attempt(ctx, l.store, l.now(), hashed...)
}

// Forgive forgets key's count: a right answer shows the caller is no guesser.
func (l *Limiter) Forgive(ctx context.Context, key LimitKey) error {
	return l.store.Forgive(ctx, throttleHash(key.Scope, key.Value), true)
}
