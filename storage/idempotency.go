package storage

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"courierd/domain/idempotency"
)

// IdempotencyStore keeps Idempotency-Keys and their answers in idempotency_keys.
type IdempotencyStore struct{ db *DB }

func NewIdempotencyStore(db *DB) *IdempotencyStore { return &IdempotencyStore{db: db} }

type idempotencyRow struct {
	RequestHash string
	Status      *int
	Header      []byte
	BodySealed  *string
}

// claimKey inserts the key, or takes over a row that has expired or whose request died
// midway (lease over, same request): one statement, so two processes never both win.
const claimKey = `INSERT INTO idempotency_keys (scope, key, request_hash, lease, locked_until, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, lease = EXCLUDED.lease,
    locked_until = EXCLUDED.locked_until, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
    status = NULL, header = NULL, body_sealed = NULL
WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
   OR (idempotency_keys.status IS NULL AND idempotency_keys.locked_until <= EXCLUDED.created_at
       AND idempotency_keys.request_hash = EXCLUDED.request_hash)`

// ClaimKey implements idempotency.Store.
func (s *IdempotencyStore) ClaimKey(ctx context.Context, c idempotency.Claim) (bool, idempotency.Record, error) {
	db := s.db.gorm.WithContext(ctx)
	// The holder's row may be pruned between the two statements: then claim again.
	for range 3 {
		res := db.Exec(claimKey, c.Scope, c.Key, c.Hash, c.Lease, c.LeaseUntil.UTC(), c.Now.UTC(), c.ExpiresAt.UTC())
		if res.Error != nil {
			return false, idempotency.Record{}, translate(res.Error, "idempotency key")
		}
		if res.RowsAffected == 1 {
			return true, idempotency.Record{}, nil
		}
		var row idempotencyRow
		err := db.Table("idempotency_keys").Select("request_hash", "status", "header", "body_sealed").
			Where("scope = ? AND key = ?", c.Scope, c.Key).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		} else if err != nil {
			return false, idempotency.Record{}, translate(err, "idempotency key")
		}
		held := idempotency.Record{Hash: row.RequestHash, Done: row.Status != nil}
		if held.Done {
			held.Answer.Status = *row.Status
			if row.BodySealed != nil {
				held.Answer.SealedBody = *row.BodySealed
			}
			if err := json.Unmarshal(row.Header, &held.Answer.Header); err != nil {
				return false, idempotency.Record{}, err
			}
		}
		return false, held, nil
	}
	return false, idempotency.Record{}, errors.New("idempotency key: claimed and forgotten repeatedly")
}

// CompleteKey implements idempotency.Store.
func (s *IdempotencyStore) CompleteKey(ctx context.Context, scope, key, lease string, a idempotency.Answer) error {
	header, err := json.Marshal(a.Header)
	if err != nil {
		return err
	}
	res := s.db.gorm.WithContext(ctx).Exec(`UPDATE idempotency_keys SET status = ?, header = ?, body_sealed = ?
WHERE scope = ? AND key = ? AND lease = ? AND status IS NULL`, a.Status, string(header), a.SealedBody, scope, key, lease)
	if res.Error != nil {
		return translate(res.Error, "idempotency key")
	}
	if res.RowsAffected == 0 {
		return errors.New("idempotency key: the lease was lost before the answer was stored")
	}
	return nil
}

// ReleaseKey implements idempotency.Store.
func (s *IdempotencyStore) ReleaseKey(ctx context.Context, scope, key, lease string) error {
	err := s.db.gorm.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND lease = ? AND status IS NULL`,
		scope, key, lease).Error
	return translate(err, "idempotency key")
}

// PruneIdempotencyKeys forgets keys that expired before cutoff: a repeat after that is
// a new request.
func PruneIdempotencyKeys(ctx context.Context, db *DB, cutoff time.Time) (int64, error) {
	return prune(ctx, db, "idempotency_keys", "id", "expires_at < ?", cutoff.UTC())
}
