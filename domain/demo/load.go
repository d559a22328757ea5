package demo

import (
	"fmt"
	"math/rand/v2"

	"courierd/domain/catalog"
)

// couriersPerOffice is about how many couriers a post office has across the country
// (3,300 couriers, 700 offices): a load run's couriers are spread so, so that each
// office's plans and delay checks are the size they are in life.
const couriersPerOffice = 5

// AddCouriers grows the dataset to n couriers (if it has fewer), for load runs: a whole
// country's couriers, one handheld each, couriersPerOffice to an office, on the demo's
// post offices and then on load offices added for them (see loadOffice). They get
// accounts courier13, courier14… after the named ones, invented names, and phones no one
// else in the dataset has. The same seed gives the same couriers.
func (ds *Dataset) AddCouriers(n int, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream+2))
	phones := make(map[string]bool, len(ds.Citizens)+n)
	for _, c := range ds.Citizens {
		phones[c.Phone] = true
	}
	for _, c := range ds.Couriers {
		phones[c.Phone] = true
	}
	first := len(ds.Couriers)
	for i := first; i < n; i++ {
		staff := fmt.Sprintf("BT%04d", i+1)
		office := ds.loadOffice(i / couriersPerOffice)
		ds.Couriers = append(ds.Couriers, catalog.Courier{
			ID: stableID("courier", staff), StaffCode: staff, Name: fullName(rng), Phone: uniquePhone(rng, phones),
			PostOfficeID: office.ID, VehicleKind: catalog.VehicleMotorbike, CapacityItems: 40,
			ShiftStartMin: at0730, ShiftEndMin: at1700, Skills: append([]string(nil), allSkills...), Active: true,
		})
	}
	if len(ds.Couriers) > first {
		ds.Accounts = buildAccounts(ds.PostOffices, ds.Agencies, ds.Couriers)
	}
}

// loadOffice is the k-th post office, added when the dataset has fewer: a copy of a demo
// office (its place and area) under a code and name of its own. Its code, 9xxxxx, comes
// after the demo's where areas overlap, so addresses still find the demo's offices.
func (ds *Dataset) loadOffice(k int) catalog.PostOffice {
	for len(ds.PostOffices) <= k {
		n := len(ds.PostOffices) + 1
		o := ds.PostOffices[n%2]
		o.Code, o.Name = fmt.Sprintf("9%05d", n), fmt.Sprintf("Bưu cục tải %d", n)
		o.ID = stableID("post-office", o.Code)
		ds.PostOffices = append(ds.PostOffices, o)
	}
	return ds.PostOffices[k]
}
