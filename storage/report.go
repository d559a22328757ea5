package storage

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/report"
)

// ReportStore computes reports with aggregates over the record.
type ReportStore struct {
	db *DB
	// live computes every day from the record, as if nothing were rolled up: what the
	// rollups are checked against.
	live bool
}

func NewReportStore(db *DB) *ReportStore { return &ReportStore{db: db} }

// NewLiveReportStore computes every report from the record, reading no rollup.
func NewLiveReportStore(db *DB) *ReportStore { return &ReportStore{db: db, live: true} }

// taskOfEvent is the kind of the stop an event completes or fails, in SQL over events e.
const taskOfEvent = `CASE e.event WHEN 'pick_up' THEN 'pickup' WHEN 'pickup_failed' THEN 'pickup' WHEN 'hand_to_agency' THEN 'dropoff'
	WHEN 'collect_result' THEN 'collection' WHEN 'deliver' THEN 'delivery' WHEN 'delivery_fail' THEN 'delivery' END`

// scoped is the condition cutting rows to q's scope, by the columns naming their post
// office and agency, with the arguments it names; the period is @from and @to.
func scoped(q report.Query, office, agency string) (string, map[string]any) {
	where := "TRUE"
	args := map[string]any{"from": q.From.UTC(), "to": q.To.UTC()}
	if q.PostOfficeIDs != nil {
		where += " AND " + office + " IN @offices"
		args["offices"] = q.PostOfficeIDs
		if len(q.PostOfficeIDs) == 0 {
			args["offices"] = []uuid.UUID{uuid.Nil}
		}
	}
	if q.AgencyID != uuid.Nil && agency != "" {
		where += " AND " + agency + " = @agency"
		args["agency"] = q.AgencyID
	}
	return where, args
}

// Couriers implements report.Store. The track's length sums the great-circle distance
// between each day's consecutive breadcrumbs; its time, each day's first to last.
func (s *ReportStore) Couriers(ctx context.Context, q report.Query) ([]report.CourierRow, error) {
	where, args := scoped(q, "c.post_office_id", "")
	args["first"], args["after"] = domain.DateOf(q.From).Format(time.DateOnly), domain.DateOf(q.To).Format(time.DateOnly)
	rows, err := s.db.gorm.WithContext(ctx).Raw(`WITH crumbs AS (
			SELECT b.courier_id, (b.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, b.at, b.lat, b.lon,
				lag(b.lat) OVER w AS plat, lag(b.lon) OVER w AS plon
			FROM breadcrumbs b
			WHERE b.at >= @from AND b.at < @to
			WINDOW w AS (PARTITION BY b.courier_id, (b.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date ORDER BY b.at)),
		days AS (
			SELECT courier_id, extract(epoch FROM max(at) - min(at)) AS on_route_s,
				coalesce(sum(2 * 6371008.8 * asin(sqrt(power(sin(radians(lat - plat) / 2), 2)
					+ cos(radians(plat)) * cos(radians(lat)) * power(sin(radians(lon - plon) / 2), 2)))), 0) AS travelled_m
			FROM crumbs GROUP BY courier_id, day),
		track AS (SELECT courier_id, sum(on_route_s) AS on_route_s, sum(travelled_m) AS travelled_m FROM days GROUP BY courier_id),
		stops AS (
			SELECT t.courier_id,
				count(*) FILTER (WHERE e.event IN ('pick_up', 'hand_to_agency', 'collect_result', 'deliver')) AS done,
				count(*) FILTER (WHERE e.event IN ('pickup_failed', 'delivery_fail')) AS failed
			FROM dossier_events e JOIN tasks t ON t.dossier_id = e.dossier_id AND t.kind = `+taskOfEvent+`
			WHERE e.at >= @from AND e.at < @to AND t.courier_id IS NOT NULL
			GROUP BY t.courier_id),
		planned AS (
			SELECT r.courier_id, sum(r.distance_m) AS planned_m
			FROM dispatch_routes r JOIN dispatch_plans p ON p.id = r.plan_id
			WHERE p.state = 'published' AND p.day >= CAST(@first AS date) AND p.day < CAST(@after AS date)
			GROUP BY r.courier_id)
		SELECT c.id, coalesce(s.done, 0), coalesce(s.failed, 0), coalesce(k.on_route_s, 0), coalesce(k.travelled_m, 0), coalesce(p.planned_m, 0)
		FROM couriers c LEFT JOIN stops s ON s.courier_id = c.id LEFT JOIN track k ON k.courier_id = c.id LEFT JOIN planned p ON p.courier_id = c.id
		WHERE `+where+` AND (s.courier_id IS NOT NULL OR k.courier_id IS NOT NULL OR p.courier_id IS NOT NULL)
		ORDER BY c.id`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	out := []report.CourierRow{}
	for rows.Next() {
		var r report.CourierRow
		var onRoute float64
		if err := rows.Scan(&r.CourierID, &r.StopsDone, &r.StopsFailed, &onRoute, &r.TravelledM, &r.PlannedM); err != nil {
			return nil, translate(err, "report")
		}
		r.OnRoute = time.Duration(onRoute * float64(time.Second)).Round(time.Second)
		out = append(out, r)
	}
	return out, translate(rows.Err(), "report")
}

// Cash implements report.Store: the door's collections by the office of the stop they were
// taken at, the bank's transfers by the dossier's office.
func (s *ReportStore) Cash(ctx context.Context, q report.Query) ([]report.CashRow, error) {
	where, args := scoped(q, "office", "")
	rows, err := s.db.gorm.WithContext(ctx).Raw(`WITH money AS (
			SELECT t.post_office_id AS office, (c.collected_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, c.method, c.amount_vnd, false AS bank
			FROM cash_collections c JOIN tasks t ON t.id = c.task_id
			WHERE c.collected_at >= @from AND c.collected_at < @to
			UNION ALL
			SELECT d.post_office_id, (p.paid_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, '', p.amount_vnd, true
			FROM payments p JOIN dossiers d ON d.id = p.dossier_id
			WHERE p.paid_at >= @from AND p.paid_at < @to)
		SELECT office, day, count(*) FILTER (WHERE NOT bank), coalesce(sum(amount_vnd) FILTER (WHERE NOT bank), 0),
			coalesce(sum(amount_vnd) FILTER (WHERE method = 'cash'), 0),
			coalesce(sum(amount_vnd) FILTER (WHERE NOT bank AND method <> 'cash'), 0),
			coalesce(sum(amount_vnd) FILTER (WHERE bank), 0)
		FROM money WHERE `+where+`
		GROUP BY office, day ORDER BY office, day`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	out := []report.CashRow{}
	for rows.Next() {
		var r report.CashRow
		if err := rows.Scan(&r.PostOfficeID, &r.Day, &r.Collections, &r.CollectedVND, &r.CashVND, &r.TransferVND, &r.BankVND); err != nil {
			return nil, translate(err, "report")
		}
		out = append(out, r)
	}
	return out, translate(rows.Err(), "report")
}

// seconds is a count of seconds as a duration, nil when there is none.
func seconds(s sql.NullFloat64) *time.Duration {
	if !s.Valid {
		return nil
	}
	d := time.Duration(s.Float64 * float64(time.Second)).Round(time.Second)
	return &d
}
