package storage

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

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

// cashColumns are report_cash_rows' figures, which a rollup row keeps as they are.
const cashColumns = `collections, collected_vnd, cash_vnd, transfer_vnd, bank_vnd, handed_in_vnd, short_vnd, over_vnd, remitted_vnd`

// Cash implements report.Store: the rollup's office-days of the settled days and the
// record's of the others (report_cash_rows), one row per office and day.
func (s *ReportStore) Cash(ctx context.Context, q report.Query) ([]report.CashRow, error) {
	offices, _ := scopeArgs(q)
	out := []report.CashRow{}
	err := s.readReport(ctx, q, false, func(tx *gorm.DB, sp span) error {
		live, args := sp.live(`SELECT r.post_office_id, r.day, `+prefixed("r.", cashColumns)+` FROM report_cash_rows(%s, %s, $2::uuid[]) r`,
			[]any{sp.allDays(), offices})
		rows, err := tx.Raw(`SELECT post_office_id, day, `+cashColumns+` FROM report_cash_rollup
			WHERE day = ANY (CAST($1 AS date[])) AND ($2::uuid[] IS NULL OR post_office_id = ANY ($2::uuid[]))`+live+`
			ORDER BY 1, 2`, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r report.CashRow
			if err := rows.Scan(&r.PostOfficeID, &r.Day, &r.Collections, &r.CollectedVND, &r.CashVND, &r.TransferVND, &r.BankVND,
				&r.HandedInVND, &r.ShortVND, &r.OverVND, &r.RemittedVND); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, translate(err, "report")
}

// seconds is a count of seconds as a duration, nil when there is none.
func seconds(s sql.NullFloat64) *time.Duration {
	if !s.Valid {
		return nil
	}
	d := time.Duration(s.Float64 * float64(time.Second)).Round(time.Second)
	return &d
}
