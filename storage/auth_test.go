package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/storage"
	"courierd/storage/dbtest"
)

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	if _, err := storage.SeedDemo(ctx, db, demoData(t, 1, 0), false); err != nil {
		t.Fatal(err)
	}
	store := storage.NewAuthStore(db)
	entry := audit.Entry{At: time.Now(), ActorRole: "admin", Source: "127.0.0.1", Action: "account.revoke", ResourceKind: "account", ResourceID: "x"}
	if err := store.Revoke(ctx, auth.Revocation{Kind: auth.RevokeAccount, Subject: uuid.New(), At: time.Now(), Until: time.Now().Add(time.Hour)}, entry); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log", "TRUNCATE audit_log"} {
		if _, err := db.SQL().Exec(stmt); err == nil {
			t.Errorf("%s succeeded on the audit log", stmt)
		}
	}
	list, err := storage.NewAuditStore(db).ListAudit(ctx, audit.Filter{Action: "account.revoke"}, domainPage())
	if err != nil || list.Total != 1 || list.Items[0].Source != "127.0.0.1" {
		t.Fatalf("audit after attempts to change it: %+v, %v", list, err)
	}
}

func TestThrottleCounter(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	store := storage.NewAuthStore(db)
	ctx := context.Background()
	rule := auth.ThrottleRule{Limit: 3, Window: 10 * time.Minute, Lockout: 5 * time.Minute}
	key := auth.ThrottleKey{Hash: "k", Rule: rule}
	t0 := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	locked := func(at time.Time) bool {
		until, err := store.Attempt(ctx, []auth.ThrottleKey{key}, at)
		if err != nil {
			t.Fatal(err)
		}
		return !until.IsZero()
	}
	for i := 0; i < 3; i++ {
		if locked(t0.Add(time.Duration(i) * time.Minute)) {
			t.Fatalf("attempt %d of 3 refused", i+1)
		}
	}
	if !locked(t0.Add(3 * time.Minute)) {
		t.Fatal("the fourth attempt in the window must be refused")
	}
	if !locked(t0.Add(7 * time.Minute)) { // within the lockout, which this attempt extends
		t.Fatal("an attempt during the lockout must be refused")
	}
	if locked(t0.Add(30 * time.Minute)) {
		t.Fatal("after the lockout and the window, attempts start afresh")
	}
	// Attempts spread wider than the window never add up to a lock.
	if err := store.Forgive(ctx, "k", true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if locked(t0.Add(time.Hour + time.Duration(i)*6*time.Minute)) {
			t.Fatalf("attempt %d, one per six minutes, was refused", i+1)
		}
	}
}

// TestThrottleUnderConcurrency: attempts arriving together are counted one by one, so no
// more than the limit get through however many arrive at once.
func TestThrottleUnderConcurrency(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	store := storage.NewAuthStore(db)
	key := auth.ThrottleKey{Hash: "burst", Rule: auth.ThrottleRule{Limit: 5, Window: time.Hour, Lockout: time.Hour}}
	now := time.Now()
	results := make(chan bool, 40)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			until, err := store.Attempt(context.Background(), []auth.ThrottleKey{key}, now)
			if err != nil {
				t.Error(err)
			}
			results <- until.IsZero()
		}()
	}
	wg.Wait()
	close(results)
	admitted := 0
	for ok := range results {
		if ok {
			admitted++
		}
	}
	if admitted != 5 {
		t.Fatalf("%d of 40 concurrent attempts admitted, want exactly 5", admitted)
	}
}

func TestLiveRevocations(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	store := storage.NewAuthStore(db)
	ctx := context.Background()
	now := time.Now().UTC()
	live, gone := uuid.New(), uuid.New()
	for _, r := range []auth.Revocation{
		{Kind: auth.RevokeSession, Subject: live, At: now, Until: now.Add(10 * time.Minute)},
		{Kind: auth.RevokeSession, Subject: gone, At: now.Add(-time.Hour), Until: now.Add(-50 * time.Minute)},
	} {
		if err := store.Revoke(ctx, r, audit.Entry{At: now, Action: "session.revoke", ResourceKind: "session", ResourceID: r.Subject.String()}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := store.LiveRevocations(ctx, now)
	if err != nil || len(list) != 1 || list[0].Subject != live {
		t.Fatalf("live revocations: %+v, %v", list, err)
	}
}
