// Package audit is the record of who changed what, when and from where. Entries are
// written in the same transaction as the change they describe, and never altered.
//
// Imports allowed: the standard library, courierd/domain and uuid.
package audit

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// Entry is one change. Detail says what changed in terms that carry no personal data
// (versions, states, counts), never names, phones or ID numbers.
type Entry struct {
	ID           int64
	At           time.Time
	ActorID      uuid.UUID // zero for courierd itself or an unknown caller
	ActorRole    string
	DeviceID     uuid.UUID
	Source       string
	Action       string
	ResourceKind string
	ResourceID   string
	Detail       map[string]any
}

// Filter narrows a query of the log; zero fields do not filter.
type Filter struct {
	ActorID      uuid.UUID
	Action       string
	ResourceKind string
	ResourceID   string
	From, To     time.Time
}

// Store reads the log; writes happen inside the stores of what changed.
type Store interface {
	ListAudit(ctx context.Context, filter Filter, page domain.Page) (domain.List[Entry], error)
}

// Log answers queries of the audit log.
type Log struct {
	store Store
}

func NewLog(store Store) *Log { return &Log{store: store} }

// List returns entries newest first.
func (l *Log) List(ctx context.Context, filter Filter, page domain.Page) (domain.List[Entry], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Entry]{}, err
	}
	return l.store.ListAudit(ctx, filter, page)
}
