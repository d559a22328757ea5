package applicant_test

import (
	"math/rand/v2"
	"testing"

	"courierd/domain/applicant"
	"courierd/domain/dossier"
)

// TestCheckSlotsGenerated: over random slot lists, CheckSlots accepts exactly the lists
// of at most 48 windows inside the day, each of half an hour or more with a capacity of
// 1 to 10000, none overlapping another (in whatever order they are given).
func TestCheckSlotsGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 3))
	accepted, refused := 0, 0
	for range 5000 {
		n := r.IntN(6)
		if r.IntN(50) == 0 {
			n = 45 + r.IntN(6)
		}
		slots := make([]applicant.SlotTemplate, n)
		for i := range slots {
			start := r.IntN(24*60+60) - 30
			slots[i] = applicant.SlotTemplate{Slot: dossier.Slot{StartMin: start, EndMin: start + 10 + r.IntN(200)}, Capacity: r.IntN(12) - 1}
			if r.IntN(100) == 0 {
				slots[i].Capacity = 10_000 + r.IntN(2)
			}
		}
		want := n <= 48
		for i, a := range slots {
			want = want && a.StartMin >= 0 && a.EndMin <= 24*60 && a.EndMin-a.StartMin >= 30 && a.Capacity >= 1 && a.Capacity <= 10_000
			for _, b := range slots[i+1:] {
				want = want && (a.EndMin <= b.StartMin || b.EndMin <= a.StartMin)
			}
		}
		err := applicant.CheckSlots(slots)
		if (err == nil) != want {
			t.Fatalf("CheckSlots(%v) = %v, want accepted %v", slots, err, want)
		}
		if want {
			accepted++
		} else {
			refused++
		}
	}
	if accepted < 100 || refused < 100 {
		t.Fatalf("the generator is lopsided: %d accepted, %d refused", accepted, refused)
	}
}
