package demo

import (
	"fmt"
	"math/rand/v2"

	"courierd/domain/catalog"
)

// AddCouriers grows the dataset to n couriers (if it has fewer), for load runs: a whole
// province's couriers, one handheld each, on the demo's post offices in turn. They get
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
		office := ds.PostOffices[i%len(ds.PostOffices)]
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
