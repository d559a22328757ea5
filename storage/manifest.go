package storage

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/counter"
	"courierd/domain/dossier"
)

// CounterStore keeps manifests and couriers' closed days. Receiving a manifest changes
// its dossiers in the counter's Tx, whose jobs go through queue.
type CounterStore struct {
	db    *DB
	queue *Queue
}

func NewCounterStore(db *DB, queue *Queue) *CounterStore {
	return &CounterStore{db: db, queue: queue}
}

type manifestRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	Direction     string
	PostOfficeID  uuid.UUID
	AgencyID      uuid.UUID
	SealNumber    string
	SealRead      string
	SentBy        uuid.UUID
	SentAt        time.Time
	ReceivedBy    *uuid.UUID
	ReceivedAt    *time.Time
	Note          string
	Discrepancies int
	Version       int
}

func (manifestRow) TableName() string { return "manifests" }

type manifestItemRow struct {
	ManifestID uuid.UUID `gorm:"primaryKey"`
	Position   int       `gorm:"primaryKey"`
	DossierID  uuid.UUID
	Status     string
}

func (manifestItemRow) TableName() string { return "manifest_items" }

func manifestToRow(m counter.Manifest) manifestRow {
	return manifestRow{ID: m.ID, Direction: string(m.Direction), PostOfficeID: m.PostOfficeID, AgencyID: m.AgencyID,
		SealNumber: m.SealNumber, SealRead: m.SealRead, SentBy: m.SentBy, SentAt: m.SentAt.UTC(), ReceivedBy: nilUUID(m.ReceivedBy),
		ReceivedAt: m.ReceivedAt, Note: m.Note, Discrepancies: m.Discrepancies, Version: m.Version}
}

func (r manifestRow) toDomain(items []manifestItemRow) counter.Manifest {
	m := counter.Manifest{ID: r.ID, Direction: counter.ManifestDirection(r.Direction), PostOfficeID: r.PostOfficeID,
		AgencyID: r.AgencyID, SealNumber: r.SealNumber, SealRead: r.SealRead, SentBy: r.SentBy, SentAt: r.SentAt, ReceivedBy: derefUUID(r.ReceivedBy),
		ReceivedAt: r.ReceivedAt, Note: r.Note, Discrepancies: r.Discrepancies, Version: r.Version}
	for _, it := range items {
		m.Items = append(m.Items, counter.ManifestItem{DossierID: it.DossierID, Status: counter.ItemStatus(it.Status)})
	}
	return m
}

func writeItems(tx *gorm.DB, m counter.Manifest) error {
	if err := tx.Where("manifest_id = ?", m.ID).Delete(&manifestItemRow{}).Error; err != nil {
		return err
	}
	rows := make([]manifestItemRow, len(m.Items))
	for i, it := range m.Items {
		rows[i] = manifestItemRow{ManifestID: m.ID, Position: i + 1, DossierID: it.DossierID, Status: string(it.Status)}
	}
	// Written in dossier order, whatever the batch's: two batches listing the same dossiers
	// then meet first at the same one (the open-item index makes the later wait there and
	// fail), where in their own orders each could wait on the other.
	slices.SortFunc(rows, func(a, b manifestItemRow) int { return slices.Compare(a.DossierID[:], b.DossierID[:]) })
	return tx.Create(&rows).Error
}

func (s *CounterStore) CreateManifest(ctx context.Context, m counter.Manifest, entry audit.Entry) error {
	row := manifestToRow(m)
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return writeItems(tx, m)
	}, entry), "manifest")
}

func (s *CounterStore) OpenManifests(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	return openManifests(ctx, s.db, ids)
}

// OpenManifests serves the dossier's rule that an item on an open manifest changes hands
// with its batch only.
func (s *DossierStore) OpenManifests(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	return openManifests(ctx, s.db, ids)
}

func openManifests(ctx context.Context, db *DB, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	var rows []manifestItemRow
	err := db.gorm.WithContext(ctx).Where("status = ? AND dossier_id IN ?", string(counter.ItemSent), ids).Find(&rows).Error
	open := make(map[uuid.UUID]uuid.UUID, len(rows))
	for _, r := range rows {
		open[r.DossierID] = r.ManifestID
	}
	return open, translate(err, "manifest")
}

func loadManifest(tx *gorm.DB, id uuid.UUID, lock bool) (counter.Manifest, error) {
	q := tx
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var row manifestRow
	if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
		return counter.Manifest{}, translate(err, "manifest")
	}
	var items []manifestItemRow
	if err := tx.Where("manifest_id = ?", id).Order("position").Find(&items).Error; err != nil {
		return counter.Manifest{}, translate(err, "manifest")
	}
	return row.toDomain(items), nil
}

func (s *CounterStore) GetManifest(ctx context.Context, id uuid.UUID) (counter.Manifest, error) {
	return loadManifest(s.db.gorm.WithContext(ctx), id, false)
}

func (s *CounterStore) ListManifests(ctx context.Context, f counter.ManifestFilter, page domain.Page) (domain.List[counter.Manifest], error) {
	q := whereIn(whereSet(s.db.gorm.WithContext(ctx).Model(&manifestRow{}), "agency_id", f.AgencyID), "post_office_id", f.PostOfficeIDs)
	if f.Received != nil {
		q = q.Where("(received_at IS NOT NULL) = ?", *f.Received)
	}
	if f.Discrepancies {
		q = q.Where("discrepancies > 0")
	}
	return pageOf(q, "sent_at DESC, id", page, "manifest", func(r manifestRow) (counter.Manifest, error) {
		var items []manifestItemRow
		if err := s.db.gorm.WithContext(ctx).Where("manifest_id = ?", r.ID).Order("position").Find(&items).Error; err != nil {
			return counter.Manifest{}, translate(err, "manifest")
		}
		return r.toDomain(items), nil
	})
}

// Begin starts a transaction of the counter: a manifest received with its dossiers, or
// a courier's day closed.
func (s *CounterStore) Begin(ctx context.Context) (counter.Tx, error) {
	return s.db.begin(ctx, s.queue)
}

// LockManifest implements counter.Tx.
func (t *Tx) LockManifest(ctx context.Context, id uuid.UUID) (counter.Manifest, error) {
	return loadManifest(t.tx.WithContext(ctx), id, true)
}

// WriteManifest implements counter.Tx.
func (t *Tx) WriteManifest(ctx context.Context, m counter.Manifest, entry audit.Entry) error {
	tx := t.tx.WithContext(ctx)
	row := manifestToRow(m)
	if err := tx.Select("*").Updates(&row).Error; err != nil {
		return translate(err, "manifest")
	}
	if err := writeItems(tx, m); err != nil {
		return translate(err, "manifest")
	}
	return translate(writeAudit(tx, entry), "manifest")
}

type courierDayRow struct {
	CourierID    uuid.UUID `gorm:"primaryKey"`
	Day          time.Time `gorm:"primaryKey;type:date"`
	ClosedAt     time.Time
	ClosedBy     uuid.UUID
	Explanations []byte `gorm:"type:jsonb"`
}

func (courierDayRow) TableName() string { return "courier_days" }

// LockCourier implements counter.Tx: a custody entry to the courier takes a share lock
// on the same row (writeChange).
func (t *Tx) LockCourier(ctx context.Context, courier uuid.UUID) error {
	return translate(t.tx.WithContext(ctx).Exec("SELECT 1 FROM couriers WHERE id = ? FOR UPDATE", courier).Error, "closed day")
}

// Bag implements counter.Tx.
func (t *Tx) Bag(ctx context.Context, courier uuid.UUID) ([]dossier.Dossier, error) {
	var rows []dossierRow
	if err := t.tx.WithContext(ctx).Where("holder_kind = ? AND holder_id = ?", string(dossier.PartyCourier), courier).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "closed day")
	}
	bag := make([]dossier.Dossier, len(rows))
	for i, r := range rows {
		bag[i] = r.toDomain()
	}
	return bag, nil
}

// WriteDay implements counter.Tx.
func (t *Tx) WriteDay(ctx context.Context, day counter.CourierDay, entry audit.Entry) error {
	type kept struct {
		DossierID uuid.UUID `json:"dossier_id"`
		Reason    string    `json:"reason"`
	}
	list := []kept{}
	for id, reason := range day.Explanations {
		list = append(list, kept{id, reason})
	}
	explanations, err := json.Marshal(list)
	if err != nil {
		return err
	}
	tx := t.tx.WithContext(ctx)
	row := courierDayRow{CourierID: day.CourierID, Day: day.Day, ClosedAt: day.ClosedAt.UTC(), ClosedBy: day.ClosedBy, Explanations: explanations}
	if err := tx.Create(&row).Error; err != nil {
		return translate(err, "closed day")
	}
	return translate(writeAudit(tx, entry), "closed day")
}
