package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/storage/dbtest"
)

// BenchmarkRevocationLookupInDatabase is what checking revocations would cost if every
// request read the database instead of the in-memory list (BenchmarkRevocationCheck in
// domain/auth): one indexed query over 10,000 revocations.
func BenchmarkRevocationLookupInDatabase(b *testing.B) {
	db, _ := dbtest.New(b)
	ctx := context.Background()
	if _, err := db.SQL().Exec(`CREATE INDEX revocations_subject_idx ON revocations (subject)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().Exec(`INSERT INTO revocations (kind, subject, revoked_at, expires_at)
		SELECT 'session', gen_random_uuid(), now(), now() + interval '10 minutes' FROM generate_series(1, 10000)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().Exec(`ANALYZE revocations`); err != nil {
		b.Fatal(err)
	}
	account, device, session := uuid.New(), uuid.New(), uuid.New()
	issued := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var revoked bool
			err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM revocations
				WHERE subject IN ($1, $2, $3) AND revoked_at >= $4 AND expires_at > now())`, account, device, session, issued).Scan(&revoked)
			if err != nil || revoked {
				b.Fatal(err)
			}
		}
	})
}
