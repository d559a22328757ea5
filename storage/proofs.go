package storage

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"courierd/domain/audit"
	"courierd/domain/dossier"
)

// BlobDeleter removes a proof file; removing one that is not there is no error.
type BlobDeleter interface {
	Delete(ctx context.Context, sha string) error
}

// proofBatch bounds the files one pass looks at, so that a first run over years of
// closed dossiers proceeds in steps.
const proofBatch = 500

// DeleteOldProofs deletes the proof photos and signatures that only dossiers closed (in a
// final state) before closedBefore name, each with an audit entry per dossier, and
// returns how many files went. The hashes stay in the custody ledger, so chains still
// verify; a file is remembered as deleted, so devices are not asked for it again. A file
// is deleted before it is recorded: a crash between the two deletes it again next time,
// which is harmless.
func DeleteOldProofs(ctx context.Context, db *DB, blobs BlobDeleter, closedBefore time.Time, keptDays int) (int, error) {
	var finals []string
	for _, s := range dossier.FinalStates() {
		finals = append(finals, string(s))
	}
	deleted := 0
	for {
		var stale []struct {
			Hash     string
			Dossiers string // comma-separated ids
		}
		err := db.gorm.WithContext(ctx).Raw(`WITH proofs AS (
				SELECT c.dossier_id, p.h FROM custody_entries c, LATERAL (VALUES (c.signature_sha256), (c.photo_sha256)) p(h) WHERE p.h <> '')
			SELECT p.h AS hash, string_agg(DISTINCT p.dossier_id::text, ',') AS dossiers
			FROM proofs p JOIN dossiers d ON d.id = p.dossier_id
			WHERE NOT EXISTS (SELECT 1 FROM proof_deletions x WHERE x.sha256 = p.h)
			GROUP BY p.h
			HAVING bool_and(d.state = ANY($1) AND d.updated_at < $2)
			LIMIT $3`, finals, closedBefore.UTC(), proofBatch).Scan(&stale).Error
		if err != nil {
			return deleted, translate(err, "proof")
		}
		for _, p := range stale {
			if err := blobs.Delete(ctx, p.Hash); err != nil {
				return deleted, err
			}
			now := db.stamp()
			err := db.inTx(ctx, func(tx *gorm.DB) error {
				if err := tx.Exec(`INSERT INTO proof_deletions (sha256, deleted_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.Hash, now).Error; err != nil {
					return err
				}
				for _, id := range strings.Split(p.Dossiers, ",") {
					if err := writeAudit(tx, audit.Entry{At: now, ActorRole: "system", Action: "proof.deleted", ResourceKind: "dossier", ResourceID: id,
						Detail: map[string]any{"sha256": p.Hash, "kept_days": keptDays}}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return deleted, translate(err, "proof")
			}
			deleted++
		}
		if len(stale) < proofBatch {
			return deleted, nil
		}
	}
}
