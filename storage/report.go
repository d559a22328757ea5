package storage

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

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

// Couriers implements report.Store: the rollups' courier-days of the settled days and the
// record's of the others (report_courier_rows), summed by courier. The track's length sums
// the great-circle distance between each day's consecutive breadcrumbs; its time, each
// day's first to last.
func (s *ReportStore) Couriers(ctx context.Context, q report.Query) ([]report.CourierRow, error) {
	offices, _ := scopeArgs(q)
	out := []report.CourierRow{}
	err := s.readReport(ctx, q, false, func(tx *gorm.DB, sp span) error {
		live, args := sp.live(`SELECT r.courier_id, r.stops_done, r.stops_failed, r.on_route_s, r.travelled_m, r.planned_m
				FROM report_courier_rows(%s, %s, $3::uuid[]) r`, []any{sp.months, sp.days, offices})
		rows, err := tx.Raw(`WITH src AS (
				SELECT courier_id, stops_done, stops_failed, on_route_s, travelled_m, planned_m FROM report_courier_rollup
				WHERE (span = 'm' AND day = ANY (CAST($1 AS date[]))) OR (span = 'd' AND day = ANY (CAST($2 AS date[])))`+live+`)
			SELECT c.id, sum(stops_done), sum(stops_failed), sum(on_route_s), sum(travelled_m), sum(planned_m)
			FROM src JOIN couriers c ON c.id = src.courier_id
			WHERE $3::uuid[] IS NULL OR c.post_office_id = ANY ($3::uuid[])
			GROUP BY c.id ORDER BY c.id`, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r report.CourierRow
			var onRoute float64
			if err := rows.Scan(&r.CourierID, &r.StopsDone, &r.StopsFailed, &onRoute, &r.TravelledM, &r.PlannedM); err != nil {
				return err
			}
			r.OnRoute = time.Duration(onRoute * float64(time.Second)).Round(time.Second)
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, translate(err, "report")
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
