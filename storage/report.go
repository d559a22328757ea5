package storage

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/report"
)

// ReportStore computes reports with aggregates over the record.
type ReportStore struct{ db *DB }

func NewReportStore(db *DB) *ReportStore { return &ReportStore{db: db} }

// groupKeys is the SQL of each grouping's key over the events (e), their dossiers (d) and,
// for couriers, the stop the event completes (t).
var groupKeys = map[report.Grouping]string{
	report.ByPostOffice: "d.post_office_id",
	report.ByAgency:     "d.agency_id",
	report.ByProcedure:  "d.procedure_id",
	report.ByCourier:    "t.courier_id",
}

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

// flowEvents is the period's events, each with its dossier's columns and its group's key,
// cut to the caller's scope. The tasks are joined only for the courier grouping.
func flowEvents(q report.Query) (string, map[string]any) {
	where, args := scoped(q, "d.post_office_id", "d.agency_id")
	join := ""
	if q.By == report.ByCourier {
		join = `LEFT JOIN tasks t ON t.dossier_id = e.dossier_id AND t.kind = ` + taskOfEvent
	}
	return `WITH ev AS (
		SELECT ` + groupKeys[q.By] + ` AS key, e.dossier_id, d.receipt_code, d.post_office_id, d.agency_id, e.event, e.at, e.note, e.from_state, e.to_state, d.created_at, d.return_by_post, d.pickup_due,
			d.appointment_date, d.delivery_due, (d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_on,
			(d.result_ready_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS ready_on,
			(d.delivered_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS delivered_on
		FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id ` + join + `
		WHERE e.at >= @from AND e.at < @to AND ` + where + `)`, args
}

// Flow implements report.Store: one pass over the period's events for the counts, one over
// its failed attempts for their reasons.
func (s *ReportStore) Flow(ctx context.Context, q report.Query) ([]report.FlowRow, error) {
	with, args := flowEvents(q)
	db := s.db.gorm.WithContext(ctx)
	rows, err := db.Raw(with+`
		SELECT key,
			count(*) FILTER (WHERE event = 'pick_up'),
			count(*) FILTER (WHERE event = 'hand_to_agency'),
			count(*) FILTER (WHERE event = 'collect_result'),
			count(*) FILTER (WHERE event = 'deliver'),
			count(*) FILTER (WHERE event = 'collect_at_counter'),
			count(*) FILTER (WHERE event = 'collect_at_agency'),
			count(*) FILTER (WHERE event = 'hand_to_agency' AND received_on <= pickup_due),
			count(*) FILTER (WHERE event = 'hand_to_agency' AND received_on > pickup_due),
			count(*) FILTER (WHERE event IN ('result_ready', 'agency_reject') AND ready_on <= appointment_date),
			count(*) FILTER (WHERE event IN ('result_ready', 'agency_reject') AND ready_on > appointment_date),
			count(*) FILTER (WHERE event IN ('deliver', 'collect_at_counter') AND return_by_post AND delivered_on <= delivery_due),
			count(*) FILTER (WHERE event IN ('deliver', 'collect_at_counter') AND return_by_post AND delivered_on > delivery_due),
			count(*) FILTER (WHERE event = 'delivery_fail'),
			count(*) FILTER (WHERE to_state = 'held_at_post_office' AND from_state <> 'held_at_post_office'),
			count(*) FILTER (WHERE event = 'return_to_agency'),
			avg(extract(epoch FROM at - created_at)) FILTER (WHERE event = 'pick_up'),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM at - created_at)) FILTER (WHERE event = 'pick_up')
		FROM ev WHERE key IS NOT NULL
		GROUP BY key
		HAVING count(*) FILTER (WHERE event IN ('pick_up', 'hand_to_agency', 'collect_result', 'deliver', 'collect_at_counter',
			'collect_at_agency', 'result_ready', 'agency_reject', 'delivery_fail', 'return_to_agency')
			OR to_state = 'held_at_post_office') > 0
		ORDER BY key`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	out := []report.FlowRow{}
	at := map[uuid.UUID]int{}
	for rows.Next() {
		var r report.FlowRow
		var mean, median sql.NullFloat64
		if err := rows.Scan(&r.Key, &r.PickedUp, &r.HandedToAgency, &r.ResultsCollected, &r.DeliveredByPost, &r.CollectedAtCounter,
			&r.CollectedAtAgency, &r.PickupLeg.OnTime, &r.PickupLeg.Late, &r.AgencyLeg.OnTime, &r.AgencyLeg.Late,
			&r.DeliveryLeg.OnTime, &r.DeliveryLeg.Late, &r.DeliveryFailed, &r.Held, &r.Returned, &mean, &median); err != nil {
			return nil, translate(err, "report")
		}
		r.Delivered = r.DeliveredByPost + r.CollectedAtCounter + r.CollectedAtAgency
		r.PickupLeadMean, r.PickupLeadMedian = seconds(mean), seconds(median)
		r.FailedByReason = map[string]int{}
		at[r.Key] = len(out)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "report")
	}
	reasons, err := db.Raw(with+`SELECT key, note, count(*) FROM ev WHERE key IS NOT NULL AND event = 'delivery_fail' GROUP BY key, note`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer reasons.Close()
	for reasons.Next() {
		var key uuid.UUID
		var reason string
		var n int
		if err := reasons.Scan(&key, &reason, &n); err != nil {
			return nil, translate(err, "report")
		}
		// A failure recorded between the two reads may fall in a group the first did not see.
		if i, ok := at[key]; ok {
			out[i].FailedByReason[reason] = n
		}
	}
	if err := reasons.Err(); err != nil {
		return nil, translate(err, "report")
	}
	return s.addRatings(ctx, q, out, at)
}

// addRatings adds the period's ratings to the flow's rows, with a row of its own for a
// group that had nothing else in the period. A courier's ratings are their deliveries'.
func (s *ReportStore) addRatings(ctx context.Context, q report.Query, out []report.FlowRow, at map[uuid.UUID]int) ([]report.FlowRow, error) {
	where, args := scoped(q, "d.post_office_id", "d.agency_id")
	join := ""
	if q.By == report.ByCourier {
		join = `LEFT JOIN tasks t ON t.dossier_id = d.id AND t.kind = 'delivery'`
	}
	rows, err := s.db.gorm.WithContext(ctx).Raw(`SELECT `+groupKeys[q.By]+` AS key, count(*), sum(r.stars)
		FROM dossier_ratings r JOIN dossiers d ON d.id = r.dossier_id `+join+`
		WHERE r.rated_at >= @from AND r.rated_at < @to AND `+where+` AND `+groupKeys[q.By]+` IS NOT NULL
		GROUP BY 1`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	for rows.Next() {
		var key uuid.UUID
		var n, stars int
		if err := rows.Scan(&key, &n, &stars); err != nil {
			return nil, translate(err, "report")
		}
		i, ok := at[key]
		if !ok {
			i, at[key] = len(out), len(out)
			out = append(out, report.FlowRow{Key: key, FailedByReason: map[string]int{}})
		}
		out[i].Ratings, out[i].RatingStars = n, stars
	}
	slices.SortFunc(out, func(a, b report.FlowRow) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return out, translate(rows.Err(), "report")
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
	if err := rows.Err(); err != nil {
		return nil, translate(err, "report")
	}
	return s.addSettlements(ctx, q, out)
}

// addSettlements adds to the cash rows what was handed in at each office's counter for the
// day's collections and what was remitted to agencies that day for its dossiers, with a
// row of its own for an office and day that had nothing else.
func (s *ReportStore) addSettlements(ctx context.Context, q report.Query, out []report.CashRow) ([]report.CashRow, error) {
	where, args := scoped(q, "office", "")
	args["first"], args["after"] = domain.DateOf(q.From).Format(time.DateOnly), domain.DateOf(q.To).Format(time.DateOnly)
	rows, err := s.db.gorm.WithContext(ctx).Raw(`WITH settled AS (
			SELECT h.post_office_id AS office, h.day, h.counted_vnd AS handed_in, greatest(h.to_hand_in_vnd - h.counted_vnd, 0) AS short,
				greatest(h.counted_vnd - h.to_hand_in_vnd, 0) AS over, 0::bigint AS remitted
			FROM cash_handins h WHERE h.day >= CAST(@first AS date) AND h.day < CAST(@after AS date)
			UNION ALL
			SELECT d.post_office_id, (r.remitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 0, 0, 0, m.agency_vnd
			FROM remittances r JOIN remitted_money m ON m.remittance_id = r.id JOIN dossiers d ON d.id = m.dossier_id
			WHERE r.remitted_at >= @from AND r.remitted_at < @to)
		SELECT office, day, sum(handed_in), sum(short), sum(over), sum(remitted)
		FROM settled WHERE `+where+`
		GROUP BY office, day`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	type key struct {
		office uuid.UUID
		day    string
	}
	at := map[key]int{}
	for i, r := range out {
		at[key{r.PostOfficeID, r.Day.Format(time.DateOnly)}] = i
	}
	for rows.Next() {
		var r report.CashRow
		if err := rows.Scan(&r.PostOfficeID, &r.Day, &r.HandedInVND, &r.ShortVND, &r.OverVND, &r.RemittedVND); err != nil {
			return nil, translate(err, "report")
		}
		i, ok := at[key{r.PostOfficeID, r.Day.Format(time.DateOnly)}]
		if !ok {
			out = append(out, r)
			continue
		}
		out[i].HandedInVND, out[i].ShortVND, out[i].OverVND, out[i].RemittedVND = r.HandedInVND, r.ShortVND, r.OverVND, r.RemittedVND
	}
	slices.SortFunc(out, func(a, b report.CashRow) int {
		if c := bytes.Compare(a.PostOfficeID[:], b.PostOfficeID[:]); c != 0 {
			return c
		}
		return a.Day.Compare(b.Day)
	})
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

// LateLegs implements report.Store: the period's ends of legs past their targets, each with
// the reasons of the failed attempts on its way (none for the agency's leg).
func (s *ReportStore) LateLegs(ctx context.Context, q report.Query, most int) ([]report.LateLeg, error) {
	with, args := flowEvents(q)
	args["most"] = most + 1
	rows, err := s.db.gorm.WithContext(ctx).Raw(with+`, late AS (
			SELECT dossier_id, receipt_code, post_office_id, agency_id, 'pickup' AS leg, pickup_due AS due, received_on AS ended, at
			FROM ev WHERE event = 'hand_to_agency' AND received_on > pickup_due
			UNION ALL
			SELECT dossier_id, receipt_code, post_office_id, agency_id, 'agency', appointment_date, ready_on, at
			FROM ev WHERE event IN ('result_ready', 'agency_reject') AND ready_on > appointment_date
			UNION ALL
			SELECT dossier_id, receipt_code, post_office_id, agency_id, 'delivery', delivery_due, delivered_on, at
			FROM ev WHERE event IN ('deliver', 'collect_at_counter') AND return_by_post AND delivered_on > delivery_due)
		SELECT l.dossier_id, l.receipt_code, l.post_office_id, l.agency_id, l.leg, l.due, l.ended,
			array_to_string(ARRAY(SELECT f.note FROM dossier_events f WHERE f.dossier_id = l.dossier_id AND f.at <= l.at
				AND f.event = CASE l.leg WHEN 'pickup' THEN 'pickup_failed' WHEN 'delivery' THEN 'delivery_fail' END ORDER BY f.id), ',')
		FROM late l ORDER BY l.at, l.dossier_id LIMIT @most`, args).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	out := []report.LateLeg{}
	for rows.Next() {
		var l report.LateLeg
		var reasons string
		if err := rows.Scan(&l.DossierID, &l.Receipt, &l.PostOfficeID, &l.AgencyID, &l.Leg, &l.Due, &l.Ended, &reasons); err != nil {
			return nil, translate(err, "report")
		}
		l.Reasons = []string{}
		if reasons != "" {
			l.Reasons = strings.Split(reasons, ",")
		}
		out = append(out, l)
	}
	return out, translate(rows.Err(), "report")
}
