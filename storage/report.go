package storage

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

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

// flowEvents is the period's events, each with its dossier's columns and its group's key,
// cut to the caller's scope. The tasks are joined only for the courier grouping.
func flowEvents(q report.Query) (string, map[string]any) {
	where := "e.at >= @from AND e.at < @to"
	args := map[string]any{"from": q.From.UTC(), "to": q.To.UTC()}
	if q.PostOfficeIDs != nil {
		where += " AND d.post_office_id IN @offices"
		args["offices"] = q.PostOfficeIDs
		if len(q.PostOfficeIDs) == 0 {
			args["offices"] = []uuid.UUID{uuid.Nil}
		}
	}
	if q.AgencyID != uuid.Nil {
		where += " AND d.agency_id = @agency"
		args["agency"] = q.AgencyID
	}
	join := ""
	if q.By == report.ByCourier {
		join = `LEFT JOIN tasks t ON t.dossier_id = e.dossier_id AND t.kind = CASE e.event
			WHEN 'pick_up' THEN 'pickup' WHEN 'collect_result' THEN 'collection'
			WHEN 'deliver' THEN 'delivery' WHEN 'delivery_fail' THEN 'delivery' END`
	}
	return `WITH ev AS (
		SELECT ` + groupKeys[q.By] + ` AS key, e.event, e.at, e.note, e.from_state, e.to_state, d.created_at, d.return_by_post, d.pickup_due, d.appointment_date,
			d.delivery_due, (d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_on,
			(d.result_ready_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS ready_on,
			(d.delivered_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS delivered_on
		FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id ` + join + `
		WHERE ` + where + `)`, args
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
	return out, translate(reasons.Err(), "report")
}

// seconds is a count of seconds as a duration, nil when there is none.
func seconds(s sql.NullFloat64) *time.Duration {
	if !s.Valid {
		return nil
	}
	d := time.Duration(s.Float64 * float64(time.Second)).Round(time.Second)
	return &d
}
