package storage

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/fieldsync"
)

type handInRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	CourierID    uuid.UUID
	PostOfficeID uuid.UUID
	Day          time.Time `gorm:"type:date"`
	ToHandInVND  int64     `gorm:"column:to_hand_in_vnd"`
	CountedVND   int64     `gorm:"column:counted_vnd"`
	ReceivedBy   uuid.UUID
	HandedInAt   time.Time
}

func (handInRow) TableName() string { return "cash_handins" }

type handInLineRow struct {
	CollectionID uuid.UUID `gorm:"primaryKey"`
	HandinID     uuid.UUID
}

func (handInLineRow) TableName() string { return "cash_handin_lines" }

// RecordHandIn implements fieldsync.HandInStore.
func (s *PushStore) RecordHandIn(ctx context.Context, courier uuid.UUID, from, to time.Time, decide func(office uuid.UUID, open []fieldsync.CashLine, earlier bool) (fieldsync.HandIn, error)) (fieldsync.HandIn, error) {
	var h fieldsync.HandIn
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c struct{ PostOfficeID uuid.UUID }
		if res := tx.Raw(`SELECT post_office_id FROM couriers WHERE id = ?`, courier).Scan(&c); res.Error != nil || res.RowsAffected == 0 {
			return orNotFound(res, "courier")
		}
		open, err := cashLines(tx, courier, from, to, true)
		if err != nil {
			return err
		}
		var earlier bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM cash_handins WHERE courier_id = ? AND day = ?)`, courier, from.Format(time.DateOnly)).Scan(&earlier).Error; err != nil {
			return err
		}
		if h, err = decide(c.PostOfficeID, open, earlier); err != nil {
			return err
		}
		row := handInRow{ID: h.ID, CourierID: h.CourierID, PostOfficeID: h.PostOfficeID, Day: h.Day, ToHandInVND: h.ToHandInVND,
			CountedVND: h.CountedVND, ReceivedBy: h.ReceivedBy, HandedInAt: h.HandedInAt}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		lines := make([]handInLineRow, len(h.Lines))
		for i, id := range h.Lines {
			lines[i] = handInLineRow{CollectionID: id, HandinID: h.ID}
		}
		// A hand-in committed since the lines were read holds some of them: the key refuses
		// this one whole.
		if err := tx.Create(&lines).Error; err != nil {
			return settledOnce(err, "cash_handin_lines_pkey", fieldsync.CodeCashHandedIn, "the courier's cash was handed in meanwhile")
		}
		return writeAudit(tx, entryFromContext(ctx, h.HandedInAt, "cash.hand_in", "courier", courier.String(), map[string]any{
			"hand_in_id": h.ID, "date": h.Day.Format(time.DateOnly), "to_hand_in_vnd": h.ToHandInVND, "counted_vnd": h.CountedVND, "lines": len(h.Lines)}))
	})
	return h, translate(err, "hand-in")
}

// settledOnce is code for a unique violation of constraint, the key that lets money be
// settled once: another act settled it first. Any other error is as it was.
func settledOnce(err error, constraint string, code domain.Code, message string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint {
		return domain.Errorf(code, "%s", message)
	}
	return err
}

// orNotFound is res's error, or NOT_FOUND when it found no row.
func orNotFound(res *gorm.DB, noun string) error {
	if res.Error != nil {
		return res.Error
	}
	return domain.Errorf(domain.CodeNotFound, "no such %s", noun)
}

// HandIns implements fieldsync.HandInStore.
func (s *PushStore) HandIns(ctx context.Context, courier uuid.UUID, day time.Time) ([]fieldsync.HandIn, error) {
	var rows []handInRow
	db := s.db.gorm.WithContext(ctx)
	if err := db.Where("courier_id = ? AND day = ?", courier, day.Format(time.DateOnly)).Order("handed_in_at, id").Find(&rows).Error; err != nil {
		return nil, translate(err, "hand-in")
	}
	out := make([]fieldsync.HandIn, len(rows))
	at := map[uuid.UUID]int{}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		out[i] = fieldsync.HandIn{ID: r.ID, CourierID: r.CourierID, PostOfficeID: r.PostOfficeID, Day: domain.Midnight(r.Day),
			ToHandInVND: r.ToHandInVND, CountedVND: r.CountedVND, ReceivedBy: r.ReceivedBy, HandedInAt: r.HandedInAt, Lines: []uuid.UUID{}}
		at[r.ID], ids[i] = i, r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var lines []handInLineRow
	if err := db.Where("handin_id IN ?", ids).Order("collection_id").Find(&lines).Error; err != nil {
		return nil, translate(err, "hand-in")
	}
	for _, l := range lines {
		out[at[l.HandinID]].Lines = append(out[at[l.HandinID]].Lines, l.CollectionID)
	}
	return out, nil
}
