package storage

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/complaint"
	"courierd/domain/dossier"
	"courierd/domain/report"
)

// ComplaintStore keeps citizens' complaints.
type ComplaintStore struct{ db *DB }

func NewComplaintStore(db *DB) *ComplaintStore { return &ComplaintStore{db: db} }

type complaintRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	DossierID    uuid.UUID
	ReceiptCode  string
	PostOfficeID uuid.UUID
	Category     string
	Text         string
	State        string
	FiledAt      time.Time
	DueAt        time.Time
	Answer       string
	AnsweredAt   *time.Time
	AnsweredBy   *uuid.UUID
	ClosedAt     *time.Time
}

func (complaintRow) TableName() string { return "complaints" }

func (r complaintRow) toDomain() complaint.Complaint {
	c := complaint.Complaint{ID: r.ID, DossierID: r.DossierID, Receipt: dossier.ReceiptCode(r.ReceiptCode), PostOfficeID: r.PostOfficeID,
		Category: complaint.Category(r.Category), Text: r.Text, State: complaint.State(r.State), FiledAt: r.FiledAt.UTC(), DueAt: r.DueAt.UTC(),
		Answer: r.Answer, AnsweredAt: utcOrNil(r.AnsweredAt), ClosedAt: utcOrNil(r.ClosedAt)}
	if r.AnsweredBy != nil {
		c.AnsweredBy = *r.AnsweredBy
	}
	return c
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *ComplaintStore) File(ctx context.Context, c complaint.Complaint, entry audit.Entry) error {
	row := complaintRow{ID: c.ID, DossierID: c.DossierID, ReceiptCode: string(c.Receipt), PostOfficeID: c.PostOfficeID, Category: string(c.Category),
		Text: c.Text, State: string(c.State), FiledAt: c.FiledAt, DueAt: c.DueAt}
	err := s.db.inTx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }, entry)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.ConstraintName == "complaints_one_open_idx" {
		return domain.Errorf(complaint.CodeAlreadyOpen, "this dossier already has an open complaint of this kind: its answer comes first")
	}
	return translate(err, "complaint")
}

func (s *ComplaintStore) Get(ctx context.Context, id uuid.UUID) (complaint.Complaint, error) {
	var row complaintRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return complaint.Complaint{}, translate(err, "complaint")
	}
	return row.toDomain(), nil
}

func (s *ComplaintStore) List(ctx context.Context, f complaint.Filter, page domain.Page) (domain.List[complaint.Complaint], error) {
	q := s.db.gorm.WithContext(ctx).Model(&complaintRow{})
	q = whereIn(q, "post_office_id", f.PostOfficeIDs)
	if f.DossierID != uuid.Nil {
		q = q.Where("dossier_id = ?", f.DossierID)
	}
	q = whereSet(q, "state", string(f.State))
	if f.Overdue {
		q = q.Where("state = 'open' AND due_at <= ?", f.Now)
	}
	return pageOf(q, "filed_at DESC, id DESC", page, "complaint", infallible(complaintRow.toDomain))
}

func (s *ComplaintStore) Answer(ctx context.Context, id uuid.UUID, from complaint.State, answer string, at time.Time, by uuid.UUID, entry audit.Entry) (complaint.Complaint, error) {
	return s.change(ctx, id, from, complaint.Answered, map[string]any{"state": string(complaint.Answered), "answer": answer, "answered_at": at, "answered_by": nilUUID(by)}, entry)
}

func (s *ComplaintStore) Close(ctx context.Context, id uuid.UUID, from complaint.State, at time.Time, entry audit.Entry) (complaint.Complaint, error) {
	return s.change(ctx, id, from, complaint.Closed, map[string]any{"state": string(complaint.Closed), "closed_at": at}, entry)
}

// change moves a complaint from state from, with its audit entry, in one transaction; a
// complaint another request moved meanwhile is refused as it now stands.
func (s *ComplaintStore) change(ctx context.Context, id uuid.UUID, from, to complaint.State, set map[string]any, entry audit.Entry) (complaint.Complaint, error) {
	var row complaintRow
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(&row, "id = ?", id).Error; err != nil {
			return err
		}
		if row.State != string(from) {
			return complaint.WrongState(complaint.State(row.State), to)
		}
		res := tx.Model(&complaintRow{}).Where("id = ? AND state = ?", id, string(from)).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return complaint.WrongState(complaint.State(row.State), to)
		}
		return tx.Take(&row, "id = ?", id).Error
	}, entry)
	if err != nil {
		return complaint.Complaint{}, translate(err, "complaint")
	}
	return row.toDomain(), nil
}

// complaintKeys is the SQL of each grouping's key over the complaints.
var complaintKeys = map[report.Grouping]string{
	report.ByPostOffice:  "post_office_id::text",
	complaint.ByCategory: "category",
}

// Report implements complaint.Store: one pass over the complaints filed in the period.
func (s *ComplaintStore) Report(ctx context.Context, q report.Query, now time.Time) ([]complaint.ReportRow, error) {
	where, args := scoped(q, "post_office_id", "")
	args["now"] = now.UTC()
	var rows []struct {
		Key                               string
		Filed                             int
		Late, Damaged, Rude, WrongPerson  int
		Other                             int
		OnTime, AnsweredLate, OpenOverdue int
		MeanS                             *float64
	}
	err := s.db.gorm.WithContext(ctx).Raw(`SELECT `+complaintKeys[q.By]+` AS key, count(*) AS filed,
			count(*) FILTER (WHERE category = 'late') AS late,
			count(*) FILTER (WHERE category = 'damaged') AS damaged,
			count(*) FILTER (WHERE category = 'rude') AS rude,
			count(*) FILTER (WHERE category = 'wrong_person') AS wrong_person,
			count(*) FILTER (WHERE category = 'other') AS other,
			count(*) FILTER (WHERE answered_at < due_at) AS on_time,
			count(*) FILTER (WHERE answered_at >= due_at) AS answered_late,
			count(*) FILTER (WHERE state = 'open' AND due_at <= @now) AS open_overdue,
			avg(extract(epoch FROM answered_at - filed_at)) AS mean_s
		FROM complaints WHERE filed_at >= @from AND filed_at < @to AND `+where+`
		GROUP BY 1 ORDER BY 1`, args).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "complaint")
	}
	out := make([]complaint.ReportRow, len(rows))
	for i, r := range rows {
		out[i] = complaint.ReportRow{Key: r.Key, Filed: r.Filed, AnsweredOnTime: r.OnTime, AnsweredLate: r.AnsweredLate, OpenOverdue: r.OpenOverdue,
			ByCategory: map[complaint.Category]int{complaint.Late: r.Late, complaint.Damaged: r.Damaged, complaint.Rude: r.Rude,
				complaint.WrongPerson: r.WrongPerson, complaint.Other: r.Other}}
		if r.MeanS != nil {
			mean := time.Duration(*r.MeanS * float64(time.Second))
			out[i].AnswerTimeMean = &mean
		}
	}
	return out, nil
}
