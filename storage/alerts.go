package storage

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/dispatch"
	"courierd/domain/live"
)

type delayAlertRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	Kind         string
	SubjectID    uuid.UUID
	Day          time.Time `gorm:"type:date"`
	PostOfficeID uuid.UUID
	PlanID       uuid.UUID
	CourierID    uuid.UUID
	TaskID       *uuid.UUID
	DossierID    *uuid.UUID
	ReceiptCode  string
	LateMinutes  int
	DueAt        *time.Time
	Action       string
	RaisedAt     time.Time
	ClosedAt     *time.Time
	ClosedBy     *uuid.UUID
	Note         string
}

func (delayAlertRow) TableName() string { return "delay_alerts" }

func delayAlertToRow(a dispatch.DelayAlert) delayAlertRow {
	subject := a.CourierID
	if a.Kind == dispatch.AlertStopDeadline {
		subject = a.TaskID
	}
	return delayAlertRow{ID: a.ID, Kind: string(a.Kind), SubjectID: subject, Day: a.Day, PostOfficeID: a.PostOfficeID, PlanID: a.PlanID,
		CourierID: a.CourierID, TaskID: nilUUID(a.TaskID), DossierID: nilUUID(a.DossierID), ReceiptCode: a.Receipt, LateMinutes: a.LateMinutes,
		DueAt: a.Due, Action: string(a.Action), RaisedAt: a.RaisedAt.UTC()}
}

func (r delayAlertRow) toDomain() dispatch.DelayAlert {
	return dispatch.DelayAlert{ID: r.ID, Kind: dispatch.AlertKind(r.Kind), PostOfficeID: r.PostOfficeID, PlanID: r.PlanID, Day: r.Day,
		CourierID: r.CourierID, TaskID: derefUUID(r.TaskID), DossierID: derefUUID(r.DossierID), Receipt: r.ReceiptCode,
		LateMinutes: r.LateMinutes, Due: r.DueAt, Action: dispatch.AlertAction(r.Action), RaisedAt: r.RaisedAt, ClosedAt: r.ClosedAt,
		ClosedBy: derefUUID(r.ClosedBy), Note: r.Note}
}

// LiveAlert is a delay alert as the live stream carries it: ids, minutes and the action,
// no name or phone. The API's list answers the same fields.
type LiveAlert struct {
	ID          uuid.UUID  `json:"id"`
	Kind        string     `json:"kind"`
	CourierID   uuid.UUID  `json:"courier_id"`
	TaskID      *uuid.UUID `json:"task_id,omitempty"`
	Receipt     string     `json:"receipt_code,omitempty"`
	LateMinutes int        `json:"late_minutes"`
	Due         *time.Time `json:"due_at,omitempty"`
	Action      string     `json:"action"`
	RaisedAt    time.Time  `json:"raised_at"`
}

// RaiseAlerts implements dispatch.AlertStore. Most evaluations find causes raised before:
// one read skips those; the unique key of a cause drops one another process raised
// meanwhile. Only the alerts kept are announced, from the same transaction.
func (s *DispatchStore) RaiseAlerts(ctx context.Context, alerts []dispatch.DelayAlert) (int, error) {
	type cause struct {
		Kind      string
		SubjectID uuid.UUID
		Day       time.Time
	}
	rows := make([]delayAlertRow, len(alerts))
	subjects := make([]uuid.UUID, len(alerts))
	for i, a := range alerts {
		rows[i] = delayAlertToRow(a)
		subjects[i] = rows[i].SubjectID
	}
	var notes []liveNote
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		var known []cause
		if err := tx.Model(&delayAlertRow{}).Select("kind, subject_id, day").Where("subject_id IN ?", subjects).Find(&known).Error; err != nil {
			return err
		}
		seen := map[cause]bool{}
		for _, c := range known {
			seen[cause{c.Kind, c.SubjectID, c.Day.UTC()}] = true
		}
		for _, r := range rows {
			if seen[cause{r.Kind, r.SubjectID, r.Day.UTC()}] {
				continue
			}
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue // raised by another process since the read
			}
			notes = append(notes, liveNote{kind: live.KindDelayAlert, id: r.ID.String(), courier: r.CourierID, data: r.live()})
		}
		if len(notes) == 0 {
			return nil
		}
		query, args, err := notifyLive(notes)
		if err != nil {
			return err
		}
		return tx.Exec(query, args...).Error
	})
	if err != nil {
		return 0, translate(err, "delay alert")
	}
	return len(notes), nil
}

// live is the alert as the stream carries it.
func (r delayAlertRow) live() LiveAlert {
	return LiveAlert{ID: r.ID, Kind: r.Kind, CourierID: r.CourierID, TaskID: r.TaskID, Receipt: r.ReceiptCode, LateMinutes: r.LateMinutes,
		Due: r.DueAt, Action: r.Action, RaisedAt: r.RaisedAt}
}

// alertsInScope narrows q to f's offices.
func alertsInScope(q *gorm.DB, f dispatch.AlertFilter) *gorm.DB {
	return whereIn(q, "post_office_id", f.PostOfficeIDs)
}

func (s *DispatchStore) ListAlerts(ctx context.Context, f dispatch.AlertFilter, page domain.Page) (domain.List[dispatch.DelayAlert], error) {
	q := alertsInScope(s.db.gorm.WithContext(ctx).Model(&delayAlertRow{}), f)
	if f.Closed != nil {
		q = q.Where("(closed_at IS NOT NULL) = ?", *f.Closed)
	}
	return pageOf(q, "raised_at DESC, id DESC", page, "delay alert", infallible(delayAlertRow.toDomain))
}

func (s *DispatchStore) CloseAlert(ctx context.Context, id uuid.UUID, f dispatch.AlertFilter, by uuid.UUID, note string, at time.Time, entry audit.Entry) error {
	return s.db.settleOpen(ctx, func(tx *gorm.DB) *gorm.DB { return alertsInScope(tx.Model(&delayAlertRow{}), f) }, "id = ? AND closed_at IS NULL", id,
		map[string]any{"closed_at": at.UTC(), "closed_by": by, "note": note}, entry, "delay alert", "no such open delay alert")
}

func (s *DispatchStore) PublishedOffices(ctx context.Context, day time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.db.gorm.WithContext(ctx).Model(&planRow{}).Where("day = ? AND state = ?", day, string(dispatch.PlanPublished)).
		Order("post_office_id").Pluck("post_office_id", &ids).Error
	return ids, translate(err, "plan")
}
