package storage

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
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

// unnested is the select list that turns the columns' arrays back into rows.
func unnested[R any](columns []unnestColumn[R]) (names, values []string) {
	names, values = make([]string, len(columns)), make([]string, len(columns))
	for i, c := range columns {
		names[i], values[i] = c.name, fmt.Sprintf("unnest($%d::%s[])", i+1, c.typ)
	}
	return names, values
}

func newUnnestInsert[R any](table string, columns ...unnestColumn[R]) unnestInsert[R] {
	names, values := unnested(columns)
	return unnestInsert[R]{columns: columns,
		sql: fmt.Sprintf("INSERT INTO %s (%s) SELECT %s", table, strings.Join(names, ", "), strings.Join(values, ", "))}
}

// newUnnestUpsert inserts rows, or, where a row with the same key exists, sets every
// other column to the row's.
func newUnnestUpsert[R any](table, key string, columns ...unnestColumn[R]) unnestInsert[R] {
	ins := newUnnestInsert(table, columns...)
	var set []string
	for _, c := range columns {
		if c.name != key {
			set = append(set, c.name+" = excluded."+c.name)
		}
	}
	ins.sql += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", key, strings.Join(set, ", "))
	return ins
}

// newUnnestUpdate sets, in the rows of table whose key is a row's, every other column to
// the row's; rows whose key is in no row of table change nothing.
func newUnnestUpdate[R any](table, key string, columns ...unnestColumn[R]) unnestInsert[R] {
	names, values := unnested(columns)
	var set, selected []string
	for i, name := range names {
		selected = append(selected, values[i]+" AS "+name)
		if name != key {
			set = append(set, name+" = u."+name)
		}
	}
	return unnestInsert[R]{columns: columns, sql: fmt.Sprintf("UPDATE %s SET %s FROM (SELECT %s) u WHERE %s.%s = u.%s",
		table, strings.Join(set, ", "), strings.Join(selected, ", "), table, key, key)}
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

// rowColumns are the columns of the row type R as gorm maps them (names, and a `type:`
// tag where the Go type does not say it), leaving out omit, what gorm may not write and
// what this binary's schema lacks (cutColumns):
// one definition of a table's columns serves gorm's reads and the batched writes.
func rowColumns[R any](omit ...string) []unnestColumn[R] {
	s, err := schema.Parse(new(R), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		panic(fmt.Sprintf("storage: the row type %T: %v", *new(R), err)) // a declaration in this package
	}
	omit = append(omit, cutColumns(s.Table)...)
	var columns []unnestColumn[R]
	for _, f := range s.Fields {
		if f.DBName == "" || !f.Creatable || slices.Contains(omit, f.DBName) {
			continue
		}
		typ, elem := postgresType(f)
		index := f.StructField.Index
		columns = append(columns, unnestColumn[R]{name: f.DBName, typ: typ, array: func(rows []R) any {
			values := reflect.MakeSlice(reflect.SliceOf(elem), len(rows), len(rows))
			for i := range rows {
				values.Index(i).Set(reflect.ValueOf(&rows[i]).Elem().FieldByIndex(index).Convert(elem))
			}
			return values.Interface()
		}})
	}
	return columns
}

var (
	uuidType = reflect.TypeFor[uuid.UUID]()
	timeType = reflect.TypeFor[time.Time]()
)

// postgresType is a field's column type, and the Go type its values are sent as: a UUID
// as [16]byte (see column).
func postgresType(f *schema.Field) (string, reflect.Type) {
	t, pointer := f.FieldType, f.FieldType.Kind() == reflect.Pointer
	if pointer {
		t = t.Elem()
	}
	send := f.FieldType
	var typ string
	switch {
	case f.TagSettings["TYPE"] != "":
		typ = strings.ToLower(f.TagSettings["TYPE"])
	case t == uuidType:
		typ, send = "uuid", reflect.TypeFor[[16]byte]()
		if pointer {
			send = reflect.PointerTo(send)
		}
	case t == timeType:
		typ = "timestamptz"
	case t.Kind() == reflect.String:
		typ = "text"
	case t.Kind() == reflect.Bool:
		typ = "boolean"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		typ = "bigint"
	case t.Kind() == reflect.Float64:
		typ = "float8"
	default:
		panic(fmt.Sprintf("storage: no column type for %s.%s (%s): give it a type: tag", f.Schema.Name, f.Name, f.FieldType))
	}
	return typ, send
}
