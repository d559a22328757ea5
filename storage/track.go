package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"courierd/domain/fieldsync"
	"courierd/domain/live"
)

// TrackStore keeps breadcrumbs in day partitions, created as days come.
type TrackStore struct {
	db        *DB
	mu        sync.Mutex
	days      map[string]bool // partitions known to exist
	positions *positionRelay
}

func NewTrackStore(db *DB) *TrackStore {
	return &TrackStore{db: db, days: map[string]bool{}, positions: &positionRelay{db: db, every: positionEvery}}
}

// ensureDays creates the day partitions points fall in.
func (s *TrackStore) ensureDays(ctx context.Context, points []fieldsync.Point) error {
	for _, p := range points {
		day := p.At.UTC().Truncate(24 * time.Hour)
		name := day.Format("20060102")
		s.mu.Lock()
		known := s.days[name]
		s.mu.Unlock()
		if known {
			continue
		}
		_, err := s.db.sql.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS breadcrumbs_%s PARTITION OF breadcrumbs
			FOR VALUES FROM ('%s') TO ('%s')`, name, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)))
		var pgErr *pgconn.PgError
		// Another process creating the same day at the same moment is no failure.
		if err != nil && !(errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "23505")) {
			return translate(err, "breadcrumbs")
		}
		s.mu.Lock()
		s.days[name] = true
		s.mu.Unlock()
	}
	return nil
}

// SaveTrack writes the batch in one statement over arrays (one round trip however many
// points, unnested in the select list as unnestInsert explains), skipping points already
// stored, and moves the latest position forward.
func (s *TrackStore) SaveTrack(ctx context.Context, device, courier uuid.UUID, points []fieldsync.Point) (int, error) {
	if err := s.ensureDays(ctx, points); err != nil {
		return 0, err
	}
	n := len(points)
	seqs, ats, lats, lons, accs := make([]int64, n), make([]time.Time, n), make([]float64, n), make([]float64, n), make([]float64, n)
	speeds, headings, batteries := make([]*float64, n), make([]*float64, n), make([]*int64, n)
	newest := 0
	for i, p := range points {
		seqs[i], ats[i], lats[i], lons[i], accs[i] = p.Seq, p.At.UTC(), p.Lat, p.Lon, p.AccuracyM
		speeds[i], headings[i] = p.SpeedMPS, p.HeadingDeg
		if p.BatteryPct != nil {
			b := int64(*p.BatteryPct)
			batteries[i] = &b
		}
		if p.At.After(points[newest].At) {
			newest = i
		}
	}
	// One statement, so one round trip and its own transaction: the points, and the
	// courier's latest position moved forward.
	p := points[newest]
	var stored, moved int
	err := s.db.sql.QueryRowContext(ctx, `WITH ins AS (
			INSERT INTO breadcrumbs (device_id, point_seq, at, courier_id, lat, lon, accuracy_m, speed_mps, heading_deg, battery_pct, received_at)
			SELECT $1, unnest($3::bigint[]), unnest($4::timestamptz[]), $2, unnest($5::float8[]), unnest($6::float8[]), unnest($7::float8[]),
				unnest($8::float8[]), unnest($9::float8[]), unnest($10::int8[]), now()
			ON CONFLICT DO NOTHING RETURNING 1),
		moved AS (
			INSERT INTO courier_positions (courier_id, at, lat, lon, accuracy_m, battery_pct) VALUES ($2, $11, $12, $13, $14, $15)
			ON CONFLICT (courier_id) DO UPDATE SET at = EXCLUDED.at, lat = EXCLUDED.lat, lon = EXCLUDED.lon, accuracy_m = EXCLUDED.accuracy_m,
				battery_pct = EXCLUDED.battery_pct
			WHERE courier_positions.at < EXCLUDED.at RETURNING 1)
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM moved)`,
		[16]byte(device), [16]byte(courier), seqs, ats, lats, lons, accs, speeds, headings, batteries,
		p.At.UTC(), p.Lat, p.Lon, p.AccuracyM, batteries[newest]).Scan(&stored, &moved)
	if err == nil && moved > 0 {
		// The screens' marker moves (the point is the courier's at work, not a citizen's,
		// and the console shows it anyway).
		s.positions.add(courier, p.At.UTC(), liveNote{kind: live.KindPosition, id: courier.String() + "@" + p.At.UTC().Format(time.RFC3339Nano),
			courier: courier, data: map[string]any{"courier_id": courier, "at": p.At.UTC(), "lat": p.Lat, "lon": p.Lon,
				"accuracy_m": p.AccuracyM, "battery_pct": p.BatteryPct}})
	}
	return stored, translate(err, "breadcrumbs")
}

// positionEvery is how often the couriers' moved positions are announced.
const positionEvery = time.Second

// positionRelay announces couriers' moved positions to the screens every positionEvery,
// each courier's latest, in one statement, rather than in each upload's transaction:
// PostgreSQL serializes the commits of all transactions that NOTIFY (they take one
// database-wide lock on the queue until they commit), and a country's uploads, hundreds
// a second, would queue there. A batch lost to an error is only markers late: the next
// upload moves them, and the track and the position are stored whatever happens here.
type positionRelay struct {
	db      *DB
	every   time.Duration
	mu      sync.Mutex
	pending map[uuid.UUID]relayedPosition // nil: no flush scheduled
	order   []uuid.UUID
}

type relayedPosition struct {
	at   time.Time
	note liveNote
}

// add announces courier at the next flush, at at, unless a later position of theirs is
// already waiting (uploads commit in any order).
func (r *positionRelay) add(courier uuid.UUID, at time.Time, note liveNote) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[uuid.UUID]relayedPosition{}
		time.AfterFunc(r.every, r.flush)
	}
	waiting, ok := r.pending[courier]
	if !ok {
		r.order = append(r.order, courier)
	}
	if !ok || at.After(waiting.at) {
		r.pending[courier] = relayedPosition{at: at, note: note}
	}
}

func (r *positionRelay) flush() {
	r.mu.Lock()
	pending, order := r.pending, r.order
	r.pending, r.order = nil, nil
	r.mu.Unlock()
	notes := make([]liveNote, len(order))
	for i, courier := range order {
		notes[i] = pending[courier].note
	}
	query, args, err := notifyLive(notes)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = r.db.sql.ExecContext(ctx, query, args...)
}

func (s *TrackStore) Position(ctx context.Context, courier uuid.UUID) (fieldsync.Point, bool, error) {
	var p fieldsync.Point
	err := s.db.sql.QueryRowContext(ctx, `SELECT at, lat, lon, accuracy_m FROM courier_positions WHERE courier_id = $1`, courier).
		Scan(&p.At, &p.Lat, &p.Lon, &p.AccuracyM)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, translate(err, "position")
}

// DropTrackDaysBefore drops whole day partitions of breadcrumbs that end on or before
// cutoff: the cheap way to forget old tracks, with no row-by-row delete or vacuum.
func DropTrackDaysBefore(ctx context.Context, db *DB, cutoff time.Time) (int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'breadcrumbs'::regclass`)
	if err != nil {
		return 0, translate(err, "breadcrumbs")
	}
	var old []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, translate(err, "breadcrumbs")
		}
		day, err := time.Parse("20060102", strings.TrimPrefix(name, "breadcrumbs_"))
		if err == nil && !day.Add(24*time.Hour).After(cutoff) {
			old = append(old, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, translate(err, "breadcrumbs")
	}
	for _, name := range old {
		// The name came from the catalogue and parsed as a date: nothing else can be in it.
		if _, err := db.sql.ExecContext(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
			return 0, translate(err, "breadcrumbs")
		}
	}
	return len(old), nil
}
