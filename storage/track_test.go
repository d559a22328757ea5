package storage_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/fieldsync"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// TestTrackUploadsTogether: uploads that arrive at once are written together, and each is
// answered as if written alone: generated uploads from several devices (slices of their
// trails, overlapping, sent again, out of order, some abandoned by their caller) store
// every point once, the new points counted once over all answers, and each courier's
// position is their newest point.
func TestTrackUploadsTogether(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	if _, err := storage.SeedDemo(ctx, db, demoData(t, 26, 10), false); err != nil {
		t.Fatal(err)
	}
	couriers := ids(t, db, `SELECT id FROM couriers ORDER BY id LIMIT 6`)
	if len(couriers) < 2 {
		t.Fatalf("the template has %d couriers", len(couriers))
	}
	store := storage.NewTrackStore(db)
	rng := rand.New(rand.NewPCG(26, 1))
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	type trail struct {
		device, courier uuid.UUID
		points          []fieldsync.Point
	}
	var trails []trail
	want := map[uuid.UUID]time.Time{} // each courier's newest point
	for i, courier := range couriers {
		tr := trail{device: uuid.New(), courier: courier}
		for seq := range 40 + rng.IntN(60) {
			at := start.Add(time.Duration(i*1000+seq*10) * time.Second)
			tr.points = append(tr.points, fieldsync.Point{Seq: int64(seq + 1), At: at, Lat: 10.7 + rng.Float64()/100, Lon: 106.6 + rng.Float64()/100, AccuracyM: 8})
			want[courier] = at
		}
		trails = append(trails, tr)
	}
	var mu sync.Mutex
	stored, answered, abandoned, abandonedPoints := 0, 0, 0, 0
	var wg sync.WaitGroup
	for range 300 {
		tr := trails[rng.IntN(len(trails))]
		from := rng.IntN(len(tr.points))
		to := min(len(tr.points), from+1+rng.IntN(30))
		slice := append([]fieldsync.Point(nil), tr.points[from:to]...)
		rng.Shuffle(len(slice), func(i, j int) { slice[i], slice[j] = slice[j], slice[i] })
		giveUp := rng.IntN(10) == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			callCtx, cancel := context.WithCancel(ctx)
			if giveUp {
				cancel()
			}
			defer cancel()
			n, err := store.SaveTrack(callCtx, tr.device, tr.courier, slice)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && giveUp:
				abandoned++
				abandonedPoints += len(slice)
			case err != nil:
				t.Errorf("upload of %d points: %v", len(slice), err)
			default:
				stored += n
				answered++
			}
		}()
	}
	wg.Wait()
	// Every point once, the abandoned uploads' included, then sent again as a device would.
	for _, tr := range trails {
		n, err := store.SaveTrack(ctx, tr.device, tr.courier, tr.points)
		if err != nil {
			t.Fatal(err)
		}
		stored += n
	}
	total := 0
	for _, tr := range trails {
		total += len(tr.points)
	}
	var rows int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM breadcrumbs`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	// An abandoned upload's points may be stored, counted in no answer.
	if rows != total || stored > total || stored < total-abandonedPoints || (abandoned == 0 && stored != total) {
		t.Errorf("%d points sent: %d rows stored, %d counted new over the answers (%d answered, %d abandoned with %d points)",
			total, rows, stored, answered, abandoned, abandonedPoints)
	}
	for courier, at := range want {
		var got time.Time
		if err := db.SQL().QueryRow(`SELECT at FROM courier_positions WHERE courier_id = $1`, courier).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(at) {
			t.Errorf("courier %s is at %s, their newest point is at %s", courier, got, at)
		}
	}
}
