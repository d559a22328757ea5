package storage

import (
	"context"

	"courierd/domain/report"
)

// Explain is the plan PostgreSQL runs the flow report's counts by, with what it cost.
func (s *ReportStore) Explain(ctx context.Context, q report.Query) ([]string, error) {
	with, args := flowEvents(q)
	rows, err := s.db.gorm.WithContext(ctx).Raw(`EXPLAIN (ANALYZE, BUFFERS) `+with+` SELECT key, count(*) FROM ev GROUP BY key`, args).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		plan = append(plan, line)
	}
	return plan, rows.Err()
}
