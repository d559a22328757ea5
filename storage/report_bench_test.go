package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/demo"
	"courierd/domain/report"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// BenchmarkReportFlow times the flow report of one office's month over a year's history of
// 50,000 dossiers (300,000 events) spread over the demo's offices, and logs the query's
// plan: what to read before a national volume (issue 24, point 2).
func BenchmarkReportFlow(b *testing.B) {
	db, _ := dbtest.New(b)
	ctx := context.Background()
	ds := demo.Build(1, 0)
	for i := range ds.Accounts {
		ds.Accounts[i].PasswordHash = "not used"
	}
	if _, err := storage.SeedDemo(ctx, db, ds, false); err != nil {
		b.Fatal(err)
	}
	// Each dossier is requested on a day of the past year and goes through six events an
	// hour apart; offices, agencies and procedures in turn.
	for _, q := range []string{
		`CREATE TEMP TABLE refs AS SELECT row_number() OVER () - 1 AS n, o.id AS office, a.id AS agency, p.id AS procedure, u.code AS unit
			FROM (SELECT id FROM post_offices LIMIT 2) o, (SELECT id FROM agencies LIMIT 3) a, (SELECT id FROM procedures LIMIT 3) p,
				(SELECT code FROM admin_units LIMIT 1) u`,
		`INSERT INTO dossiers (id, receipt_code, procedure_id, agency_id, post_office_id, applicant_name, applicant_phone, applicant_phone_index,
			citizen_id_sealed, citizen_id_index, citizen_id_tail, applicant_address, admin_unit_code, lon, lat, pickup, return_by_post,
			fee_vnd, postage_vnd, payment_method, channel, outside_service_area, state, holder_kind, holder_id, pickup_due, received_at,
			appointment_date, result_ready_at, delivery_due, delivered_at, version, created_at, updated_at)
		SELECT gen_random_uuid(), 'B' || i, r.procedure, r.agency, r.office, 'x', '0912345678', 'i', 's', 'c' || i, '123', 'a', r.unit,
			106.68, 10.97, true, true, 0, 0, 'nothing_due', 'dispatcher', false, 'delivered', 'applicant', gen_random_uuid(),
			(t + interval '2 days')::date, t + interval '2 hours', (t + interval '5 days')::date, t + interval '4 hours',
			(t + interval '6 days')::date, t + interval '6 hours', 1, t, t
		FROM generate_series(1, 50000) i, LATERAL (SELECT now() - (i % 365) * interval '1 day' AS t) d,
			refs r WHERE r.n = i % (SELECT count(*) FROM refs)`,
		`INSERT INTO dossier_events (dossier_id, at, event, from_state, to_state, actor_role)
		SELECT d.id, d.created_at + k * interval '1 hour', (ARRAY['pick_up','hand_to_agency','agency_accept','result_ready','collect_result','deliver'])[k],
			'', '', 'dispatcher'
		FROM dossiers d, generate_series(1, 6) k`,
		`ANALYZE dossiers`, `ANALYZE dossier_events`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	store := storage.NewReportStore(db)
	now := time.Now().In(domain.Vietnam)
	q := report.Query{From: domain.Midnight(now.AddDate(0, -1, 0)), To: domain.Midnight(now), By: report.ByPostOffice,
		PostOfficeIDs: []uuid.UUID{ds.PostOffices[0].ID}}
	plan, err := store.Explain(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("plan of the flow report, one office's month:\n%s", strings.Join(plan, "\n"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := store.Flow(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
