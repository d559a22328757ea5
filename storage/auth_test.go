package storage_test

import (
	"context"
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
		until, err := store.Throttled(ctx, []string{"k", "other"}, at)
		if err != nil {
			t.Fatal(err)
		}
		return !until.IsZero()
	}
	fail := func(at time.Time) {
		if err := store.RecordFailures(ctx, []auth.ThrottleKey{key}, at); err != nil {
			t.Fatal(err)
		}
	}
	fail(t0)
	fail(t0.Add(time.Minute))
	if locked(t0.Add(2 * time.Minute)) {
		t.Fatal("locked below the limit")
	}
	fail(t0.Add(2 * time.Minute))
	if !locked(t0.Add(3*time.Minute)) || locked(t0.Add(8*time.Minute)) {
		t.Fatal("the third failure must lock for five minutes, and no longer")
	}
	// Failures spread wider than the window never add up to a lock.
	if err := store.ClearFailures(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		fail(t0.Add(time.Duration(i) * 6 * time.Minute))
	}
	if locked(t0.Add(31 * time.Minute)) {
		t.Fatal("two failures per window must not lock")
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
