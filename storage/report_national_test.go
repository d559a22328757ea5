package storage_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/report"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// nationalCase is one report as a caller asks for it.
type nationalCase struct {
	name string
	run  func(ctx context.Context, s *storage.ReportStore) (int, error)
}

// nationalCases are the reports timed at national size (docs/BENCHMARKS.md): an admin's
// whole country for the last full month, the year to date (the last twelve months up to
// today) and the last 365 days; a dispatcher's office and a clerk's agency for the year.
func nationalCases(t testing.TB, db *storage.DB, now time.Time) []nationalCase {
	var office, agency uuid.UUID
	if err := db.SQL().QueryRow(`SELECT post_office_id, agency_id FROM dossiers ORDER BY created_at DESC LIMIT 1`).Scan(&office, &agency); err != nil {
		t.Fatal(err)
	}
	today := domain.DateOf(now)
	thisMonth := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	periods := []struct {
		name     string
		from, to time.Time
	}{
		{"month", thisMonth.AddDate(0, -1, 0), thisMonth},
		{"year to date", thisMonth.AddDate(0, -11, 0), today.AddDate(0, 0, 1)},
		{"365 days", today.AddDate(0, 0, -364), today.AddDate(0, 0, 1)},
	}
	query := func(p int, by report.Grouping) report.Query {
		return report.Query{From: domain.Midnight(periods[p].from), To: domain.Midnight(periods[p].to), By: by}
	}
	flow := func(q report.Query) func(context.Context, *storage.ReportStore) (int, error) {
		return func(ctx context.Context, s *storage.ReportStore) (int, error) {
			rows, err := s.Flow(ctx, q)
			return len(rows), err
		}
	}
	var cases []nationalCase
	for p := range periods {
		for _, by := range report.Groupings {
			cases = append(cases, nationalCase{"admin flow by " + string(by) + ", " + periods[p].name, flow(query(p, by))})
		}
	}
	yearOf := func(by report.Grouping, offices []uuid.UUID, agency uuid.UUID) report.Query {
		q := query(1, by)
		q.PostOfficeIDs, q.AgencyID = offices, agency
		return q
	}
	mine := []uuid.UUID{office}
	cases = append(cases,
		nationalCase{"dispatcher flow by post_office, year to date", flow(yearOf(report.ByPostOffice, mine, uuid.Nil))},
		nationalCase{"dispatcher flow by courier, year to date", flow(yearOf(report.ByCourier, mine, uuid.Nil))},
		nationalCase{"clerk flow by procedure, year to date", flow(yearOf(report.ByProcedure, nil, agency))},
	)
	late := func(q report.Query) func(context.Context, *storage.ReportStore) (int, error) {
		return func(ctx context.Context, s *storage.ReportStore) (int, error) {
			legs, err := s.LateLegs(ctx, q, report.MaxLateLegs)
			return len(legs), err
		}
	}
	couriers := func(q report.Query) func(context.Context, *storage.ReportStore) (int, error) {
		return func(ctx context.Context, s *storage.ReportStore) (int, error) {
			rows, err := s.Couriers(ctx, q)
			return len(rows), err
		}
	}
	cash := func(q report.Query) func(context.Context, *storage.ReportStore) (int, error) {
		return func(ctx context.Context, s *storage.ReportStore) (int, error) {
			rows, err := s.Cash(ctx, q)
			return len(rows), err
		}
	}
	return append(cases,
		nationalCase{"admin late, month", late(query(0, report.ByPostOffice))},
		nationalCase{"admin late, year to date", late(query(1, report.ByPostOffice))},
		nationalCase{"dispatcher late, year to date", late(yearOf(report.ByPostOffice, mine, uuid.Nil))},
		nationalCase{"admin couriers, month", couriers(query(0, report.ByCourier))},
		nationalCase{"dispatcher couriers, year to date", couriers(yearOf(report.ByCourier, mine, uuid.Nil))},
		nationalCase{"admin cash, month", cash(query(0, report.ByPostOffice))},
		nationalCase{"admin cash, year to date", cash(query(1, report.ByPostOffice))},
		nationalCase{"dispatcher cash, year to date", cash(yearOf(report.ByPostOffice, mine, uuid.Nil))},
	)
}

// BenchmarkReportsNational times each report at national size: over the database
// COURIERD_NATIONAL_DATABASE_URL names (written by courierd seed --national, see
// docs/BENCHMARKS.md), or else over a small national history seeded here. Each case runs
// from the rollups; with COURIERD_NATIONAL_LIVE=1, from the record whole, for comparison.
//
//	COURIERD_NATIONAL_DATABASE_URL=postgres://…/nat go test ./storage -run '^$' -bench ReportsNational -benchtime 3x
func BenchmarkReportsNational(b *testing.B) {
	var db *storage.DB
	now := time.Now()
	if url := os.Getenv("COURIERD_NATIONAL_DATABASE_URL"); url != "" {
		var err error
		if db, err = storage.Open(context.Background(), url, storage.PoolConfig{MaxOpenConns: 4, MaxIdleConns: 4}, time.Now); err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		// The seed's history ends when it ran, and was rolled up then.
		if err := db.SQL().QueryRow(`SELECT marked FROM report_rollup_state`).Scan(&now); err != nil {
			b.Fatal(err)
		}
	} else {
		db, _ = dbtest.New(b)
		seedSmallNation(b, db, now, 400)
	}
	store := storage.NewReportStore(db)
	if os.Getenv("COURIERD_NATIONAL_LIVE") == "1" {
		store = storage.NewLiveReportStore(db)
	}
	ctx := context.Background()
	for _, c := range nationalCases(b, db, now) {
		b.Run(c.name, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				n, err := c.run(ctx, store)
				if err != nil {
					b.Fatal(err)
				}
				rows = n
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
