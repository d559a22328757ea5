package routing

import (
	"cmp"
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// exchange is what the workers of one solve share: the best plan any has found, which
// each adopts when it starts a new annealing cycle, and the one place that tells
// Options.Progress of it.
type exchange struct {
	s      *solver // reads the plan into a Solution for Progress
	rounds atomic.Int64

	mu       sync.Mutex
	best     plan // never changed in place: a worker clones what it adopts
	reported time.Time
}

// offer records pl if it is better than the best so far. pl must not change after.
func (x *exchange) offer(pl plan) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if pl.cost >= x.best.cost-1e-9 {
		return
	}
	x.best = pl
	every := cmp.Or(x.s.opt.ProgressEvery, 500*time.Millisecond)
	if now := time.Now(); now.Sub(x.reported) >= every {
		x.report(PhaseImprove, now)
	}
}

// adopt returns the better of own and the best so far.
func (x *exchange) adopt(own plan) plan {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.best.cost < own.cost-1e-9 {
		return x.best
	}
	return own
}

// report tells Options.Progress of the best plan; x.mu is held.
func (x *exchange) report(phase string, now time.Time) {
	if x.s.opt.Progress == nil {
		return
	}
	x.reported = now
	x.s.opt.Progress(Progress{Phase: phase, Elapsed: now.Sub(x.s.started), Iterations: int(x.rounds.Load()), Best: x.s.solution(x.best)})
}

// run builds the first plan and searches from it with Options.Workers workers, each an
// annealing of its own seed (the first worker's is Options.Seed, so that one worker is
// the plain search). They share only the exchange's best plan.
func (s *solver) run(ctx context.Context) plan {
	deadline := s.started.Add(s.opt.TimeLimit)
	first := s.construct(func() bool { return ctx.Err() != nil || time.Now().After(deadline) })
	x := &exchange{s: s, best: first}
	x.mu.Lock()
	x.report(PhaseConstruct, time.Now())
	x.mu.Unlock()
	workers := max(s.opt.Workers, 1)
	if workers == 1 {
		s.search(ctx, first, x)
		return x.best
	}
	solvers := []*solver{s}
	for w := 1; w < workers; w++ {
		solvers = append(solvers, s.fork(uint64(w)))
	}
	var wg sync.WaitGroup
	for _, ws := range solvers {
		wg.Go(func() { ws.search(ctx, first, x) })
	}
	wg.Wait()
	return x.best
}

// fork is a solver for worker w that shares s's read-only tables and owns its random
// stream and scratch space.
func (s *solver) fork(w uint64) *solver {
	f := *s
	f.rng = rand.New(rand.NewPCG(s.opt.Seed, 0x5eed+w))
	f.untilBlink = -1
	f.newScratch()
	return &f
}
