package fieldsync

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
)

// Quarantined is a fact from the field the server could not apply: a delivery to a stop
// reassigned meanwhile, a pickup of a cancelled dossier, a mutation from a newer app. The
// item moved in the world, so a dispatcher must settle it; it is never dropped.
type Quarantined struct {
	MutationID uuid.UUID
	DeviceID   uuid.UUID
	CourierID  uuid.UUID
	TaskID     uuid.UUID
	Type       string
	Code       domain.Code
	Payload    json.RawMessage
	CreatedAt  time.Time
	ResolvedAt *time.Time
	ResolvedBy uuid.UUID
	Resolution string
}

// QuarantineFilter narrows the list; PostOfficeIDs scopes it to those offices' couriers.
type QuarantineFilter struct {
	Resolved      *bool
	PostOfficeIDs []uuid.UUID
}

// QuarantineStore reads and settles quarantined facts.
type QuarantineStore interface {
	ListQuarantine(ctx context.Context, f QuarantineFilter, page domain.Page) (domain.List[Quarantined], error)
	// Resolve settles one open item; NOT_FOUND when it is not open in scope.
	Resolve(ctx context.Context, id uuid.UUID, scope QuarantineFilter, by uuid.UUID, resolution string, at time.Time, entry audit.Entry) error
}

// Quarantine is the dispatcher's side of rejected field facts.
type Quarantine struct {
	store QuarantineStore
	now   func() time.Time
}

func NewQuarantine(store QuarantineStore, now func() time.Time) *Quarantine {
	return &Quarantine{store: store, now: now}
}

// scope is the filter of what p may see of the quarantine: an admin's everything, a
// dispatcher's offices (never nil, which would mean every office).
func scope(p auth.Principal) (QuarantineFilter, bool) {
	s := auth.ScopeOf(p)
	if offices, ok := s.PostOffices(); ok {
		return QuarantineFilter{PostOfficeIDs: offices}, true
	}
	return QuarantineFilter{}, s.All()
}

// List shows the caller's offices' quarantined facts (an admin's: all).
func (q *Quarantine) List(ctx context.Context, resolved *bool, page domain.Page) (domain.List[Quarantined], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Quarantined]{}, err
	}
	f, ok := scope(auth.PrincipalFrom(ctx))
	if !ok {
		return domain.List[Quarantined]{Items: []Quarantined{}}, nil
	}
	f.Resolved = resolved
	return q.store.ListQuarantine(ctx, f, page)
}

// Resolve records how a dispatcher settled a quarantined fact.
func (q *Quarantine) Resolve(ctx context.Context, id uuid.UUID, resolution string) error {
	p := auth.PrincipalFrom(ctx)
	f, ok := scope(p)
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "no such quarantined item")
	}
	resolution = strings.TrimSpace(resolution)
	if resolution == "" || len(resolution) > 1000 {
		return domain.Invalid("resolution", "say how it was settled, in at most 1000 characters")
	}
	now := q.now()
	entry := audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: "quarantine.resolve", ResourceKind: "sync_mutation", ResourceID: id.String()}
	return q.store.Resolve(ctx, id, f, p.AccountID, resolution, now, entry)
}
