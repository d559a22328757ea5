// Package osrm asks an OSRM-compatible routing engine (its table service) for the travel
// times and road distances between a day's points, for dispatch to plan on real roads
// instead of straight lines. Tables larger than the engine allows are asked block by
// block; pairs the engine cannot route get a prohibitive time, so the solver avoids them.
package osrm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"courierd/routing"
	"courierd/storage/outbound"
)

// Unroutable is the time and distance given to a pair the engine finds no road between:
// a day and a thousand kilometres, more than any shift allows.
const (
	unroutableSeconds = 24 * 3600
	unroutableMetres  = 1_000_000
)

// Table is an OSRM table client.
type Table struct {
	base    *url.URL
	profile string
	// MaxTable is the most points one request may hold (osrm-routed's --max-table-size,
	// 100 by default); larger tables are asked in blocks.
	MaxTable int
	client   *http.Client
}

// Config is how to reach the engine.
type Config struct {
	URL     string // e.g. http://osrm.internal:5000
	Profile string // "driving" unless set: OSRM serves whatever profile it was built with
	// AllowPrivate lets the client reach loopback, private and link-local addresses, where
	// an engine inside the post's network lives; without it such addresses are refused at
	// connection time, whatever the name resolves to.
	AllowPrivate bool
	Timeout      time.Duration
	MaxTable     int
}

// New checks the URL and builds the client.
func New(cfg Config) (*Table, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("osrm: %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Profile == "" {
		cfg.Profile = "driving"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxTable == 0 {
		cfg.MaxTable = 100
	}
	return &Table{base: u, profile: cfg.Profile, MaxTable: cfg.MaxTable,
		client: outbound.Client(cfg.Timeout, cfg.AllowPrivate, "OSRM_ALLOW_PRIVATE")}, nil
}

// answer is the part of OSRM's table response we read.
type answer struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Durations [][]*float64 `json:"durations"`
	Distances [][]*float64 `json:"distances"`
}

// Matrix asks for every pair among points (longitude, latitude).
func (t *Table) Matrix(ctx context.Context, points []orb.Point) (routing.Matrix, error) {
	n := len(points)
	durations, distances := make([]float64, n*n), make([]float64, n*n)
	half := max(t.MaxTable/2, 1)
	for from := 0; from < n; from += half {
		for to := 0; to < n; to += half {
			sources := span(from, min(from+half, n))
			destinations := span(to, min(to+half, n))
			if err := t.block(ctx, points, sources, destinations, durations, distances); err != nil {
				return nil, err
			}
		}
	}
	return routing.NewDense(n, durations, distances)
}

func span(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// block asks for the times from sources to destinations (indices into points) and writes
// them into the n×n tables.
func (t *Table) block(ctx context.Context, points []orb.Point, sources, destinations []int, durations, distances []float64) error {
	// The request holds the sources, then the destinations not among them.
	var coords []string
	index := map[int]int{}
	add := func(p int) {
		if _, ok := index[p]; !ok {
			index[p] = len(coords)
			coords = append(coords, strconv.FormatFloat(points[p].Lon(), 'f', 6, 64)+","+strconv.FormatFloat(points[p].Lat(), 'f', 6, 64))
		}
	}
	for _, p := range sources {
		add(p)
	}
	for _, p := range destinations {
		add(p)
	}
	indices := func(ps []int) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = strconv.Itoa(index[p])
		}
		return strings.Join(parts, ";")
	}
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/table/v1/" + url.PathEscape(t.profile) + "/" + strings.Join(coords, ";")
	u.RawQuery = url.Values{"sources": {indices(sources)}, "destinations": {indices(destinations)},
		"annotations": {"duration,distance"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("osrm: %w", err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&a); err != nil {
		return fmt.Errorf("osrm: an unreadable answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || a.Code != "Ok" {
		return fmt.Errorf("osrm: HTTP %d, %s: %s", resp.StatusCode, a.Code, a.Message)
	}
	if len(a.Durations) != len(sources) || len(a.Distances) != len(sources) {
		return fmt.Errorf("osrm: asked for %d sources, got %d rows of times and %d of distances", len(sources), len(a.Durations), len(a.Distances))
	}
	n := len(points)
	for i, from := range sources {
		if len(a.Durations[i]) != len(destinations) || len(a.Distances[i]) != len(destinations) {
			return fmt.Errorf("osrm: row %d has %d times and %d distances for %d destinations", i, len(a.Durations[i]), len(a.Distances[i]), len(destinations))
		}
		for j, to := range destinations {
			durations[from*n+to], distances[from*n+to] = unroutableSeconds, unroutableMetres
			if d := a.Durations[i][j]; d != nil && *d >= 0 {
				durations[from*n+to] = *d
			}
			if d := a.Distances[i][j]; d != nil && *d >= 0 {
				distances[from*n+to] = *d
			}
		}
	}
	return nil
}
