package osrm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"courierd/domain/dispatch"
	"courierd/storage/outbound/osrm"
)

// engine is a fake osrm-routed: it answers table requests from a rule of its own (the time
// between two points is 1000 × the sum of their coordinate differences, the distance ten
// times that; from a point at longitude 106.5 there is no road), refuses what the real one
// refuses (sources × destinations over maxTable², TooBig; a URL over maxURL, 414), and
// counts the requests and the most in flight at once. answer, when set, replaces the
// answer (for the broken engines).
type engine struct {
	t                *testing.T
	maxTable, maxURL int
	latency          time.Duration
	answer           func(w http.ResponseWriter)
	requests         atomic.Int32
	inFlight, most   atomic.Int32
	server           *httptest.Server
}

func newEngine(t *testing.T, maxTable, maxURL int, latency time.Duration) *engine {
	e := &engine{t: t, maxTable: maxTable, maxURL: maxURL, latency: latency}
	e.server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.server.Close)
	return e
}

func (e *engine) serve(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	// In flight from arrival to the start of the answer: a client may read a whole answer
	// and ask again before this handler has returned.
	now := e.inFlight.Add(1)
	for most := e.most.Load(); now > most && !e.most.CompareAndSwap(most, now); most = e.most.Load() {
	}
	select {
	case <-time.After(e.latency):
		e.inFlight.Add(-1)
	case <-r.Context().Done():
		e.inFlight.Add(-1)
		return
	}
	if e.answer != nil {
		e.answer(w)
		return
	}
	if len(r.URL.RequestURI()) > e.maxURL {
		e.t.Errorf("a URL of %d bytes, over %d", len(r.URL.RequestURI()), e.maxURL)
		w.WriteHeader(http.StatusRequestURITooLong)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/table/v1/driving/")
	if !ok || r.URL.Query().Get("annotations") != "duration,distance" {
		e.t.Errorf("unexpected request %s", r.URL.Path)
		http.Error(w, `{"code":"InvalidUrl"}`, http.StatusBadRequest)
		return
	}
	var points []orb.Point
	for _, pair := range strings.Split(rest, ";") {
		lon, lat, _ := strings.Cut(pair, ",")
		x, err1 := strconv.ParseFloat(lon, 64)
		y, err2 := strconv.ParseFloat(lat, 64)
		if err1 != nil || err2 != nil {
			e.t.Errorf("coordinate %q is not lon,lat", pair)
		}
		points = append(points, orb.Point{x, y})
	}
	index := func(name string) []int {
		var out []int
		for _, s := range strings.Split(r.URL.Query().Get(name), ";") {
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(points) {
				e.t.Errorf("%s index %q", name, s)
			}
			out = append(out, i)
		}
		return out
	}
	sources, destinations := index("sources"), index("destinations")
	if len(sources)*len(destinations) > e.maxTable*e.maxTable {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":"TooBig","message":"Too many table coordinates"}`))
		return
	}
	var durations, distances [][]*float64
	for _, s := range sources {
		var drow, mrow []*float64
		for _, d := range destinations {
			if points[s][0] == 106.5 && s != d {
				drow, mrow = append(drow, nil), append(mrow, nil)
				continue
			}
			v := rule(points[s], points[d])
			m := 10 * v
			drow, mrow = append(drow, &v), append(mrow, &m)
		}
		durations, distances = append(durations, drow), append(distances, mrow)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": "Ok", "durations": durations, "distances": distances})
}

func rule(a, b orb.Point) float64 { return 1000 * (math.Abs(a[0]-b[0]) + math.Abs(a[1]-b[1])) }

// town is n points in and around Ho Chi Minh City, at the precision asked of the engine,
// one of them (when there are three or more) with no road out.
func town(rng *rand.Rand, n int) []orb.Point {
	points := make([]orb.Point, n)
	for i := range points {
		points[i] = orb.Point{math.Round((106.6+rng.Float64()*0.3)*1e6) / 1e6, math.Round((10.7+rng.Float64()*0.2)*1e6) / 1e6}
	}
	if n >= 3 {
		points[rng.IntN(n)] = orb.Point{106.5, 10.9}
	}
	return points
}

// ceiling is the most requests a table of n points may take: square blocks as wide as the
// table limit and the URL bound allow, the URL's length reckoned here on its own from the
// longest coordinate (23 bytes with its separator) and index (digits and an escaped
// separator) there are.
func ceiling(n, maxTable, maxURL int, base string) int {
	side := maxTable
	for ; side > 1; side-- {
		index := len(strconv.Itoa(2*side)) + 3
		bytes := len(base) + len("/table/v1/driving/?annotations=duration%2Cdistance&destinations=&sources=") + 2*side*(23+index)
		if bytes <= maxURL {
			break
		}
	}
	k := (n + side - 1) / side
	return k * k
}

// Tables of any size come whole and right, within both limits of the engine, in no more
// requests than the ceiling and no more at once than the concurrency.
func TestTableInBlocks(t *testing.T) {
	for seed := range uint64(24) {
		rng := rand.New(rand.NewPCG(seed, 25))
		n := 1 + rng.IntN(600)
		maxTable := 8 + rng.IntN(140)
		maxURL := 0 // the default
		if rng.IntN(2) == 0 {
			maxURL = 1500 + rng.IntN(12000)
		}
		concurrency := 1 + rng.IntN(8)
		e := newEngine(t, maxTable, max(maxURL, 7680), 0)
		points := town(rng, n)
		table, err := osrm.New(osrm.Config{URL: e.server.URL, AllowPrivate: true, MaxTable: maxTable, MaxURL: maxURL, Concurrency: concurrency})
		if err != nil {
			t.Fatal(err)
		}
		m, err := table.Matrix(context.Background(), points)
		if err != nil {
			t.Fatalf("seed %d, %d points, table %d, URL %d: %v", seed, n, maxTable, maxURL, err)
		}
		if m.Size() != n {
			t.Fatalf("seed %d: a table of %d for %d points", seed, m.Size(), n)
		}
		for a := range points {
			for b := range points {
				want := rule(points[a], points[b])
				if points[a][0] == 106.5 && a != b {
					want = 24 * 3600
				}
				if got := m.Duration(a, b); math.Abs(got-want) > 1e-6 {
					t.Fatalf("seed %d: duration %d→%d = %v, want %v", seed, a, b, got, want)
				}
				if want != 24*3600 && math.Abs(m.Distance(a, b)-10*want) > 1e-6 {
					t.Fatalf("seed %d: distance %d→%d = %v, want %v", seed, a, b, m.Distance(a, b), 10*want)
				}
			}
		}
		requests := int(e.requests.Load())
		if limit := ceiling(n, maxTable, cmpOr(maxURL, 7680), e.server.URL); requests > limit || requests != table.Requests(n) {
			t.Fatalf("seed %d, %d points, table %d, URL %d: %d requests, ceiling %d, the client's count %d",
				seed, n, maxTable, maxURL, requests, limit, table.Requests(n))
		}
		if lower := (n*n + maxTable*maxTable - 1) / (maxTable * maxTable); requests < lower {
			t.Fatalf("seed %d: %d requests, fewer than the %d the engine's limit allows", seed, requests, lower)
		}
		if most := int(e.most.Load()); most > concurrency {
			t.Fatalf("seed %d: %d requests at once, over %d", seed, most, concurrency)
		}
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// Broken engines: each answer is an error, garbage or not as it should be, naming no point.
func TestBrokenEngines(t *testing.T) {
	write := func(status int, body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.WriteHeader(status); _, _ = w.Write([]byte(body)) }
	}
	rows := func(k int, cell string) string {
		row := strings.TrimSuffix(strings.Repeat(cell+",", k), ",")
		table := strings.TrimSuffix(strings.Repeat("["+row+"],", k), ",")
		return "[" + table + "]"
	}
	cases := []struct {
		name    string
		answer  func(k int) func(http.ResponseWriter)
		garbage bool
	}{
		{"refused", func(int) func(http.ResponseWriter) {
			return write(400, `{"code":"NoSegment","message":"Could not find a matching segment for coordinate 3"}`)
		}, false},
		{"proxy error page", func(int) func(http.ResponseWriter) { return write(502, "<html>Bad Gateway</html>") }, false},
		{"malformed JSON", func(int) func(http.ResponseWriter) { return write(200, `{"code":"Ok","durations":[[1,2`) }, true},
		{"not Ok", func(int) func(http.ResponseWriter) { return write(200, `{"code":"Maybe"}`) }, true},
		{"too few rows", func(k int) func(http.ResponseWriter) {
			return write(200, fmt.Sprintf(`{"code":"Ok","durations":%s,"distances":%s}`, rows(k, "1")[:2]+"]]", rows(k, "1")))
		}, true},
		{"short rows", func(k int) func(http.ResponseWriter) {
			return write(200, fmt.Sprintf(`{"code":"Ok","durations":%s,"distances":%s}`, rows(k, "1"), strings.Repeat("[],", k-1)[:0]+"["+strings.TrimSuffix(strings.Repeat("[1],", k), ",")+"]"))
		}, true},
		{"negative", func(k int) func(http.ResponseWriter) {
			return write(200, fmt.Sprintf(`{"code":"Ok","durations":%s,"distances":%s}`, rows(k, "-3"), rows(k, "1")))
		}, true},
		{"NaN", func(k int) func(http.ResponseWriter) {
			return write(200, fmt.Sprintf(`{"code":"Ok","durations":%s,"distances":%s}`, rows(k, `"NaN"`), rows(k, "1")))
		}, true},
		{"infinite", func(k int) func(http.ResponseWriter) {
			return write(200, fmt.Sprintf(`{"code":"Ok","durations":%s,"distances":%s}`, rows(k, "1e999"), rows(k, "1")))
		}, true},
	}
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 26))
		k := 2 + rng.IntN(30)
		points := town(rng, k)
		for _, c := range cases {
			e := newEngine(t, 100, 7680, 0)
			e.answer = c.answer(k)
			table, err := osrm.New(osrm.Config{URL: e.server.URL, AllowPrivate: true})
			if err != nil {
				t.Fatal(err)
			}
			_, err = table.Matrix(context.Background(), points)
			if err == nil || errors.Is(err, dispatch.ErrTravelGarbage) != c.garbage {
				t.Fatalf("seed %d, %s: %v (garbage %v)", seed, c.name, err, c.garbage)
			}
			if strings.Contains(err.Error(), "106.") || strings.Contains(err.Error(), "10.") {
				t.Fatalf("%s: the error names a point: %v", c.name, err)
			}
		}
	}
}

// An engine slower than the timeout: a timeout error, naming no point, well before the
// engine would have answered every block.
func TestSlowEngine(t *testing.T) {
	e := newEngine(t, 10, 7680, time.Minute)
	table, err := osrm.New(osrm.Config{URL: e.server.URL, AllowPrivate: true, MaxTable: 10, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = table.Matrix(context.Background(), town(rand.New(rand.NewPCG(1, 2)), 40))
	var timeout interface{ Timeout() bool }
	if err == nil || !errors.As(err, &timeout) || !timeout.Timeout() || strings.Contains(err.Error(), "106.") {
		t.Fatalf("a slow engine: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	e := newEngine(t, 100, 7680, 0)
	points := []orb.Point{{106.6, 10.9}, {106.7, 10.95}}

	// Without leave, an engine on a loopback address is not reached at all.
	table, err := osrm.New(osrm.Config{URL: e.server.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Matrix(context.Background(), points); err == nil || !strings.Contains(err.Error(), "loopback or private") {
		t.Fatalf("a loopback engine without OSRM_ALLOW_PRIVATE: %v", err)
	}
	if e.requests.Load() != 0 {
		t.Fatal("the refused engine was asked anyway")
	}

	// An engine whose limit is lower than the client was told names its refusal.
	table, _ = osrm.New(osrm.Config{URL: e.server.URL, AllowPrivate: true, MaxTable: 1000, MaxURL: 1 << 20})
	many := make([]orb.Point, 120)
	for i := range many {
		many[i] = orb.Point{106.6 + float64(i)*0.0001, 10.9}
	}
	e.maxURL = 1 << 20
	if _, err := table.Matrix(context.Background(), many); err == nil || !strings.Contains(err.Error(), "TooBig") || errors.Is(err, dispatch.ErrTravelGarbage) {
		t.Fatalf("a table over the engine's limit: %v", err)
	}
	for _, bad := range []osrm.Config{{URL: ""}, {URL: "ftp://osrm"}, {URL: "osrm:5000"}, {URL: "http://"},
		{URL: "http://osrm", MaxTable: -1}, {URL: "http://osrm", Concurrency: -2}, {URL: "http://osrm", MaxURL: 60}} {
		if _, err := osrm.New(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// BenchmarkTable512 fetches a 512-point table from an engine answering each request after
// 20 ms, as the client asked before (blocks of half the limit, one at a time: 121 requests)
// and as it asks now (blocks at the full limit, four at once: 36).
func BenchmarkTable512(b *testing.B) {
	points := town(rand.New(rand.NewPCG(5, 12)), 512)
	for _, c := range []struct {
		name string
		cfg  osrm.Config
	}{
		{"before", osrm.Config{MaxTable: 50, Concurrency: 1}},
		{"after", osrm.Config{MaxTable: 100, Concurrency: 4}},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := &engine{t: &testing.T{}, maxTable: 100, maxURL: 7680, latency: 20 * time.Millisecond}
			e.server = httptest.NewServer(http.HandlerFunc(e.serve))
			defer e.server.Close()
			c.cfg.URL, c.cfg.AllowPrivate = e.server.URL, true
			table, err := osrm.New(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := table.Matrix(context.Background(), points); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(e.requests.Load())/float64(b.N), "requests/op")
			b.ReportMetric(float64(e.most.Load()), "most-at-once")
		})
	}
}
