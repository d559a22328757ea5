package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/domain/demo"
	"courierd/domain/fieldsync"
	"courierd/storage"
)

// pcgReader turns a seeded generator into an io.Reader, so that the demo's receipt codes
// and ids come out the same for the same seed.
type pcgReader struct{ rng *rand.Rand }

func (r pcgReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.rng.Uint32())
	}
	return len(p), nil
}

// seedDossiers opens the planned dossiers and plays their events through the dossier
// service, as an admin would: every demo dossier gets a real history and custody chain,
// from the working day its plan says it was opened. That history is the past: nobody is
// told of it (no notice, no webhook waits to be sent).
func seedDossiers(ctx context.Context, db *storage.DB, cfg app.Settings, log *slog.Logger, ds demo.Dataset, plans []demo.DossierPlan, seed int64) (int, error) {
	random := pcgReader{rand.New(rand.NewPCG(uint64(seed), 0x646f7373696572))}
	newID := func() uuid.UUID {
		id, err := uuid.NewRandomFromReader(random)
		if err != nil {
			panic(err) // the reader never fails
		}
		return id
	}
	clock := demo.NewClock(ds)
	core, err := app.OpenCore(ctx, cfg, app.Deps{DB: db, Random: random, NewID: newID, Past: true, DossierClock: clock.Now}, log)
	if err != nil {
		return 0, err
	}
	played, err := demo.Play(auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleAdmin, Source: "courierd seed"}), core.Dossiers, clock, plans)
	return played, errors.Join(err, core.Close(ctx))
}

// seedTrails stores the couriers' recent tracks as their handhelds would have sent them,
// ending minutes before now: the console shows each courier where they are.
func seedTrails(ctx context.Context, db *storage.DB, trails []demo.Breadcrumb) (int, error) {
	now := time.Now()
	type track struct{ device, courier uuid.UUID }
	byTrack := map[track][]fieldsync.Point{}
	var order []track
	for _, b := range trails {
		k := track{b.DeviceID, b.CourierID}
		if byTrack[k] == nil {
			order = append(order, k)
		}
		battery := b.BatteryPct
		byTrack[k] = append(byTrack[k], fieldsync.Point{Seq: b.Seq, At: now.Add(-b.Before), Lat: b.Location.Lat(), Lon: b.Location.Lon(),
			AccuracyM: 12, BatteryPct: &battery})
	}
	store, stored := storage.NewTrackStore(db), 0
	for _, k := range order {
		n, err := store.SaveTrack(ctx, k.device, k.courier, byTrack[k])
		if err != nil {
			return stored, err
		}
		stored += n
	}
	return stored, nil
}

// seedNational writes a national history and rolls the reports up, a line per step with
// its rows and time.
func seedNational(ctx context.Context, db *storage.DB, n storage.National, out io.Writer) error {
	fmt.Fprintf(out, "seeding a national history: %d dossiers over %d days (%.3g of the country's year)\n", storage.NationalDossiers(n.Fraction), n.Days, n.Fraction)
	began := time.Now()
	if err := storage.SeedNational(ctx, db, n, func(what string, rows int64, took time.Duration) {
		fmt.Fprintf(out, "  %-22s %11d rows  %8s\n", what, rows, took.Round(time.Millisecond))
	}); err != nil {
		return err
	}
	rolling := time.Now()
	run, err := storage.RollUp(ctx, db, n.Now)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %-22s %6d days, %d months  %8s\n", "report rollups", run.Days, run.Months, time.Since(rolling).Round(time.Millisecond))
	fmt.Fprintf(out, "seeded in %s\n", time.Since(began).Round(time.Second))
	return nil
}
