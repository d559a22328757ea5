package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/report"
)

// The rollups (migration 00034, docs/REPORTS.md "Rollups"): report_flow_rows and
// report_late_rows compute a span of days from the record; the job keeps their rows of each
// settled day, and a report reads those rows for the settled days of its period and calls
// the same functions for the others (today, the days not rolled up yet, and the dirty days:
// settled days that recorded something since they were rolled up).

// rollupKeyings are the keyings the flow's rows are kept by; by post office sums the agency's.
var rollupKeyings = []string{"agency", "procedure", "courier"}

// keying is the rollup keying a grouping reads, and the column naming its groups.
func keying(by report.Grouping) (string, string) {
	if by == report.ByPostOffice {
		return "agency", "post_office_id"
	}
	return string(by), "key"
}

// span is how a report's period is read: the first days of the months read whole from
// their month rows, the settled days read from their day rows, and the spans [from, to)
// computed from the record.
type span struct {
	months, days []string
	from, to     []time.Time
}

// splitPeriod splits q's period by what is rolled up, as the state stands; live reads
// none of it. With partial, the rolled-up part of the day rolled up to is read from its
// rows and the rest of it from the record; without, all of that day from the record.
func splitPeriod(tx *gorm.DB, q report.Query, live, partial bool) (span, error) {
	first, after := domain.DateOf(q.From), domain.DateOf(q.To)
	var rolled sql.NullTime
	var dirty string
	if err := tx.Raw(`SELECT rolled, array_to_string(ARRAY(SELECT day FROM report_dirty_days WHERE day >= $1 AND day < $2), ',')
		FROM report_rollup_state`, first.Format(time.DateOnly), after.Format(time.DateOnly)).Row().Scan(&rolled, &dirty); err != nil {
		return span{}, err
	}
	isDirty := map[string]bool{}
	for d := range strings.SplitSeq(dirty, ",") {
		isDirty[d] = true
	}
	clean := func(d time.Time) bool { return !live && rolled.Valid && !isDirty[d.Format(time.DateOnly)] }
	settled := func(d time.Time) bool { return clean(d) && !rolled.Time.Before(domain.Midnight(d.AddDate(0, 0, 1))) }
	var s span
	addLive := func(from, to time.Time) {
		if n := len(s.to); n > 0 && s.to[n-1].Equal(from) {
			s.to[n-1] = to
			return
		}
		s.from, s.to = append(s.from, from), append(s.to, to)
	}
	for d := first; d.Before(after); {
		month := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		next := month.AddDate(0, 1, 0)
		whole := d.Equal(month) && !next.After(after)
		for e := d; whole && e.Before(next); e = e.AddDate(0, 0, 1) {
			whole = settled(e)
		}
		if whole {
			s.months = append(s.months, d.Format(time.DateOnly))
			d = next
			continue
		}
		end := domain.Midnight(d.AddDate(0, 0, 1))
		switch {
		case settled(d):
			s.days = append(s.days, d.Format(time.DateOnly))
		case partial && clean(d) && rolled.Time.After(domain.Midnight(d)):
			s.days = append(s.days, d.Format(time.DateOnly))
			addLive(rolled.Time, end)
		default:
			addLive(domain.Midnight(d), end)
		}
		d = d.AddDate(0, 0, 1)
	}
	return s, nil
}

// live is the SQL computing the spans from the record: for each, " UNION ALL " and call
// with its bounds as the next two parameters after args (call's two %s), which it
// returns appended. Bounds as parameters, not rows of an array: with their values known
// the planner reads a day's events by their time and their dossiers one by one.
func (sp span) live(call string, args []any) (string, []any) {
	var sql strings.Builder
	for i := range sp.from {
		n := len(args)
		fmt.Fprintf(&sql, " UNION ALL "+call, fmt.Sprintf("CAST($%d AS timestamptz)", n+1), fmt.Sprintf("CAST($%d AS timestamptz)", n+2))
		args = append(args, sp.from[i], sp.to[i])
	}
	return sql.String(), args
}

// allDays are the rolled-up days read, a month read whole as its days: for the rollups
// kept by day only.
func (sp span) allDays() []string {
	days := slices.Clone(sp.days)
	for _, m := range sp.months {
		first, _ := time.Parse(time.DateOnly, m)
		for d := first; d.Before(first.AddDate(0, 1, 0)); d = d.AddDate(0, 0, 1) {
			days = append(days, d.Format(time.DateOnly))
		}
	}
	return days
}

// scopeArgs are q's scope as report_flow_rows and report_late_rows take it: NULL for all.
func scopeArgs(q report.Query) (offices, agency any) {
	if q.PostOfficeIDs != nil {
		offices = append([]uuid.UUID{}, q.PostOfficeIDs...)
	}
	if q.AgencyID != uuid.Nil {
		agency = q.AgencyID
	}
	return offices, agency
}

// readReport runs read in one repeatable-read transaction over q's period split as the
// rollups stand, so that the split and the rows it reads are of one moment.
func (s *ReportStore) readReport(ctx context.Context, q report.Query, partial bool, read func(tx *gorm.DB, sp span) error) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A plan made for these values, never a generic one: a day's bounds or one
		// office's id make a plan that reads a few rows by index.
		if err := tx.Exec(`SET LOCAL plan_cache_mode = force_custom_plan`).Error; err != nil {
			return err
		}
		sp, err := splitPeriod(tx, q, s.live, partial)
		if err != nil {
			return err
		}
		return read(tx, sp)
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}

// flowColumns are report_flow_rows' figures, which a rollup row keeps as they are.
const flowColumns = `relevant, picked_up, handed_to_agency, results_collected, delivered_by_post, collected_at_counter,
	collected_at_agency, pickup_on_time, pickup_late, agency_on_time, agency_late, delivery_on_time, delivery_late,
	delivery_failed, held, returned, lead_sum, lead_hist, failed_reasons, ratings, stars`

// sumFlow is the SQL summing the flow's rows in src (flowColumns and the group's columns)
// by the group's columns: the one way rows are added, for a month's rollup and for a
// report. The buckets and the reasons are summed key by key.
func sumFlow(src, group string) string {
	return `WITH src AS MATERIALIZED (` + src + `),
	hist AS (SELECT ` + group + `, jsonb_object_agg(b, n) AS lead_hist FROM (
		SELECT ` + group + `, b, sum(n::bigint) AS n FROM src, jsonb_each_text(lead_hist) AS j(b, n) GROUP BY ` + group + `, b) x GROUP BY ` + group + `),
	why AS (SELECT ` + group + `, jsonb_object_agg(b, n) AS failed_reasons FROM (
		SELECT ` + group + `, b, sum(n::bigint) AS n FROM src, jsonb_each_text(failed_reasons) AS j(b, n) GROUP BY ` + group + `, b) x GROUP BY ` + group + `),
	sums AS (SELECT ` + group + `, sum(relevant) AS relevant, sum(picked_up) AS picked_up, sum(handed_to_agency) AS handed_to_agency,
		sum(results_collected) AS results_collected, sum(delivered_by_post) AS delivered_by_post, sum(collected_at_counter) AS collected_at_counter,
		sum(collected_at_agency) AS collected_at_agency, sum(pickup_on_time) AS pickup_on_time, sum(pickup_late) AS pickup_late,
		sum(agency_on_time) AS agency_on_time, sum(agency_late) AS agency_late, sum(delivery_on_time) AS delivery_on_time,
		sum(delivery_late) AS delivery_late, sum(delivery_failed) AS delivery_failed, sum(held) AS held, sum(returned) AS returned,
		sum(lead_sum) AS lead_sum, sum(ratings) AS ratings, sum(stars) AS stars
		FROM src GROUP BY ` + group + `)
	SELECT ` + group + `, ` + flowColumns + `
	FROM sums LEFT JOIN hist USING (` + group + `) LEFT JOIN why USING (` + group + `)`
}

// Flow implements report.Store: the rollups' rows of the settled days and the record's
// of the others, summed by group.
func (s *ReportStore) Flow(ctx context.Context, q report.Query) ([]report.FlowRow, error) {
	by, group := keying(q.By)
	offices, agency := scopeArgs(q)
	out := []report.FlowRow{}
	err := s.readReport(ctx, q, true, func(tx *gorm.DB, sp span) error {
		live, args := sp.live(`SELECT r.post_office_id, r.agency_id, r.key, `+prefixed("r.", flowColumns)+`
			FROM report_flow_rows(%s, %s, $1, $4::uuid[], $5::uuid) r`, []any{by, sp.months, sp.days, offices, agency})
		rows, err := tx.Raw(sumFlow(`
			SELECT post_office_id, agency_id, key, `+flowColumns+` FROM report_flow_rollup
			WHERE by_key = $1 AND ((span = 'm' AND day = ANY (CAST($2 AS date[]))) OR (span = 'd' AND day = ANY (CAST($3 AS date[]))))
				AND ($4::uuid[] IS NULL OR post_office_id = ANY ($4::uuid[])) AND ($5::uuid IS NULL OR agency_id = $5::uuid)`+live, group)+`
			WHERE relevant > 0 OR ratings > 0 ORDER BY 1`, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r report.FlowRow
			var relevant int
			var lead sql.NullFloat64
			var hist, reasons jsonCounts
			if err := rows.Scan(&r.Key, &relevant, &r.PickedUp, &r.HandedToAgency, &r.ResultsCollected, &r.DeliveredByPost, &r.CollectedAtCounter,
				&r.CollectedAtAgency, &r.PickupLeg.OnTime, &r.PickupLeg.Late, &r.AgencyLeg.OnTime, &r.AgencyLeg.Late,
				&r.DeliveryLeg.OnTime, &r.DeliveryLeg.Late, &r.DeliveryFailed, &r.Held, &r.Returned, &lead, &hist, &reasons,
				&r.Ratings, &r.RatingStars); err != nil {
				return err
			}
			r.Delivered = r.DeliveredByPost + r.CollectedAtCounter + r.CollectedAtAgency
			if r.PickedUp > 0 {
				r.PickupLeadMean = seconds(sql.NullFloat64{Float64: lead.Float64 / float64(r.PickedUp), Valid: lead.Valid})
				r.PickupLeadMedian = medianLead(hist, r.PickedUp)
			}
			r.FailedByReason = map[string]int(reasons)
			if r.FailedByReason == nil {
				r.FailedByReason = map[string]int{}
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, translate(err, "report")
}

// prefixed names each of the comma-separated columns with the table's prefix.
func prefixed(prefix, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = prefix + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

// leadBucketGrowth is report_lead_bucket's: each bucket 10% wider than the last, from a
// minute up; bucket 0 holds the leads under a minute.
const leadBucketGrowth = 1.1

// medianLead is the pickup lead of the median pickup (the ⌈n/2⌉th shortest) as its bucket
// tells it: the bucket's geometric middle (30 s for the first), within 5% of the lead.
func medianLead(hist jsonCounts, n int) *time.Duration {
	rank, seen := (n+1)/2, 0
	for b := 0; b <= 200; b++ {
		seen += hist[fmt.Sprint(b)]
		if seen >= rank {
			s := 30.0
			if b > 0 {
				s = 60 * math.Pow(leadBucketGrowth, float64(b)-0.5)
			}
			return seconds(sql.NullFloat64{Float64: s, Valid: true})
		}
	}
	return nil
}

// jsonCounts is a JSON object of counts, as the rollups keep buckets and reasons.
type jsonCounts map[string]int

func (c *jsonCounts) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = nil
		return nil
	case []byte:
		return json.Unmarshal(v, c)
	case string:
		return json.Unmarshal([]byte(v), c)
	}
	return fmt.Errorf("counts: unexpected %T", src)
}

// rollupChunkDays is how many days one statement rolls up: a first run over a national
// year goes a week at a time rather than in one aggregate over all of it.
const rollupChunkDays = 7

// RolledUp is what one run of RollUp did.
type RolledUp struct {
	Days, Months int
	Through      time.Time // what was recorded before it is rolled up
}

// RollUp rolls up what was recorded before now: the days not rolled up yet, today's part
// so far, and the days marked dirty since they were, then the months all of whose days
// are over. First it moves the marking to now, under the lock every recording
// transaction shares, so that each recording before now is either seen here or marks
// its day for the next run.
func RollUp(ctx context.Context, db *DB, now time.Time) (RolledUp, error) {
	if err := db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(report_rollup_lock())`).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE report_rollup_state SET marked = $1 WHERE marked IS NULL OR marked < $1`, now.UTC()).Error
	}); err != nil {
		return RolledUp{}, fmt.Errorf("roll up reports: %w", err)
	}
	var run RolledUp
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		var rolled sql.NullTime
		var marked time.Time
		// One run at a time: the row stays locked until this one commits.
		if err := tx.Raw(`SELECT rolled, marked FROM report_rollup_state FOR UPDATE`).Row().Scan(&rolled, &marked); err != nil {
			return err
		}
		run.Through = marked
		today := domain.DateOf(marked)
		// Deleting a mark waits for the transaction that holds it, whose events the
		// statements below then see.
		var dirty []time.Time
		if err := tx.Raw(`DELETE FROM report_dirty_days WHERE day <= $1 RETURNING day`, today).Scan(&dirty).Error; err != nil {
			return err
		}
		start := today
		if rolled.Valid {
			start = domain.DateOf(rolled.Time)
		} else {
			var first sql.NullTime
			if err := tx.Raw(`SELECT (least((SELECT min(at) FROM dossier_events), (SELECT min(rated_at) FROM dossier_ratings)) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date`).
				Row().Scan(&first); err != nil {
				return err
			}
			if first.Valid && first.Time.Before(today) {
				start = first.Time.UTC()
			}
		}
		days := map[time.Time]bool{}
		for _, d := range dirty {
			days[d.UTC()] = true
		}
		for d := start; !d.After(today); d = d.AddDate(0, 0, 1) {
			days[d] = true
		}
		months := map[time.Time]bool{}
		for _, r := range dayRuns(days) {
			if err := rollDays(tx, r[0], r[1], marked); err != nil {
				return err
			}
			for d := r[0]; d.Before(r[1]); d = d.AddDate(0, 0, 1) {
				months[time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)] = true
			}
		}
		run.Days = len(days)
		for m := range months {
			if m.AddDate(0, 1, 0).After(today) {
				continue
			}
			if err := rollMonth(tx, m); err != nil {
				return err
			}
			run.Months++
		}
		return tx.Exec(`UPDATE report_rollup_state SET rolled = marked`).Error
	})
	if err != nil {
		return RolledUp{}, fmt.Errorf("roll up reports: %w", err)
	}
	return run, nil
}

// dayRuns are the days as runs [first, after) of consecutive days, each at most
// rollupChunkDays long, in order.
func dayRuns(days map[time.Time]bool) [][2]time.Time {
	sorted := slices.SortedFunc(maps.Keys(days), time.Time.Compare)
	var runs [][2]time.Time
	for _, d := range sorted {
		if n := len(runs); n > 0 && runs[n-1][1].Equal(d) && d.Sub(runs[n-1][0]) < rollupChunkDays*24*time.Hour {
			runs[n-1][1] = d.AddDate(0, 0, 1)
			continue
		}
		runs = append(runs, [2]time.Time{d, d.AddDate(0, 0, 1)})
	}
	return runs
}

// rollDays replaces the rollups' rows (the flow's, the couriers', the takings', the late
// legs) of the days [first, after) by the record's, up to until: a day it cuts holds its
// part before until, except in the couriers' rollup (a day's track is not the sum of its
// parts) and the takings' (a hand-in counts by a day, not an instant), which hold whole
// days only.
func rollDays(tx *gorm.DB, first, after, until time.Time) error {
	from, to := domain.Midnight(first), domain.Midnight(after)
	whole := domain.Midnight(domain.DateOf(until))
	if to.Before(whole) {
		whole = to
	}
	if until.Before(to) {
		to = until
	}
	if err := tx.Exec(`DELETE FROM report_flow_rollup WHERE span = 'd' AND day >= $1 AND day < $2`, first, after).Error; err != nil {
		return err
	}
	for _, by := range rollupKeyings {
		if err := tx.Exec(`INSERT INTO report_flow_rollup (span, by_key, day, post_office_id, agency_id, key, `+flowColumns+`)
			SELECT 'd', $3, day, post_office_id, agency_id, key, `+flowColumns+` FROM report_flow_rows($1, $2, $3, NULL, NULL)`, from, to, by).Error; err != nil {
			return err
		}
	}
	if err := tx.Exec(`DELETE FROM report_courier_rollup WHERE span = 'd' AND day >= $1 AND day < $2`, first, after).Error; err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO report_courier_rollup (span, day, courier_id, stops_done, stops_failed, on_route_s, travelled_m, planned_m)
		SELECT 'd', day, courier_id, stops_done, stops_failed, on_route_s, travelled_m, planned_m FROM report_courier_rows($1, $2, NULL) WHERE $1 < $2`, from, whole).Error; err != nil {
		return err
	}
	if err := tx.Exec(`DELETE FROM report_cash_rollup WHERE day >= $1 AND day < $2`, first, after).Error; err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO report_cash_rollup (day, post_office_id, `+cashColumns+`)
		SELECT day, post_office_id, `+cashColumns+` FROM report_cash_rows($1, $2, NULL) WHERE $1 < $2`, from, whole).Error; err != nil {
		return err
	}
	if err := tx.Exec(`DELETE FROM report_late_rollup WHERE day >= $1 AND day < $2`, first, after).Error; err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO report_late_rollup (day, at, dossier_id, receipt_code, post_office_id, agency_id, leg, due, ended)
		SELECT (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, at, dossier_id, receipt_code, post_office_id, agency_id, leg, due, ended
		FROM report_late_rows($1, $2, NULL, NULL)`, from, to).Error
}

// rollMonth replaces the month's rows (the flow's, the couriers') by the sums of its days'.
func rollMonth(tx *gorm.DB, month time.Time) error {
	if err := tx.Exec(`DELETE FROM report_flow_rollup WHERE span = 'm' AND day = $1`, month).Error; err != nil {
		return err
	}
	if err := tx.Exec(`DELETE FROM report_courier_rollup WHERE span = 'm' AND day = $1`, month).Error; err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO report_courier_rollup (span, day, courier_id, stops_done, stops_failed, on_route_s, travelled_m, planned_m)
		SELECT 'm', $1, courier_id, sum(stops_done), sum(stops_failed), sum(on_route_s), sum(travelled_m), sum(planned_m)
		FROM report_courier_rollup WHERE span = 'd' AND day >= $1 AND day < $2 GROUP BY courier_id`, month, month.AddDate(0, 1, 0)).Error; err != nil {
		return err
	}
	for _, by := range rollupKeyings {
		if err := tx.Exec(`INSERT INTO report_flow_rollup (span, by_key, day, post_office_id, agency_id, key, `+flowColumns+`)
			SELECT 'm', $1, $2, post_office_id, agency_id, key, `+flowColumns+` FROM (`+sumFlow(`
				SELECT post_office_id, agency_id, key, `+flowColumns+` FROM report_flow_rollup
				WHERE by_key = $1 AND span = 'd' AND day >= $2 AND day < $3`, "post_office_id, agency_id, key")+`) m`,
			by, month, month.AddDate(0, 1, 0)).Error; err != nil {
			return err
		}
	}
	return nil
}

// LateLegs implements report.Store: the rollup's late legs of the settled days and the
// record's of the others, the first most+1 in the order they ended, each with the reasons
// of the failed attempts on its way (none for the agency's leg).
func (s *ReportStore) LateLegs(ctx context.Context, q report.Query, most int) ([]report.LateLeg, error) {
	offices, agency := scopeArgs(q)
	out := []report.LateLeg{}
	err := s.readReport(ctx, q, true, func(tx *gorm.DB, sp span) error {
		live, args := sp.live(`SELECT at, dossier_id, receipt_code, post_office_id, agency_id, leg, due, ended FROM report_late_rows(%s, %s, $2::uuid[], $3::uuid) r`, []any{sp.allDays(), offices, agency, most + 1})
		rows, err := tx.Raw(`WITH late AS (
				(SELECT at, dossier_id, receipt_code, post_office_id, agency_id, leg, due, ended FROM report_late_rollup
				WHERE day = ANY (CAST($1 AS date[]))
					AND ($2::uuid[] IS NULL OR post_office_id = ANY ($2::uuid[])) AND ($3::uuid IS NULL OR agency_id = $3::uuid)
				ORDER BY at, dossier_id, leg LIMIT $4)`+live+`)
			SELECT l.dossier_id, l.receipt_code, l.post_office_id, l.agency_id, l.leg, l.due, l.ended,
				array_to_string(ARRAY(SELECT f.note FROM dossier_events f WHERE f.dossier_id = l.dossier_id AND f.at <= l.at
					AND f.event = CASE l.leg WHEN 'pickup' THEN 'pickup_failed' WHEN 'delivery' THEN 'delivery_fail' END ORDER BY f.id), ',')
			FROM (SELECT at, dossier_id, receipt_code, post_office_id, agency_id, leg, due, ended FROM late ORDER BY at, dossier_id, leg LIMIT $4) l ORDER BY l.at, l.dossier_id, l.leg`, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l report.LateLeg
			var reasons string
			if err := rows.Scan(&l.DossierID, &l.Receipt, &l.PostOfficeID, &l.AgencyID, &l.Leg, &l.Due, &l.Ended, &reasons); err != nil {
				return err
			}
			l.Reasons = []string{}
			if reasons != "" {
				l.Reasons = strings.Split(reasons, ",")
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	return out, translate(err, "report")
}
