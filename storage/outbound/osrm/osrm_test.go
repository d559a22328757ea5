package osrm_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb"

	"courierd/storage/outbound/osrm"
)

// fakeEngine answers OSRM table requests the way osrm-routed does, from a rule of its
// own: the time between two points is 1000 × the sum of their coordinate differences, the
// distance ten times that; the pair (from the point at longitude 106.5 to any other) has
// no road. It checks each request's shape and counts them.
func fakeEngine(t *testing.T, maxTable int, requests *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		rest, ok := strings.CutPrefix(r.URL.Path, "/table/v1/driving/")
		if !ok || r.URL.Query().Get("annotations") != "duration,distance" {
			t.Errorf("unexpected request %s", r.URL)
			http.Error(w, `{"code":"InvalidUrl"}`, http.StatusBadRequest)
			return
		}
		var points []orb.Point
		for _, pair := range strings.Split(rest, ";") {
			lon, lat, _ := strings.Cut(pair, ",")
			x, err1 := strconv.ParseFloat(lon, 64)
			y, err2 := strconv.ParseFloat(lat, 64)
			if err1 != nil || err2 != nil {
				t.Errorf("coordinate %q is not lon,lat", pair)
			}
			points = append(points, orb.Point{x, y})
		}
		if len(points) > maxTable {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":"TooBig","message":"Too many table coordinates"}`))
			return
		}
		index := func(name string) []int {
			var out []int
			for _, s := range strings.Split(r.URL.Query().Get(name), ";") {
				i, err := strconv.Atoi(s)
				if err != nil || i < 0 || i >= len(points) {
					t.Errorf("%s index %q", name, s)
				}
				out = append(out, i)
			}
			return out
		}
		sources, destinations := index("sources"), index("destinations")
		answer := map[string]any{"code": "Ok"}
		var durations, distances [][]*float64
		for _, s := range sources {
			var drow, mrow []*float64
			for _, d := range destinations {
				if points[s][0] == 106.5 && s != d {
					drow, mrow = append(drow, nil), append(mrow, nil)
					continue
				}
				v := 1000 * (math.Abs(points[s][0]-points[d][0]) + math.Abs(points[s][1]-points[d][1]))
				m := 10 * v
				drow, mrow = append(drow, &v), append(mrow, &m)
			}
			durations, distances = append(durations, drow), append(distances, mrow)
		}
		answer["durations"], answer["distances"] = durations, distances
		_ = json.NewEncoder(w).Encode(answer)
	}))
}

func TestTableInBlocks(t *testing.T) {
	var requests atomic.Int32
	engine := fakeEngine(t, 10, &requests)
	defer engine.Close()
	var points []orb.Point
	for i := range 23 {
		points = append(points, orb.Point{106.6 + float64(i)*0.001, 10.9 + float64(i%7)*0.002})
	}
	points[4] = orb.Point{106.5, 10.9}
	table, err := osrm.New(osrm.Config{URL: engine.URL, AllowPrivate: true, MaxTable: 10})
	if err != nil {
		t.Fatal(err)
	}
	m, err := table.Matrix(context.Background(), points)
	if err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got != 25 { // 23 points in blocks of 5 sources × 5 destinations
		t.Fatalf("%d requests, want 25", got)
	}
	for a := range points {
		for b := range points {
			want := 1000 * (math.Abs(points[a][0]-points[b][0]) + math.Abs(points[a][1]-points[b][1]))
			if a == 4 && b != 4 {
				want = 24 * 3600
			}
			if got := m.Duration(a, b); math.Abs(got-want) > 1e-6 {
				t.Fatalf("duration %d→%d = %v, want %v", a, b, got, want)
			}
			if a != 4 && math.Abs(m.Distance(a, b)-10*want) > 1e-6 {
				t.Fatalf("distance %d→%d = %v, want %v", a, b, m.Distance(a, b), 10*want)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	var requests atomic.Int32
	engine := fakeEngine(t, 100, &requests)
	defer engine.Close()
	points := []orb.Point{{106.6, 10.9}, {106.7, 10.95}}

	// Without leave, an engine on a loopback address is not reached at all.
	table, err := osrm.New(osrm.Config{URL: engine.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Matrix(context.Background(), points); err == nil || !strings.Contains(err.Error(), "loopback or private") {
		t.Fatalf("a loopback engine without OSRM_ALLOW_PRIVATE: %v", err)
	}
	if requests.Load() != 0 {
		t.Fatal("the refused engine was asked anyway")
	}

	// An engine that answers with an error names it.
	table, _ = osrm.New(osrm.Config{URL: engine.URL, AllowPrivate: true, MaxTable: 1000})
	table.MaxTable = 1000
	many := make([]orb.Point, 120)
	for i := range many {
		many[i] = orb.Point{106.6 + float64(i)*0.0001, 10.9}
	}
	if _, err := table.Matrix(context.Background(), many); err == nil || !strings.Contains(err.Error(), "TooBig") {
		t.Fatalf("a table over the engine's limit: %v", err)
	}
	for _, bad := range []string{"", "ftp://osrm", "osrm:5000", "http://"} {
		if _, err := osrm.New(osrm.Config{URL: bad}); err == nil {
			t.Errorf("%q accepted as an engine URL", bad)
		}
	}
}
