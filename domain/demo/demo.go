// Package demo holds a deterministic, in-memory demo dataset for courierd: the catalog of
// the 2018 Bình Dương pilot (five wards of Thủ Dầu Một, their post offices, agencies,
// procedures and couriers), the 2025–2027 holiday calendar, and made-up citizens living in
// those wards. Nothing in it is real personal data.
//
// Imports allowed: the standard library, uuid, orb, and courierd/domain's catalog,
// dossier, applicant (the slots offices offer), dispatch and auth packages. No storage: callers load the dataset wherever they
// need it, and Play runs dossiers through the dossier service it is given.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
)

// Citizen is a made-up person with a home address, for demo dossiers.
type Citizen struct {
	ID            uuid.UUID
	FullName      string
	Phone         string    // valid per domain.NormalizePhone, unique in the dataset
	Address       string    // house number + street, ward, city (Vietnamese)
	AdminUnitCode string    // the commune/ward code the address is in
	Location      orb.Point // lon, lat, inside that ward's outline
}

// Dataset is everything a demo deployment loads, in an order that satisfies references.
type Dataset struct {
	AdminUnits   []catalog.AdminUnit // parents always before children
	Agencies     []catalog.Agency
	PostOffices  []catalog.PostOffice
	Zones        []dispatch.Zone // each ward a post office serves
	Procedures   []catalog.Procedure
	CalendarDays []catalog.CalendarDay
	Couriers     []catalog.Courier
	Accounts     []auth.Account // without password hashes: the seeder sets them
	Citizens     []Citizen
	// Slots are what each post office offers applicants, by office.
	Slots map[uuid.UUID][]applicant.SlotTemplate
}

// namespace makes identifiers stable across runs and machines, so that reloading the demo
// updates records instead of duplicating them.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://courierd.invalid/domain/demo"))

func stableID(kind, key string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(kind+"/"+key))
}

// pcgStream is the second PCG word; fixing it leaves the seed as the only input.
const pcgStream = 0x636f7572696572 // "courier"

// Build returns the demo dataset; the same seed always gives the same dataset, byte for byte.
// The catalog does not depend on seed; the citizens do. Every call returns fresh slices,
// so callers may change one dataset without touching another.
func Build(seed int64, citizens int) Dataset {
	offices, agencies := buildPostOffices(), buildAgencies()
	couriers := buildCouriers(offices)
	return Dataset{
		AdminUnits:   buildAdminUnits(),
		Agencies:     agencies,
		PostOffices:  offices,
		Zones:        buildZones(),
		Procedures:   buildProcedures(),
		CalendarDays: buildCalendar(),
		Couriers:     couriers,
		Accounts:     buildAccounts(offices, agencies, couriers),
		Citizens:     buildCitizens(seed, citizens),
		Slots:        buildSlots(offices),
	}
}

// buildSlots offers every office's applicants two-hour slots, morning and afternoon, of
// about as many stops as its couriers make in two hours.
func buildSlots(offices []catalog.PostOffice) map[uuid.UUID][]applicant.SlotTemplate {
	out := make(map[uuid.UUID][]applicant.SlotTemplate, len(offices))
	for _, o := range offices {
		out[o.ID] = []applicant.SlotTemplate{
			{Slot: dossier.Slot{StartMin: 8 * 60, EndMin: 10 * 60}, Capacity: 30},
			{Slot: dossier.Slot{StartMin: 10 * 60, EndMin: 12 * 60}, Capacity: 30},
			{Slot: dossier.Slot{StartMin: 14 * 60, EndMin: 16 * 60}, Capacity: 30},
			{Slot: dossier.Slot{StartMin: 16 * 60, EndMin: 18 * 60}, Capacity: 20},
		}
	}
	return out
}

// outline is a pilot ward's outline as a polygon with a closed ring.
func (w pilotWard) outline() orb.Polygon {
	ring := make(orb.Ring, 0, len(w.corners)+1)
	ring = append(ring, w.corners...)
	return orb.Polygon{append(ring, w.corners[0])}
}

func findWard(code string) pilotWard {
	i := slices.IndexFunc(pilotWards, func(w pilotWard) bool { return w.code == code })
	if i < 0 {
		panic("demo: no pilot ward " + code) // a typo in the tables, caught by any test
	}
	return pilotWards[i]
}

// buildAdminUnits lists the legacy province and district, today's units, then the legacy
// wards, each ended on reformDate and naming the new ward it became (which comes first).
func buildAdminUnits() []catalog.AdminUnit {
	units := append(slices.Clone(legacyUnits), currentUnits...)
	for i := range units {
		units[i].ID = stableID("admin_unit", units[i].Code+"@"+dateKey(units[i].ValidFrom))
	}
	legacyWards := []catalog.AdminUnit{{Code: wardPhuCuong, Name: "Phường Phú Cường"}}
	for _, w := range pilotWards {
		legacyWards = append(legacyWards, catalog.AdminUnit{Code: w.code, Name: "Phường " + w.name})
	}
	for _, w := range legacyWards {
		successor := units[slices.IndexFunc(units, func(u catalog.AdminUnit) bool { return u.Code == mergedInto[w.Code] && u.ValidTo == nil })]
		w.ID, w.Level, w.Kind, w.ParentCode, w.Legacy = stableID("admin_unit", w.Code+"@"), catalog.LevelCommune, "ward", districtThuDauMot, true
		w.ValidTo, w.SuccessorID = &reformDate, successor.ID
		units = append(units, w)
	}
	return units
}

// dateKey is a date as part of a stable id ("" for none).
func dateKey(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

func buildAgencies() []catalog.Agency {
	agencies := slices.Clone(provincialAgencies)
	for i := range agencies {
		agencies[i].AdminUnitCode = provinceBinhDuong
	}
	for i, w := range pilotWards {
		agencies = append(agencies, catalog.Agency{
			// 31 stands for the city of Thủ Dầu Một in the made-up identifier scheme.
			Code:          fmt.Sprintf("000.%02d.31.H12", i+1),
			Name:          "Ủy ban nhân dân phường " + w.name,
			Kind:          catalog.AgencyCommuneCommittee,
			AdminUnitCode: w.code,
			Address:       w.committee.address,
			Location:      w.committee.at,
		})
	}
	for i := range agencies {
		agencies[i].ID = stableID("agency", agencies[i].Code)
	}
	return agencies
}

// buildZones makes each ward a post office serves one of its zones.
func buildZones() []dispatch.Zone {
	var zones []dispatch.Zone
	for _, o := range postOffices {
		for _, code := range o.serves {
			w := findWard(code)
			zones = append(zones, dispatch.Zone{ID: stableID("zone", o.code+"/"+code), PostOfficeID: stableID("post-office", o.code),
				Name: "Phường " + w.name, Area: orb.MultiPolygon{w.outline()}, Version: 1})
		}
	}
	return zones
}

func buildPostOffices() []catalog.PostOffice {
	offices := make([]catalog.PostOffice, 0, len(postOffices))
	for _, o := range postOffices {
		area := make(orb.MultiPolygon, 0, len(o.serves))
		for _, code := range o.serves {
			area = append(area, findWard(code).outline())
		}
		offices = append(offices, catalog.PostOffice{
			ID: stableID("post-office", o.code), Code: o.code, Name: o.name, Kind: o.kind,
			AdminUnitCode: o.unit, Address: o.office.address, Location: o.office.at, ServiceArea: area,
		})
	}
	return offices
}

func buildProcedures() []catalog.Procedure {
	out := make([]catalog.Procedure, 0, len(procedures))
	for _, p := range procedures {
		out = append(out, catalog.Procedure{
			ID: stableID("procedure", p.code), Code: p.code, Name: p.name, AgencyKind: p.kind,
			ProcessingDays: p.days, FeeVND: p.fee, PostageVND: p.postage, CollectionSurchargeVND: surchargeFor(p.fee),
			PickupByPost:          p.flags&pickup != 0,
			ReturnByPost:          p.flags&delivery != 0,
			IdentityCheckRequired: p.flags&identity != 0,
			ProxyAllowed:          p.flags&proxy != 0,
			// The catalog's default: a signature, and a photo when a proxy receives.
			DeliverySignatureRequired:  true,
			DeliveryProxyPhotoRequired: true,
			Documents:                  slices.Clone(p.docs),
		})
	}
	return out
}

// surchargeFor is the demo's charge for collecting a fee on the agency's behalf: a flat
// 3,000 đồng where there is a fee (an invented figure, for the demo only).
func surchargeFor(fee int64) int64 {
	if fee == 0 {
		return 0
	}
	return 3_000
}

func buildCalendar() []catalog.CalendarDay {
	days := make([]catalog.CalendarDay, 0, len(calendar))
	for _, e := range calendar {
		date := time.Date(e.year, e.month, e.day, 0, 0, 0, 0, time.UTC)
		days = append(days, catalog.CalendarDay{
			ID: stableID("calendar-day", date.Format(time.DateOnly)), Date: date, Kind: e.kind, Name: e.name,
		})
	}
	return days
}

func buildCouriers(offices []catalog.PostOffice) []catalog.Courier {
	out := make([]catalog.Courier, 0, len(couriers))
	for _, c := range couriers {
		out = append(out, catalog.Courier{
			ID: stableID("courier", c.staff), StaffCode: c.staff, Name: c.name, Phone: c.phone,
			PostOfficeID: offices[c.office].ID, VehicleKind: c.vehicle, CapacityItems: c.capacity,
			ShiftStartMin: c.start, ShiftEndMin: c.end, Skills: slices.Clone(c.skills), Active: true,
		})
	}
	return out
}

// buildCitizens draws n citizens from a PCG seeded by seed alone; the draws happen in a fixed
// order, so the i-th citizen depends only on the seed and on i.
func buildCitizens(seed int64, n int) []Citizen {
	n = max(n, 0)
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
	outlines := make([]orb.Polygon, len(pilotWards))
	weights := make([]int, len(pilotWards))
	for i, w := range pilotWards {
		outlines[i] = w.outline()
		weights[i] = w.weight
	}
	// Couriers' numbers are taken too: a phone names one person in the dataset.
	phones := make(map[string]bool, n+len(couriers))
	for _, c := range couriers {
		phones[c.phone] = true
	}
	out := make([]Citizen, 0, n)
	for i := range n {
		w := pickWeighted(rng, weights)
		ward := pilotWards[w]
		out = append(out, Citizen{
			ID:            stableID("citizen", fmt.Sprintf("%d/%d", seed, i)),
			FullName:      fullName(rng),
			Phone:         uniquePhone(rng, phones),
			Address:       address(rng, ward),
			AdminUnitCode: ward.code,
			Location:      pointIn(rng, outlines[w]),
		})
	}
	return out
}

// pickWeighted returns an index of weights, each as likely as its weight.
func pickWeighted(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1 // unreachable: r < total
}

func pick(rng *rand.Rand, list []string) string {
	return list[rng.IntN(len(list))]
}

func fullName(rng *rand.Rand) string {
	family := pick(rng, familyNames)
	if rng.IntN(2) == 0 {
		return family + " " + pick(rng, maleMiddle) + " " + pick(rng, maleGiven)
	}
	return family + " " + pick(rng, femaleMiddle) + " " + pick(rng, femaleGiven)
}

// uniquePhone draws mobile numbers until one is not in taken, and takes it. With 28
// prefixes of ten million numbers each, a retry is rare.
func uniquePhone(rng *rand.Rand, taken map[string]bool) string {
	for {
		phone := fmt.Sprintf("%s%07d", pick(rng, mobilePrefixes), rng.IntN(10_000_000))
		if !taken[phone] {
			taken[phone] = true
			return phone
		}
	}
}

// address writes a house on one of the ward's streets; about three in ten are down an
// alley (hẻm), written "số 123/45" as on Thủ Dầu Một's house plates.
func address(rng *rand.Rand, w pilotWard) string {
	house := fmt.Sprint(1 + rng.IntN(450))
	if rng.IntN(10) < 3 {
		house += fmt.Sprintf("/%d", 1+rng.IntN(60))
	}
	street := pick(rng, w.streets)
	quarter := 1 + rng.IntN(w.quarters)
	return fmt.Sprintf("số %s, %s, khu phố %d, phường %s, TP. Thủ Dầu Một, Bình Dương", house, street, quarter, w.name)
}

// pointIn samples a uniform point in poly by rejection from its bounding box, rounded to
// six decimals (about 0.1 m, finer than any phone's fix).
func pointIn(rng *rand.Rand, poly orb.Polygon) orb.Point {
	b := poly.Bound()
	for {
		p := orb.Point{
			round6(b.Min.Lon() + rng.Float64()*(b.Max.Lon()-b.Min.Lon())),
			round6(b.Min.Lat() + rng.Float64()*(b.Max.Lat()-b.Min.Lat())),
		}
		if planar.PolygonContains(poly, p) {
			return p
		}
	}
}

func round6(x float64) float64 {
	return math.Round(x*1e6) / 1e6
}
