package storage_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/storage"
	"courierd/storage/dbtest"
)

// rowsTouched runs statement with args as PostgreSQL runs a prepared statement once it
// has settled on a generic plan (after five runs, when that plan looks no worse), and
// counts the rows its scans read: those returned and those read only to be filtered out.
func rowsTouched(t *testing.T, db *sql.DB, statement string, args []any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	literals := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case uuid.UUID:
			literals[i] = "'" + v.String() + "'::uuid"
		case int:
			literals[i] = fmt.Sprint(v)
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		default:
			t.Fatalf("argument %d: %T has no literal here", i+1, a)
		}
	}
	for _, stmt := range []string{"SET plan_cache_mode = force_generic_plan", "PREPARE probe AS " + statement} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	defer conn.ExecContext(ctx, "DEALLOCATE probe; RESET plan_cache_mode") //nolint:errcheck // the connection goes back clean or is closed
	var raw string
	if err := conn.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE probe("+strings.Join(literals, ", ")+")").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("plan %s: %v", raw, err)
	}
	return plans[0].Plan.touched()
}

type planNode struct {
	NodeType       string     `json:"Node Type"`
	ActualRows     float64    `json:"Actual Rows"`
	ActualLoops    float64    `json:"Actual Loops"`
	RemovedFilter  float64    `json:"Rows Removed by Filter"`
	RemovedRecheck float64    `json:"Rows Removed by Index Recheck"`
	Plans          []planNode `json:"Plans"`
}

func (n planNode) touched() int {
	total := 0
	if strings.HasSuffix(n.NodeType, "Scan") {
		total = int((n.ActualRows + n.RemovedFilter + n.RemovedRecheck) * max(n.ActualLoops, 1))
	}
	for _, child := range n.Plans {
		total += child.touched()
	}
	return total
}

// TestPullReadsOnlyItsOwnStops: a handheld's pull from no cursor reads its courier's
// stops still to do, and only those, however many stops the country has finished, under
// the generic plan PostgreSQL settles on for a statement prepared and run again and
// again. (Its generic plan once walked every stop in id order: 25 ms a pull.)
func TestPullReadsOnlyItsOwnStops(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	if err := storage.SeedNational(ctx, db, storage.National{Fraction: 0.002, Days: 30, Now: now, Seed: 0.26}, func(string, int64, time.Duration) {}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(26, 0))
	couriers := ids(t, db, `SELECT courier_id FROM tasks WHERE courier_id IS NOT NULL GROUP BY courier_id ORDER BY courier_id`)
	if len(couriers) < 20 {
		t.Fatalf("the seed gave %d couriers with stops", len(couriers))
	}
	// Some of each chosen courier's stops are still to do, as on a working day.
	chosen := make([]uuid.UUID, 20)
	for i := range chosen {
		chosen[i] = couriers[rng.IntN(len(couriers))]
		if _, err := db.SQL().ExecContext(ctx, `UPDATE tasks SET state = 'assigned' WHERE id IN
			(SELECT id FROM tasks WHERE courier_id = $1 ORDER BY random() LIMIT $2)`, chosen[i], rng.IntN(25)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL().ExecContext(ctx, `ANALYZE tasks`); err != nil {
		t.Fatal(err)
	}
	var finished int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM tasks WHERE state IN ('done', 'cancelled')`).Scan(&finished); err != nil {
		t.Fatal(err)
	}
	feed := storage.NewFeedStore(db)
	for _, courier := range chosen {
		open := ids(t, db, `SELECT id FROM tasks WHERE courier_id = '`+courier.String()+`' AND state NOT IN ('done', 'cancelled') ORDER BY id`)
		after, limit := uuid.Nil, 1+rng.IntN(30)
		if len(open) > 0 && rng.IntN(2) == 0 {
			after = open[rng.IntN(len(open))]
		}
		var want []uuid.UUID
		for _, id := range open {
			if strings.Compare(id.String(), after.String()) > 0 && len(want) < limit {
				want = append(want, id)
			}
		}
		statement, args := storage.OpenTasksStatement(db, courier, after, limit)
		if got := rowsTouched(t, db.SQL(), statement, args); got > len(want) {
			t.Errorf("courier %s: the pull's generic plan read %d rows for %d stops (%d finished in the table):\n%s", courier, got, len(want), finished, statement)
		}
		stops, _, _, err := feed.Snapshot(ctx, courier, uuid.New(), after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uuid.UUID
		for _, s := range stops {
			got = append(got, s.TaskID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("courier %s after %s, limit %d: pulled %v, want %v", courier, after, limit, got, want)
		}
	}
}
