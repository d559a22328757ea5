package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestCatalogCreate201(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	cases := []struct{ path, body, check string }{
		{"/v1/post-offices", office(areaJSON), `"service_area":{"type":"MultiPolygon"`},
		{"/v1/post-offices", strings.Replace(office(`{"type":"MultiPolygon","coordinates":[[[[106.8,10.9],[106.9,10.9],[106.9,11.0],[106.8,10.9]]]]}`), "100000", "100100", 1), `"code":"100100"`},
		{"/v1/procedures", procedure, `"fee_vnd":8000`},
		{"/v1/agencies", `{"code":"000.00.12.H12","name":"Sở Tư pháp","kind":"department","admin_unit_code":"79","address":"Tháp A","location":{"lat":10.98,"lon":106.67}}`, `"kind":"department"`},
		{"/v1/holidays", `{"date":"2031-09-02","kind":"holiday","name":"Quốc khánh"}`, `"date":"2031-09-02"`},
	}
	for _, tc := range cases {
		r := h.do(t, http.MethodPost, tc.path, tc.body)
		if r.status != http.StatusCreated || !strings.Contains(r.raw, tc.check) || r.body["version"] != float64(1) {
			t.Fatalf("POST %s: %d %s", tc.path, r.status, r.raw)
		}
		loc := r.header.Get("Location")
		if got := h.do(t, http.MethodGet, loc, ""); got.status != http.StatusOK || got.raw != r.raw {
			t.Fatalf("GET %s after create: %d %s", loc, got.status, got.raw)
		}
	}
}

func TestCatalogCreate422(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	cases := []struct {
		name, path, body string
		fields           []string
	}{
		{"unknown field", "/v1/procedures", strings.Replace(procedure, `"code"`, `"colour":"red","code"`, 1), []string{"colour"}},
		{"wrong type", "/v1/procedures", strings.Replace(procedure, `"fee_vnd":8000`, `"fee_vnd":"8000"`, 1), []string{"fee_vnd"}},
		{"negative fees", "/v1/procedures", strings.NewReplacer(`"fee_vnd":8000`, `"fee_vnd":-1`, `"postage_vnd":25000`, `"postage_vnd":-2`).Replace(procedure), []string{"fee_vnd", "postage_vnd"}},
		{"missing flag", "/v1/procedures", strings.Replace(procedure, `"proxy_allowed":true,`, ``, 1), []string{"proxy_allowed"}},
		{"nested wrong type", "/v1/procedures", strings.Replace(procedure, `"quantity":1`, `"quantity":true`, 1), []string{"documents.quantity"}},
		{"latitude out of range", "/v1/post-offices", strings.Replace(office(areaJSON), `"lat":21.03`, `"lat":91`, 1), []string{"location"}},
		{"missing longitude", "/v1/post-offices", strings.Replace(office(areaJSON), `,"lon":105.83`, ``, 1), []string{"location.lon"}},
		{"unclosed polygon", "/v1/post-offices", office(`{"type":"Polygon","coordinates":[[[106.64,10.96],[106.70,10.96],[106.70,11.00],[106.64,11.00]]]}`), []string{"service_area.coordinates[0]"}},
		{"point as area", "/v1/post-offices", office(`{"type":"Point","coordinates":[106.6,10.9]}`), []string{"service_area"}},
		{"area not geojson", "/v1/post-offices", office(`{"type":"Polygon","coordinates":"here"}`), []string{"service_area"}},
		{"unit that does not exist", "/v1/post-offices", strings.Replace(office(areaJSON), `"admin_unit_code":"00004"`, `"admin_unit_code":"00000"`, 1), []string{"admin_unit_code"}},
		{"bad date", "/v1/holidays", `{"date":"02/09/2026","kind":"holiday","name":"Quốc khánh"}`, []string{"date"}},
		{"courier with bad shift and office", "/v1/couriers", `{"staff_code":"BT01","name":"Nguyễn Văn An","phone":"0912345678","post_office_id":"x","vehicle_kind":"motorbike","capacity_items":30,"shift_start":"7h30","shift_end":"17:00","skills":[]}`, []string{"post_office_id", "shift_start"}},
		{"commune without parent", "/v1/admin-units", `{"code":"25750","name":"Phường X","level":"commune","kind":"ward"}`, []string{"parent_code"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, tc.path, tc.body), http.StatusUnprocessableEntity, "VALIDATION_FAILED", tc.fields...)
		})
	}
	// Nothing refused was written.
	for _, path := range []string{"/v1/procedures?q=thu%20nghiem", "/v1/post-offices?admin_unit_code=00004",
		"/v1/holidays?from=2031-09-02&to=2031-09-02", "/v1/couriers?q=Nguyen%20Van%20An", "/v1/admin-units?q=Phuong%20X"} {
		if r := h.do(t, http.MethodGet, path, ""); r.body["total"] != float64(0) {
			t.Errorf("GET %s after refusals: %s", path, r.raw)
		}
	}
}

func TestCatalogMalformed400(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not json":       `{"code":`,
		"syntax":         `{"code" "x"}`,
		"array":          `[1,2]`,
		"two values":     `{} {}`,
		"empty":          ` `,
		"trailing comma": `{"code":"x",}`,
	} {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, "/v1/procedures", body), http.StatusBadRequest, "MALFORMED_BODY")
		})
	}
	t.Run("not json content type", func(t *testing.T) {
		req := newRequest(http.MethodPost, "/v1/procedures", procedure, "text/plain")
		wantProblem(t, h.as("admin").send(t, req), http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	})
	t.Run("bad query parameter", func(t *testing.T) {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/procedures?limit=ten&pickup_by_post=perhaps", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "limit", "pickup_by_post")
	})
}

func TestCatalogConflict409(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	h.mustCreate(t, "/v1/procedures", procedure, "id")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/procedures", procedure), http.StatusConflict, "CONFLICT", "code")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/admin-units", ward), http.StatusConflict, "CONFLICT", "code")

	id := h.mustCreate(t, "/v1/post-offices", office(areaJSON), "id")
	current := h.do(t, http.MethodGet, "/v1/post-offices/"+id, "")
	edited := strings.Replace(current.raw, "Bưu cục Thủ Dầu Một", "Bưu cục Trung tâm", 1)
	if r := h.do(t, http.MethodPut, "/v1/post-offices/"+id, edited); r.status != http.StatusOK || r.body["version"] != float64(2) {
		t.Fatalf("PUT of a record as read: %d %s", r.status, r.raw)
	}
	// The same stale body again: someone else's edit (version 2) must not be overwritten.
	wantProblem(t, h.do(t, http.MethodPut, "/v1/post-offices/"+id, edited), http.StatusConflict, "VERSION_CONFLICT")
	if r := h.do(t, http.MethodGet, "/v1/post-offices/"+id, ""); r.body["version"] != float64(2) {
		t.Fatalf("after a refused update: %s", r.raw)
	}
}

func TestCatalogNotFound404(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, path := range []string{
		"/v1/procedures/0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11",
		"/v1/procedures/not-a-uuid",
		"/v1/admin-units/99999",
		"/v1/accounts/0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11",
		"/v1/no-such-thing",
		"/nowhere",
	} {
		wantProblem(t, h.do(t, http.MethodGet, path, ""), http.StatusNotFound, "NOT_FOUND")
	}
	wantProblem(t, h.do(t, http.MethodPut, "/v1/holidays/0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11", `{"date":"2031-09-02","kind":"holiday","name":"Quốc khánh"}`), http.StatusNotFound, "NOT_FOUND")
}

func TestCatalogList200(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	h.mustCreate(t, "/v1/admin-units", `{"code":"00001","name":"Phường Phúc Xá","level":"commune","kind":"ward","parent_code":"01"}`, "code")
	cases := []struct {
		query string
		total int
		first string
	}{
		{"?parent_code=01", 2, "00001"},
		{"?parent_code=01&level=commune&q=phuc%20xa", 1, "00001"},
		{"?q=ba%20dinh", 1, "00004"},
		{"?parent_code=01&limit=1&offset=1", 2, "00004"},
		{"?parent_code=01&level=district", 0, ""},
		{"?level=district&legacy=true", 1, "718"},
	}
	for _, tc := range cases {
		r := h.do(t, http.MethodGet, "/v1/admin-units"+tc.query, "")
		items, _ := r.body["items"].([]any)
		if r.status != http.StatusOK || r.body["total"] != float64(tc.total) || items == nil {
			t.Fatalf("list %q: %d %s", tc.query, r.status, r.raw)
		}
		if tc.first != "" && items[0].(map[string]any)["code"] != tc.first {
			t.Fatalf("list %q: first item %v, want %s", tc.query, items[0], tc.first)
		}
	}
}

// TestBodyTooLarge413 goes through a real listener: fasthttp refuses an oversized body
// before any handler runs, which app.Test does not exercise.
func TestBodyTooLarge413(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	base := h.listen(t)
	before := h.do(t, http.MethodGet, "/v1/procedures", "").body["total"]
	// Announce a body past anything the server reads and send only the headers: it must
	// answer from the Content-Length alone, and the client reads the answer without
	// racing the server's close of the connection.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/procedures HTTP/1.1\r\nHost: courierd\r\nContent-Type: application/json\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", h.token(t, "admin"), testBlobLimit+1)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, readReply(t, resp), http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	// Past the JSON limit but within what the server reads (for proof uploads).
	huge, _ := http.NewRequest(http.MethodPost, base+"/v1/procedures", strings.NewReader(fmt.Sprintf(`{"name":"%s"}`, strings.Repeat("a", testBodyLimit+1))))
	huge.Header.Set("Content-Type", "application/json")
	huge.Header.Set("Authorization", "Bearer "+h.token(t, "admin"))
	hugeResp, err := http.DefaultClient.Do(huge)
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, readReply(t, hugeResp), http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	if r := h.do(t, http.MethodGet, "/v1/procedures", ""); r.body["total"] != before {
		t.Fatalf("an oversized body changed something: %s", r.raw)
	}
}
