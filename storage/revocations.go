package storage

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
		err := listen(ctx, db.directURL, revocationChannel, interval, func(*pgconn.Notification) error { return reload() })
		if err != nil && ctx.Err() == nil {
			log.Warn("revocation feed interrupted; retrying", "error", err.Error())
			_ = reload() // keep the list fresh through the pool while LISTEN is down
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// listen holds one LISTEN connection on channel, calling handle with nil at start and
// after each quiet interval, and with each notification. url must reach PostgreSQL
// itself: once LISTEN ends, a pooler in transaction mode lends the listening server
// connection to other clients, and its notifications go with it.
func listen(ctx context.Context, url, channel string, interval time.Duration, handle func(*pgconn.Notification) error) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	var n *pgconn.Notification
	for {
		if err := handle(n); err != nil {
			return err
		}
		wait, cancel := context.WithTimeout(ctx, interval)
		n, err = conn.WaitForNotification(wait)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}
