package storage_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/live"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// TestWatchLiveSaysWhenItListens: the hub is told it listens only once LISTEN holds, so
// that what commits from then on reaches the screens; after the connection is cut it is
// told it does not, until the feed is back, and again when the watch ends.
func TestWatchLiveSaysWhenItListens(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	hub := live.NewHub()
	feed, _, _ := hub.Subscribe(auth.Principal{Role: auth.RoleAdmin})
	ctx, stop := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		storage.WatchLive(ctx, db, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	office := uuid.New()
	send := func(id string) {
		t.Helper()
		if _, err := db.SQL().Exec(`SELECT pg_notify('courierd_live', json_build_object('event', 'position', 'id', $1::text, 'post_office_id', $2::uuid, 'data', '{}'::json)::text)`, id, office); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(listening bool) {
		t.Helper()
		for began := time.Now(); hub.Listening() != listening; time.Sleep(5 * time.Millisecond) {
			if time.Since(began) > 20*time.Second {
				t.Fatalf("the hub still says listening=%v after 20 s", !listening)
			}
		}
	}
	for round := range 3 {
		waitFor(true)
		for i := range 1 + round*3 {
			id := uuid.NewString()
			send(id)
			select {
			case e := <-feed:
				if e.ID != id || e.PostOfficeID != office {
					t.Fatalf("round %d, event %d: got %+v, want id %s", round, i, e, id)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d, event %d: committed while the hub listened, never reached the screen", round, i)
			}
		}
		var cut int
		if err := db.SQL().QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&cut); err != nil || cut != 1 {
			t.Fatalf("cut %d listening connections: %v", cut, err)
		}
		waitFor(false)
	}
	waitFor(true)
	stop()
	<-watched
	if hub.Listening() {
		t.Fatal("the hub says it listens after the watch ended")
	}
}
