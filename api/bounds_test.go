package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"courierd/domain/fieldsync"
	"courierd/domain/input"
	mobilecontract "courierd/mobile-contract"
)

// integerColumns are the ranges of PostgreSQL's integer types, by information_schema's
// data_type.
var integerColumns = map[string][2]int64{
	"smallint": {math.MinInt16, math.MaxInt16},
	"integer":  {math.MinInt32, math.MaxInt32},
	"bigint":   {math.MinInt64, math.MaxInt64},
}

// columnRange reads a table.column's integer range from the migrated database.
func columnRange(t *testing.T, h *harness, column string) ([2]int64, error) {
	t.Helper()
	table, name, ok := strings.Cut(column, ".")
	if !ok {
		return [2]int64{}, fmt.Errorf("%q is not table.column", column)
	}
	var dataType string
	err := h.db.SQL().QueryRowContext(context.Background(), `SELECT data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`, table, name).Scan(&dataType)
	if err != nil {
		return [2]int64{}, fmt.Errorf("no column %s: %w", column, err)
	}
	r, isInteger := integerColumns[dataType]
	if !isInteger {
		return [2]int64{}, fmt.Errorf("%s is %s, not an integer column", column, dataType)
	}
	return r, nil
}

// checkWithin fails when [lo, hi] does not fit every column named.
func checkWithin(t *testing.T, h *harness, what string, lo, hi int64, columns []string) {
	t.Helper()
	for _, column := range columns {
		r, err := columnRange(t, h, column)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if lo < r[0] || hi > r[1] {
			t.Errorf("%s: bound %d..%d does not fit %s (%d..%d)", what, lo, hi, column, r[0], r[1])
		}
	}
}

// TestIntegerBoundsFitTheirColumns: every integer field of every body the API reads and
// of every mutation payload states a bound and the column it lands in (the decoder
// refuses to read a type where one does not), and every bound fits its column's type in
// the migrated database. A bound may be narrower than its column (money has business
// maxima), never wider.
func TestIntegerBoundsFitTheirColumns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	learnBodies(t, h, h.citizenToken(t))
	// Each mutation type reads its payload, so its type is known too.
	task := pickupTask(h, t, h.assigned(t, "courier01"))
	var batch []string
	for i, typ := range fieldsync.MutationTypes() {
		batch = append(batch, mutation(i+1, uuid.NewString(), typ, task, `{}`))
	}
	if r := h.push(t, "courier01", batch...); r.status != http.StatusOK {
		t.Fatalf("a push of every type: %d %s", r.status, r.raw)
	}
	fields := input.Fields()
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.Type] = true
		checkWithin(t, h, f.Type+"."+f.Name, f.Min, f.Max, f.Columns)
	}
	for _, must := range []string{"api.mutationDTO", "fieldsync.collectFeeV1", "fieldsync.pickupV1", "api.procedureDTO", "api.newPlanBody"} {
		if !seen[must] {
			t.Errorf("%s was never read: the walk missed it", must)
		}
	}
	if len(fields) < 20 {
		t.Fatalf("only %d integer fields found", len(fields))
	}
}

// asInt is a JSON number as an integer; float64 cannot hold MaxInt64 exactly, so the
// nearest float stands for it.
func asInt(f float64) int64 {
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(f)
}

// integerSchema is one integer in the device contract.
type integerSchema struct {
	where    string
	name     string
	min, max *float64
	column   string
}

// integersOf finds every schema of type integer in a JSON document (an OpenAPI document or
// a JSON Schema), with the name of the property or parameter it belongs to.
func integersOf(v any, where, name string, out *[]integerSchema) {
	switch x := v.(type) {
	case map[string]any:
		if x["type"] == "integer" {
			s := integerSchema{where: where, name: name}
			if m, ok := x["minimum"].(float64); ok {
				s.min = &m
			}
			if m, ok := x["maximum"].(float64); ok {
				s.max = &m
			}
			s.column, _ = x["x-column"].(string)
			*out = append(*out, s)
		}
		if n, ok := x["name"].(string); ok {
			name = n // a parameter names its schema
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := name
			if strings.HasSuffix(where, "/properties") {
				child = k
			}
			integersOf(x[k], where+"/"+k, child, out)
		}
	case []any:
		for i, e := range x {
			integersOf(e, fmt.Sprintf("%s/%d", where, i), name, out)
		}
	}
}

// TestContractIntegersFitTheirColumns: every integer of the device contract and of the
// payload schemas states its minimum, its maximum and the column it is stored in
// (x-column: table.column, several space separated, or "-" for none), and the bounds fit
// the column. Money (*_vnd) may leave its maximum to the money policy, but not its column.
func TestContractIntegersFitTheirColumns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	doc, err := openapi3.NewLoader().LoadFromData(mobilecontract.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	documents := map[string][]byte{"openapi.yaml": raw}
	files, err := fs.Glob(mobilecontract.Schemas, "schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if documents[name], err = fs.ReadFile(mobilecontract.Schemas, name); err != nil {
			t.Fatal(err)
		}
	}
	var found []integerSchema
	for name, data := range documents {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		integersOf(v, name, "", &found)
	}
	for _, s := range found {
		what := s.where
		switch {
		case s.min == nil:
			t.Errorf("%s: no minimum", what)
			continue
		case s.max == nil && !strings.HasSuffix(s.name, "_vnd"):
			t.Errorf("%s: no maximum", what)
			continue
		case s.column == "":
			t.Errorf("%s: no x-column (the table.column it is stored in, or -)", what)
			continue
		case s.column == "-":
			continue
		}
		checkWithin(t, h, what, asInt(*s.min), asInt(*cmp.Or(s.max, s.min)), strings.Fields(s.column))
	}
	if len(found) < 15 {
		t.Fatalf("only %d integers found in the contract", len(found))
	}
}
