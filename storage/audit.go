package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
)

type auditRow struct {
	ID           int64 `gorm:"primaryKey;->"`
	At           time.Time
	ActorID      *uuid.UUID
	ActorRole    string
	DeviceID     *uuid.UUID
	Source       string
	Action       string
	ResourceKind string
	ResourceID   string
	Detail       []byte `gorm:"type:jsonb"`
}

func (auditRow) TableName() string { return "audit_log" }

var insertAudit = newUnnestInsert("audit_log", rowColumns[auditRow]()...)

// writeAudit appends entries inside tx, the transaction of the changes they record.
func writeAudit(tx *gorm.DB, entries ...audit.Entry) error {
	rows := make([]auditRow, len(entries))
	for i, e := range entries {
		detail, err := json.Marshal(e.Detail)
		if err != nil || e.Detail == nil {
			detail = []byte("{}")
		}
		rows[i] = auditRow{At: e.At.UTC(), ActorID: nilUUID(e.ActorID), ActorRole: orWord(e.ActorRole, "anonymous"),
			DeviceID: nilUUID(e.DeviceID), Source: e.Source, Action: e.Action, ResourceKind: e.ResourceKind,
			ResourceID: e.ResourceID, Detail: detail}
	}
	return insertAudit.exec(tx, rows)
}

// entryFromContext is the audit entry for a change made by ctx's principal.
func entryFromContext(ctx context.Context, at time.Time, action, kind, id string, detail map[string]any) audit.Entry {
	p := auth.PrincipalFrom(ctx)
	return audit.Entry{At: at, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: action, ResourceKind: kind, ResourceID: id, Detail: detail}
}

// AuditStore reads the audit log.
type AuditStore struct{ db *DB }

func NewAuditStore(db *DB) *AuditStore { return &AuditStore{db: db} }

func (s *AuditStore) ListAudit(ctx context.Context, f audit.Filter, page domain.Page) (domain.List[audit.Entry], error) {
	q := s.db.gorm.WithContext(ctx).Model(&auditRow{})
	if f.ActorID != uuid.Nil {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	q = whereSet(whereSet(whereSet(q, "action", f.Action), "resource_kind", f.ResourceKind), "resource_id", f.ResourceID)
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To)
	}
	return pageOf(q, "id DESC", page, "audit entry", func(r auditRow) (audit.Entry, error) {
		var detail map[string]any
		if err := json.Unmarshal(r.Detail, &detail); err != nil {
			return audit.Entry{}, fmt.Errorf("audit entry %d: %w", r.ID, err)
		}
		return audit.Entry{ID: r.ID, At: r.At, ActorID: derefUUID(r.ActorID), ActorRole: r.ActorRole, DeviceID: derefUUID(r.DeviceID),
			Source: r.Source, Action: r.Action, ResourceKind: r.ResourceKind, ResourceID: r.ResourceID, Detail: detail}, nil
	})
}

func nilUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func derefUUID(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}
