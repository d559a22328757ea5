package dispatch

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestNudgesAreSpacedAndBounded: generated bursts of nudges over a few offices, as a
// fleet's uploads make them, become checks at most delayCheckers at once, each office's
// at least DelayCheckEvery after its previous one ended, and every office nudged is
// checked after its last nudge (none is lost).
func TestNudgesAreSpacedAndBounded(t *testing.T) {
	const every = 40 * time.Millisecond
	type check struct{ start, end time.Time }
	var mu sync.Mutex
	checks := map[uuid.UUID][]check{}
	running, most := 0, 0
	s := &Service{cfg: Config{DelayCheckEvery: every}}
	s.nudged = newNudges(func(_ context.Context, office uuid.UUID) error {
		mu.Lock()
		running++
		most = max(most, running)
		start := time.Now()
		mu.Unlock()
		time.Sleep(3 * time.Millisecond)
		mu.Lock()
		running--
		checks[office] = append(checks[office], check{start, time.Now()})
		mu.Unlock()
		return nil
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	offices := make([]uuid.UUID, 12)
	for i := range offices {
		offices[i] = uuid.New()
	}
	lastNudge := map[uuid.UUID]time.Time{}
	r := rand.New(rand.NewPCG(26, 1))
	for until := time.Now().Add(400 * time.Millisecond); time.Now().Before(until); {
		for range 1 + r.IntN(20) {
			office := offices[r.IntN(len(offices))]
			mu.Lock()
			lastNudge[office] = time.Now()
			mu.Unlock()
			s.nudgeOffice(office, log)
		}
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
	}
	time.Sleep(every + 200*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if most > delayCheckers || most == 0 {
		t.Fatalf("%d checks ran at once, want 1 to %d", most, delayCheckers)
	}
	total := 0
	for office, nudged := range lastNudge {
		done := checks[office]
		total += len(done)
		if len(done) == 0 || done[len(done)-1].start.Before(nudged) {
			t.Fatalf("office %v: nudged last at %v, its last check began %v", office, nudged, done)
		}
		for k := 1; k < len(done); k++ {
			if gap := done[k].start.Sub(done[k-1].end); gap < every {
				t.Fatalf("office %v: checks %v apart, want at least %v", office, gap, every)
			}
		}
	}
	t.Logf("%d offices nudged, %d checks", len(lastNudge), total)
}
