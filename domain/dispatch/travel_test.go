package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain/dossier"
	"courierd/routing"
)

// engineFunc is a TravelProvider answering as its function does.
type engineFunc func(ctx context.Context, points []orb.Point) (routing.Matrix, error)

func (f engineFunc) Matrix(ctx context.Context, points []orb.Point) (routing.Matrix, error) {
	return f(ctx, points)
}

// The matrix falls back to straight lines for every way an engine can fail, names the
// reason, tells FellBack, and gives the straight-line travel exactly; a healthy engine's
// matrix is its own; a plan given up is no fallback but the error.
func TestMatrixFallsBack(t *testing.T) {
	timeout := &net.OpError{Op: "read", Err: errTimeout{}}
	failures := []struct {
		err    error
		reason string
	}{
		{fmt.Errorf("osrm: %w", context.DeadlineExceeded), FallbackTimeout},
		{fmt.Errorf("osrm: %w", timeout), FallbackTimeout},
		{fmt.Errorf("osrm: %w: a negative time", ErrTravelGarbage), FallbackGarbage},
		{errors.New("osrm: HTTP 400, NoSegment"), FallbackError},
		{nil, FallbackGarbage}, // a table of the wrong size
	}
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 1 + rng.IntN(40)
		points := make([]orb.Point, n)
		for i := range points {
			points[i] = orb.Point{106.6 + rng.Float64()*0.3, 10.7 + rng.Float64()*0.2}
		}
		f := failures[rng.IntN(len(failures))]
		var told []string
		cfg := Config{FellBack: func(reason string, k int, err error) {
			if k != n {
				t.Errorf("told of %d points, not %d", k, n)
			}
			told = append(told, reason)
		}}
		healthy := rng.IntN(3) == 0
		cfg.Travel = engineFunc(func(_ context.Context, ps []orb.Point) (routing.Matrix, error) {
			size := len(ps)
			if !healthy && f.err == nil {
				size = len(ps) - 1 + 2*rng.IntN(2) // one too few or too many
			}
			if healthy || f.err == nil {
				return routing.NewDense(size, make([]float64, size*size), make([]float64, size*size))
			}
			return nil, f.err
		})
		s := NewService(nil, nil, nil, cfg, dossier.DefaultClock, time.Now, uuid.New)
		m, err := s.matrix(context.Background(), points)
		if err != nil {
			t.Fatal(err)
		}
		travel := travelOf(m)
		if healthy {
			if travel != (Travel{Source: TravelRoads}) || len(told) != 0 || m.Distance(0, n-1) != 0 {
				t.Fatalf("seed %d: a healthy engine: %+v, told %v", seed, travel, told)
			}
			continue
		}
		if travel != (Travel{Source: TravelStraight, Fallback: f.reason}) || len(told) != 1 || told[0] != f.reason {
			t.Fatalf("seed %d: %v: %+v, told %v, want %s", seed, f.err, travel, told, f.reason)
		}
		a, b := rng.IntN(n), rng.IntN(n)
		want := routing.Haversine{Points: points, RoadFactor: DefaultConfig.RoadFactor, Speed: DefaultConfig.SpeedKmh[reference] / 3.6}
		if m.Size() != n || m.Distance(a, b) != want.Distance(a, b) || m.Duration(a, b) != want.Duration(a, b) {
			t.Fatalf("seed %d: straight lines %v m, %v s from %d to %d, want %v, %v", seed, m.Distance(a, b), m.Duration(a, b), a, b, want.Distance(a, b), want.Duration(a, b))
		}
	}

	// Too many points: the engine is not asked.
	asked := false
	s := NewService(nil, nil, nil, Config{Travel: engineFunc(func(context.Context, []orb.Point) (routing.Matrix, error) {
		asked = true
		return nil, nil
	})}, dossier.DefaultClock, time.Now, uuid.New)
	m, err := s.matrix(context.Background(), make([]orb.Point, maxEngineTable+1))
	if err != nil || asked || travelOf(m) != (Travel{Source: TravelStraight, Fallback: FallbackTooManyPoints}) {
		t.Fatalf("%d points: %v, asked %v, %+v", maxEngineTable+1, err, asked, travelOf(m))
	}
	// No engine.
	s = NewService(nil, nil, nil, Config{}, dossier.DefaultClock, time.Now, uuid.New)
	if m, _ := s.matrix(context.Background(), make([]orb.Point, 3)); travelOf(m) != (Travel{Source: TravelStraight, Fallback: FallbackNoEngine}) {
		t.Fatalf("no engine: %+v", travelOf(m))
	}
	// The plan given up while the engine works: its error, not a fallback.
	ctx, cancel := context.WithCancel(context.Background())
	s = NewService(nil, nil, nil, Config{Travel: engineFunc(func(ctx context.Context, _ []orb.Point) (routing.Matrix, error) {
		cancel()
		return nil, fmt.Errorf("osrm: %w", ctx.Err())
	}), FellBack: func(string, int, error) { t.Error("a plan given up fell back") }}, dossier.DefaultClock, time.Now, uuid.New)
	if _, err := s.matrix(ctx, make([]orb.Point, 3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("a plan given up: %v", err)
	}
}

type errTimeout struct{}

func (errTimeout) Error() string { return "i/o timeout" }
func (errTimeout) Timeout() bool { return true }
