package routing

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	for _, trips := range []int{1, 3} {
		p := postOfficeDay(trips, 600)
		began := time.Now()
		sol, _ := Solve(context.Background(), p, Options{Seed: 1, TimeLimit: time.Hour, MaxIterations: 10000, VehicleCost: 1})
		fmt.Println(trips, time.Since(began), sol.Distance/1000, len(sol.Unassigned))
	}
}
