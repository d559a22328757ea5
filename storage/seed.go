package storage

import (
	"context"
	"fmt"
	"github.com/paulmach/orb/geojson"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/demo"
	"courierd/domain/dispatch"
)

// seededTables lists, children first, every table the demo data fills; reset empties them.
var seededTables = []string{"delay_alerts", "remitted_money", "remittances", "cash_handin_lines", "cash_handins", "proof_deletions", "handover_misses", "complaints", "dossier_ratings", "notification_preferences", "post_office_slots", "payments", "webhook_deliveries", "webhook_subscribers", "dispatch_routes", "dispatch_plans", "zones", "field_reports", "cash_collections", "breadcrumbs", "courier_positions", "sync_quarantine", "sync_mutations", "sync_devices", "courier_changes", "courier_sync_state", "courier_days", "manifest_items", "manifests", "field_flags", "custody_entries", "dossier_events", "tasks", "dossiers", "refresh_tokens", "devices", "account_post_offices", "accounts", "revocations", "auth_throttle",
	"citizens", "couriers", "calendar_days", "procedures", "post_offices", "agencies", "admin_units", "admin_unit_codes"}

// SeedDemo writes the demo dataset in one transaction; accounts must carry their password
// hashes. Without reset it writes nothing
// and returns false when the catalog already holds data, so it never mixes demo rows into
// real ones; with reset it first empties the demo tables.
func SeedDemo(ctx context.Context, db *DB, ds demo.Dataset, reset bool) (bool, error) {
	seeded := false
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		if reset {
			// The ledger refuses deletes; a demo reset is the one place allowed to empty it.
			if err := tx.Exec("ALTER TABLE custody_entries DISABLE TRIGGER custody_append_only").Error; err != nil {
				return err
			}
			defer tx.Exec("ALTER TABLE custody_entries ENABLE TRIGGER custody_append_only")
			for _, table := range seededTables {
				if err := tx.Exec("DELETE FROM " + table).Error; err != nil {
					return err
				}
			}
		}
		var nonEmpty bool
		if err := tx.Raw("SELECT EXISTS (SELECT 1 FROM admin_units)").Scan(&nonEmpty).Error; err != nil {
			return err
		}
		if nonEmpty {
			return nil
		}
		now := db.stamp()
		steps := []func() error{
			func() error { return insertAll(tx, now, ds.AdminUnits, adminUnitToRow) },
			func() error { return insertAll(tx, now, ds.Agencies, agencyToRow) },
			func() error { return insertAll(tx, now, ds.PostOffices, postOfficeToRow) },
			func() error { return insertZones(tx, now, ds.Zones) },
			func() error { return insertAll(tx, now, ds.Procedures, procedureToRow) },
			func() error { return insertAll(tx, now, ds.CalendarDays, calendarDayToRow) },
			func() error { return insertAll(tx, now, ds.Couriers, courierToRow) },
			func() error { return insertAccounts(tx, now, ds.Accounts) },
			func() error { return insertCitizens(tx, now, ds.Citizens) },
			func() error { return insertSlots(tx, ds.Slots) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		seeded = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("seed demo data: %w", translate(err, "demo record"))
	}
	return seeded, nil
}

// insertAll validates every record (demo data obeys the same rules as an admin's input)
// and inserts them in batches.
func insertAll[T catalog.Record[T], M any, PM interface {
	*M
	row[T]
}](tx *gorm.DB, now time.Time, records []T, toRow func(T) (M, error)) error {
	if len(records) == 0 {
		return nil
	}
	rows := make([]M, len(records))
	for i, r := range records {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("demo record %d: %w", i, err)
		}
		m, err := toRow(r)
		if err != nil {
			return err
		}
		*PM(&m).meta() = RowMeta{Version: 1, CreatedAt: now, UpdatedAt: now}
		rows[i] = m
	}
	return tx.CreateInBatches(rows, 500).Error
}

type citizenRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	FullName      string
	Phone         string
	Address       string
	AdminUnitCode string
	Lon, Lat      float64
	CreatedAt     time.Time
}

func (citizenRow) TableName() string { return "citizens" }

func insertCitizens(tx *gorm.DB, now time.Time, citizens []demo.Citizen) error {
	if len(citizens) == 0 {
		return nil
	}
	rows := make([]citizenRow, len(citizens))
	for i, c := range citizens {
		rows[i] = citizenRow{ID: c.ID, FullName: c.FullName, Phone: c.Phone, Address: c.Address,
			AdminUnitCode: c.AdminUnitCode, Lon: c.Location.Lon(), Lat: c.Location.Lat(), CreatedAt: now}
	}
	return tx.CreateInBatches(rows, 500).Error
}

func insertAccounts(tx *gorm.DB, now time.Time, accounts []auth.Account) error {
	for _, a := range accounts {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("demo account %s: %w", a.Username, err)
		}
		if a.PasswordHash == "" {
			return fmt.Errorf("demo account %s has no password hash", a.Username)
		}
		row := accountToRow(a)
		row.RowMeta = RowMeta{Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := linkOffices(tx, a); err != nil {
			return err
		}
	}
	return nil
}

// insertZones writes the demo's zones (each ward of a post office's area).
func insertZones(tx *gorm.DB, now time.Time, zones []dispatch.Zone) error {
	for _, z := range zones {
		area, err := geojson.NewGeometry(z.Area).MarshalJSON()
		if err != nil {
			return err
		}
		row := zoneRow{ID: z.ID, PostOfficeID: z.PostOfficeID, Name: z.Name, Area: area, Version: 1, UpdatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

func insertSlots(tx *gorm.DB, slots map[uuid.UUID][]applicant.SlotTemplate) error {
	var rows []slotRow
	for office, list := range slots {
		if err := applicant.CheckSlots(list); err != nil {
			return fmt.Errorf("demo slots: %w", err)
		}
		for _, s := range list {
			rows = append(rows, slotRow{PostOfficeID: office, StartMin: s.StartMin, EndMin: s.EndMin, Capacity: s.Capacity})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.Create(&rows).Error
}
