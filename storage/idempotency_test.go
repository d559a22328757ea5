package storage_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/idempotency"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// TestIdempotencyClaims walks a key through its life: claimed once, held while its
// request runs, taken over only by the same request once its lease is over, answered only
// under the lease that holds it, free again once released or expired; another caller's
// key of the same name is another key.
func TestIdempotencyClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := dbtest.New(t)
	store := storage.NewIdempotencyStore(db)
	start := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	claim := func(scope, key, hash string, at time.Time) (idempotency.Claim, bool, idempotency.Record) {
		t.Helper()
		c := idempotency.Claim{Scope: scope, Key: key, Hash: hash, Lease: uuid.NewString(), Now: at,
			LeaseUntil: at.Add(time.Minute), ExpiresAt: at.Add(24 * time.Hour)}
		claimed, held, err := store.ClaimKey(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return c, claimed, held
	}

	first, claimed, _ := claim("clerk:a", "k", "h1", start)
	if !claimed {
		t.Fatal("a new key is not claimed")
	}
	if _, claimed, _ := claim("clerk:b", "k", "h1", start); !claimed {
		t.Fatal("another caller's key of the same name is taken")
	}
	for _, tc := range []struct {
		name string
		hash string
		at   time.Time
	}{
		{"same request, lease running", "h1", start.Add(59 * time.Second)},
		{"other request, lease running", "h2", start.Add(time.Second)},
		{"other request, lease over", "h2", start.Add(2 * time.Minute)},
	} {
		if _, claimed, held := claim("clerk:a", "k", tc.hash, tc.at); claimed || held.Done || held.Hash != "h1" {
			t.Fatalf("%s: claimed %v, held %+v; want the first request's, unanswered", tc.name, claimed, held)
		}
	}
	// The first request died midway; its retry takes the key over, and the dead one's
	// lease no longer answers it.
	retry, claimed, _ := claim("clerk:a", "k", "h1", start.Add(2*time.Minute))
	if !claimed {
		t.Fatal("the same request is not let take over a key whose lease is over")
	}
	answer := idempotency.Answer{Status: 201, Header: map[string]string{"Location": "/v1/x"}, SealedBody: "sealed"}
	if err := store.CompleteKey(ctx, "clerk:a", "k", first.Lease, answer); err == nil {
		t.Fatal("a lease taken over still answers the key")
	}
	if err := store.CompleteKey(ctx, "clerk:a", "k", retry.Lease, answer); err != nil {
		t.Fatal(err)
	}
	later := start.Add(23 * time.Hour)
	if _, claimed, held := claim("clerk:a", "k", "h1", later); claimed || !held.Done || held.Answer.Status != 201 ||
		held.Answer.Header["Location"] != "/v1/x" || held.Answer.SealedBody != "sealed" {
		t.Fatalf("answered key: claimed %v, held %+v", claimed, held)
	}
	if err := store.ReleaseKey(ctx, "clerk:a", "k", retry.Lease); err != nil {
		t.Fatal(err)
	}
	if _, claimed, _ := claim("clerk:a", "k", "h1", later); claimed {
		t.Fatal("releasing an answered key forgot its answer")
	}
	if _, claimed, _ := claim("clerk:a", "k", "h2", start.Add(25*time.Hour)); !claimed {
		t.Fatal("an expired key is not free for a new request")
	}

	released, _, _ := claim("clerk:a", "r", "h1", start)
	if err := store.ReleaseKey(ctx, "clerk:a", "r", released.Lease); err != nil {
		t.Fatal(err)
	}
	if _, claimed, _ := claim("clerk:a", "r", "h2", start); !claimed {
		t.Fatal("a released key is not free")
	}

	t.Run("concurrent claims", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				claimed, _, err := store.ClaimKey(ctx, idempotency.Claim{Scope: "clerk:a", Key: "race", Hash: "h1", Lease: uuid.NewString(),
					Now: start, LeaseUntil: start.Add(time.Minute), ExpiresAt: start.Add(24 * time.Hour)})
				if err != nil {
					t.Error(err)
				}
				if claimed {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of 16 concurrent claims won, want 1", wins.Load())
		}
	})
}
