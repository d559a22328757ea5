package demo_test

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/demo"
	"courierd/domain/dossier"
)

const citizens = 400

// The five wards of the 2018 pilot (seed 000), by their GSO codes.
var pilotWards = map[string]string{
	"25744": "Phường Phú Lợi",
	"25750": "Phường Phú Hòa",
	"25753": "Phường Phú Thọ",
	"25759": "Phường Định Hòa",
	"25762": "Phường Phú Mỹ",
}

func outline(t *testing.T, code string) orb.Polygon {
	t.Helper()
	poly, ok := demo.WardOutline(code)
	if !ok {
		t.Fatalf("no outline for ward %s", code)
	}
	return poly
}

func TestEveryRecordIsValid(t *testing.T) {
	ds := demo.Build(1, citizens)
	t.Run("admin units", func(t *testing.T) {
		validateAll(t, ds.AdminUnits, func(u catalog.AdminUnit) string { return u.Code })
	})
	t.Run("agencies", func(t *testing.T) {
		validateAll(t, ds.Agencies, func(a catalog.Agency) string { return a.Code })
	})
	t.Run("post offices", func(t *testing.T) {
		validateAll(t, ds.PostOffices, func(o catalog.PostOffice) string { return o.Code })
	})
	t.Run("procedures", func(t *testing.T) {
		validateAll(t, ds.Procedures, func(p catalog.Procedure) string { return p.Code })
	})
	t.Run("calendar days", func(t *testing.T) {
		validateAll(t, ds.CalendarDays, func(d catalog.CalendarDay) string { return d.Date.Format(time.DateOnly) })
	})
	t.Run("couriers", func(t *testing.T) {
		validateAll(t, ds.Couriers, func(c catalog.Courier) string { return c.StaffCode })
	})
	t.Run("citizens", func(t *testing.T) {
		for _, c := range ds.Citizens {
			if c.ID == uuid.Nil || c.FullName == "" || c.Address == "" {
				t.Errorf("citizen %+v lacks an id, a name or an address", c)
			}
			if domain.NormalizePhone(c.Phone) != c.Phone {
				t.Errorf("%s: phone %q is not a normalised mobile number", c.FullName, c.Phone)
			}
		}
	})
}

func validateAll[T interface{ Validate() error }](t *testing.T, records []T, key func(T) string) {
	t.Helper()
	if len(records) == 0 {
		t.Fatal("no records")
	}
	for _, r := range records {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", key(r), err)
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	t.Run("same seed gives the same dataset", func(t *testing.T) {
		if !reflect.DeepEqual(demo.Build(1, citizens), demo.Build(1, citizens)) {
			t.Fatal("two builds with seed 1 differ")
		}
	})
	t.Run("another seed gives other citizens and the same catalog", func(t *testing.T) {
		one, two := demo.Build(1, citizens), demo.Build(2, citizens)
		same := 0
		for i := range one.Citizens {
			if one.Citizens[i].Phone == two.Citizens[i].Phone || one.Citizens[i].ID == two.Citizens[i].ID {
				same++
			}
		}
		if same > 0 {
			t.Errorf("%d citizens share a phone or an id across seeds 1 and 2", same)
		}
		one.Citizens, two.Citizens = nil, nil
		if !reflect.DeepEqual(one, two) {
			t.Error("the catalog depends on the seed")
		}
	})
	t.Run("builds share no memory", func(t *testing.T) {
		a, b := demo.Build(1, 1), demo.Build(1, 1)
		a.Procedures[0].Documents[0].Name = "changed"
		a.Couriers[0].Skills[0] = "changed"
		a.PostOffices[0].ServiceArea[0][0][0] = orb.Point{0, 0}
		if b.Procedures[0].Documents[0].Name == "changed" || b.Couriers[0].Skills[0] == "changed" ||
			b.PostOffices[0].ServiceArea[0][0][0] == (orb.Point{0, 0}) {
			t.Error("changing one dataset changed another")
		}
	})
	t.Run("citizens is the number asked for", func(t *testing.T) {
		for _, n := range []int{-3, 0, 1, citizens} {
			if got := len(demo.Build(1, n).Citizens); got != max(n, 0) {
				t.Errorf("Build(1, %d) has %d citizens", n, got)
			}
		}
	})
}

func TestCounts(t *testing.T) {
	ds := demo.Build(1, citizens)
	t.Run("the five pilot wards and the old Phú Cường under Thủ Dầu Một", func(t *testing.T) {
		found := map[string]string{}
		for _, u := range ds.AdminUnits {
			if u.ParentCode == "718" {
				found[u.Code] = u.Name
			}
		}
		want := maps.Clone(pilotWards)
		want["25747"] = "Phường Phú Cường"
		if !reflect.DeepEqual(found, want) {
			t.Errorf("wards under 718 = %v, want %v", found, want)
		}
	})
	t.Run("one post office of each kind", func(t *testing.T) {
		kinds := map[catalog.PostOfficeKind]int{}
		for _, o := range ds.PostOffices {
			kinds[o.Kind]++
		}
		want := map[catalog.PostOfficeKind]int{catalog.PostOfficeFull: 1, catalog.PostOfficeCommuneCultural: 1}
		if !reflect.DeepEqual(kinds, want) {
			t.Errorf("post office kinds = %v, want %v", kinds, want)
		}
	})
	t.Run("at least the pilot's 33 procedures, less a few", func(t *testing.T) {
		if len(ds.Procedures) < 30 {
			t.Errorf("%d procedures, want at least 30", len(ds.Procedures))
		}
	})
	t.Run("twelve couriers, eight at the full post office", func(t *testing.T) {
		perOffice := map[catalog.PostOfficeKind]int{}
		for _, c := range ds.Couriers {
			for _, o := range ds.PostOffices {
				if o.ID == c.PostOfficeID {
					perOffice[o.Kind]++
				}
			}
		}
		want := map[catalog.PostOfficeKind]int{catalog.PostOfficeFull: 8, catalog.PostOfficeCommuneCultural: 4}
		if len(ds.Couriers) != 12 || !reflect.DeepEqual(perOffice, want) {
			t.Errorf("%d couriers, per office %v; want 12, %v", len(ds.Couriers), perOffice, want)
		}
	})
	t.Run("citizens in every pilot ward", func(t *testing.T) {
		perWard := map[string]int{}
		for _, c := range ds.Citizens {
			perWard[c.AdminUnitCode]++
		}
		if len(ds.Citizens) != citizens {
			t.Errorf("%d citizens, want %d", len(ds.Citizens), citizens)
		}
		for code := range pilotWards {
			// The smallest ward's share is 12%, some 48 people; 20 leaves room for chance.
			if perWard[code] < 20 {
				t.Errorf("ward %s has %d citizens", code, perWard[code])
			}
		}
	})
	t.Run("holidays in every year", func(t *testing.T) {
		holidays := map[int]int{}
		for _, d := range ds.CalendarDays {
			if d.Kind == catalog.DayHoliday {
				holidays[d.Date.Year()]++
			}
		}
		for _, year := range []int{2025, 2026, 2027} {
			// New Year, four or more Tết days, Hùng Kings, 30/4, 1/5, 2/9 and its neighbour.
			if holidays[year] < 10 {
				t.Errorf("%d has %d holidays, want at least 10", year, holidays[year])
			}
		}
	})
}

func TestKeysAreUnique(t *testing.T) {
	ds := demo.Build(1, citizens)
	t.Run("admin unit ids, and codes among current units", func(t *testing.T) {
		assertUnique(t, ds.AdminUnits, func(u catalog.AdminUnit) string { return u.ID.String() })
		assertUnique(t, slices.DeleteFunc(slices.Clone(ds.AdminUnits), func(u catalog.AdminUnit) bool { return !u.Current() }),
			func(u catalog.AdminUnit) string { return u.Code })
	})
	t.Run("the reform: every legacy ward ended and names a current successor, two with its code", func(t *testing.T) {
		shared := 0
		for _, u := range ds.AdminUnits {
			if u.Level != catalog.LevelCommune || !u.Legacy {
				continue
			}
			i := slices.IndexFunc(ds.AdminUnits, func(s catalog.AdminUnit) bool { return s.ID == u.SuccessorID })
			if u.Current() || i < 0 || !ds.AdminUnits[i].Current() || !ds.AdminUnits[i].ValidFrom.Equal(*u.ValidTo) {
				t.Errorf("legacy ward %s %s: ended %v, successor %v", u.Code, u.Name, u.ValidTo, u.SuccessorID)
				continue
			}
			if ds.AdminUnits[i].Code == u.Code {
				shared++
			}
		}
		if shared != 2 {
			t.Errorf("%d legacy wards share their code with their successor, want 2 (Phú Cường, Phú Hòa)", shared)
		}
	})
	t.Run("agency codes", func(t *testing.T) {
		assertUnique(t, ds.Agencies, func(a catalog.Agency) string { return a.Code })
	})
	t.Run("post office codes", func(t *testing.T) {
		assertUnique(t, ds.PostOffices, func(o catalog.PostOffice) string { return o.Code })
	})
	t.Run("procedure codes", func(t *testing.T) {
		assertUnique(t, ds.Procedures, func(p catalog.Procedure) string { return p.Code })
	})
	t.Run("staff codes", func(t *testing.T) {
		assertUnique(t, ds.Couriers, func(c catalog.Courier) string { return c.StaffCode })
	})
	t.Run("calendar dates", func(t *testing.T) {
		assertUnique(t, ds.CalendarDays, func(d catalog.CalendarDay) string { return d.Date.Format(time.DateOnly) })
	})
	t.Run("phones of couriers and citizens", func(t *testing.T) {
		var phones []string
		for _, c := range ds.Couriers {
			phones = append(phones, c.Phone)
		}
		for _, c := range ds.Citizens {
			phones = append(phones, c.Phone)
		}
		assertUnique(t, phones, func(p string) string { return p })
	})
	t.Run("ids across every kind", func(t *testing.T) {
		var ids []uuid.UUID
		ids = appendIDs(ids, ds.Agencies, func(a catalog.Agency) uuid.UUID { return a.ID })
		ids = appendIDs(ids, ds.PostOffices, func(o catalog.PostOffice) uuid.UUID { return o.ID })
		ids = appendIDs(ids, ds.Procedures, func(p catalog.Procedure) uuid.UUID { return p.ID })
		ids = appendIDs(ids, ds.CalendarDays, func(d catalog.CalendarDay) uuid.UUID { return d.ID })
		ids = appendIDs(ids, ds.Couriers, func(c catalog.Courier) uuid.UUID { return c.ID })
		ids = appendIDs(ids, ds.Citizens, func(c demo.Citizen) uuid.UUID { return c.ID })
		if slices.Contains(ids, uuid.Nil) {
			t.Error("a record has no id")
		}
		assertUnique(t, ids, uuid.UUID.String)
	})
}

func appendIDs[T any](ids []uuid.UUID, records []T, id func(T) uuid.UUID) []uuid.UUID {
	for _, r := range records {
		ids = append(ids, id(r))
	}
	return ids
}

func assertUnique[T any](t *testing.T, records []T, key func(T) string) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range records {
		k := key(r)
		if seen[k] {
			t.Errorf("%q appears twice", k)
		}
		seen[k] = true
	}
}

func TestReferencesResolve(t *testing.T) {
	ds := demo.Build(1, citizens)
	units := map[string]catalog.AdminUnit{}
	t.Run("parents come before children, at a level that fits", func(t *testing.T) {
		for _, u := range ds.AdminUnits {
			if u.ParentCode != "" {
				parent, ok := units[u.ParentCode]
				switch {
				case !ok:
					t.Errorf("%s: parent %s does not come earlier", u.Code, u.ParentCode)
				case u.Level == catalog.LevelDistrict && parent.Level != catalog.LevelProvince,
					u.Level == catalog.LevelCommune && parent.Level == catalog.LevelCommune:
					t.Errorf("%s (%s) under %s (%s)", u.Code, u.Level, parent.Code, parent.Level)
				case u.Level == catalog.LevelCommune && parent.Level == catalog.LevelDistrict && !u.Legacy:
					t.Errorf("%s sits under district %s but is not legacy", u.Code, parent.Code)
				}
			}
			units[u.Code] = u
		}
	})
	t.Run("agencies and post offices name units in the dataset", func(t *testing.T) {
		var codes []string
		for _, a := range ds.Agencies {
			codes = append(codes, a.AdminUnitCode)
		}
		for _, o := range ds.PostOffices {
			codes = append(codes, o.AdminUnitCode)
		}
		for _, code := range codes {
			if _, ok := units[code]; !ok {
				t.Errorf("admin unit %q is not in the dataset", code)
			}
		}
	})
	t.Run("couriers name a post office", func(t *testing.T) {
		for _, c := range ds.Couriers {
			if !slices.ContainsFunc(ds.PostOffices, func(o catalog.PostOffice) bool { return o.ID == c.PostOfficeID }) {
				t.Errorf("%s: post office %s is not in the dataset", c.StaffCode, c.PostOfficeID)
			}
		}
	})
	t.Run("citizens live in a pilot ward", func(t *testing.T) {
		for _, c := range ds.Citizens {
			if _, ok := pilotWards[c.AdminUnitCode]; !ok {
				t.Errorf("%s lives in %q, not a pilot ward", c.FullName, c.AdminUnitCode)
			}
		}
	})
	t.Run("every procedure's agency kind has an agency", func(t *testing.T) {
		for _, p := range ds.Procedures {
			if !slices.ContainsFunc(ds.Agencies, func(a catalog.Agency) bool { return a.Kind == p.AgencyKind }) {
				t.Errorf("%s: no agency of kind %s", p.Code, p.AgencyKind)
			}
		}
	})
}

func TestGeography(t *testing.T) {
	ds := demo.Build(1, citizens)
	t.Run("ward outlines are closed counter-clockwise rings", func(t *testing.T) {
		for code := range pilotWards {
			ring := outline(t, code)[0]
			if !ring.Closed() || ring.Orientation() != orb.CCW {
				t.Errorf("ward %s: closed %v, orientation %v", code, ring.Closed(), ring.Orientation())
			}
		}
	})
	t.Run("ward outlines do not overlap", func(t *testing.T) {
		// Probe a grid over Thủ Dầu Một; the odd step keeps probes off the shared edges.
		for lon := 106.62; lon < 106.71; lon += 0.000713 {
			for lat := 10.94; lat < 11.06; lat += 0.000697 {
				var in []string
				for code := range pilotWards {
					if planar.PolygonContains(outline(t, code), orb.Point{lon, lat}) {
						in = append(in, code)
					}
				}
				if len(in) > 1 {
					t.Fatalf("(%.5f, %.5f) lies in wards %v", lon, lat, in)
				}
			}
		}
	})
	t.Run("each citizen is inside their ward and served by one post office", func(t *testing.T) {
		for _, c := range ds.Citizens {
			if !planar.PolygonContains(outline(t, c.AdminUnitCode), c.Location) {
				t.Errorf("%s at %v is outside ward %s", c.FullName, c.Location, c.AdminUnitCode)
			}
			if n := servedBy(ds.PostOffices, c.Location); n != 1 {
				t.Errorf("%s at %v is served by %d post offices", c.FullName, c.Location, n)
			}
		}
	})
	t.Run("each pilot ward is served by one post office", func(t *testing.T) {
		for code := range pilotWards {
			centre, _ := planar.CentroidArea(outline(t, code))
			if n := servedBy(ds.PostOffices, centre); n != 1 {
				t.Errorf("ward %s is served by %d post offices", code, n)
			}
		}
	})
	t.Run("post offices and ward committees stand in their own ward", func(t *testing.T) {
		type place struct {
			what, unit string
			at         orb.Point
		}
		var places []place
		for _, o := range ds.PostOffices {
			places = append(places, place{o.Name, o.AdminUnitCode, o.Location})
			if !o.Serves(o.Location) {
				t.Errorf("%s does not serve its own location", o.Name)
			}
		}
		for _, a := range ds.Agencies {
			if a.Kind == catalog.AgencyCommuneCommittee {
				places = append(places, place{a.Name, a.AdminUnitCode, a.Location})
			}
		}
		for _, p := range places {
			if !planar.PolygonContains(outline(t, p.unit), p.at) {
				t.Errorf("%s at %v is outside ward %s", p.what, p.at, p.unit)
			}
		}
	})
	t.Run("addresses name the citizen's ward", func(t *testing.T) {
		for _, c := range ds.Citizens {
			ward := strings.TrimPrefix(pilotWards[c.AdminUnitCode], "Phường ")
			if want := ", phường " + ward + ", TP. Thủ Dầu Một, Bình Dương"; !strings.HasSuffix(c.Address, want) {
				t.Errorf("address %q does not end with %q", c.Address, want)
			}
		}
	})
}

func servedBy(offices []catalog.PostOffice, pt orb.Point) int {
	n := 0
	for _, o := range offices {
		if o.Serves(pt) {
			n++
		}
	}
	return n
}

func TestCalendar(t *testing.T) {
	ds := demo.Build(1, 0)
	cal := catalog.NewCalendar(ds.CalendarDays)
	t.Run("announced days change the working week", func(t *testing.T) {
		for _, c := range []struct {
			date    string
			working bool
		}{
			{"2025-01-01", false}, // New Year
			{"2025-01-29", false}, // Tết Ất Tỵ
			{"2025-02-08", true},  // Saturday worked for the 27/1 swap
			{"2025-04-07", false}, // Hùng Kings
			{"2025-09-01", false}, // National Day's neighbour
			{"2026-02-17", false}, // Tết Bính Ngọ
			{"2026-04-27", false}, // rest day for Hùng Kings on a Sunday
			{"2026-04-28", true},  // an ordinary Tuesday
			{"2027-02-10", false}, // rest day for Tết on a weekend
			{"2027-05-03", false}, // rest day for 1/5 on a Saturday
			{"2027-09-03", false}, // National Day's neighbour
		} {
			date, err := time.Parse(time.DateOnly, c.date)
			if err != nil {
				t.Fatal(err)
			}
			if cal.IsWorkingDay(date) != c.working {
				t.Errorf("%s working = %v, want %v", c.date, !c.working, c.working)
			}
		}
	})
	t.Run("rest days fall on weekdays", func(t *testing.T) {
		for _, d := range ds.CalendarDays {
			if weekend := d.Date.Weekday() == time.Saturday || d.Date.Weekday() == time.Sunday; d.Kind == catalog.DayOff && weekend {
				t.Errorf("day off %s is a %s", d.Date.Format(time.DateOnly), d.Date.Weekday())
			}
		}
	})
}

func TestRealisticValues(t *testing.T) {
	ds := demo.Build(1, 0)
	t.Run("procedures", func(t *testing.T) {
		for _, p := range ds.Procedures {
			if p.ProcessingDays > 30 || p.FeeVND > 500_000 || p.PostageVND < 15_000 || p.PostageVND > 45_000 {
				t.Errorf("%s: %d days, fee %d, postage %d", p.Code, p.ProcessingDays, p.FeeVND, p.PostageVND)
			}
			if len(p.Documents) < 1 || len(p.Documents) > 5 {
				t.Errorf("%s: %d documents", p.Code, len(p.Documents))
			}
			for _, d := range p.Documents {
				if d.Quantity > 2 {
					t.Errorf("%s: %d of %q", p.Code, d.Quantity, d.Name)
				}
			}
			if p.AgencyKind == catalog.AgencyPolice && !p.IdentityCheckRequired {
				t.Errorf("%s: a police procedure without identity check", p.Code)
			}
			if !p.PickupByPost && !p.ReturnByPost {
				t.Errorf("%s: the post has no part in it", p.Code)
			}
		}
	})
	t.Run("couriers", func(t *testing.T) {
		bicycles := 0
		for _, c := range ds.Couriers {
			if c.CapacityItems < 20 || c.CapacityItems > 40 || !c.Active {
				t.Errorf("%s: capacity %d, active %v", c.StaffCode, c.CapacityItems, c.Active)
			}
			if c.ShiftStartMin < 6*60 || c.ShiftEndMin > 18*60 {
				t.Errorf("%s: shift %d–%d is outside office hours", c.StaffCode, c.ShiftStartMin, c.ShiftEndMin)
			}
			if c.VehicleKind == catalog.VehicleBicycle {
				bicycles++
			}
		}
		if bicycles != 1 {
			t.Errorf("%d bicycles, want 1", bicycles)
		}
	})
}

func TestAccounts(t *testing.T) {
	ds := demo.Build(1, 0)
	couriers := map[uuid.UUID]bool{}
	for _, c := range ds.Couriers {
		couriers[c.ID] = true
	}
	roles := map[auth.Role]int{}
	for _, a := range ds.Accounts {
		if err := a.Validate(); err != nil {
			t.Errorf("account %s: %v", a.Username, err)
		}
		roles[a.Role]++
		if a.Role == auth.RoleCourier && !couriers[a.CourierID] {
			t.Errorf("account %s names courier %s, not in the dataset", a.Username, a.CourierID)
		}
		delete(couriers, a.CourierID)
	}
	if len(couriers) != 0 {
		t.Errorf("%d couriers have no account", len(couriers))
	}
	if roles[auth.RoleAdmin] != 1 || roles[auth.RoleDispatcher] != 2 || roles[auth.RoleClerk] != 1 || roles[auth.RoleCourier] != 12 {
		t.Errorf("accounts by role: %v", roles)
	}
	assertUnique(t, ds.Accounts, func(a auth.Account) string { return a.Username })
}

func TestDossierPlans(t *testing.T) {
	ds := demo.Build(3, 50)
	a, b := demo.DossierPlans(ds, 3, 120), demo.DossierPlans(ds, 3, 120)
	if !reflect.DeepEqual(a, b) || len(a) != 120 {
		t.Fatalf("plans are not deterministic or not %d", 120)
	}
	reached := map[int]int{}
	for i, p := range a {
		if !dossier.ValidCitizenID(p.New.Applicant.CitizenID) {
			t.Errorf("plan %d: invented ID %q is not well formed", i, p.New.Applicant.CitizenID)
		}
		reached[len(p.Events)]++
		// The courier named must belong to the dossier's post office.
		for _, e := range p.Events {
			if e.CourierID == uuid.Nil {
				continue
			}
			for _, c := range ds.Couriers {
				if c.ID == e.CourierID && c.PostOfficeID != p.New.PostOfficeID {
					t.Errorf("plan %d: courier of another post office", i)
				}
			}
		}
	}
	if len(reached) < 8 {
		t.Fatalf("the plans stop at only %d different depths: %v", len(reached), reached)
	}
}

// TestDemoDayHasEveryRisk: the demo's dossiers are opened over the last working days in
// turn, so that a day seeded has stops overdue, due today, at risk and on track; and every
// courier has a recent track, one per office an old one.
func TestDemoDayHasEveryRisk(t *testing.T) {
	ds := demo.Build(3, 50)
	ages := map[int]int{}
	for _, p := range demo.DossierPlans(ds, 3, 120) {
		ages[p.OpenedAgo]++
	}
	for age := range 4 {
		if ages[age] < 120/4 {
			t.Errorf("%d dossiers opened %d working days ago, want %d", ages[age], age, 120/4)
		}
	}
	trails := demo.Trails(ds, 3)
	if !reflect.DeepEqual(trails, demo.Trails(ds, 3)) {
		t.Fatal("trails are not deterministic")
	}
	latest := map[uuid.UUID]time.Duration{}
	for _, b := range trails {
		if was, ok := latest[b.CourierID]; !ok || b.Before < was {
			latest[b.CourierID] = b.Before
		}
		if b.BatteryPct <= 0 || b.BatteryPct > 100 {
			t.Errorf("courier %s: battery %d%%", b.CourierID, b.BatteryPct)
		}
	}
	old := 0
	for _, c := range ds.Couriers {
		before, ok := latest[c.ID]
		switch {
		case !ok:
			t.Errorf("courier %s has no track", c.StaffCode)
		case before > 30*time.Minute:
			old++
		}
	}
	if old == 0 || old >= len(ds.Couriers) {
		t.Errorf("%d of %d couriers last seen over half an hour ago: want some, not all", old, len(ds.Couriers))
	}
	t.Logf("%d points, %d couriers, %d with an old position; ages %v", len(trails), len(latest), old, ages)
}
