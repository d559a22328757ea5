package storage_test

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/demo"
	"courierd/storage"
	"courierd/storage/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func wantCode(t *testing.T, err error, code domain.Code) *domain.Error {
	t.Helper()
	e, ok := domain.AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	return e
}

func tableNames(t *testing.T, db *storage.DB) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func TestMigrationsUpDownUp(t *testing.T) {
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	db, err := storage.Open(ctx, dbtest.NewEmpty(t), storage.PoolConfig{MaxOpenConns: 2}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := storage.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckCompatible(ctx); err == nil || !strings.Contains(err.Error(), "courierd migrate up") {
		t.Fatalf("an empty database must be reported as behind, with the command to run; got %v", err)
	}
	if err := m.Up(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckCompatible(ctx); err != nil {
		t.Fatalf("after up: %v", err)
	}
	schema := tableNames(t, db)
	if len(schema) == 0 {
		t.Fatal("up created no tables")
	}
	for {
		current, _, err := m.SchemaVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if current == 0 {
			break
		}
		if err := m.Down(ctx, io.Discard); err != nil {
			t.Fatalf("down from version %d: %v", current, err)
		}
	}
	if left := tableNames(t, db); len(left) != 0 {
		t.Fatalf("down steps left tables behind: %v", left)
	}
	if err := m.Up(ctx, io.Discard); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	if again := tableNames(t, db); strings.Join(again, ",") != strings.Join(schema, ",") {
		t.Fatalf("up, down, up gives %v, first up gave %v", again, schema)
	}
}

// fixture creates the units and post office most tests need, through the domain service.
func fixture(t *testing.T) (*catalog.Catalog, catalog.PostOffice) {
	t.Helper()
	db, _ := dbtest.New(t)
	cat := catalog.New(storage.NewCatalogStores(db), uuid.New)
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	for _, u := range []catalog.AdminUnit{
		{Code: "79", Name: "Thành phố Hồ Chí Minh", Level: catalog.LevelProvince, Kind: "city"},
		{Code: "25747", Name: "Phường Phú Hòa", Level: catalog.LevelCommune, Kind: "ward", ParentCode: "79"},
		{Code: "25744", Name: "Phường Phú Lợi", Level: catalog.LevelCommune, Kind: "ward", ParentCode: "79"},
	} {
		if _, err := cat.AdminUnits.Create(ctx, u); err != nil {
			t.Fatalf("create unit %s: %v", u.Code, err)
		}
	}
	ring := orb.Ring{{106.64, 10.96}, {106.70, 10.96}, {106.70, 11.00}, {106.64, 11.00}, {106.64, 10.96}}
	office, err := cat.PostOffices.Create(ctx, catalog.PostOffice{Code: "820100", Name: "Bưu cục Thủ Dầu Một",
		Kind: catalog.PostOfficeFull, AdminUnitCode: "25747", Address: "1 Đại lộ Bình Dương",
		Location: orb.Point{106.67, 10.98}, ServiceArea: orb.MultiPolygon{{ring}}})
	if err != nil {
		t.Fatalf("create post office: %v", err)
	}
	return cat, office
}

func TestCatalogStoreRoundTrip(t *testing.T) {
	t.Parallel()
	cat, office := fixture(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)

	got, err := cat.PostOffices.Get(ctx, office.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.CreatedAt.IsZero() || !got.ServiceArea.Equal(office.ServiceArea) || got.Location != office.Location {
		t.Fatalf("read back %+v, wrote %+v", got, office)
	}
	proc, err := cat.Procedures.Create(ctx, catalog.Procedure{Code: "1.001193", Name: "Đăng ký khai sinh",
		AgencyKind: catalog.AgencyCommuneCommittee, ProcessingDays: 3, FeeVND: 8000, PostageVND: 25000, PickupByPost: true,
		Documents: []catalog.RequiredDocument{{Name: "Tờ khai", Form: catalog.FormOriginal, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := cat.Procedures.Get(ctx, proc.ID.String())
	if err != nil || len(back.Documents) != 1 || back.Documents[0] != proc.Documents[0] || back.FeeVND != 8000 {
		t.Fatalf("procedure read back %+v, %v", back, err)
	}
	courier, err := cat.Couriers.Create(ctx, catalog.Courier{StaffCode: "BT01", Name: "Trần Văn Bình", Phone: "0912345678",
		PostOfficeID: office.ID, VehicleKind: catalog.VehicleMotorbike, CapacityItems: 30, ShiftStartMin: 450, ShiftEndMin: 1020,
		Skills: []string{catalog.SkillIdentityCheck}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := cat.Couriers.Get(ctx, courier.ID.String()); len(c.Skills) != 1 || c.Skills[0] != catalog.SkillIdentityCheck {
		t.Fatalf("courier skills read back %v", c.Skills)
	}
}

func TestCatalogStoreRefusals(t *testing.T) {
	t.Parallel()
	cat, office := fixture(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)

	t.Run("duplicate code is CONFLICT on code", func(t *testing.T) {
		dup := office
		dup.ID = uuid.Nil
		e := wantCode(t, func() error { _, err := cat.PostOffices.Create(ctx, dup); return err }(), domain.CodeConflict)
		if len(e.Fields) != 1 || e.Fields[0].Field != "code" {
			t.Fatalf("fields %v, want code", e.Fields)
		}
	})
	t.Run("unknown id is NOT_FOUND", func(t *testing.T) {
		_, err := cat.PostOffices.Get(ctx, uuid.NewString())
		wantCode(t, err, domain.CodeNotFound)
	})
	t.Run("malformed id is NOT_FOUND", func(t *testing.T) {
		_, err := cat.Agencies.Get(ctx, "not-a-uuid")
		wantCode(t, err, domain.CodeNotFound)
	})
	t.Run("courier of a missing post office", func(t *testing.T) {
		_, err := cat.Couriers.Create(ctx, catalog.Courier{StaffCode: "BT09", Name: "Lê Thị C", Phone: "0987654321",
			PostOfficeID: uuid.New(), VehicleKind: catalog.VehicleBicycle, CapacityItems: 10, ShiftStartMin: 480, ShiftEndMin: 960, Active: true})
		e := wantCode(t, err, domain.CodeValidationFailed)
		if e.Fields[0].Field != "post_office_id" {
			t.Fatalf("fields %v", e.Fields)
		}
	})
	t.Run("commune under a commune", func(t *testing.T) {
		_, err := cat.AdminUnits.Create(ctx, catalog.AdminUnit{Code: "25750", Name: "Phường X", Level: catalog.LevelCommune, Kind: "ward", ParentCode: "25747"})
		wantCode(t, err, domain.CodeValidationFailed)
	})
	t.Run("agency in a unit that does not exist", func(t *testing.T) {
		_, err := cat.Agencies.Create(ctx, catalog.Agency{Code: "H12.1", Name: "Sở Tư pháp", Kind: catalog.AgencyDepartment,
			AdminUnitCode: "99", Address: "X", Location: orb.Point{106.6, 10.9}})
		e := wantCode(t, err, domain.CodeValidationFailed)
		if e.Fields[0].Field != "admin_unit_code" {
			t.Fatalf("fields %v", e.Fields)
		}
	})
	t.Run("stale version is VERSION_CONFLICT and changes nothing", func(t *testing.T) {
		renamed := office
		renamed.Name = "Bưu cục Trung tâm Thủ Dầu Một"
		updated, err := cat.PostOffices.Update(ctx, office.ID.String(), renamed, 1)
		if err != nil || updated.Version != 2 || updated.Name != renamed.Name {
			t.Fatalf("first update: %+v, %v", updated, err)
		}
		stale := office
		stale.Name = "Tên cũ"
		_, err = cat.PostOffices.Update(ctx, office.ID.String(), stale, 1)
		wantCode(t, err, domain.CodeVersionConflict)
		now, _ := cat.PostOffices.Get(ctx, office.ID.String())
		if now.Name != renamed.Name || now.Version != 2 {
			t.Fatalf("after a refused update the record is %q v%d", now.Name, now.Version)
		}
	})
	t.Run("update of a missing record is NOT_FOUND", func(t *testing.T) {
		_, err := cat.PostOffices.Update(ctx, uuid.NewString(), office, 0)
		wantCode(t, err, domain.CodeNotFound)
	})
	t.Run("renaming an admin unit's code is refused", func(t *testing.T) {
		_, err := cat.AdminUnits.Update(ctx, "25744", catalog.AdminUnit{Code: "25745", Name: "Phường Phú Lợi", Level: catalog.LevelCommune, Kind: "ward", ParentCode: "79"}, 0)
		wantCode(t, err, domain.CodeValidationFailed)
	})
}

func TestCatalogList(t *testing.T) {
	t.Parallel()
	cat, _ := fixture(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)

	t.Run("search ignores diacritics and case", func(t *testing.T) {
		list, err := cat.AdminUnits.List(ctx, catalog.AdminUnitFilter{NameQuery: "phu HOA"}, domain.Page{})
		if err != nil || list.Total != 1 || list.Items[0].Code != "25747" {
			t.Fatalf("got %+v, %v", list, err)
		}
	})
	t.Run("LIKE wildcards in a query are literal", func(t *testing.T) {
		list, err := cat.AdminUnits.List(ctx, catalog.AdminUnitFilter{NameQuery: "%"}, domain.Page{})
		if err != nil || list.Total != 0 {
			t.Fatalf("got %+v, %v", list, err)
		}
	})
	t.Run("filter and page", func(t *testing.T) {
		list, err := cat.AdminUnits.List(ctx, catalog.AdminUnitFilter{Level: catalog.LevelCommune}, domain.Page{Limit: 1, Offset: 1})
		if err != nil || list.Total != 2 || len(list.Items) != 1 || list.Items[0].Code != "25747" {
			t.Fatalf("got %+v, %v", list, err)
		}
	})
	t.Run("page out of range", func(t *testing.T) {
		_, err := cat.AdminUnits.List(ctx, catalog.AdminUnitFilter{}, domain.Page{Limit: 10000})
		wantCode(t, err, domain.CodeValidationFailed)
	})
	t.Run("calendar spans the requested dates", func(t *testing.T) {
		for _, d := range []catalog.CalendarDay{
			{Date: time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC), Kind: catalog.DayHoliday, Name: "Ngày Giải phóng miền Nam"},
			{Date: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Kind: catalog.DayHoliday, Name: "Ngày Quốc tế Lao động"},
			{Date: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Kind: catalog.DayHoliday, Name: "Tết Dương lịch"},
		} {
			if _, err := cat.CalendarDays.Create(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		cal, err := cat.Calendar(ctx, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		// Wed 29 April + 1 working day skips Thu 30/4, Fri 1/5 and the weekend.
		if got := cal.AddWorkingDays(time.Date(2026, 4, 29, 0, 0, 0, 0, time.UTC), 1); got.Format("2006-01-02") != "2026-05-04" {
			t.Fatalf("got %s", got.Format("2006-01-02"))
		}
	})
}

// demoData is the demo dataset with a password hash on every account.
func demoData(t *testing.T, seed int64, citizens int) demo.Dataset {
	t.Helper()
	ds := demo.Build(seed, citizens)
	hash, err := auth.HashPassword("demo password 2026", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds.Accounts {
		ds.Accounts[i].PasswordHash = hash
	}
	return ds
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	ds := demoData(t, 7, 120)

	seeded, err := storage.SeedDemo(ctx, db, ds, false)
	if err != nil || !seeded {
		t.Fatalf("first seed: %v, %v", seeded, err)
	}
	cat := catalog.New(storage.NewCatalogStores(db), uuid.New)
	offices, err := cat.PostOffices.List(ctx, catalog.PostOfficeFilter{}, domain.Page{})
	if err != nil || offices.Total != len(ds.PostOffices) {
		t.Fatalf("post offices read back: %d of %d, %v", offices.Total, len(ds.PostOffices), err)
	}
	for i, o := range offices.Items {
		if !o.ServiceArea.Equal(ds.PostOffices[i].ServiceArea) {
			t.Fatalf("post office %s: service area changed on the way through the database", o.Code)
		}
	}
	procs, err := cat.Procedures.List(ctx, catalog.ProcedureFilter{}, domain.Page{})
	if err != nil || procs.Total != len(ds.Procedures) {
		t.Fatalf("procedures: %d of %d, %v", procs.Total, len(ds.Procedures), err)
	}
	var citizens int
	if err := db.SQL().QueryRow("SELECT count(*) FROM citizens").Scan(&citizens); err != nil || citizens != 120 {
		t.Fatalf("citizens: %d, %v", citizens, err)
	}

	if seeded, err := storage.SeedDemo(ctx, db, demoData(t, 8, 10), false); err != nil || seeded {
		t.Fatalf("seeding a non-empty catalog must do nothing: %v, %v", seeded, err)
	}
	if err := db.SQL().QueryRow("SELECT count(*) FROM citizens").Scan(&citizens); err != nil || citizens != 120 {
		t.Fatalf("citizens after a refused seed: %d, %v", citizens, err)
	}
	if seeded, err := storage.SeedDemo(ctx, db, demoData(t, 8, 10), true); err != nil || !seeded {
		t.Fatalf("reset seed: %v, %v", seeded, err)
	}
	if err := db.SQL().QueryRow("SELECT count(*) FROM citizens").Scan(&citizens); err != nil || citizens != 10 {
		t.Fatalf("citizens after reset: %d, %v", citizens, err)
	}
}

func TestSeedDemoIsAllOrNothing(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	ds := demoData(t, 1, 5)
	ds.Couriers[3].Phone = "not a phone" // one bad record late in the run
	if _, err := storage.SeedDemo(ctx, db, ds, false); err == nil {
		t.Fatal("a bad record must fail the seed")
	}
	var units int
	if err := db.SQL().QueryRow("SELECT count(*) FROM admin_units").Scan(&units); err != nil || units != 0 {
		t.Fatalf("a failed seed left %d units behind (%v)", units, err)
	}
}

func domainPage() domain.Page { return domain.Page{Limit: 50} }

// TestCalendarCache: a day written through the catalog counts at once; the calendar is
// otherwise read once and kept (a row changed behind the catalog's back, as another
// server would, is seen only when the cached calendar expires).
func TestCalendarCache(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	cat := catalog.New(storage.NewCatalogStores(db), uuid.New)
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	day := time.Date(2031, 9, 2, 0, 0, 0, 0, time.UTC) // a Tuesday
	from, to := day.AddDate(0, -1, 0), day.AddDate(0, 1, 0)
	working := func() bool {
		t.Helper()
		cal, err := cat.Calendar(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return cal.IsWorkingDay(day)
	}
	if !working() {
		t.Fatal("2031-09-02 is a Tuesday with no holiday yet: it should be a working day")
	}
	created, err := cat.CalendarDays.Create(ctx, catalog.CalendarDay{Date: day, Kind: catalog.DayHoliday, Name: "Quốc khánh"})
	if err != nil {
		t.Fatal(err)
	}
	if working() {
		t.Fatal("a holiday created through the catalog is not seen by the next calendar read")
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE calendar_days SET day = day + 10 WHERE id = $1`, created.ID); err != nil {
		t.Fatal(err)
	}
	if working() {
		t.Fatal("the calendar was read again on every call: it should be kept")
	}
	// Moved a day later through the catalog: the 2nd works again.
	created.Date = day.AddDate(0, 0, 1)
	if _, err := cat.CalendarDays.Update(ctx, created.ID.String(), created, 0); err != nil {
		t.Fatal(err)
	}
	if !working() {
		t.Fatal("a holiday moved through the catalog is still seen on its old date")
	}
}
