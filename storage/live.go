package storage

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"courierd/domain/live"
)

// liveChannel is the LISTEN/NOTIFY channel on which what is committed reaches the
// dispatchers' screens (live.Event as JSON). The notification is sent inside the
// committing transaction: it leaves only when that commits, and reaches every process.
const liveChannel = "courierd_live"

// liveNote is one event to announce: its post office is the courier's, read in the same
// statement.
type liveNote struct {
	kind, id string
	courier  uuid.UUID
	data     any
}

// notifyLive is the statement that announces notes, in order, at commit: one round trip
// however many.
func notifyLive(notes []liveNote) (query string, args []any, err error) {
	n := len(notes)
	kinds, ids, couriers, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range notes {
		b, err := json.Marshal(e.data)
		if err != nil {
			return "", nil, err
		}
		kinds[i], ids[i], couriers[i], data[i] = e.kind, e.id, e.courier.String(), string(b)
	}
	return `SELECT pg_notify($1, json_build_object('event', e.kind, 'id', e.id, 'post_office_id', c.post_office_id, 'data', e.data::json)::text)
		FROM unnest($2::text[], $3::text[], $4::uuid[], $5::text[]) WITH ORDINALITY AS e(kind, id, courier, data, n)
		JOIN couriers c ON c.id = e.courier ORDER BY e.n`, []any{liveChannel, kinds, ids, couriers, data}, nil
}

// WatchLive publishes to hub every event any courierd process commits, until ctx ends,
// telling the hub whether it listens. A notification sent while the connection is down is
// missed: the stream is for screens that are open, and a screen that reconnects reads the
// lists again.
func WatchLive(ctx context.Context, db *DB, hub *live.Hub, log *slog.Logger) {
	defer hub.Fed(false)
	for ctx.Err() == nil {
		err := listen(ctx, db.directURL, liveChannel, time.Minute, func(n *pgconn.Notification) error {
			if n == nil {
				hub.Fed(true) // LISTEN holds from here on
				return nil
			}
			var e live.Event
			if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
				log.Warn("a live event could not be read", "error", err.Error())
				return nil
			}
			hub.Publish(e)
			return nil
		})
		hub.Fed(false)
		if err != nil && ctx.Err() == nil {
			log.Warn("live feed interrupted; retrying", "error", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}
