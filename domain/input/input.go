// Package input is the one decoding layer every outside value passes: JSON bodies (the
// API's requests), the payloads of devices' mutations, query and path parameters. It
// refuses, naming the field, what PostgreSQL would refuse later with an internal error:
// text holding a NUL character or bytes that are not UTF-8, and integers past the column
// they land in.
//
// encoding/json does not refuse bad UTF-8: it replaces invalid bytes and escaped lone
// surrogates ("\ud800") with U+FFFD silently. So the raw bytes are scanned first; when
// they are damaged, the strings that hold U+FFFD are the damaged ones and are refused. A
// U+FFFD sent as such in an otherwise clean body is a character like any other.
package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"courierd/domain"
)

// Reasons given for bad text, the same wherever the text came from.
const (
	reasonNUL    = "must not hold a NUL character"
	reasonBadUTF = "is not valid UTF-8 text"
)

// Text checks one string from outside (a query or path parameter, a header).
func Text(p *domain.Problems, field, s string) {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		p.Add(field, reasonNUL)
	case !utf8.ValidString(s):
		p.Add(field, reasonBadUTF)
	}
}

// Clean is s made storable as text: NUL characters and invalid bytes become U+FFFD. It is
// for keeping, as a record, input that was refused.
func Clean(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// Decode reads raw into dst strictly (one JSON value, an object, no unknown fields, the
// right types) and then checks every string and integer in it. Field names are JSON
// paths (items[3].note) after prefix. Every failure is a coded error.
func Decode(raw []byte, dst any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, prefix)
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Errorf(domain.CodeMalformedBody, "the body holds more than one JSON value")
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		// json reads null into a struct as "nothing changed": every field would be missing.
		return domain.Errorf(domain.CodeMalformedBody, "the body is null; send a JSON object")
	}
	var p domain.Problems
	w := walker{p: &p, damaged: Damaged(raw)}
	w.value(prefix, reflect.ValueOf(dst), nil)
	if err := p.Err(); err != nil {
		return err
	}
	if w.damaged && !w.deferred {
		// The damage was in a key or a value nothing reads: still not UTF-8.
		return domain.Errorf(domain.CodeMalformedBody, "the body is not valid UTF-8")
	}
	return nil
}

// Damaged reports whether raw JSON holds bytes that are not UTF-8, or an escaped
// surrogate that is not half of a pair: both decode silently to U+FFFD.
func Damaged(raw []byte) bool {
	_, damaged := scan(raw)
	return damaged
}

// scan reports whether raw JSON holds an escaped NUL (\u0000), and whether it is damaged.
func scan(raw []byte) (nul, damaged bool) {
	damaged = !utf8.Valid(raw)
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] == 'u' {
			r, ok := escaped(raw, i)
			switch {
			case !ok || (r >= 0xDC00 && r <= 0xDFFF):
				damaged = true
			case r == 0:
				nul = true
			case r >= 0xD800 && r <= 0xDBFF:
				low, ok := escaped(raw, i+6)
				if !ok || low < 0xDC00 || low > 0xDFFF {
					damaged = true
				} else {
					i += 6
				}
			}
			i += 5
			continue
		}
		i++ // the escaped character, which may be a backslash
	}
	return nul, damaged
}

// escaped reads the \uXXXX escape at raw[i:].
func escaped(raw []byte, i int) (rune, bool) {
	if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
	return rune(n), err == nil
}

// walker checks a decoded value, gathering every fault.
type walker struct {
	p *domain.Problems
	// damaged: the raw bytes were not clean UTF-8, so U+FFFD in a string marks the damage.
	damaged bool
	// deferred: a part was kept raw for a later Decode, which checks it then (a device's
	// mutations, each refused alone).
	deferred bool
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

func (w *walker) text(field, s string) {
	if w.damaged && strings.ContainsRune(s, utf8.RuneError) {
		w.p.Add(field, reasonBadUTF)
		return
	}
	Text(w.p, field, s)
}

// value checks v, found at field; b is the bound of the struct field holding it.
func (w *walker) value(field string, v reflect.Value, b *bound) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			w.value(field, v.Elem(), b)
		}
	case reflect.String:
		w.text(field, v.String())
	// Zero is also what an absent field reads as: whether it may be absent is the domain's
	// to say, and it fits every column.
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := v.Int(); b != nil && n != 0 && (n < b.min || n > b.max) {
			w.p.Add(field, b.reason())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n := v.Uint(); b != nil && n != 0 && (b.max < 0 || n > uint64(b.max) || (b.min > 0 && n < uint64(b.min))) {
			w.p.Add(field, b.reason())
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawMessage {
			// JSON kept as it came, for a reader of its own (GeoJSON): its text must be as clean.
			nul, damaged := scan(v.Bytes())
			w.p.Check(!nul, field, reasonNUL)
			w.p.Check(nul || !damaged, field, reasonBadUTF)
			return
		}
		for i := range v.Len() {
			w.value(fmt.Sprintf("%s[%d]", field, i), v.Index(i), b)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			name := join(field, fmt.Sprint(iter.Key().Interface()))
			if iter.Key().Kind() == reflect.String {
				w.text(name, iter.Key().String())
			}
			w.value(name, iter.Value(), b)
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()) {
			if f.deferred {
				w.deferred = true
				continue
			}
			w.value(join(field, f.name), v.FieldByIndex(f.index), f.bound)
		}
	}
}

func join(prefix, name string) string {
	if prefix == "" || strings.HasSuffix(prefix, ".") {
		return prefix + name
	}
	return prefix + "." + name
}

// jsonError names what encoding/json could not read.
func jsonError(err error, prefix string) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.CodeMalformedBody, "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.CodeMalformedBody, "the body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return domain.Errorf(domain.CodeMalformedBody, "the body is not valid JSON (byte %d: %s)", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return domain.Errorf(domain.CodeMalformedBody, "the body must be a JSON object")
		}
		return domain.Invalid(join(prefix, typeErr.Field), fmt.Sprintf("must be %s, not a JSON %s", jsonKind(typeErr.Type.Kind()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return domain.Invalid(join(prefix, Clean(name)), "is not a known field")
	}
	return domain.Errorf(domain.CodeMalformedBody, "the body could not be read as JSON")
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// Storable is raw JSON made storable as jsonb, for keeping, as a record, input that was
// refused: NUL characters and invalid text become U+FFFD. Clean JSON is returned as is.
func Storable(raw json.RawMessage) json.RawMessage {
	if nul, damaged := scan(raw); !nul && !damaged {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return json.RawMessage(`{}`)
	}
	out, err := json.Marshal(cleaned(v))
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return out
}

func cleaned(v any) any {
	switch x := v.(type) {
	case string:
		return Clean(x)
	case []any:
		for i := range x {
			x[i] = cleaned(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[Clean(k)] = cleaned(e)
		}
		return out
	}
	return v
}
