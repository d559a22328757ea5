package storage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/dossier"
)

// flagRow is one line of field_flags (migration 00020).
type flagRow struct {
	ID           int64 `gorm:"primaryKey"`
	DossierID    uuid.UUID
	PostOfficeID uuid.UUID
	CourierID    *uuid.UUID
	Event        string
	Kind         string
	DistanceM    *float64
	AccuracyM    *float64
	Documents    []byte `gorm:"type:jsonb"`
	At           time.Time
}

func (flagRow) TableName() string { return "field_flags" }

// writeFlags inserts what an event raised, in its transaction.
func writeFlags(tx *gorm.DB, flags []dossier.Flag) error {
	if len(flags) == 0 {
		return nil
	}
	rows := make([]flagRow, len(flags))
	for i, f := range flags {
		docs, err := json.Marshal(f.Documents)
		if err != nil {
			return err
		}
		if f.Documents == nil {
			docs = []byte("[]")
		}
		rows[i] = flagRow{DossierID: f.DossierID, PostOfficeID: f.PostOfficeID, Event: string(f.Event), Kind: string(f.Kind),
			DistanceM: f.DistanceM, AccuracyM: f.AccuracyM, Documents: docs, At: f.At}
		if f.CourierID != uuid.Nil {
			rows[i].CourierID = &f.CourierID
		}
	}
	return insertFlags.exec(tx, rows)
}

var insertFlags = newUnnestInsert("field_flags", rowColumns[flagRow]("id")...)

func (s *DossierStore) Flags(ctx context.Context, f dossier.FlagFilter, page domain.Page) (domain.List[dossier.Flag], error) {
	q := whereIn(whereSet(s.db.gorm.WithContext(ctx).Model(&flagRow{}), "dossier_id", f.DossierID), "post_office_id", f.PostOfficeIDs)
	return pageOf(q, "id DESC", page, "flag", func(r flagRow) (dossier.Flag, error) {
		out := dossier.Flag{ID: r.ID, DossierID: r.DossierID, PostOfficeID: r.PostOfficeID, Event: dossier.Event(r.Event),
			Kind: dossier.FlagKind(r.Kind), DistanceM: r.DistanceM, AccuracyM: r.AccuracyM, At: r.At}
		if r.CourierID != nil {
			out.CourierID = *r.CourierID
		}
		return out, json.Unmarshal(r.Documents, &out.Documents)
	})
}
