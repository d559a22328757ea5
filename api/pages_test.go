package api_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"courierd/api"
)

// TestPagesAndAssets: the console and the applicants' page are served with a policy that
// admits nothing from elsewhere; their assets come compressed as the browser accepts, and
// are kept forever under names that change with their content.
func TestPagesAndAssets(t *testing.T) {
	t.Parallel()
	pagesBuilt(t)
	h := newHarness(t, nil)
	get := func(path, encoding string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if encoding != "" {
			req.Header.Set("Accept-Encoding", encoding)
		}
		resp, err := h.app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := get("/", ""); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/tra-cuu" {
		t.Fatalf("/ leads to the applicants' page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	scriptTag := regexp.MustCompile(`<script type="module" src="(/assets/[a-z]+-[A-Z0-9]+\.js)"></script>`)
	for _, path := range []string{"/console", "/tra-cuu"} {
		r := get(path, "")
		raw, _ := io.ReadAll(r.Body)
		page := string(raw)
		csp := r.Header.Get("Content-Security-Policy")
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("%s: %d %s, policy %q", path, r.StatusCode, r.Header.Get("Content-Type"), csp)
		}
		if zipped := get(path, "br"); zipped.Header.Get("Content-Encoding") != "br" {
			t.Fatalf("%s is sent uncompressed to a browser that takes brotli", path)
		} else if unzipped, err := io.ReadAll(brotli.NewReader(zipped.Body)); err != nil || string(unzipped) != page {
			t.Fatalf("%s in brotli is not the page (%v)", path, err)
		}
		if r.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(page, `<meta name="map-tiles" content="">`) {
			t.Fatalf("%s: cache %q; no tile URL configured: %s", path, r.Header.Get("Cache-Control"), page)
		}
		// Nothing on the page comes from another host.
		if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "<script>") {
			t.Fatalf("%s names another host or runs inline script: %s", path, page)
		}
		m := scriptTag.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s has no script of its own: %s", path, page)
		}
		plain := get(m[1], "")
		body, _ := io.ReadAll(plain.Body)
		if plain.StatusCode != http.StatusOK || plain.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			!strings.HasPrefix(plain.Header.Get("Content-Type"), "text/javascript") || plain.Header.Get("Content-Encoding") != "" || len(body) < 1000 {
			t.Fatalf("%s: %d %v, %d bytes", m[1], plain.StatusCode, plain.Header, len(body))
		}
		for _, enc := range []struct {
			accept, want string
			open         func(io.Reader) (io.Reader, error)
		}{
			{"gzip, deflate, br", "br", func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil }},
			{"gzip", "gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		} {
			r := get(m[1], enc.accept)
			if r.Header.Get("Content-Encoding") != enc.want || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
				t.Fatalf("%s with %q: encoding %q, vary %q", m[1], enc.accept, r.Header.Get("Content-Encoding"), r.Header.Get("Vary"))
			}
			rd, err := enc.open(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(rd); err != nil || string(got) != string(body) {
				t.Fatalf("%s in %s is not the script (%v)", m[1], enc.want, err)
			}
		}
	}
	r := get("/assets/console-NOSUCHFILE.js", "")
	if r.StatusCode != http.StatusNotFound || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("an unknown asset: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// TestMapTilesConfigured: a tile URL reaches the pages, escaped, and its host alone is let
// into the policy for images.
func TestMapTilesConfigured(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ url, source string }{
		{"", ""},
		{"https://tiles.example.vn/{z}/{x}/{y}.png", " https://tiles.example.vn;"},
		{"https://{s}.tile.example.org/{z}/{x}/{y}.png", " https://*.tile.example.org;"},
		{"http://10.0.0.5:8081/styles/vn/{z}/{x}/{y}.png", " http://10.0.0.5:8081;"},
	} {
		csp := api.PageCSP(c.url)
		if !strings.Contains(csp, "img-src 'self' data:"+c.source) || strings.Count(csp, "http") != strings.Count(c.source, "http") {
			t.Errorf("tiles %q: policy %q", c.url, csp)
		}
	}
	page := api.WithMapConfig([]byte(`<meta name="map-tiles" content=""><meta name="map-attribution" content="">`),
		"https://tiles.example.vn/{z}/{x}/{y}.png?key=a&b=1", `© "OSM" <contributors>`)
	if want := `<meta name="map-tiles" content="https://tiles.example.vn/{z}/{x}/{y}.png?key=a&amp;b=1"><meta name="map-attribution" content="© &#34;OSM&#34; &lt;contributors&gt;">`; string(page) != want {
		t.Fatalf("meta tags:\n%s\nwant\n%s", page, want)
	}
}

// TestMapOutlines: the map's own base layer is public geography: the service areas and
// zones of the post offices around a view, and nothing for a view far away.
func TestMapOutlines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	anyone := h.as("")
	r := anyone.do(t, http.MethodGet, "/v1/map/outlines?bbox=106.6,10.9,106.75,11.05", "")
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("outlines: %d %s", r.status, r.raw)
	}
	kinds := map[string]int{}
	names := map[string]bool{}
	for _, f := range r.body["features"].([]any) {
		props := f.(map[string]any)["properties"].(map[string]any)
		kinds[props["kind"].(string)]++
		names[props["name"].(string)] = true
	}
	if kinds["service_area"] != len(h.demo.PostOffices) || kinds["zone"] != len(h.demo.Zones) {
		t.Fatalf("outlines by kind %v; the demo has %d offices and %d zones", kinds, len(h.demo.PostOffices), len(h.demo.Zones))
	}
	for _, z := range h.demo.Zones {
		if !names[z.Name] {
			t.Fatalf("zone %s missing", z.Name)
		}
	}
	if far := anyone.do(t, http.MethodGet, "/v1/map/outlines?bbox=105.8,21.0,105.9,21.1", ""); far.status != http.StatusOK || len(far.body["features"].([]any)) != 0 {
		t.Fatalf("Hà Nội's view has no Bình Dương outlines: %d %s", far.status, far.raw)
	}
	asked := 2
	for _, bad := range []string{"", "1,2,3", "106,10,a,11", "107,10,106,11", "100,10,106,11", "NaN,10,106,11", "190,10,191,11"} {
		wantProblem(t, anyone.do(t, http.MethodGet, "/v1/map/outlines?bbox="+bad, ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "bbox")
		asked++
	}
	// One address may ask 300 times in ten minutes, then waits.
	for ; asked < 300; asked++ {
		if r := anyone.do(t, http.MethodGet, "/v1/map/outlines?bbox=106.6,10.9,106.75,11.05", ""); r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", asked+1, r.status, r.raw)
		}
	}
	r = anyone.do(t, http.MethodGet, "/v1/map/outlines?bbox=106.6,10.9,106.75,11.05", "")
	wantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
	if r.header.Get("Retry-After") == "" {
		t.Fatalf("a throttled caller is not told when to come back: %v", r.header)
	}
}

// TestCourierPositions: a dispatcher sees the latest point of each of their office's
// couriers, plan or no plan; another office's dispatcher learns nothing.
func TestCourierPositions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[0].ID.String()
	dev := h.as("courier02@device").with("X-App-Version", "1.4.2")
	if r := dev.do(t, http.MethodPost, "/v1/device/locations", points(1, 3, func(i int) time.Time { return time.Now().Add(time.Duration(i-10) * time.Minute) })); r.status != http.StatusOK {
		t.Fatalf("points: %d %s", r.status, r.raw)
	}
	r := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/positions?post_office_id="+office, "")
	items := r.body["items"].([]any)
	if r.status != http.StatusOK || len(items) != 1 {
		t.Fatalf("positions: %d %s", r.status, r.raw)
	}
	p := items[0].(map[string]any)
	if p["courier_id"] != h.courierOf("courier02") || p["lat"] != 10.97003 || p["battery_pct"] != float64(77) {
		t.Fatalf("the latest of three points: %v", p)
	}
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/dispatch/positions?post_office_id="+office, ""), http.StatusNotFound, "NOT_FOUND")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/positions", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "post_office_id")
}
