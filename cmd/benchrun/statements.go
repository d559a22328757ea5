package main

import (
	"context"
	"database/sql"
)

// statementStat is one statement's share of the database's time, from pg_stat_statements.
type statementStat struct {
	Calls   int64
	TotalMS float64
	Rows    int64
	Query   string
}

// statementStats reads pg_stat_statements where the server loads it (its library must be
// in shared_preload_libraries: scripts/pg.sh's private cluster does so); elsewhere it
// reads nothing and the report says so.
type statementStats struct {
	db        *sql.DB
	available bool
}

func newStatementStats(ctx context.Context, databaseURL string) (*statementStats, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, err
	}
	s := &statementStats{db: db}
	if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err == nil {
		_, err = db.ExecContext(ctx, `SELECT 1 FROM pg_stat_statements LIMIT 1`)
		s.available = err == nil
	}
	return s, nil
}

func (s *statementStats) close() { s.db.Close() }

func (s *statementStats) reset(ctx context.Context) error {
	if !s.available {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `SELECT pg_stat_statements_reset()`)
	return err
}

// top is the n statements of this database that took the most time since the reset.
func (s *statementStats) top(ctx context.Context, n int) ([]statementStat, error) {
	if !s.available {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT calls, total_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []statementStat
	for rows.Next() {
		var st statementStat
		if err := rows.Scan(&st.Calls, &st.TotalMS, &st.Rows, &st.Query); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}
