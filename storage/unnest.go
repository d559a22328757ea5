package storage

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// unnestInsert writes rows of R into one table with a single statement,
// INSERT … SELECT unnest($1::t1[]), unnest($2::t2[]), …, one array parameter per column.
// Its text is the same whatever the number of rows, so pgx prepares it once per
// connection (a multi-row VALUES is a new text, so a new prepare and plan, for each row
// count), and n rows are one binary array per column to encode, not n × columns
// parameters. The arrays are unnested in the select list, where they advance together
// row by row: FROM unnest(…) would first copy each into a tuplestore of its own, about
// half a millisecond of PostgreSQL's CPU per statement however few the rows.
type unnestInsert[R any] struct {
	sql     string
	columns []unnestColumn[R]
}

// unnestColumn is one column of an unnestInsert.
type unnestColumn[R any] struct {
	name, typ string
	array     func(rows []R) any
}

// column is the column name, of PostgreSQL type typ, holding value(row). A UUID goes as
// [16]byte, which pgx encodes in binary as it is: as uuid.UUID it would go through its
// driver.Valuer, a string to format and parse again.
func column[R, V any](name, typ string, value func(*R) V) unnestColumn[R] {
	return unnestColumn[R]{name: name, typ: typ, array: func(rows []R) any {
		values := make([]V, len(rows))
		for i := range rows {
			values[i] = value(&rows[i])
		}
		return values
	}}
}

func newUnnestInsert[R any](table string, columns ...unnestColumn[R]) unnestInsert[R] {
	names, values := make([]string, len(columns)), make([]string, len(columns))
	for i, c := range columns {
		names[i], values[i] = c.name, fmt.Sprintf("unnest($%d::%s[])", i+1, c.typ)
	}
	return unnestInsert[R]{columns: columns,
		sql: fmt.Sprintf("INSERT INTO %s (%s) SELECT %s", table, strings.Join(names, ", "), strings.Join(values, ", "))}
}

// exec writes rows in tx (nothing when there are none). The statement numbers its
// parameters itself: gorm would spread a slice bound to ? into a list.
func (ins unnestInsert[R]) exec(tx *gorm.DB, rows []R) error {
	if len(rows) == 0 {
		return nil
	}
	arrays := make([]any, len(ins.columns))
	for i, c := range ins.columns {
		arrays[i] = c.array(rows)
	}
	return tx.Exec(ins.sql, arrays...).Error
}
