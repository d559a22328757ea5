package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"courierd/domain/dossier"
)

// ChainsToCheck implements dossier.Store. A dossier's slice is a hash of its id, so the
// slices share the dossiers out evenly and each keeps its dossiers from day to day.
func (s *DossierStore) ChainsToCheck(ctx context.Context, since time.Time, slice, slices int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.db.gorm.WithContext(ctx).Raw(`
		SELECT dossier_id FROM custody_entries WHERE server_time >= ?
		UNION
		SELECT id FROM dossiers WHERE custody_count > 0 AND mod(hashtext(id::text)::bigint + 2147483648, ?) = ?
		ORDER BY 1`, since.UTC(), slices, slice).Scan(&ids).Error
	return ids, translate(err, "custody check")
}

// RecordCustodyCheck implements dossier.Store.
func (s *DossierStore) RecordCustodyCheck(ctx context.Context, c dossier.CustodyCheck) error {
	broken := make([][16]byte, len(c.BrokenIDs))
	for i, id := range c.BrokenIDs {
		broken[i] = id
	}
	_, err := s.db.sql.ExecContext(ctx, `INSERT INTO custody_checks (checked_at, checked, broken, broken_ids) VALUES ($1, $2, $3, $4::uuid[])`,
		c.At.UTC(), c.Checked, c.Broken, broken)
	return translate(err, "custody check")
}

// LastCustodyCheck is the newest run of the custody check (without the broken ids); false
// when none ran yet.
func LastCustodyCheck(ctx context.Context, db *DB) (dossier.CustodyCheck, bool, error) {
	var c dossier.CustodyCheck
	err := db.sql.QueryRowContext(ctx, `SELECT checked_at, checked, broken FROM custody_checks ORDER BY checked_at DESC, id DESC LIMIT 1`).
		Scan(&c.At, &c.Checked, &c.Broken)
	if errors.Is(err, sql.ErrNoRows) {
		return dossier.CustodyCheck{}, false, nil
	}
	if err != nil {
		return dossier.CustodyCheck{}, false, translate(err, "custody check")
	}
	return c, true, nil
}
