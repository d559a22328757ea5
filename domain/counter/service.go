// Package counter is the post office's counter and the agency's desk: the manifests
// (biên bản bàn giao) by which batches of dossiers and results change hands between a
// post office and an agency, and the closing of a courier's day, which checks that
// nothing goes home in a bag unexplained. Each dossier a manifest carries changes hands
// by the dossier's own rules (dossier.Service.PrepareBatch), in the manifest's
// transaction. That transaction is a Tx, declared here and embedding dossier.Writer:
// receiving locks the manifest, then its dossiers in id order, decides, applies each
// dossier's change, writes the manifest and commits; closing a day locks the courier
// against handovers, reads the bag, checks it and writes the closed day.
//
// Imports allowed: the standard library, courierd/domain and its catalog, dossier, auth
// and audit packages, and uuid. Never applicant, dispatch or fieldsync; no storage, api,
// gorm, fiber or net/http.
package counter

import (
	"time"

	"github.com/google/uuid"

	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// Service is the counter's rules.
type Service struct {
	store    Store
	dossiers *dossier.Service
	catalog  *catalog.Catalog
	now      func() time.Time
	newID    func() uuid.UUID
}

func NewService(store Store, dossiers *dossier.Service, cat *catalog.Catalog, now func() time.Time, newID func() uuid.UUID) *Service {
	// A manifest received stamps custody entries, whose hashes must match the times
	// PostgreSQL gives back, in microseconds: cut them there at once, as dossiers do.
	micro := func() time.Time { return now().Truncate(time.Microsecond) }
	return &Service{store: store, dossiers: dossiers, catalog: cat, now: micro, newID: newID}
}
