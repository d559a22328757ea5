// Package idempotency keeps the answers to requests sent with an Idempotency-Key, so that a
// client that lost an answer can send the same request again without doing it twice.
package idempotency

import (
	"context"
	"time"
)

// Answer is what was answered to a request: its status, the headers a client relies on
// (Content-Type, Location) and its body, sealed (answers carry personal data).
type Answer struct {
	Status     int
	Header     map[string]string
	SealedBody string
}

// Claim asks for a key: Scope is the caller, Hash the request's fingerprint, Lease the
// claimer's token, which it must show to complete or release the key.
type Claim struct {
	Scope, Key, Hash, Lease string
	Now                     time.Time
	// LeaseUntil is when an unfinished claim may be taken over (its request died midway);
	// ExpiresAt is when the key and its answer are forgotten.
	LeaseUntil, ExpiresAt time.Time
}

// Record is a key another request holds: Done with its Answer, or still being processed.
type Record struct {
	Hash   string
	Done   bool
	Answer Answer
}

// Store keeps keys and answers; a claim is atomic across every courierd process.
type Store interface {
	// ClaimKey claims the key (claimed true) or returns the record that holds it.
	ClaimKey(ctx context.Context, c Claim) (claimed bool, held Record, err error)
	// CompleteKey stores the answer of the request that holds the key under lease.
	CompleteKey(ctx context.Context, scope, key, lease string, a Answer) error
	// ReleaseKey forgets a claim whose answer is not to be kept, so a retry runs afresh.
	ReleaseKey(ctx context.Context, scope, key, lease string) error
}
