package routing_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"courierd/routing"
)

func TestPrint(t *testing.T) {
	for _, f := range []string{"solomon/R101.txt", "solomon/RC105.txt", "solomon/R201.txt", "solomon/C103.txt"} {
		r, _ := os.Open("/work/shared/data/routing/" + f)
		p, err := routing.ReadSolomon(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		sol, _ := routing.Solve(context.Background(), p, routing.Options{TimeLimit: time.Minute, Seed: 3, MaxIterations: 20000})
		fmt.Printf("%s %.6f %d %d %v\n", f, sol.Distance, len(sol.Routes), len(sol.Unassigned), time.Since(began).Round(time.Millisecond))
	}
}
