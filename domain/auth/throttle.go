package auth

import (
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
