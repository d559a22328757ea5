package storage_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/storage"
	"courierd/storage/dbtest"
)

// offsets place rows around a boundary: before it (negative) they are forgotten, from it
// on they stay.
var offsets = []time.Duration{-30 * 24 * time.Hour, -time.Hour, -time.Second, time.Second, time.Hour, 30 * 24 * time.Hour}

// retained is what a prune left of table, by key.
func retained(t *testing.T, db *storage.DB, table, key string) []string {
	t.Helper()
	rows, err := db.SQL().Query(fmt.Sprintf("SELECT %s::text FROM %s ORDER BY 1", key, table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func exec(t *testing.T, db *storage.DB, stmt string, args ...any) {
	t.Helper()
	if _, err := db.SQL().Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// wantRetained fails unless exactly the keys kept of table remain, and prune reported
// deleting the others.
func wantRetained(t *testing.T, db *storage.DB, table, key string, all, kept []string, deleted int64) {
	t.Helper()
	slices.Sort(kept)
	if got := retained(t, db, table, key); !slices.Equal(got, kept) {
		t.Errorf("%s kept %v, want %v", table, got, kept)
	}
	if int(deleted) != len(all)-len(kept) {
		t.Errorf("%s: %d reported deleted, want %d", table, deleted, len(all)-len(kept))
	}
}

// TestRetention: for each table that only grew, rows aged just past, and well past, the
// boundary go, and rows just short of it, or fresh, stay, whatever else they hold (used,
// revoked, locked, delivered).
func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cutoff := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

	t.Run("throttle counters", func(t *testing.T) {
		t.Parallel()
		db, _ := dbtest.New(t)
		windowBefore, lockBefore := cutoff.Add(-24*time.Hour), cutoff
		var all, kept []string
		for i, w := range offsets {
			locks := []*time.Duration{nil} // no lock, or one ending around its boundary
			for k := range offsets {
				locks = append(locks, &offsets[k])
			}
			for j, l := range locks {
				key := fmt.Sprintf("k%02d-%02d", i, j)
				var lockedUntil *time.Time
				if l != nil {
					at := lockBefore.Add(*l)
					lockedUntil = &at
				}
				exec(t, db, `INSERT INTO auth_throttle (key_hash, failures, window_started, locked_until) VALUES ($1, 3, $2, $3)`,
					key, windowBefore.Add(w), lockedUntil)
				all = append(all, key)
				if w >= 0 || (l != nil && *l >= 0) {
					kept = append(kept, key)
				}
			}
		}
		n, err := storage.PruneThrottles(ctx, db, windowBefore, lockBefore)
		if err != nil {
			t.Fatal(err)
		}
		wantRetained(t, db, "auth_throttle", "key_hash", all, kept, n)
	})

	t.Run("one-time codes", func(t *testing.T) {
		t.Parallel()
		db, _ := dbtest.New(t)
		var all, kept []string
		for _, off := range offsets {
			for _, used := range []bool{false, true} {
				id, expires := uuid.New(), cutoff.Add(off)
				var usedAt *time.Time
				if used {
					at := expires.Add(-time.Minute)
					usedAt = &at
				}
				exec(t, db, `INSERT INTO otp_challenges (id, phone_index, code_hash, created_at, expires_at, used_at) VALUES ($1, 'p', 'h', $2, $3, $4)`,
					id, expires.Add(-5*time.Minute), expires, usedAt)
				all = append(all, id.String())
				if off >= 0 {
					kept = append(kept, id.String())
				}
			}
		}
		n, err := storage.PruneChallenges(ctx, db, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		wantRetained(t, db, "otp_challenges", "id", all, kept, n)
	})

	t.Run("refresh tokens", func(t *testing.T) {
		t.Parallel()
		db, _ := dbtest.New(t)
		account := uuid.New()
		exec(t, db, `INSERT INTO accounts (id, username, password_hash, role, created_at, updated_at) VALUES ($1, 'admin2', 'x', 'admin', now(), now())`, account)
		var all, kept []string
		for _, off := range offsets {
			// A family of three: one used, one revoked, one neither, all expiring together.
			family := uuid.New()
			for _, state := range []struct{ used, revoked bool }{{false, false}, {true, false}, {false, true}} {
				id, expires := uuid.New(), cutoff.Add(off)
				issued := expires.Add(-720 * time.Hour)
				var usedAt, revokedAt *time.Time
				if state.used {
					usedAt = &issued
				}
				if state.revoked {
					revokedAt = &issued
				}
				exec(t, db, `INSERT INTO refresh_tokens (id, family_id, account_id, token_hash, issued_at, expires_at, used_at, revoked_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, family, account, id[:], issued, expires, usedAt, revokedAt)
				all = append(all, id.String())
				if off >= 0 {
					kept = append(kept, id.String())
				}
			}
		}
		n, err := storage.PruneRefreshTokens(ctx, db, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		wantRetained(t, db, "refresh_tokens", "id", all, kept, n)
	})

	t.Run("revocations, over several batches", func(t *testing.T) {
		t.Parallel()
		db, _ := dbtest.New(t)
		var all, kept []string
		for _, off := range offsets {
			var id int64
			if err := db.SQL().QueryRow(`INSERT INTO revocations (kind, subject, revoked_at, expires_at) VALUES ('session', $1, $2, $3) RETURNING id`,
				uuid.New(), cutoff.Add(off-10*time.Minute), cutoff.Add(off)).Scan(&id); err != nil {
				t.Fatal(err)
			}
			all = append(all, fmt.Sprint(id))
			if off >= 0 {
				kept = append(kept, fmt.Sprint(id))
			}
		}
		// More spent rows than two batches hold: the run goes on until none is left.
		const many = 2500
		exec(t, db, `INSERT INTO revocations (kind, subject, revoked_at, expires_at)
			SELECT 'account', gen_random_uuid(), $1, $1 FROM generate_series(1, $2)`, cutoff.Add(-time.Hour), many)
		n, err := storage.PruneRevocations(ctx, db, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		wantRetained(t, db, "revocations", "id", all, kept, n-many)
	})

	t.Run("webhook deliveries", func(t *testing.T) {
		t.Parallel()
		db, _ := dbtest.New(t)
		subscriber := uuid.New()
		exec(t, db, `INSERT INTO webhook_subscribers (id, name, url, secret_sealed, created_at) VALUES ($1, 's', 'https://portal.example.vn/hook', 'k:x', now())`, subscriber)
		// Deliveries name a dossier; making one takes the whole catalog, which is not what
		// is tested here, so this connection skips the foreign keys' checks.
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET session_replication_role = replica"); err != nil {
			t.Fatal(err)
		}
		var all, kept []string
		for _, off := range offsets {
			for _, status := range []string{"pending", "delivered"} {
				id := uuid.New()
				if _, err := conn.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, subscriber_id, dossier_id, event, body, status, created_at)
					VALUES ($1, $2, $3, 'result_ready', '{}', $4, $5)`, id, subscriber, uuid.New(), status, cutoff.Add(off)); err != nil {
					t.Fatal(err)
				}
				all = append(all, id.String())
				if off >= 0 {
					kept = append(kept, id.String())
				}
			}
		}
		if _, err := conn.ExecContext(ctx, "RESET session_replication_role"); err != nil {
			t.Fatal(err)
		}
		n, err := storage.PruneDeliveries(ctx, db, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		wantRetained(t, db, "webhook_deliveries", "id", all, kept, n)
	})
}

// TestPruneIdempotencyKeys: keys that expired before the cutoff go, answered or still
// processing; keys expiring from it on stay.
func TestPruneIdempotencyKeys(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	cutoff := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var all, kept []string
	for i, off := range offsets {
		for _, done := range []bool{false, true} {
			key := fmt.Sprintf("key-%02d-%v", i, done)
			var status *int
			if done {
				s := 201
				status = &s
			}
			expires := cutoff.Add(off)
			exec(t, db, `INSERT INTO idempotency_keys (scope, key, request_hash, lease, locked_until, status, created_at, expires_at)
VALUES ('clerk:x', $1, 'h', 'l', $2, $3, $4, $2)`, key, expires, status, expires.Add(-24*time.Hour))
			all = append(all, key)
			if off >= 0 {
				kept = append(kept, key)
			}
		}
	}
	n, err := storage.PruneIdempotencyKeys(context.Background(), db, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	wantRetained(t, db, "idempotency_keys", "key", all, kept, n)
}
