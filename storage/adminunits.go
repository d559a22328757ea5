package storage

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/catalog"
)

type adminUnitRow struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	Code        string
	Name        string
	SearchName  string
	Level       string
	Kind        string
	ParentCode  *string
	Legacy      bool
	ValidFrom   *time.Time
	ValidTo     *time.Time
	SuccessorID *uuid.UUID
	RowMeta
}

func (adminUnitRow) TableName() string     { return "admin_units" }
func (r *adminUnitRow) key() (string, any) { return "id", r.ID }

func adminUnitToRow(u catalog.AdminUnit) (adminUnitRow, error) {
	return adminUnitRow{ID: u.ID, Code: u.Code, Name: u.Name, SearchName: foldForSearch(u.Name), Level: string(u.Level),
		Kind: u.Kind, ParentCode: nullable(u.ParentCode), Legacy: u.Legacy, ValidFrom: u.ValidFrom, ValidTo: u.ValidTo,
		SuccessorID: nilUUID(u.SuccessorID)}, nil
}

func (r *adminUnitRow) toDomain() (catalog.AdminUnit, error) {
	u := catalog.AdminUnit{ID: r.ID, Code: r.Code, Name: r.Name, Level: catalog.AdminLevel(r.Level), Kind: r.Kind,
		ParentCode: deref(r.ParentCode), Legacy: r.Legacy, ValidFrom: r.ValidFrom, ValidTo: r.ValidTo, Revision: r.revision()}
	if r.SuccessorID != nil {
		u.SuccessorID = *r.SuccessorID
	}
	return u, nil
}

// adminUnitStore is the catalog's repository of units, whose codes are not keys: Get
// takes an id or a code, and mergers end units.
type adminUnitStore struct {
	*repo[catalog.AdminUnit, catalog.AdminUnitFilter, adminUnitRow, *adminUnitRow]
}

func newAdminUnitStore(db *DB) adminUnitStore {
	return adminUnitStore{&repo[catalog.AdminUnit, catalog.AdminUnitFilter, adminUnitRow, *adminUnitRow]{
		db: db, noun: "administrative unit", order: "code, valid_to DESC NULLS FIRST", toRow: adminUnitToRow,
		filter: func(q *gorm.DB, f catalog.AdminUnitFilter) *gorm.DB {
			q = whereSet(whereSet(q, "code", f.Code), "level", string(f.Level))
			q = whereSet(q, "parent_code", f.ParentCode)
			if f.Current != nil {
				q = q.Where("(valid_to IS NULL) = ?", *f.Current)
			}
			return likeFolded(whereFlag(q, "legacy", f.Legacy), f.NameQuery)
		},
	}}
}

// Get finds a unit by id, or by code: the current unit with it, else the one that ended last.
func (s adminUnitStore) Get(ctx context.Context, key string) (catalog.AdminUnit, error) {
	q := s.db.gorm.WithContext(ctx)
	if id, err := uuid.Parse(key); err == nil {
		q = q.Where("id = ?", id)
	} else {
		q = q.Where("code = ?", key).Order("valid_to DESC NULLS FIRST")
	}
	var rows []adminUnitRow
	if err := q.Limit(1).Find(&rows).Error; err != nil {
		return catalog.AdminUnit{}, translate(err, s.noun)
	}
	if len(rows) == 0 {
		return catalog.AdminUnit{}, domain.Errorf(domain.CodeNotFound, "no such %s", s.noun)
	}
	return rows[0].toDomain()
}

func (s adminUnitStore) Merge(ctx context.Context, merged []catalog.AdminUnit, successor catalog.AdminUnit, create bool, date time.Time) (catalog.AdminUnit, []catalog.AdminUnit, error) {
	ids := make([]uuid.UUID, len(merged))
	for i, u := range merged {
		ids[i] = u.ID
	}
	var ended []adminUnitRow
	var into adminUnitRow
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		now := s.db.stamp()
		// Each merged unit ends now, unless it ended meanwhile (another admin's merger).
		end := tx.Model(&adminUnitRow{}).Where("id IN ? AND valid_to IS NULL", ids).
			Updates(map[string]any{"valid_to": date, "version": gorm.Expr("version + 1"), "updated_at": now})
		if end.Error != nil {
			return end.Error
		}
		if end.RowsAffected != int64(len(ids)) {
			return domain.Errorf(domain.CodeConflict, "a unit to merge ended meanwhile; reload and record the merger again")
		}
		if create {
			// After the merged units ended, so that it may take one of their codes.
			row, err := adminUnitToRow(successor)
			if err != nil {
				return err
			}
			row.RowMeta = RowMeta{Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		} else if err := tx.Clauses(clause.Locking{Strength: "SHARE"}).Where("id = ? AND valid_to IS NULL", successor.ID).Take(&into).Error; err != nil {
			return err // it ended meanwhile: NOT_FOUND
		}
		if err := tx.Model(&adminUnitRow{}).Where("id IN ?", ids).Update("successor_id", successor.ID).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", successor.ID).Take(&into).Error; err != nil {
			return err
		}
		if err := tx.Where("id IN ?", ids).Order("code").Find(&ended).Error; err != nil {
			return err
		}
		codes := make([]string, len(merged))
		for i, u := range merged {
			codes[i] = u.Code
		}
		return writeAudit(tx, entryFromContext(ctx, now, "administrative_unit.merge", "administrative_unit", successor.ID.String(),
			map[string]any{"date": date.Format(time.DateOnly), "merged": codes, "into": successor.Code, "created": create}))
	})
	if err != nil {
		return catalog.AdminUnit{}, nil, translate(err, s.noun)
	}
	out := make([]catalog.AdminUnit, len(ended))
	for i := range ended {
		out[i], _ = ended[i].toDomain()
	}
	successor, err = into.toDomain()
	return successor, out, err
}
