package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"courierd/domain"
)

// cursorVersion leads every cursor, so that its layout can change without old cursors
// being misread.
const cursorVersion = 1

// cursorBody is what a cursor encodes: the list it belongs to and the order key of the
// last row it has seen (nil for a NULL key), as text.
type cursorBody struct {
	List string    `json:"l"`
	Key  []*string `json:"k"`
}

// orderTerm is one key of a list's ORDER BY.
type orderTerm struct {
	column    string
	desc      bool
	nullsLast bool
	field     *schema.Field
}

// keyset is a list's ORDER BY seen as a key to continue after.
type keyset struct {
	list  string
	terms []orderTerm
}

// keysetOf parses order ("col [DESC] [NULLS FIRST|LAST], …", the forms this package
// writes) against the columns of the rows dest reads.
func keysetOf(db *gorm.DB, dest any, list, order string) (keyset, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(dest); err != nil {
		return keyset{}, err
	}
	k := keyset{list: list}
	for _, part := range strings.Split(order, ",") {
		words := strings.Fields(part)
		rest := strings.ToUpper(strings.Join(words[1:], " "))
		t := orderTerm{column: words[0], desc: strings.HasPrefix(rest, "DESC")}
		// PostgreSQL sorts NULLs last ascending and first descending unless told.
		t.nullsLast = !t.desc
		if strings.HasSuffix(rest, "NULLS LAST") || strings.HasSuffix(rest, "NULLS FIRST") {
			t.nullsLast = strings.HasSuffix(rest, "NULLS LAST")
		}
		if t.field = stmt.Schema.LookUpField(t.column); t.field == nil {
			return keyset{}, fmt.Errorf("order key %s is not a column of %s", t.column, stmt.Schema.Table)
		}
		k.terms = append(k.terms, t)
	}
	return k, nil
}

// encode makes the cursor that continues after row.
func (k keyset) encode(ctx context.Context, row reflect.Value) string {
	body := cursorBody{List: k.list, Key: make([]*string, len(k.terms))}
	for i, t := range k.terms {
		v, _ := t.field.ValueOf(ctx, row)
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				continue
			}
			v = rv.Elem().Interface()
		}
		var s string
		if tm, ok := v.(time.Time); ok {
			s = tm.Format(time.RFC3339Nano)
		} else {
			s = fmt.Sprint(v)
		}
		body.Key[i] = &s
	}
	raw, _ := json.Marshal(body) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(append([]byte{cursorVersion}, raw...))
}

// badCursor is the answer to a cursor that is not one of this list's.
func badCursor() error {
	var p domain.Problems
	p.Add("cursor", "is not a cursor of this list")
	return p.Err()
}

// decode reads a cursor back into the key values, typed as their columns.
func (k keyset) decode(cursor string) ([]any, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) < 2 || raw[0] != cursorVersion {
		return nil, badCursor()
	}
	var body cursorBody
	if err := json.Unmarshal(raw[1:], &body); err != nil || body.List != k.list || len(body.Key) != len(k.terms) {
		return nil, badCursor()
	}
	values := make([]any, len(k.terms))
	for i, t := range k.terms {
		if body.Key[i] == nil {
			if t.field.FieldType.Kind() != reflect.Pointer {
				return nil, badCursor()
			}
			continue
		}
		if values[i], err = parseKey(t.field.IndirectFieldType, *body.Key[i]); err != nil {
			return nil, badCursor()
		}
	}
	return values, nil
}

// parseKey reads one key value as its column's Go type, so that a forged value is refused
// here rather than by PostgreSQL.
func parseKey(typ reflect.Type, s string) (any, error) {
	switch {
	case typ == reflect.TypeOf(time.Time{}):
		return time.Parse(time.RFC3339Nano, s)
	case typ == reflect.TypeOf(uuid.UUID{}):
		return uuid.Parse(s)
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64:
		return strconv.ParseInt(s, 10, 64)
	case typ.Kind() == reflect.String:
		return s, nil
	}
	return nil, fmt.Errorf("no cursor form for %s", typ)
}

// after is the condition for rows that sort after key. When every key goes the same way
// and none can be NULL it is one row comparison, which an index on the keys serves;
// otherwise it spells out "later on the first key, or equal on it and later on the rest".
func (k keyset) after(key []any) (string, []any) {
	uniform := true
	for _, t := range k.terms {
		uniform = uniform && t.desc == k.terms[0].desc && t.field.FieldType.Kind() != reflect.Pointer
	}
	if uniform {
		cols := make([]string, len(k.terms))
		for i, t := range k.terms {
			cols[i] = t.column
		}
		op := ">"
		if k.terms[0].desc {
			op = "<"
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
		return fmt.Sprintf("(%s) %s (%s)", strings.Join(cols, ", "), op, marks), key
	}
	var args []any
	var equal []string // conditions that the keys before the current one tie
	var ors []string
	for i, t := range k.terms {
		later, largs := t.later(key[i])
		if later != "" {
			ors = append(ors, "("+strings.Join(append(append([]string{}, equal...), later), " AND ")+")")
			for j := range equal {
				if key[j] != nil {
					args = append(args, key[j])
				}
			}
			args = append(args, largs...)
		}
		if key[i] == nil {
			equal = append(equal, t.column+" IS NULL")
		} else {
			equal = append(equal, t.column+" = ?")
		}
	}
	if len(ors) == 0 {
		return "FALSE", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// later is the condition for a value of t's column that sorts strictly after v.
func (t orderTerm) later(v any) (string, []any) {
	if v == nil {
		if t.nullsLast {
			return "", nil
		}
		return t.column + " IS NOT NULL", nil
	}
	op := ">"
	if t.desc {
		op = "<"
	}
	if t.nullsLast && t.field.FieldType.Kind() == reflect.Pointer {
		return "(" + t.column + " " + op + " ? OR " + t.column + " IS NULL)", []any{v}
	}
	return t.column + " " + op + " ?", []any{v}
}
