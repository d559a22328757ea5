// Package applicant is the citizens' side of a dossier: the slots post offices offer and
// the applicant's booking of a pickup in one, their choice of how the result comes back,
// their rating, their messaging preferences, and what they read of the dossier (the
// public timeline, on their page or by receipt code and phone digits). Every choice is
// an event on the dossier, applied by the dossier's own rules (dossier.Service.Apply).
//
// Imports allowed: the standard library, courierd/domain and its catalog, dossier, auth
// and audit packages, uuid and orb. Never counter, dispatch or fieldsync; no storage,
// api, gorm, fiber or net/http.
package applicant

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// Store is the persistence port of the applicants' side: the slots post offices offer,
// ratings and messaging preferences. Errors: NOT_FOUND for unknown ids.
type Store interface {
	Slots(ctx context.Context, officeID uuid.UUID) ([]SlotTemplate, error)
	SetSlots(ctx context.Context, officeID uuid.UUID, slots []SlotTemplate, entry audit.Entry) error
	// SlotUse counts live stops by day and slot start, over [from, to].
	SlotUse(ctx context.Context, officeID uuid.UUID, from, to time.Time) (map[time.Time]map[int]int, error)
	// Rate records an applicant's rating, replacing an earlier one, with its audit entry.
	Rate(ctx context.Context, r Rating, entry audit.Entry) error
	// Preference is an applicant's messaging choice: PreferAny, and messaged, for one who
	// never chose.
	Preference(ctx context.Context, phoneIndex string) (dossier.Preference, error)
	SetPreference(ctx context.Context, phoneIndex string, p dossier.Preference, entry audit.Entry) error
}

// Service is the applicants' side's rules.
type Service struct {
	store    Store
	dossiers *dossier.Service
	catalog  *catalog.Catalog
	now      func() time.Time
}

func NewService(store Store, dossiers *dossier.Service, cat *catalog.Catalog, now func() time.Time) *Service {
	// Times come back from PostgreSQL in microseconds: cut them there at once, so that an
	// answer says what a later read will.
	micro := func() time.Time { return now().Truncate(time.Microsecond) }
	return &Service{store: store, dossiers: dossiers, catalog: cat, now: micro}
}

// system is a context in which the catalog and the dossiers answer in full: for the
// public lookup, whose caller proves who they are by the receipt code and phone digits.
func system(ctx context.Context) context.Context { return auth.WithPrincipal(ctx, auth.System) }
