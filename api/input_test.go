package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"courierd/api"
)

// fault is one bad value in one field of a body: the body, and the field its refusal names.
type fault struct {
	class, field, body string
}

// textFaults are the strings PostgreSQL refuses or encoding/json would mangle silently.
var textFaults = map[string]string{
	"NUL":               `"a\u0000b"`,
	"byte not UTF-8":    "\"a\xffb\"",
	"lone surrogate":    `"a\udc00b"`,
	"surrogate, no low": `"a\ud800b"`,
}

var columnRanges = map[string][2]int64{
	"int2": {math.MinInt16, math.MaxInt16}, "int4": {math.MinInt32, math.MaxInt32}, "int8": {math.MinInt64, math.MaxInt64},
}

// boundOf reads a field's bound tag as the server states it; a test of its own checks
// the tags against the database.
func boundOf(tag string) (lo, hi int64, ok bool) {
	a, b, found := strings.Cut(tag, "..")
	end := func(s string, i int) (int64, bool) {
		if r, named := columnRanges[strings.TrimPrefix(s, "-")]; named {
			return r[i], true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	lo, okLo := end(a, 0)
	hi, okHi := end(b, 1)
	return lo, hi, found && okLo && okHi
}

// outside are the values just past a bound, as JSON numbers.
func outside(lo, hi int64) []string {
	var out []string
	if hi < math.MaxInt64 {
		out = append(out, strconv.FormatInt(hi+1, 10))
	} else {
		out = append(out, "9223372036854775808")
	}
	switch {
	case lo-1 == 0: // zero reads as absent: the domain's to refuse
		out = append(out, "-1")
	case lo > math.MinInt64:
		out = append(out, strconv.FormatInt(lo-1, 10))
	default:
		out = append(out, "-9223372036854775809")
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// faultsOf generates, for every string and integer field of t (nested objects and arrays
// included), a body holding one fault in that field. wrap puts a value where the field is
// in the whole body.
func faultsOf(t reflect.Type, path string, wrap func(string) string) []fault {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []fault
	switch {
	case t == reflect.TypeFor[json.RawMessage]():
		for class, text := range textFaults {
			out = append(out, fault{class: class + " in raw JSON", field: path, body: wrap(`{"type":` + text + `}`)})
		}
	case t.Kind() == reflect.String:
		for class, text := range textFaults {
			out = append(out, fault{class: class, field: path, body: wrap(text)})
		}
	case t.Kind() == reflect.Slice:
		out = faultsOf(t.Elem(), path+"[0]", func(v string) string { return wrap("[" + v + "]") })
	case t.Kind() == reflect.Map:
		out = faultsOf(t.Elem(), path+".k", func(v string) string { return wrap(`{"k":` + v + `}`) })
	case t.Kind() == reflect.Struct && t != timeType:
		for _, f := range reflect.VisibleFields(t) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || f.Tag.Get("input") == "deferred" || (f.Anonymous && name == "") {
				continue
			}
			field := strings.TrimPrefix(path+"."+cmpOr(name, f.Name), ".")
			in := func(v string) string { return wrap(fmt.Sprintf(`{%q:%s}`, cmpOr(name, f.Name), v)) }
			elem := f.Type
			for elem.Kind() == reflect.Pointer {
				elem = elem.Elem()
			}
			if k := elem.Kind(); k >= reflect.Int && k <= reflect.Uint64 {
				lo, hi, _ := boundOf(f.Tag.Get("bound"))
				for _, n := range outside(lo, hi) {
					out = append(out, fault{class: "integer " + n, field: field, body: in(n)})
				}
				continue
			}
			out = append(out, faultsOf(f.Type, field, in)...)
		}
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// bodiless are the routes that read no JSON body (the OAuth token endpoint reads a form):
// every other POST and PUT must have been seen decoding one by the walk.
var bodiless = []string{
	"POST /v1/auth/logout", "PUT /v1/device/blobs/:key", "POST /v1/accounts/:key/revoke", "POST /v1/devices/:key/revoke",
	"POST /v1/clients/:key/revoke", "POST /v1/oauth/token", "POST /v1/webhooks/subscribers/:key/deactivate", "POST /v1/complaints/:key/close",
	"POST /v1/dispatch/plans/:key/stop",
}

// routeCaller signs in as someone the route's rule lets through (a client granted the
// scope, on a route for partners' clients alone), and signs the portal's and the bank's
// calls. Its requests go to the server as they are: they break the
// contract on purpose.
func routeCaller(h *harness, citizen string, route, rule string) func(t testing.TB, method, path, body string) reply {
	var user string
	switch roles := strings.Split(strings.TrimSuffix(rule, "+device"), ","); {
	case rule == "public":
	case strings.HasSuffix(rule, "+device"):
		user = "courier01@device"
	case slices.Contains(roles, "admin"):
		user = "admin"
	case slices.Contains(roles, "dispatcher"):
		user = "dispatcher"
	case slices.Contains(roles, "clerk"):
		user = "clerk"
	case slices.Contains(roles, "courier"):
		user = "courier01"
	case strings.HasPrefix(rule, "partner:"):
		user = rule
	default:
		user = "citizen"
	}
	signers := map[string]func(*http.Request, []byte){
		"POST /v1/payments/callback":        signed(paymentSecret, "Gateway"),
		"POST /v1/webhooks/portal/dossiers": signed(portalSecret, "Portal"),
		"POST /v1/webhooks/portal/results":  signed(portalSecret, "Portal"),
	}
	partnerToken := "" // registered on the first call, which the walk makes before counting rows
	return func(t testing.TB, method, path, body string) reply {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if sign, ok := signers[route]; ok {
			sign(req, []byte(body))
		}
		switch {
		case user == "citizen":
			req.Header.Set("Authorization", "Bearer "+citizen)
		case strings.HasPrefix(user, "partner:"):
			if partnerToken == "" {
				partnerToken = h.accessToken(t, h.registerClient(t, strings.TrimPrefix(user, "partner:")), "")
			}
			req.Header.Set("Authorization", "Bearer "+partnerToken)
		case user != "":
			req.Header.Set("Authorization", "Bearer "+h.token(t, user))
		}
		if strings.Contains(user, "@") {
			req.Header.Set("X-Device-ID", deviceKey(user))
			req.Header.Set("X-App-Version", "1.4.2")
		}
		resp, err := h.app.Test(req, 10_000)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return readReply(t, resp)
	}
}

// learnBodies sends an empty object to every route that takes a body, as a caller its
// rule lets through, and returns each route's caller and the type its body is read into
// (which the decoder has then also checked whole for bounds). A route whose decoder the
// walk does not reach fails the test.
func learnBodies(t *testing.T, h *harness, citizen string) (map[string]func(testing.TB, string, string, string) reply, map[string]reflect.Type) {
	t.Helper()
	const someID = "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11"
	rules := h.app.RouteAccess()
	callers := map[string]func(testing.TB, string, string, string) reply{}
	for route, rule := range rules {
		callers[route] = routeCaller(h, citizen, route, rule)
	}
	for route := range rules {
		method, path, _ := strings.Cut(route, " ")
		if method != http.MethodPost && method != http.MethodPut || slices.Contains(bodiless, route) {
			continue
		}
		if r := callers[route](t, method, strings.ReplaceAll(path, ":key", someID), "{}"); r.status >= 500 {
			t.Errorf("%s with {}: %d %s", route, r.status, r.raw)
		}
	}
	types := api.DecodedTypes()
	for route := range rules {
		method, _, _ := strings.Cut(route, " ")
		if _, seen := types[route]; (method == http.MethodPost || method == http.MethodPut) && !seen && !slices.Contains(bodiless, route) {
			t.Errorf("%s: the walk never reached its body's decoder", route)
		}
	}
	return callers, types
}

// rowCounts is how many rows each table of ours holds.
func rowCounts(t *testing.T, h *harness) map[string]int {
	t.Helper()
	rows, err := h.db.SQL().Query(`SELECT relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', schemaname, relname), false, true, '')))[1]::text::int
		FROM pg_stat_user_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

var indexes = regexp.MustCompile(`\[\d+\]`)

// TestEveryFieldRefusesWhatPostgresWould walks the route table: every body's every string
// field is sent a NUL, a byte that is not UTF-8 and lone surrogates, every integer field
// the numbers just past its bound; every route a query parameter and a path parameter
// holding a NUL or a byte that is not UTF-8, and the integer query parameters numbers past
// int4 and int8. Each answer is a 4xx problem naming the field
// (never a 5xx, never a success), and nothing is written.
func TestEveryFieldRefusesWhatPostgresWould(t *testing.T) {
	t.Parallel()
	h := newEveryRouteHarness(t)
	citizen := h.citizenToken(t)
	const someID = "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11"
	rules := h.app.RouteAccess()
	callers, types := learnBodies(t, h, citizen)
	for _, user := range []string{"admin", "dispatcher", "clerk", "courier01", "courier01@device"} {
		h.token(t, user) // a login is written; the faults must write nothing
	}
	before := rowCounts(t, h)
	sent := 0
	for route, typ := range types {
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, ":key", someID)
		for _, f := range faultsOf(typ, "", func(v string) string { return v }) {
			sent++
			r := callers[route](t, method, path, f.body)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%s, %s in %s: %d %s", route, f.class, f.field, r.status, r.raw)
				continue
			}
			var got []string
			for _, e := range problemFields(r) {
				got = append(got, indexes.ReplaceAllString(e, ""))
			}
			// encoding/json names a number past Go's type without the array's index.
			if want := indexes.ReplaceAllString(f.field, ""); !slices.Equal(got, []string{want}) {
				t.Errorf("%s, %s in %s: fields at fault %v: %s", route, f.class, f.field, got, r.raw)
			}
		}
	}
	if sent < 300 {
		t.Fatalf("only %d faults sent: the walk lost the routes' bodies", sent)
	}
	t.Logf("%d faults sent to the bodies of %d routes", sent, len(types))
	for route := range rules {
		method, path, _ := strings.Cut(route, " ")
		body := ""
		if method == http.MethodPost || method == http.MethodPut {
			body = "{}"
		}
		for class, raw := range map[string]string{"NUL": "%00", "byte not UTF-8": "%FF"} {
			r := callers[route](t, method, strings.ReplaceAll(path, ":key", someID)+"?q=a"+raw, body)
			if method == http.MethodHead {
				if r.status != http.StatusUnprocessableEntity {
					t.Errorf("HEAD %s?q=%s: %d", path, raw, r.status)
				}
				continue
			}
			if fields := problemFields(r); r.status != http.StatusUnprocessableEntity || !slices.Equal(fields, []string{"q"}) {
				t.Errorf("%s?q=%s (%s): %d %s", route, raw, class, r.status, r.raw)
			}
			if strings.Contains(path, ":key") {
				if r := callers[route](t, method, strings.ReplaceAll(path, ":key", "a"+raw), body); r.status < 400 || r.status >= 500 {
					t.Errorf("%s with %s in its path: %d %s", route, class, r.status, r.raw)
				}
			}
		}
	}
	after := rowCounts(t, h)
	for table, n := range after {
		if before[table] != n {
			t.Errorf("%s: %d rows before the faults, %d after", table, before[table], n)
		}
	}
	// The integers read from queries: never a 5xx, whatever the number (a
	// public lookup may count against its throttle: not a fault).
	for route := range rules {
		method, path, _ := strings.Cut(route, " ")
		if method != http.MethodGet {
			continue
		}
		for _, name := range []string{"limit", "offset", "year"} {
			for _, n := range []string{"2147483648", "9223372036854775807", "9223372036854775808", "-9223372036854775808"} {
				if r := callers[route](t, method, strings.ReplaceAll(path, ":key", someID)+"?"+name+"="+n, ""); r.status >= 500 {
					t.Errorf("%s?%s=%s: %d %s", route, name, n, r.status, r.raw)
				}
			}
		}
	}
}

// problemFields are the fields a problem names.
func problemFields(r reply) []string {
	var out []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// queries are the query parameters a route requires.
var queries = map[string]string{"GET /v1/agencies/:key/remittance": "?from=2026-11-01&to=2026-12-01"}

// TestNoRecordNoAnswer: every read under a record's id (the record itself, or a list
// hanging from it) answers 404 NOT_FOUND for an id that names nothing, never an empty
// list that would read as "it exists and has none".
func TestNoRecordNoAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	citizen := h.citizenToken(t)
	for route, rule := range h.app.RouteAccess() {
		method, path, _ := strings.Cut(route, " ")
		if method != http.MethodGet || !strings.Contains(path, ":key") {
			continue
		}
		r := routeCaller(h, citizen, route, rule)(t, method, strings.ReplaceAll(path, ":key", "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11")+queries[route], "")
		if r.status != http.StatusNotFound || r.body["code"] != "NOT_FOUND" {
			t.Errorf("%s for an id that names nothing: %d %s", route, r.status, r.raw)
		}
	}
}
