package routing_test

import (
	"strings"
	"testing"

	"courierd/routing"
)

// FuzzReadInstances: whatever a benchmark file holds, the readers answer an error or a
// problem, never a panic, and what they accept can be validated without one.
func FuzzReadInstances(f *testing.F) {
	f.Add(false, "C101\n\nVEHICLE\nNUMBER     CAPACITY\n  2         200\n\nCUSTOMER\n    0      40         50          0          0       1236          0\n    1      45         68         10        912        967         90\n")
	f.Add(true, "2\t200\t1\n0\t40\t50\t0\t0\t1236\t0\t0\t0\n1\t45\t68\t10\t912\t967\t90\t0\t2\n2\t45\t70\t-10\t825\t870\t90\t1\t0\n")
	f.Add(false, "1e18 200\n0 0 0 0 0 10 0\n")
	f.Add(true, "NaN 1 1\n0 0 0 0 0 1 0 0 0\n")
	// NUL bytes and integers past int32 and int64 in the fields read as numbers.
	f.Add(false, "C101\x00\n\nVEHICLE\nNUMBER     CAPACITY\n  2147483648         9223372036854775808\n")
	f.Add(true, "9223372036854775808\t200\t1\n0\t40\t50\t0\t0\t-9223372036854775809\t0\t0\t0\n")
	f.Fuzz(func(t *testing.T, liLim bool, text string) {
		read := routing.ReadSolomon
		if liLim {
			read = routing.ReadLiLim
		}
		p, err := read(strings.NewReader(text))
		if err != nil {
			return
		}
		if len(p.Vehicles) == 0 || len(p.Vehicles) > 10_000 {
			t.Fatalf("accepted a fleet of %d vehicles", len(p.Vehicles))
		}
		_ = p.Validate()
	})
}
