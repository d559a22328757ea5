package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// floor measures what PostgreSQL itself takes to store what courierd stores, written the
// cheapest way a program can: the same rows, in tables with the same columns and
// indexes (no foreign keys, no partitions), by COPY and by one multi-row INSERT per
// batch, from several connections at once. courierd's figures are read against it.
type floor struct {
	Writers               int     `json:"writers"`
	MutationsCopyPerS     float64 `json:"mutations_copy_per_s"`
	MutationsInsertPerS   float64 `json:"mutations_insert_per_s"`
	BreadcrumbsCopyPerS   float64 `json:"breadcrumbs_copy_per_s"`
	BreadcrumbsInsertPerS float64 `json:"breadcrumbs_insert_per_s"`
}

// measureFloor runs each of the four writes for d with writers connections.
func measureFloor(ctx context.Context, url string, writers int, d time.Duration) (floor, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return floor{}, err
	}
	defer pool.Close()
	// A mutation leaves its outcome and its field report; a breadcrumb its row.
	for _, ddl := range []string{
		`DROP TABLE IF EXISTS floor_mutations, floor_reports, floor_breadcrumbs`,
		`CREATE TABLE floor_mutations (LIKE sync_mutations INCLUDING ALL)`,
		`CREATE TABLE floor_reports (LIKE field_reports INCLUDING ALL)`,
		`CREATE TABLE floor_breadcrumbs (LIKE breadcrumbs INCLUDING ALL)`,
	} {
		if _, err := pool.Exec(ctx, ddl); err != nil {
			return floor{}, fmt.Errorf("floor tables: %w", err)
		}
	}
	defer func() {
		_, _ = pool.Exec(context.Background(), `DROP TABLE IF EXISTS floor_mutations, floor_reports, floor_breadcrumbs`)
	}()

	f := floor{Writers: writers}
	runs := []struct {
		out   *float64
		batch int
		write func(ctx context.Context, tx pgx.Tx, w *writer, n int) error
	}{
		{&f.MutationsCopyPerS, 50, copyMutations},
		{&f.MutationsInsertPerS, 50, insertMutations},
		{&f.BreadcrumbsCopyPerS, 500, copyBreadcrumbs},
		{&f.BreadcrumbsInsertPerS, 500, insertBreadcrumbs},
	}
	for _, r := range runs {
		rate, err := rateOf(ctx, pool, writers, d, r.batch, r.write)
		if err != nil {
			return floor{}, err
		}
		*r.out = rate
	}
	return f, nil
}

// writer is one connection's generator of rows: its own device, its own sequence.
type writer struct {
	device, courier uuid.UUID
	seq             int64
}

func rateOf(ctx context.Context, pool *pgxpool.Pool, writers int, d time.Duration, batch int,
	write func(ctx context.Context, tx pgx.Tx, w *writer, n int) error) (float64, error) {
	var rows atomic.Int64
	var firstErr error
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &writer{device: uuid.New(), courier: uuid.New()}
			for time.Now().Before(deadline) {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return write(ctx, tx, w, batch) })
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				rows.Add(int64(batch))
			}
		}()
	}
	wg.Wait()
	return float64(rows.Load()) / time.Since(start).Seconds(), firstErr
}

// A note's payload, as a device sends it.
var notePayload, _ = json.Marshal(map[string]string{"text": "Ghi chú 1: đã gọi trước khi đến"})

func mutationRows(w *writer, n int) (outcomes, reports [][]any) {
	now := time.Now()
	dossier, task := uuid.New(), uuid.New()
	for range n {
		w.seq++
		id := uuid.New()
		outcomes = append(outcomes, []any{w.device, w.seq, id, "task.note.v1", "3f1c9a2be0d4c85a7e6b1f0d2c9e8a7b6f5e4d3c2b1a09f8e7d6c5b4a3928170", "applied", "", "", now})
		reports = append(reports, []any{id, dossier, task, w.courier, w.device, w.seq, "task.note.v1", int32(3), notePayload, now,
			10.9732, 106.6889, float32(8), now})
	}
	return outcomes, reports
}

var (
	mutationColumns = []string{"device_id", "seq", "id", "type", "request_hash", "status", "code", "detail", "applied_at"}
	reportColumns   = []string{"mutation_id", "dossier_id", "task_id", "courier_id", "device_id", "seq", "type", "task_version",
		"payload", "occurred_at", "lat", "lon", "accuracy_m", "recorded_at"}
	crumbColumns = []string{"device_id", "point_seq", "at", "courier_id", "lat", "lon", "accuracy_m", "speed_mps", "heading_deg",
		"battery_pct", "received_at"}
)

func copyMutations(ctx context.Context, tx pgx.Tx, w *writer, n int) error {
	outcomes, reports := mutationRows(w, n)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"floor_mutations"}, mutationColumns, pgx.CopyFromRows(outcomes)); err != nil {
		return err
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"floor_reports"}, reportColumns, pgx.CopyFromRows(reports))
	return err
}

func insertMutations(ctx context.Context, tx pgx.Tx, w *writer, n int) error {
	outcomes, reports := mutationRows(w, n)
	if err := insertRows(ctx, tx, "floor_mutations", mutationColumns, outcomes); err != nil {
		return err
	}
	return insertRows(ctx, tx, "floor_reports", reportColumns, reports)
}

func crumbRows(w *writer, n int) [][]any {
	now := time.Now()
	rows := make([][]any, 0, n)
	for i := range n {
		w.seq++
		rows = append(rows, []any{w.device, w.seq, now.Add(time.Duration(i-n) * time.Second), w.courier, 10.97 + float64(i)*1e-5,
			106.68 + float64(i)*1e-5, float32(12), float32(5.5), float32(90), int16(80), now})
	}
	return rows
}

func copyBreadcrumbs(ctx context.Context, tx pgx.Tx, w *writer, n int) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"floor_breadcrumbs"}, crumbColumns, pgx.CopyFromRows(crumbRows(w, n)))
	return err
}

func insertBreadcrumbs(ctx context.Context, tx pgx.Tx, w *writer, n int) error {
	return insertRows(ctx, tx, "floor_breadcrumbs", crumbColumns, crumbRows(w, n))
}

// insertRows writes rows with one multi-row INSERT.
func insertRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	var sql strings.Builder
	sql.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(columns))
	for i, r := range rows {
		if i > 0 {
			sql.WriteString(",")
		}
		sql.WriteString("(")
		for j := range r {
			if j > 0 {
				sql.WriteString(",")
			}
			fmt.Fprintf(&sql, "$%d", len(args)+j+1)
		}
		sql.WriteString(")")
		args = append(args, r...)
	}
	_, err := tx.Exec(ctx, sql.String(), args...)
	return err
}
