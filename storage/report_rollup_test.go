package storage_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/report"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// seedSmallNation writes a small national history (random histories over the country's
// catalog) ending at now, and rolls it up.
func seedSmallNation(t testing.TB, db *storage.DB, now time.Time, days int) {
	t.Helper()
	ctx := context.Background()
	if err := storage.SeedNational(ctx, db, storage.National{Fraction: 0.0003, Days: days, Now: now, Seed: 0.24}, func(string, int64, time.Duration) {}); err != nil {
		t.Fatal(err)
	}
	// Too small a fraction for the seed's breadcrumbs: some couriers' days, a point every
	// 40 minutes.
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO breadcrumbs (device_id, point_seq, at, courier_id, lat, lon, accuracy_m, received_at)
		SELECT c.id, d * 100 + k, $1::timestamptz - d * interval '1 day' + k * interval '40 minutes', c.id, 16 + random() / 100, 106 + random() / 100, 12, now()
		FROM (SELECT id FROM couriers ORDER BY staff_code LIMIT 40) c, generate_series(1, $2::int - 1) d, generate_series(0, 11) k`,
		domain.Midnight(domain.DateOf(now)).Add(time.Hour), days); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.RollUp(ctx, db, now); err != nil {
		t.Fatal(err)
	}
}

// randomQueries are periods of every length within the history (some whole months, some
// reaching today), each grouping, and the scopes of an admin, a dispatcher of one to three
// offices, and a clerk.
func randomQueries(t *testing.T, db *storage.DB, rng *rand.Rand, now time.Time, days, n int) []report.Query {
	offices, agencies := ids(t, db, `SELECT DISTINCT post_office_id FROM dossiers`), ids(t, db, `SELECT DISTINCT agency_id FROM dossiers`)
	today := domain.DateOf(now)
	var qs []report.Query
	for i := range n {
		from := today.AddDate(0, 0, -rng.IntN(days+5))
		if i%4 == 0 { // a month from its first day
			from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		to := from.AddDate(0, 0, 1+rng.IntN(days+5))
		if i%4 == 0 {
			to = from.AddDate(0, 1+rng.IntN(2), 0)
		}
		q := report.Query{From: domain.Midnight(from), To: domain.Midnight(to), By: report.Groupings[i%len(report.Groupings)]}
		switch rng.IntN(3) {
		case 1:
			for range 1 + rng.IntN(3) {
				q.PostOfficeIDs = append(q.PostOfficeIDs, offices[rng.IntN(len(offices))])
			}
		case 2:
			q.AgencyID = agencies[rng.IntN(len(agencies))]
		}
		qs = append(qs, q)
	}
	return qs
}

func ids(t *testing.T, db *storage.DB, query string) []uuid.UUID {
	rows, err := db.SQL().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// sameAnswers checks that every report read from the rollups answers what the record
// computed whole answers, and that the queries saw something.
func sameAnswers(t *testing.T, db *storage.DB, qs []report.Query) {
	t.Helper()
	ctx := context.Background()
	rolled, live := storage.NewReportStore(db), storage.NewLiveReportStore(db)
	var rows, legs, work, takings int
	for _, q := range qs {
		got, err := rolled.Flow(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := live.Flow(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("flow %s %s–%s offices %v agency %v: rollups answer\n%+v\nthe record\n%+v", q.By, q.From, q.To, q.PostOfficeIDs, q.AgencyID, got, want)
		}
		rows += len(got)
		gotLate, err := rolled.LateLegs(ctx, q, 50)
		if err != nil {
			t.Fatal(err)
		}
		wantLate, err := live.LateLegs(ctx, q, 50)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotLate, wantLate) {
			t.Fatalf("late %s–%s offices %v agency %v: rollups answer\n%+v\nthe record\n%+v", q.From, q.To, q.PostOfficeIDs, q.AgencyID, gotLate, wantLate)
		}
		legs += len(gotLate)
		gotWork, err := rolled.Couriers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantWork, err := live.Couriers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotWork, wantWork) {
			t.Fatalf("couriers %s–%s offices %v: rollups answer\n%+v\nthe record\n%+v", q.From, q.To, q.PostOfficeIDs, gotWork, wantWork)
		}
		work += len(gotWork)
		gotCash, err := rolled.Cash(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantCash, err := live.Cash(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotCash, wantCash) {
			t.Fatalf("cash %s–%s offices %v: rollups answer\n%+v\nthe record\n%+v", q.From, q.To, q.PostOfficeIDs, gotCash, wantCash)
		}
		takings += len(gotCash)
	}
	if rows == 0 || legs == 0 || work == 0 || takings == 0 {
		t.Fatalf("the queries saw %d rows, %d late legs, %d couriers and %d takings: nothing compared", rows, legs, work, takings)
	}
}

// TestRollupsAnswerAsTheRecord: reports read from the rollups (months, days, today's part
// rolled up, and the record for the rest of today and the dirty days) answer exactly what the record computed whole
// answers, for random periods, groupings and scopes; so they do after new events and
// ratings arrive on days already rolled up, both before the job rolls those days up again
// (they are read from the record meanwhile) and after.
func TestRollupsAnswerAsTheRecord(t *testing.T) {
	db, _ := dbtest.New(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(24, 2))
	now := time.Now()
	const days = 75
	seedSmallNation(t, db, now, days)
	var rollupRows int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM report_flow_rollup WHERE span = 'm'`).Scan(&rollupRows); err != nil || rollupRows == 0 {
		t.Fatalf("no month rolled up (%d, %v)", rollupRows, err)
	}
	sameAnswers(t, db, randomQueries(t, db, rng, now, days, 60))

	// Late news of settled days: a courier's handheld syncing a day's deliveries, failed
	// attempts and holds, citizens rating, an agency's late results.
	for round := range 3 {
		settled, width := domain.Midnight(domain.DateOf(now).AddDate(0, 0, -6-rng.IntN(days-8))), 20*time.Hour
		if round == 2 { // today's part already rolled up
			settled = domain.Midnight(domain.DateOf(now))
			width = now.Sub(settled)
			// And the next minutes' deliveries, after what is rolled up: read from the record.
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO dossier_events (dossier_id, at, event, from_state, to_state, actor_role)
				SELECT id, $1::timestamptz + (row_number() OVER ()) * interval '1 minute', 'deliver', 'out_for_delivery', 'delivered', 'courier'
				FROM dossiers ORDER BY random() LIMIT 10`, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO dossier_events (dossier_id, at, event, from_state, to_state, actor_role, note)
			SELECT id, $1::timestamptz + random() * $2 * interval '1 second',
				(ARRAY['deliver', 'delivery_fail', 'pick_up', 'hand_to_agency', 'result_ready', 'collect_at_counter', 'return_to_agency'])[1 + (row_number() OVER ()) % 7],
				'out_for_delivery', CASE WHEN random() < 0.3 THEN 'held_at_post_office' ELSE 'delivered' END, 'courier', 'refused'
			FROM dossiers ORDER BY random() LIMIT 40`, settled, width.Seconds()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO dossier_ratings (dossier_id, stars, rated_at)
			SELECT id, 1 + floor(random() * 5)::int, $1::timestamptz + $2 * interval '1 second' FROM dossiers
			WHERE id NOT IN (SELECT dossier_id FROM dossier_ratings) ORDER BY random() LIMIT 15`, settled, width.Seconds()/2); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO breadcrumbs (device_id, point_seq, at, courier_id, lat, lon, accuracy_m, received_at)
			SELECT c.id, 900000 + $2 * 100 + k, $1::timestamptz + $3 * interval '1 second' / 2 + k * interval '1 minute', c.id, 16 + random() / 100, 106 + random() / 100, 12, now()
			FROM (SELECT id FROM couriers ORDER BY random() LIMIT 5) c, generate_series(1, 6) k`, settled, round, width.Seconds()); err != nil {
			t.Fatal(err)
		}
		lateMoney(t, db, rng, settled, width, round < 2)
		var dirty int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM report_dirty_days`).Scan(&dirty); err != nil || dirty == 0 {
			t.Fatalf("round %d: the late news marked no day dirty (%d, %v)", round, dirty, err)
		}
		sameAnswers(t, db, randomQueries(t, db, rng, now, days, 30))
		run, err := storage.RollUp(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		if run.Days == 0 {
			t.Fatalf("round %d: the job rolled up %+v after late news", round, run)
		}
		if err := db.SQL().QueryRow(`SELECT count(*) FROM report_dirty_days`).Scan(&dirty); err != nil || dirty != 0 {
			t.Fatalf("round %d: %d days still dirty after the job (%v)", round, dirty, err)
		}
		sameAnswers(t, db, randomQueries(t, db, rng, now, days, 30))
	}
	// The rolled-up takings hold the late hand-ins and remittances the rounds recorded.
	var handedIn, remitted int64
	if err := db.SQL().QueryRow(`SELECT coalesce(sum(handed_in_vnd), 0), coalesce(sum(remitted_vnd), 0) FROM report_cash_rollup`).Scan(&handedIn, &remitted); err != nil ||
		handedIn == 0 || remitted == 0 {
		t.Fatalf("the cash rollup holds %d handed in and %d remitted (%v)", handedIn, remitted, err)
	}
	// The national benchmark's cases run here at small size: each answers, from the
	// rollups as from the record.
	for _, c := range nationalCases(t, db, now) {
		got, err := c.run(ctx, storage.NewReportStore(db))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, err := c.run(ctx, storage.NewLiveReportStore(db))
		if err != nil || got != want {
			t.Fatalf("%s: %d rows from the rollups, %d from the record (%v)", c.name, got, want, err)
		}
	}
}

// lateMoney records money of the time [settled, settled+width), late: couriers' takings at
// the door synced from a handheld, the bank's transfers, a count at the counter of the
// day's cash (short or over), and a remittance made then of an agency's shares. apart: each
// kind on a day of its own before settled's (collections the day before, transfers two
// days before, …), which its recording alone must mark dirty.
func lateMoney(t *testing.T, db *storage.DB, rng *rand.Rand, settled time.Time, width time.Duration, apart bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO accounts (id, username, password_hash, role, created_at, updated_at)
		VALUES (gen_random_uuid(), 'counter', 'x', 'admin', now(), now()) ON CONFLICT (username) DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	remittance := uuid.New()
	type statement struct {
		sql  string
		args []any
	}
	// Each kind of money, as its statements given the instant it is of.
	steps := []func(at time.Time) []statement{
		func(at time.Time) []statement {
			return []statement{{`INSERT INTO cash_collections (mutation_id, dossier_id, task_id, courier_id, amount_vnd, method, collected_at, recorded_at)
				SELECT gen_random_uuid(), t.dossier_id, t.id, t.courier_id, 1000 + floor(random() * 200000)::bigint,
					(ARRAY['cash', 'bank_transfer', 'qr'])[1 + (row_number() OVER ()) % 3], $1::timestamptz + random() * $2 * interval '1 second', now()
				FROM tasks t WHERE t.courier_id IS NOT NULL ORDER BY random() LIMIT 12`, []any{at, width.Seconds()}}}
		},
		func(at time.Time) []statement {
			return []statement{{`INSERT INTO payments (id, dossier_id, transaction_id, amount_vnd, paid_at, received_at)
				SELECT gen_random_uuid(), id, 'late-' || gen_random_uuid(), 1000 + floor(random() * 90000)::bigint,
					$1::timestamptz + random() * $2 * interval '1 second', now()
				FROM dossiers ORDER BY random() LIMIT 6`, []any{at, width.Seconds()}}}
		},
		func(at time.Time) []statement {
			// Counts short or over by up to 20,000 ₫.
			return []statement{{`INSERT INTO cash_handins (id, courier_id, post_office_id, day, to_hand_in_vnd, counted_vnd, received_by, handed_in_at)
				SELECT gen_random_uuid(), c.id, c.post_office_id, $1, 50000, 50000 + $2 - floor(random() * 2 * $2)::bigint,
					(SELECT id FROM accounts ORDER BY id LIMIT 1), now()
				FROM couriers c ORDER BY random() LIMIT 4`, []any{domain.DateOf(at).Format(time.DateOnly), 1 + rng.IntN(20000)}}}
		},
		func(at time.Time) []statement {
			// A remittance, then its shares (which mark the day).
			return []statement{{`INSERT INTO remittances (id, agency_id, period_from, period_to, remitted_vnd, bank_reference, recorded_by, remitted_at)
				SELECT $3::uuid, d.agency_id, '2020-01-01', '2040-01-01', 1000, 'late-' || $3::text, (SELECT id FROM accounts ORDER BY id LIMIT 1),
					$1::timestamptz + $2 * interval '1 second' / 3
				FROM cash_collections c JOIN dossiers d ON d.id = c.dossier_id
				WHERE NOT EXISTS (SELECT FROM remitted_money m WHERE m.collection_id = c.mutation_id) ORDER BY random() LIMIT 1`,
				[]any{at, width.Seconds(), remittance}}, {`INSERT INTO remitted_money (remittance_id, dossier_id, collection_id, agency_vnd)
				SELECT r.id, c.dossier_id, c.mutation_id, c.amount_vnd / 2 FROM remittances r JOIN dossiers d ON d.agency_id = r.agency_id
					JOIN cash_collections c ON c.dossier_id = d.id
				WHERE r.id = $1 AND NOT EXISTS (SELECT FROM remitted_money m WHERE m.collection_id = c.mutation_id) LIMIT 5`, []any{remittance}}}
		},
	}
	for i, step := range steps {
		at := settled
		if apart {
			at = settled.AddDate(0, 0, -1-i)
		}
		day := domain.DateOf(at).Format(time.DateOnly)
		dirty := func() bool {
			var marked bool
			if err := db.SQL().QueryRow(`SELECT EXISTS (SELECT FROM report_dirty_days WHERE day = $1)`, day).Scan(&marked); err != nil {
				t.Fatal(err)
			}
			return marked
		}
		if apart && dirty() {
			t.Fatalf("%s is dirty before its late money", day)
		}
		for _, st := range step(at) {
			if res, err := db.SQL().ExecContext(ctx, st.sql, st.args...); err != nil {
				t.Fatal(err)
			} else if n, _ := res.RowsAffected(); n == 0 {
				t.Fatalf("recorded nothing: %s", st.sql)
			}
		}
		if apart && !dirty() {
			t.Fatalf("the late money (kind %d) of %s left it clean", i, day)
		}
	}
}
