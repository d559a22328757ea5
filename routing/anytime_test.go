package routing_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"courierd/routing"
)

// TestLongerRunContinuesShorter: the annealing schedule does not depend on the limits, so
// a run of more rounds is the shorter run continued: its best after the shorter run's
// rounds is the shorter run's result, and its own result is no worse. (A bound on the
// rounds under two of the schedule's scales, 300 rounds a node here, is taken as the
// budget of one cooling: the bounds tried are longer.)
func TestLongerRunContinuesShorter(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 25))
		p := randomProblem(rng, 10+rng.IntN(20), rng.IntN(4), 2+rng.IntN(3))
		nodes := len(p.Jobs) + 2*len(p.Shipments)
		short := 600*nodes + rng.IntN(300*nodes)
		opt := routing.Options{Seed: seed, MaxIterations: short, TimeLimit: time.Hour}
		a, err := routing.Solve(context.Background(), p, opt)
		if err != nil {
			t.Fatal(err)
		}
		var atShort float64
		opt.MaxIterations = short * (2 + rng.IntN(2))
		opt.ProgressEvery = time.Nanosecond
		opt.Progress = func(pr routing.Progress) {
			if pr.Iterations <= short {
				atShort = pr.Best.Cost
			}
		}
		b, err := routing.Solve(context.Background(), p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if atShort != a.Cost || b.Cost > a.Cost {
			t.Fatalf("seed %d: %d rounds gave %.4f; %d rounds had %.4f after %d and ended at %.4f",
				seed, short, a.Cost, opt.MaxIterations, atShort, short, b.Cost)
		}
	}
}

// TestOneWorkerIsDeterministic: with one worker (0 means one) a seed and a bound on the
// rounds give the same plan, route by route, every time.
func TestOneWorkerIsDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 26))
		p := randomProblem(rng, 20+rng.IntN(40), rng.IntN(5), 2+rng.IntN(4))
		opt := routing.Options{Seed: seed, MaxIterations: 300 + rng.IntN(1500), TimeLimit: time.Hour}
		a, _ := routing.Solve(context.Background(), p, opt)
		opt.Workers = 1
		b, _ := routing.Solve(context.Background(), p, opt)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two runs differ: %.4f vs %.4f", seed, a.Cost, b.Cost)
		}
		if err := routing.Check(p, a); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWorkersPlansPassTheChecker: with 2 to 4 workers every plan and every progress
// report passes the checker, the reports never overlap nor get worse, and the result is
// the last report's plan or better.
func TestWorkersPlansPassTheChecker(t *testing.T) {
	for seed := uint64(1); seed <= 9; seed++ {
		rng := rand.New(rand.NewPCG(seed, 27))
		p := randomProblem(rng, 20+rng.IntN(40), rng.IntN(5), 2+rng.IntN(4))
		var inside atomic.Int32
		var seen []routing.Progress
		opt := routing.Options{Seed: seed, Workers: 2 + int(seed%3), MaxIterations: 500 + rng.IntN(2000), TimeLimit: time.Hour,
			ProgressEvery: time.Nanosecond, Progress: func(pr routing.Progress) {
				if inside.Add(1) != 1 {
					t.Error("two progress reports at once")
				}
				seen = append(seen, pr)
				inside.Add(-1)
			}}
		sol, err := routing.Solve(context.Background(), p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := routing.Check(p, sol); err != nil {
			t.Fatalf("seed %d, %d workers: %v", seed, opt.Workers, err)
		}
		for i, pr := range seen {
			if err := routing.Check(p, pr.Best); err != nil {
				t.Fatalf("seed %d, report %d: %v", seed, i, err)
			}
			if i > 0 && pr.Best.Cost >= seen[i-1].Best.Cost {
				t.Fatalf("seed %d, report %d: %.4f after %.4f", seed, i, pr.Best.Cost, seen[i-1].Best.Cost)
			}
		}
		if sol.Cost > seen[len(seen)-1].Best.Cost {
			t.Fatalf("seed %d: returned %.4f, reported %.4f", seed, sol.Cost, seen[len(seen)-1].Best.Cost)
		}
	}
}

// TestWorkersStopOnCancel: cancelling the context ends every worker of a search that had
// an hour, with a checked plan.
func TestWorkersStopOnCancel(t *testing.T) {
	for workers := 2; workers <= 4; workers++ {
		p := randomProblem(rand.New(rand.NewPCG(uint64(workers), 28)), 40, 3, 4)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		began := time.Now()
		sol, err := routing.Solve(ctx, p, routing.Options{Seed: 1, Workers: workers, TimeLimit: time.Hour})
		cancel()
		if err != nil || time.Since(began) > 10*time.Second {
			t.Fatalf("%d workers, cancelled: %v after %v", workers, err, time.Since(began))
		}
		if err := routing.Check(p, sol); err != nil {
			t.Fatal(err)
		}
	}
}
