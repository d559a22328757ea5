package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"courierd/domain"
)

// National is the shape of a national year for SeedNational: the whole country's post
// offices, agencies, procedures and couriers, and Fraction of its ten million dossiers.
type National struct {
	Fraction float64
	Days     int       // how many days of history, ending at Now
	Now      time.Time // the history's end: nothing happens after it
	Seed     float64   // PostgreSQL's setseed, in [-1, 1]: the same seed gives the same draws (not ids)
}

// Country's shape: Vietnam's 63 provinces, about 700 districts with a post office each,
// 3,300 couriers; ten million dossiers a year at full size.
const (
	nationalProvinces = 63
	nationalOffices   = 700
	nationalDossiers  = 10_000_000
)

// NationalDossiers is how many dossiers a national seed of that fraction opens.
func NationalDossiers(fraction float64) int {
	return int(math.Round(fraction * nationalDossiers))
}

// The national plan's columns as each step of a dossier's clock adds its own: every
// statement names what it reads (TestRowsReadByName).
const (
	natBase   = "i, id, office, unit, province, couriers, procedure, agency_kind, processing_days, created, pickup, r1, r2, r3, r4, r5"
	natLegs   = natBase + ", by_post, pickup_failed, picked"
	natAgency = natLegs + ", handed"
	natResult = natAgency + ", ready, rejected"
	natBack   = natResult + ", collected, failed, held, reason"
)

// SeedNational writes a national year into a database holding no national catalog yet,
// set-based in SQL (generate_series), telling step after step how many rows it wrote and
// how long it took. The catalog's codes start with N, beside any demo's. Each dossier's
// history follows the legal clock (pickup, the agency's processing, delivery or the
// counter) with late legs, failed attempts, holds and returns, its field stops with the
// office's couriers, collections, bank transfers and ratings; the couriers' breadcrumbs
// are a point every 5 minutes of 8 working hours at full size, scaled by Fraction (none
// below two a day).
func SeedNational(ctx context.Context, db *DB, n National, step func(what string, rows int64, took time.Duration)) error {
	// One direct session: its random seed and temporary tables are the session's.
	conn, err := db.direct.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	start := domain.Midnight(domain.DateOf(n.Now).AddDate(0, 0, -n.Days+1))
	crumbs := int(math.Round(96 * n.Fraction))
	steps := []struct{ what, sql string }{
		{"", fmt.Sprintf(`SELECT setseed(%g)`, n.Seed)},
		{"administrative units", `INSERT INTO admin_units (id, code, name, search_name, level, kind, parent_code, created_at, updated_at)
			SELECT gen_random_uuid(), 'NP' || lpad(p::text, 2, '0'), 'Tỉnh ' || p, 'tinh ' || p, 'province', 'province', NULL, now(), now() FROM generate_series(1, 63) p
			UNION ALL
			SELECT gen_random_uuid(), 'NP' || lpad((1 + o % 63)::text, 2, '0') || 'D' || lpad(o::text, 3, '0'), 'Huyện ' || o, 'huyen ' || o, 'district', 'district',
				'NP' || lpad((1 + o % 63)::text, 2, '0'), now(), now() FROM generate_series(0, 699) o
			ORDER BY 5 DESC`},
		{"agencies", `INSERT INTO agencies (id, code, name, search_name, kind, admin_unit_code, address, lon, lat, created_at, updated_at)
			SELECT gen_random_uuid(), 'NA-' || k || '-' || p, k || ' ' || p, k || ' ' || p, k, 'NP' || lpad(p::text, 2, '0'), 'x', 106, 16, now(), now()
			FROM generate_series(1, 63) p, unnest(ARRAY['department', 'police', 'social_insurance']) k
			UNION ALL
			SELECT gen_random_uuid(), 'NA-commune-' || o, 'UBND ' || o, 'ubnd ' || o, 'commune_committee',
				'NP' || lpad((1 + o % 63)::text, 2, '0') || 'D' || lpad(o::text, 3, '0'), 'x', 106, 16, now(), now()
			FROM generate_series(0, 699) o`},
		{"post offices", `INSERT INTO post_offices (id, code, name, search_name, kind, admin_unit_code, address, lon, lat, service_area, created_at, updated_at)
			SELECT gen_random_uuid(), 'NO' || lpad(o::text, 3, '0'), 'Bưu cục ' || o, 'buu cuc ' || o, 'post_office',
				'NP' || lpad((1 + o % 63)::text, 2, '0') || 'D' || lpad(o::text, 3, '0'), 'x', 106, 16, '{"type":"MultiPolygon","coordinates":[]}', now(), now()
			FROM generate_series(0, 699) o`},
		{"procedures", `INSERT INTO procedures (id, code, name, search_name, agency_kind, processing_days, fee_vnd, postage_vnd, pickup_by_post, return_by_post,
				identity_check_required, proxy_allowed, created_at, updated_at)
			SELECT gen_random_uuid(), 'NT' || lpad(k::text, 2, '0'), 'Thủ tục ' || k, 'thu tuc ' || k,
				(ARRAY['department', 'police', 'social_insurance', 'commune_committee'])[1 + k % 4], 2 + k % 13, 50000, 25000, true, true, false, true, now(), now()
			FROM generate_series(1, 40) k`},
		{"couriers", `INSERT INTO couriers (id, staff_code, name, search_name, phone, post_office_id, vehicle_kind, capacity_items, shift_start_min, shift_end_min, created_at, updated_at)
			SELECT gen_random_uuid(), 'NC' || substr(o.code, 3) || '-' || k, 'Bưu tá ' || o.code || '-' || k, 'buu ta ' || o.code || '-' || k, '0900000000', o.id,
				'motorbike', 40, 450, 1020, now(), now()
			FROM post_offices o, generate_series(1, 5) k WHERE o.code LIKE 'NO%' AND (k < 5 OR substr(o.code, 3)::int % 10 < 7)`},
		// The catalog by number, for the dossiers to draw from.
		{"", `CREATE TEMP TABLE nat_offices AS SELECT row_number() OVER (ORDER BY o.code) - 1 AS n, o.id, o.admin_unit_code AS unit,
				substr(o.admin_unit_code, 1, 4) AS province, (SELECT count(*) FROM couriers c WHERE c.post_office_id = o.id) AS couriers
			FROM post_offices o WHERE o.code LIKE 'NO%'`},
		{"", `CREATE TEMP TABLE nat_couriers AS SELECT c.post_office_id AS office, row_number() OVER (PARTITION BY c.post_office_id ORDER BY c.staff_code) - 1 AS k, c.id
			FROM couriers c WHERE c.staff_code LIKE 'NC%'`},
		{"", `CREATE TEMP TABLE nat_procedures AS SELECT row_number() OVER (ORDER BY code) - 1 AS n, id, agency_kind, processing_days FROM procedures WHERE code LIKE 'NT%'`},
		// Each dossier's clock, drawn once: when each step happened (NULL: not yet, or not
		// this dossier's way).
		{"", fmt.Sprintf(`CREATE TEMP TABLE nat_plan AS
			WITH base AS (
				SELECT i, gen_random_uuid() AS id, o.id AS office, o.unit, o.province, o.couriers, p.id AS procedure, p.agency_kind, p.processing_days,
					TIMESTAMPTZ '%s' + floor(random() * %d) * interval '1 day' + (7.5 + random() * 9.5) * interval '1 hour' AS created,
					random() < 0.7 AS pickup, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
				FROM generate_series(1, %d) i
				JOIN nat_offices o ON o.n = (i::bigint * 7919) %% %d
				JOIN nat_procedures p ON p.n = (i::bigint * 104729) %% 40),
			legs AS (
				SELECT `+natBase+`, r1 > 0.2 OR NOT pickup AS by_post,
					CASE WHEN pickup AND r2 < 0.08 THEN created + (1 + r3 * 20) * interval '1 hour' END AS pickup_failed,
					CASE WHEN pickup THEN created + (0.5 + r3 * r4 * 40 + CASE WHEN r2 < 0.08 THEN 24 ELSE 0 END) * interval '1 hour' END AS picked
				FROM base b),
			agency AS (
				SELECT `+natLegs+`, coalesce(picked, created) + (1 + r4 * r5 * 48) * interval '1 hour' AS handed FROM legs l),
			result AS (
				SELECT `+natAgency+`, handed + (processing_days * (0.55 + r5 * 0.55)) * interval '1 day' + r1 * interval '3 hours' AS ready,
					r3 < 0.03 AS rejected FROM agency a),
			back AS (
				SELECT `+natResult+`, CASE WHEN by_post THEN ready + (2 + r2 * 30) * interval '1 hour' END AS collected,
					CASE WHEN by_post AND r4 < 0.12 THEN ready + (6 + r2 * 50) * interval '1 hour' END AS failed,
					by_post AND r4 < 0.02 AS held,
					(ARRAY['not_at_home', 'refused', 'wrong_address', 'identity_not_proven', 'other'])[1 + floor(r5 * 5)::int] AS reason
				FROM result r)
			SELECT `+natBack+`, CASE WHEN held THEN failed + interval '1 hour' END AS held_at,
				CASE WHEN held AND r3 < 0.8 THEN failed + interval '2 days' WHEN by_post AND NOT held THEN
					ready + (6 + r2 * r3 * 72 + CASE WHEN failed IS NOT NULL THEN 60 ELSE 0 END) * interval '1 hour' END AS delivered,
				CASE WHEN held AND r3 >= 0.8 THEN failed + interval '10 days' END AS returned,
				CASE WHEN NOT by_post THEN ready + r2 * interval '5 days' END AS at_agency
			FROM back b`, start.Format(time.RFC3339), n.Days, NationalDossiers(n.Fraction), nationalOffices)},
		{"", `ANALYZE nat_plan`},
		{"dossiers", `INSERT INTO dossiers (id, receipt_code, procedure_id, agency_id, post_office_id, applicant_name, applicant_phone, applicant_phone_index,
				citizen_id_sealed, citizen_id_index, citizen_id_tail, applicant_address, admin_unit_code, lon, lat, pickup, return_by_post,
				fee_vnd, postage_vnd, payment_method, channel, outside_service_area, state, holder_kind, holder_id, pickup_due, received_at,
				appointment_date, result_ready_at, delivery_due, delivered_at, version, created_at, updated_at)
			SELECT p.id, 'N' || p.i, p.procedure, a.id, p.office, 'x', '0912345678', 'i', 's', 'c' || p.i, '123', 'a', p.unit, 106, 16, p.pickup, p.by_post,
				0, 0, 'nothing_due', 'dispatcher', false,
				CASE WHEN coalesce(p.delivered, p.at_agency, p.returned) <= @now THEN 'delivered' ELSE 'in_progress' END, 'applicant', gen_random_uuid(),
				CASE WHEN p.pickup THEN ((p.created AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + 2) END,
				CASE WHEN p.handed <= @now THEN p.handed END,
				CASE WHEN p.handed <= @now THEN (p.handed AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + p.processing_days END,
				CASE WHEN p.ready <= @now THEN p.ready END,
				CASE WHEN p.by_post AND p.ready <= @now THEN (p.ready AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + 2 END,
				CASE WHEN coalesce(p.delivered, p.at_agency) <= @now THEN coalesce(p.delivered, p.at_agency) END,
				1, p.created, p.created
			FROM nat_plan p JOIN agencies a ON a.code = CASE WHEN p.agency_kind = 'commune_committee' THEN 'NA-commune-' || substr(p.unit, 6)::int
				ELSE 'NA-' || p.agency_kind || '-' || substr(p.province, 3)::int END`},
		{"dossier events", `INSERT INTO dossier_events (dossier_id, at, event, from_state, to_state, actor_role, note)
			SELECT id, at, event, from_state, to_state, 'dispatcher', note FROM nat_plan,
				LATERAL (VALUES (created, 'lodge', '', 'lodged', ''),
					(pickup_failed, 'pickup_failed', 'pickup_assigned', 'pickup_assigned', 'not_at_home'),
					(picked, 'pick_up', 'pickup_assigned', 'picked_up', ''),
					(handed, 'hand_to_agency', 'picked_up', 'at_agency', ''),
					(handed + interval '1 hour', 'agency_accept', 'at_agency', 'processing', ''),
					(ready, CASE WHEN rejected THEN 'agency_reject' ELSE 'result_ready' END, 'processing', 'result_ready', ''),
					(collected, 'collect_result', 'result_ready', 'at_post_office', ''),
					(failed, 'delivery_fail', 'out_for_delivery', 'at_post_office', reason),
					(held_at, 'hold', 'at_post_office', 'held_at_post_office', ''),
					(CASE WHEN held THEN delivered END, 'collect_at_counter', 'held_at_post_office', 'delivered', ''),
					(CASE WHEN NOT held THEN delivered END, 'deliver', 'out_for_delivery', 'delivered', ''),
					(returned, 'return_to_agency', 'held_at_post_office', 'returned', ''),
					(at_agency, 'collect_at_agency', 'result_ready', 'delivered', '')) e(at, event, from_state, to_state, note)
			WHERE at <= @now`},
		{"field stops", `INSERT INTO tasks (id, dossier_id, post_office_id, kind, state, courier_id, scheduled_for, attempts, failure_reason, version, updated_at)
			SELECT gen_random_uuid(), p.id, p.office, t.kind, CASE WHEN t.done <= @now THEN 'done' ELSE 'assigned' END, c.id,
				(t.due AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 1, '', 1, least(t.done, @now)
			FROM nat_plan p CROSS JOIN LATERAL (VALUES ('pickup', p.picked, p.created, 0), ('dropoff', CASE WHEN p.pickup THEN p.handed END, p.picked, 1),
					('collection', p.collected, p.ready, 2), ('delivery', coalesce(p.delivered, p.failed), p.collected, 3)) t(kind, done, due, shift)
				JOIN nat_couriers c ON c.office = p.office AND c.k = (p.i + t.shift) % p.couriers
			WHERE t.due IS NOT NULL AND t.due <= @now AND (p.pickup OR t.kind NOT IN ('pickup', 'dropoff')) AND (p.by_post OR t.kind <> 'collection')`},
		{"collections", `INSERT INTO cash_collections (mutation_id, dossier_id, task_id, courier_id, amount_vnd, method, collected_at, recorded_at)
			SELECT gen_random_uuid(), p.id, t.id, t.courier_id, 25000 + 5000 * (p.i % 10), CASE WHEN p.r1 < 0.85 THEN 'cash' ELSE 'qr' END, p.delivered, p.delivered
			FROM nat_plan p JOIN tasks t ON t.dossier_id = p.id AND t.kind = 'delivery'
			WHERE p.delivered <= @now AND NOT p.held AND p.r5 < 0.35`},
		{"bank transfers", `INSERT INTO payments (id, dossier_id, transaction_id, amount_vnd, paid_at, received_at)
			SELECT gen_random_uuid(), id, 'NB' || i, 75000, created + interval '10 minutes', created + interval '11 minutes'
			FROM nat_plan WHERE r2 > 0.85 AND created + interval '10 minutes' <= @now`},
		{"ratings", `INSERT INTO dossier_ratings (dossier_id, stars, rated_at)
			SELECT id, 1 + floor(r3 * 5)::int, delivered + r1 * interval '48 hours'
			FROM nat_plan WHERE delivered + r1 * interval '48 hours' <= @now AND r4 > 0.75`},
		{"", fmt.Sprintf(`DO $$ DECLARE d date; BEGIN
				FOR d IN SELECT generate_series(DATE '%s', DATE '%s', interval '1 day')::date LOOP
					EXECUTE format('CREATE TABLE IF NOT EXISTS breadcrumbs_%%s PARTITION OF breadcrumbs FOR VALUES FROM (%%L) TO (%%L)',
						to_char(d, 'YYYYMMDD'), d::text || ' 00:00+00', (d + 1)::text || ' 00:00+00');
				END LOOP; END $$`, start.UTC().Format(time.DateOnly), n.Now.UTC().Format(time.DateOnly))},
		// Each working day, each courier's points from 8:00 for 8 hours, wandering.
		{"breadcrumbs", fmt.Sprintf(`INSERT INTO breadcrumbs (device_id, point_seq, at, courier_id, lat, lon, accuracy_m, received_at)
			SELECT c.id, d * 1000 + k, p.at, c.id, 16 + (k %% 7) * 0.002 + (d %% 5) * 0.001, 106 + (k %% 5) * 0.002, 12, p.at
			FROM couriers c, generate_series(0, %d) d, generate_series(0, %d) k,
				LATERAL (SELECT TIMESTAMPTZ '%s' + d * interval '1 day' + interval '8 hours' + k * (interval '8 hours' / %d) AS at) p
			WHERE c.staff_code LIKE 'NC%%' AND p.at <= @now AND %d >= 2`, n.Days-1, crumbs-1, start.Format(time.RFC3339), max(crumbs, 1), crumbs)},
		{"", `DROP TABLE nat_plan, nat_offices, nat_couriers, nat_procedures`},
		{"", `ANALYZE`},
	}
	for _, s := range steps {
		began := time.Now()
		q, values := s.sql, []any{}
		if strings.Contains(q, "@now") {
			q, values = strings.ReplaceAll(q, "@now", "CAST($1 AS timestamptz)"), []any{n.Now.UTC()}
		}
		res, err := conn.ExecContext(ctx, q, values...)
		if err != nil {
			return fmt.Errorf("national seed, %s: %w", s.what, err)
		}
		if s.what != "" {
			rows, _ := res.RowsAffected()
			step(s.what, rows, time.Since(began))
		}
	}
	return nil
}
