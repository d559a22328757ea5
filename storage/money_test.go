package storage_test

import (
	"strings"
	"testing"

	"courierd/domain"
	"courierd/storage/dbtest"
)

// TestMoneyBoundsInDatabase: every money column (bigint, named *_vnd) has a CHECK that
// lets its maximum in and refuses one đồng more and a negative amount, the maximum being
// domain.MaxVND's: even a bug cannot store more than the server would accept.
func TestMoneyBoundsInDatabase(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	rows, err := db.SQL().Query(`SELECT c.table_name, c.column_name, coalesce(string_agg(pg_get_expr(k.conbin, k.conrelid), ' AND '), '')
		FROM information_schema.columns c
		LEFT JOIN pg_constraint k ON k.contype = 'c' AND k.conrelid = c.table_name::regclass
			AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = c.table_name::regclass AND attname = c.column_name)]
		WHERE c.table_schema = 'public' AND c.column_name LIKE '%\_vnd'
		GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type column struct{ table, name, check string }
	var columns []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.check); err != nil {
			t.Fatal(err)
		}
		columns = append(columns, c)
	}
	if len(columns) < 8 {
		t.Fatalf("%d money columns: %v", len(columns), columns)
	}
	for _, c := range columns {
		max, known := domain.MaxVND[c.table+"."+c.name]
		if !known {
			max, known = domain.MaxVND[c.name]
		}
		if !known {
			t.Errorf("%s.%s: a money column without a maximum in domain.MaxVND", c.table, c.name)
			continue
		}
		if c.check == "" {
			t.Errorf("%s.%s: no CHECK bounds it", c.table, c.name)
			continue
		}
		// The column's own check, evaluated with the column bound to each amount.
		expr := strings.ReplaceAll(c.check, c.name, "v.x")
		for amount, want := range map[int64]bool{max: true, max + 1: false, -1: false, 1<<63 - 1: false} {
			var ok bool
			if err := db.SQL().QueryRow(`SELECT `+expr+` FROM (SELECT $1::bigint AS x) v`, amount).Scan(&ok); err != nil {
				t.Fatalf("%s.%s: %s: %v", c.table, c.name, expr, err)
			}
			if ok != want {
				t.Errorf("%s.%s = %d: the check (%s) says %v", c.table, c.name, amount, c.check, ok)
			}
		}
	}
}
