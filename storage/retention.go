package storage

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch is the most rows one retention statement deletes. Each batch is its own short
// transaction, so that a run holds few row locks at a time however much it deletes.
const pruneBatch = 1000

// prune deletes the rows of table that match where, pruneBatch at a time through its key,
// and counts them. A row another transaction holds is skipped (it is in use) and left to
// the next run. table, key and where are the caller's constants, never input.
func prune(ctx context.Context, db *DB, table, key, where string, args ...any) (int64, error) {
	stmt := fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[1]s WHERE %[3]s LIMIT %[4]d FOR UPDATE SKIP LOCKED)`,
		table, key, where, pruneBatch)
	var total int64
	for {
		res := db.gorm.WithContext(ctx).Exec(stmt, args...)
		if res.Error != nil {
			return total, translate(res.Error, table)
		}
		total += res.RowsAffected
		if res.RowsAffected < pruneBatch {
			return total, nil
		}
	}
}

// PruneThrottles forgets the login and lookup counters whose window began before
// windowBefore and whose lock, if any, ended before lockBefore: the next attempt would
// start them afresh anyway.
func PruneThrottles(ctx context.Context, db *DB, windowBefore, lockBefore time.Time) (int64, error) {
	return prune(ctx, db, "auth_throttle", "key_hash", "window_started < ? AND (locked_until IS NULL OR locked_until < ?)",
		windowBefore.UTC(), lockBefore.UTC())
}

// PruneChallenges forgets citizens' one-time codes that expired before cutoff, used or
// not: neither can log anyone in.
func PruneChallenges(ctx context.Context, db *DB, cutoff time.Time) (int64, error) {
	return prune(ctx, db, "otp_challenges", "id", "expires_at < ?", cutoff.UTC())
}

// PruneRefreshTokens forgets refresh tokens that expired before cutoff, whether used,
// revoked or neither. An expired token is refused before anything else is judged (reuse
// detection looks only at unexpired used tokens), so forgetting it changes no answer but
// "expired" into "unknown"; a live family keeps its unexpired tokens, used ones included.
func PruneRefreshTokens(ctx context.Context, db *DB, cutoff time.Time) (int64, error) {
	return prune(ctx, db, "refresh_tokens", "id", "expires_at < ?", cutoff.UTC())
}

// PruneRevocations forgets revocations that ran out before cutoff: every access token
// they barred has expired by then.
func PruneRevocations(ctx context.Context, db *DB, cutoff time.Time) (int64, error) {
	return prune(ctx, db, "revocations", "id", "expires_at < ?", cutoff.UTC())
}

// PruneDeliveries forgets webhook deliveries made before cutoff, delivered or given up.
func PruneDeliveries(ctx context.Context, db *DB, cutoff time.Time) (int64, error) {
	return prune(ctx, db, "webhook_deliveries", "id", "created_at < ?", cutoff.UTC())
}
