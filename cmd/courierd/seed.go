package main

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"

	"github.com/google/uuid"

	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/domain/demo"
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
// service, as an admin would: every demo dossier gets a real history and custody chain.
// That history is the past: nobody is told of it (no notice, no webhook waits to be sent).
func seedDossiers(ctx context.Context, db *storage.DB, cfg app.Settings, log *slog.Logger, plans []demo.DossierPlan, seed int64) (int, error) {
	random := pcgReader{rand.New(rand.NewPCG(uint64(seed), 0x646f7373696572))}
	newID := func() uuid.UUID {
		id, err := uuid.NewRandomFromReader(random)
		if err != nil {
			panic(err) // the reader never fails
		}
		return id
	}
	core, err := app.OpenCore(ctx, cfg, app.Deps{DB: db, Random: random, NewID: newID, Past: true}, log)
	if err != nil {
		return 0, err
	}
	played, err := demo.Play(auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleAdmin, Source: "courierd seed"}), core.Dossiers, plans)
	return played, errors.Join(err, core.Close(ctx))
}
