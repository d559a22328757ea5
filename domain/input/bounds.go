package input

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Every integer field of a type Decode reads states its range and where it lands:
//
//	TaskVersion int `json:"task_version" bound:"0..int4" column:"field_reports.task_version"`
//
// bound is MIN..MAX, each a number or a column type's limit (int2, int4, int8, with a
// leading minus for the low end); column names the table.column (several, space
// separated) the value is stored in, or "-" when it is stored nowhere. Decode refuses a
// value outside the bound, naming the field; a type with an integer field that states no
// bound cannot be decoded at all (it panics, so that the first test reaching it fails),
// and a test holds every bound against the column's type in a migrated database.
//
// A json.RawMessage field tagged input:"deferred" is decoded later, part by part, by
// another Decode (a device's batch: each mutation is refused alone).

// columnTypes are the integer column types and their ranges.
var columnTypes = map[string][2]int64{
	"int2": {math.MinInt16, math.MaxInt16},
	"int4": {math.MinInt32, math.MaxInt32},
	"int8": {math.MinInt64, math.MaxInt64},
}

type bound struct{ min, max int64 }

func (b *bound) reason() string {
	return fmt.Sprintf("must be between %d and %d", b.min, b.max)
}

// field is one struct field as Decode reads it.
type field struct {
	name     string
	index    []int
	bound    *bound
	deferred bool
}

// Field describes an integer field of a type Decode has read: its bound and columns.
type Field struct {
	Type, Name string
	Min, Max   int64
	// Columns are the table.column the value lands in; none: it is stored nowhere.
	Columns []string
}

var (
	typesMu sync.Mutex
	types   = map[reflect.Type][]field{}
	ints    []Field
)

// Fields lists the integer fields of every type decoded so far, with their bounds.
func Fields() []Field {
	typesMu.Lock()
	defer typesMu.Unlock()
	return slices.Clone(ints)
}

// fieldsOf reads t's fields once, and at the same time those of every struct type within
// it, so that a type is known whole even when a request leaves parts of it out.
func fieldsOf(t reflect.Type) []field {
	typesMu.Lock()
	defer typesMu.Unlock()
	return analyse(t)
}

func analyse(t reflect.Type) []field {
	if fs, done := types[t]; done {
		return fs
	}
	types[t] = nil // a type that holds itself
	var fs []field
	for _, sf := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" || (sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct) {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{name: name, index: sf.Index, deferred: sf.Tag.Get("input") == "deferred"}
		elem := sf.Type
		for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice || elem.Kind() == reflect.Array || elem.Kind() == reflect.Map {
			if elem == rawMessage {
				break
			}
			elem = elem.Elem()
		}
		switch {
		case isInteger(elem.Kind()):
			b, err := parseBound(sf.Tag.Get("bound"))
			if err != nil {
				panic(fmt.Sprintf("input: %s.%s: %v", t, sf.Name, err))
			}
			f.bound = &b
			var columns []string
			if c := sf.Tag.Get("column"); c != "-" {
				columns = strings.Fields(c)
				if len(columns) == 0 {
					panic(fmt.Sprintf("input: %s.%s states no column (table.column, or - when it is stored nowhere)", t, sf.Name))
				}
			}
			ints = append(ints, Field{Type: t.String(), Name: name, Min: b.min, Max: b.max, Columns: columns})
		case elem.Kind() == reflect.Struct:
			analyse(elem)
		}
		fs = append(fs, f)
	}
	types[t] = fs
	return fs
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func parseBound(tag string) (bound, error) {
	lo, hi, ok := strings.Cut(tag, "..")
	if !ok {
		return bound{}, fmt.Errorf("an integer needs a bound tag, MIN..MAX (numbers, or int2/int4/int8): %q", tag)
	}
	min, err := limit(lo, 0)
	if err != nil {
		return bound{}, err
	}
	max, err := limit(hi, 1)
	if err != nil {
		return bound{}, err
	}
	if min > max {
		return bound{}, fmt.Errorf("bound %q is empty", tag)
	}
	return bound{min: min, max: max}, nil
}

// limit reads one end of a bound: a number, or a column type's low (end 0, written with a
// minus) or high (end 1) limit.
func limit(s string, end int) (int64, error) {
	if r, ok := columnTypes[strings.TrimPrefix(s, "-")]; ok && strings.HasPrefix(s, "-") == (end == 0) {
		return r[end], nil
	}
	return strconv.ParseInt(s, 10, 64)
}
