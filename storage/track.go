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
	queue     trackQueue
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

// SaveTrack stores the points not stored before and moves the courier's latest position
// forward, returning how many were new. The uploads that arrive while others are being
// written wait and go together in the next statement (trackQueue): a country's handhelds
// upload hundreds of times a second, and one statement per upload cost PostgreSQL most of
// its time in statements rather than rows. The answer comes once the points are written.
func (s *TrackStore) SaveTrack(ctx context.Context, device, courier uuid.UUID, points []fieldsync.Point) (int, error) {
	if err := s.ensureDays(ctx, points); err != nil {
		return 0, err
	}
	u := &trackUpload{device: device, courier: courier, points: points, done: make(chan trackResult, 1)}
	s.queue.mu.Lock()
	s.queue.waiting = append(s.queue.waiting, u)
	start := !s.queue.writing
	s.queue.writing = true
	s.queue.mu.Unlock()
	if start {
		go s.writeQueued()
	}
	select {
	case r := <-u.done:
		return r.stored, r.err
	case <-ctx.Done():
		// The points may still be written: an upload sent again stores each point once.
		return 0, ctx.Err()
	}
}

// trackQueue holds the uploads waiting for the writer; writing is true while one runs.
type trackQueue struct {
	mu      sync.Mutex
	waiting []*trackUpload
	writing bool
}

type trackUpload struct {
	device, courier uuid.UUID
	points          []fieldsync.Point
	done            chan trackResult
}

type trackResult struct {
	stored int
	err    error
}

// trackBatchPoints bounds the points of one statement (a device sends at most 500);
// trackGather is how long the writer lets a batch gather before each statement: at a
// country's pace, about 5 uploads, for as much of PostgreSQL as 2 took one by one.
const (
	trackBatchPoints = 5000
	trackGather      = 10 * time.Millisecond
)

// writeQueued writes the waiting uploads, a batch at a time, until none waits.
func (s *TrackStore) writeQueued() {
	for {
		time.Sleep(trackGather)
		s.queue.mu.Lock()
		n, points := 0, 0
		for n < len(s.queue.waiting) && (n == 0 || points+len(s.queue.waiting[n].points) <= trackBatchPoints) {
			points += len(s.queue.waiting[n].points)
			n++
		}
		batch := s.queue.waiting[:n:n]
		s.queue.waiting = s.queue.waiting[n:]
		if n == 0 {
			s.queue.writing = false
			s.queue.waiting = nil
		}
		s.queue.mu.Unlock()
		if n == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := s.writeTracks(ctx, batch); err != nil && len(batch) > 1 {
			// One upload's fault fails no other: each is written alone.
			for _, u := range batch {
				_ = s.writeTracks(ctx, []*trackUpload{u})
			}
		}
		cancel()
	}
}

// writeTracks writes uploads in one statement over arrays (one round trip however many
// points, unnested in the select list as unnestInsert explains) and answers each; on an
// error it answers only a batch of one, and the caller writes the others alone. Its
// commit does not wait for the WAL flush (synchronous_commit off for this transaction
// alone, set in the statement so that it holds behind a pooler; ins reads it, so that it
// is evaluated): breadcrumbs are the low-priority trail (docs/DEVICES.md), every fact
// carries its own fix, and a country's uploads would otherwise queue on the WAL flush
// ahead of the facts. A crash of PostgreSQL may forget the last fraction of a second of
// points.
func (s *TrackStore) writeTracks(ctx context.Context, uploads []*trackUpload) error {
	var devices, couriers []string
	var seqs []int64
	var ats []time.Time
	var lats, lons, accs []float64
	var speeds, headings []*float64
	var batteries []*int64
	// Each courier's newest point of the batch moves their position.
	newest := map[uuid.UUID]fieldsync.Point{}
	for _, u := range uploads {
		for _, p := range u.points {
			devices, couriers = append(devices, u.device.String()), append(couriers, u.courier.String())
			seqs, ats = append(seqs, p.Seq), append(ats, p.At.UTC())
			lats, lons, accs = append(lats, p.Lat), append(lons, p.Lon), append(accs, p.AccuracyM)
			speeds, headings = append(speeds, p.SpeedMPS), append(headings, p.HeadingDeg)
			batteries = append(batteries, batteryOf(p))
			if q, ok := newest[u.courier]; !ok || p.At.After(q.At) {
				newest[u.courier] = p
			}
		}
	}
	var posCouriers []string
	var posAts []time.Time
	var posLats, posLons, posAccs []float64
	var posBatteries []*int64
	for courier, p := range newest {
		posCouriers, posAts = append(posCouriers, courier.String()), append(posAts, p.At.UTC())
		posLats, posLons, posAccs = append(posLats, p.Lat), append(posLons, p.Lon), append(posAccs, p.AccuracyM)
		posBatteries = append(posBatteries, batteryOf(p))
	}
	rows, err := s.db.sql.QueryContext(ctx, `WITH async AS (
			SELECT set_config('synchronous_commit', 'off', true)),
		ins AS (
			INSERT INTO breadcrumbs (device_id, point_seq, at, courier_id, lat, lon, accuracy_m, speed_mps, heading_deg, battery_pct, received_at)
			SELECT unnest($1::uuid[]), unnest($2::bigint[]), unnest($3::timestamptz[]), unnest($4::uuid[]), unnest($5::float8[]), unnest($6::float8[]),
				unnest($7::float8[]), unnest($8::float8[]), unnest($9::float8[]), unnest($10::int8[]), now() FROM async
			ON CONFLICT DO NOTHING RETURNING device_id, point_seq),
		moved AS (
			INSERT INTO courier_positions (courier_id, at, lat, lon, accuracy_m, battery_pct)
			SELECT * FROM unnest($11::uuid[], $12::timestamptz[], $13::float8[], $14::float8[], $15::float8[], $16::int8[])
			ON CONFLICT (courier_id) DO UPDATE SET at = EXCLUDED.at, lat = EXCLUDED.lat, lon = EXCLUDED.lon, accuracy_m = EXCLUDED.accuracy_m,
				battery_pct = EXCLUDED.battery_pct
			WHERE courier_positions.at < EXCLUDED.at RETURNING courier_id)
		SELECT device_id, point_seq FROM ins UNION ALL SELECT courier_id, NULL FROM moved`,
		devices, seqs, ats, couriers, lats, lons, accs, speeds, headings, batteries,
		posCouriers, posAts, posLats, posLons, posAccs, posBatteries)
	stored := map[trackPoint]bool{}
	var moved []uuid.UUID
	if err == nil {
		for rows.Next() {
			var id uuid.UUID
			var seq sql.NullInt64
			if err = rows.Scan(&id, &seq); err != nil {
				break
			}
			if seq.Valid {
				stored[trackPoint{id, seq.Int64}] = true
			} else {
				moved = append(moved, id)
			}
		}
		err = errors.Join(err, rows.Err(), rows.Close())
	}
	if err != nil {
		if len(uploads) == 1 {
			uploads[0].done <- trackResult{err: translate(err, "breadcrumbs")}
		}
		return err
	}
	for _, u := range uploads {
		n := 0
		for _, p := range u.points {
			// A point twice in the batch (an upload sent again meanwhile) counts once.
			if k := (trackPoint{u.device, p.Seq}); stored[k] {
				delete(stored, k)
				n++
			}
		}
		u.done <- trackResult{stored: n}
	}
	for _, courier := range moved {
		// The screens' marker moves (the point is the courier's at work, not a citizen's,
		// and the console shows it anyway).
		p := newest[courier]
		s.positions.add(courier, p.At.UTC(), liveNote{kind: live.KindPosition, id: courier.String() + "@" + p.At.UTC().Format(time.RFC3339Nano),
			courier: courier, data: map[string]any{"courier_id": courier, "at": p.At.UTC(), "lat": p.Lat, "lon": p.Lon,
				"accuracy_m": p.AccuracyM, "battery_pct": p.BatteryPct}})
	}
	return nil
}

// batteryOf is a point's battery level as the statement's int8 array takes it.
func batteryOf(p fieldsync.Point) *int64 {
	if p.BatteryPct == nil {
		return nil
	}
	b := int64(*p.BatteryPct)
	return &b
}

// trackPoint is a breadcrumb's key within its device.
type trackPoint struct {
	device uuid.UUID
	seq    int64
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
