package input_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"courierd/domain"
	"courierd/domain/input"
)

type inner struct {
	Note  string `json:"note"`
	Count int    `json:"count" bound:"1..10" column:"-"`
}

type body struct {
	Name  string          `json:"name"`
	Tags  []string        `json:"tags"`
	Items []inner         `json:"items"`
	Big   *int64          `json:"big" bound:"-int8..int8" column:"-"`
	Small uint16          `json:"small" bound:"0..int2" column:"-"`
	Area  json.RawMessage `json:"area"`
	Later json.RawMessage `json:"later" input:"deferred"`
	Meta  map[string]any  `json:"meta"`
}

// fields are the fields a refusal names, or its code when it names none.
func fields(err error) string {
	e, ok := domain.AsError(err)
	if !ok {
		return fmt.Sprint(err)
	}
	if len(e.Fields) == 0 {
		return string(e.Code)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return strings.Join(out, ",")
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"clean", `{"name":"Phường Phú Hòa","tags":["a"],"items":[{"note":"x","count":3}]}`, ""},
		{"an emoji as an escaped pair", `{"name":"\ud83d\udce6"}`, ""},
		{"U+FFFD sent as such", `{"name":"\ufffd ` + "\uFFFD" + `"}`, ""},
		{"an escaped backslash before u0000", `{"name":"C:\\u0000"}`, ""},
		{"NUL", `{"name":"a\u0000"}`, "name"},
		{"NUL in an array", `{"tags":["ok","b\u0000"]}`, "tags[1]"},
		{"NUL deep", `{"items":[{"note":"ok"},{"note":"\u0000"}]}`, "items[1].note"},
		{"a byte not UTF-8", "{\"name\":\"a\xff\"}", "name"},
		{"a lone low surrogate", `{"name":"a\udc00"}`, "name"},
		{"a high surrogate alone", `{"name":"a\ud800b"}`, "name"},
		{"a high surrogate at the end", `{"name":"a\ud800"}`, "name"},
		{"damage in a key", "{\"meta\":{\"k\xff\":1}}", "meta.k\uFFFD"},
		{"NUL in a map's value", `{"meta":{"k":"\u0000"}}`, "meta.k"},
		{"NUL in raw JSON", `{"area":{"type":"Polygon\u0000"}}`, "area"},
		{"NUL in deferred JSON is for its reader", `{"later":{"text":"\u0000"}}`, ""},
		{"within bounds", `{"items":[{"count":10}],"big":-9223372036854775808,"small":32767}`, ""},
		{"past a bound", `{"items":[{"count":11}]}`, "items[0].count"},
		{"below a bound", `{"items":[{"count":-1}]}`, "items[0].count"},
		{"zero, as absent, is the domain's to refuse", `{"items":[{"count":0}]}`, ""},
		{"past int2 in a uint16", `{"small":32768}`, "small"},
		{"past int64", `{"big":9223372036854775808}`, "big"},
		{"null", `null`, "MALFORMED_BODY"},
		{"two values", `{} {}`, "MALFORMED_BODY"},
		{"an unknown field", `{"nam":"x"}`, "nam"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b body
			if got := fields(input.Decode([]byte(c.raw), &b, "")); got != c.want && !(c.want == "" && got == "<nil>") {
				t.Fatalf("%s: refused %q, want %q", c.raw, got, c.want)
			}
		})
	}
}

func TestDecodeNamesAfterPrefix(t *testing.T) {
	var b body
	if got := fields(input.Decode([]byte(`{"items":[{"note":"\u0000"}]}`), &b, "payload.")); got != "payload.items[0].note" {
		t.Fatalf("%s", got)
	}
}

func TestStorable(t *testing.T) {
	for raw, want := range map[string]string{
		`{"note":"a\u0000"}`:       `{"note":"a` + "\uFFFD" + `"}`,
		"{\"note\":\"a\xff\"}":     `{"note":"a` + "\uFFFD" + `"}`,
		`{"note":"a\ud800","n":1}`: `{"n":1,"note":"a` + "\uFFFD" + `"}`,
		`{"note":"clean"}`:         `{"note":"clean"}`,
	} {
		if got := string(input.Storable(json.RawMessage(raw))); got != want {
			t.Errorf("%q: kept as %q, want %q", raw, got, want)
		}
	}
}

// An integer field that states no bound is a mistake of the code, found by the first test
// that decodes its type.
func TestAnUnboundIntegerCannotBeRead(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a type with an unbound integer was read")
		}
	}()
	var v struct {
		N int `json:"n"`
	}
	_ = input.Decode([]byte(`{"n":1}`), &v, "")
}
