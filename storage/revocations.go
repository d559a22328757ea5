package storage

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"courierd/domain/auth"
)

// WatchRevocations keeps list equal to the live revocations in the database until ctx
// ends: it loads them, then reloads on every notification (delivered within milliseconds
// of the revoking transaction's commit, to every process) and at least every interval, in
// case a notification was lost while the connection was down. It returns when ctx ends.
func WatchRevocations(ctx context.Context, db *DB, list *auth.RevocationList, interval time.Duration, log *slog.Logger) {
	store := NewAuthStore(db)
	reload := func() error {
		live, err := store.LiveRevocations(ctx, db.now())
		if err == nil {
			list.Replace(live)
		}
		return err
	}
	for ctx.Err() == nil {
		if err := listen(ctx, db.url, interval, reload); err != nil && ctx.Err() == nil {
			log.Warn("revocation feed interrupted; retrying", "error", err.Error())
			_ = reload() // keep the list fresh through the pool while LISTEN is down
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// listen holds one LISTEN connection, calling reload at start, on each notification and
// after each quiet interval.
func listen(ctx context.Context, url string, interval time.Duration, reload func() error) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+revocationChannel); err != nil {
		return err
	}
	for {
		if err := reload(); err != nil {
			return err
		}
		wait, cancel := context.WithTimeout(ctx, interval)
		_, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}
