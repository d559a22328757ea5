// Package osrm asks an OSRM-compatible routing engine (its table service) for the travel
// times and road distances between a day's points, for dispatch to plan on real roads
// instead of straight lines. Tables larger than the engine allows are asked block by
// block, a few blocks at once; pairs the engine cannot route get a prohibitive time, so the
// solver avoids them. An answer that cannot be used is an error wrapping
// dispatch.ErrTravelGarbage; no error names a point.
package osrm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"golang.org/x/sync/errgroup"

	"courierd/domain/dispatch"
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
	base *url.URL
	cfg  Config
	// side is the most sources (and destinations) one request asks for.
	side   int
	client *http.Client
}

// Config is how to reach the engine.
type Config struct {
	URL     string // e.g. http://osrm.internal:5000
	Profile string // "driving" unless set: osrm-routed serves whatever profile it was built with
	// AllowPrivate lets the client reach loopback, private and link-local addresses, where
	// an engine inside the post's network lives; without it such addresses are refused at
	// connection time, whatever the name resolves to.
	AllowPrivate bool
	Timeout      time.Duration // each request's; 10 s unless set
	// MaxTable is the engine's --max-table-size (100 by default): osrm-routed refuses a
	// request whose sources × destinations exceed its square (plugins/table.cpp, TooBig).
	MaxTable int
	// MaxURL bounds a request's URL in bytes (7,680 unless set): osrm-routed takes request
	// headers of at least 8 KiB, and so does a proxy's default (nginx's
	// large_client_header_buffers).
	MaxURL int
	// Concurrency is how many requests are in flight at once (4 unless set).
	Concurrency int
}

// New checks the configuration and builds the client.
func New(cfg Config) (*Table, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("osrm: %q is not an http(s) URL", cfg.URL)
	}
	cfg.Profile = cmp.Or(cfg.Profile, "driving")
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.MaxTable = cmp.Or(cfg.MaxTable, 100)
	cfg.MaxURL = cmp.Or(cfg.MaxURL, 7680)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	if cfg.MaxTable < 1 || cfg.Concurrency < 1 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("osrm: the table size, concurrency and timeout must be positive")
	}
	t := &Table{base: u, cfg: cfg, client: outbound.Client(cfg.Timeout, cfg.AllowPrivate, "OSRM_ALLOW_PRIVATE")}
	// As many kept connections as requests at once, so that each block does not dial anew.
	t.client.Transport.(*http.Transport).MaxIdleConnsPerHost = cfg.Concurrency
	// The widest square block whose request fits the URL bound, at the longest coordinates
	// there are: the engine's work grows with sources + destinations per request, so for a
	// given limit on their product square blocks ask it least.
	// (The URL grows with the side: the first side too wide is searched for.)
	t.side = sort.Search(cfg.MaxTable, func(i int) bool { return len(t.url(widest(i+1))) > cfg.MaxURL })
	if t.side == 0 {
		return nil, fmt.Errorf("osrm: a URL of %d bytes cannot hold one pair of points", cfg.MaxURL)
	}
	return t, nil
}

// widest is the request of a side × side block off the diagonal (2 × side coordinates) at
// the longest coordinates written.
func widest(side int) ([]string, []int, []int) {
	coords := make([]string, 2*side)
	for i := range coords {
		coords[i] = coordinate(orb.Point{-179.999999, -89.999999})
	}
	return coords, span(0, side), span(side, 2*side)
}

func coordinate(p orb.Point) string {
	return strconv.FormatFloat(p.Lon(), 'f', 6, 64) + "," + strconv.FormatFloat(p.Lat(), 'f', 6, 64)
}

// Requests is how many requests a table of n points takes: blocks per side squared, each
// side cut into ⌈n / the widest block⌉.
func (t *Table) Requests(n int) int {
	k := (n + t.side - 1) / t.side
	return k * k
}

// answer is the part of OSRM's table response we read.
type answer struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Durations [][]*float64 `json:"durations"`
	Distances [][]*float64 `json:"distances"`
}

// Matrix asks for every pair among points (longitude, latitude), in blocks of equal size
// as square as the limits allow; the first failure stops the rest.
func (t *Table) Matrix(ctx context.Context, points []orb.Point) (routing.Matrix, error) {
	n := len(points)
	durations, distances := make([]float64, n*n), make([]float64, n*n)
	if n > 0 {
		k := (n + t.side - 1) / t.side
		size := (n + k - 1) / k // k blocks a side, evened out
		g, ctx := errgroup.WithContext(ctx)
		g.SetLimit(t.cfg.Concurrency)
		for from := 0; from < n; from += size {
			for to := 0; to < n; to += size {
				g.Go(func() error {
					// Each block writes its own cells of the tables.
					return t.block(ctx, points, span(from, min(from+size, n)), span(to, min(to+size, n)), durations, distances)
				})
			}
		}
		if err := g.Wait(); err != nil {
			return nil, err
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

// url is the request for the times from sources to destinations (indices into coords).
func (t *Table) url(coords []string, sources, destinations []int) string {
	indices := func(ps []int) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = strconv.Itoa(p)
		}
		return strings.Join(parts, ";")
	}
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/table/v1/" + url.PathEscape(t.cfg.Profile) + "/" + strings.Join(coords, ";")
	u.RawQuery = url.Values{"sources": {indices(sources)}, "destinations": {indices(destinations)},
		"annotations": {"duration,distance"}}.Encode()
	return u.String()
}

// garbage is an answer that cannot be used.
func garbage(format string, args ...any) error {
	return fmt.Errorf("osrm: %w: "+format, append([]any{dispatch.ErrTravelGarbage}, args...)...)
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
			coords = append(coords, coordinate(points[p]))
		}
	}
	for _, p := range sources {
		add(p)
	}
	for _, p := range destinations {
		add(p)
	}
	local := func(ps []int) []int {
		out := make([]int, len(ps))
		for i, p := range ps {
			out[i] = index[p]
		}
		return out
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url(coords, local(sources), local(destinations)), nil)
	if err != nil {
		return err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// The URL holds the points: the cause alone is told.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("osrm: %w", err)
	}
	defer resp.Body.Close()
	var a answer
	decodeErr := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&a)
	switch {
	case resp.StatusCode != http.StatusOK:
		// A refusal (TooBig, NoSegment…) or a proxy's error page.
		return fmt.Errorf("osrm: HTTP %d, %s: %s", resp.StatusCode, cmp.Or(a.Code, http.StatusText(resp.StatusCode)), a.Message)
	case decodeErr != nil:
		return garbage("an unreadable answer: %w", decodeErr)
	case a.Code != "Ok":
		return garbage("code %q with HTTP 200", a.Code)
	case len(a.Durations) != len(sources) || len(a.Distances) != len(sources):
		return garbage("asked for %d sources, got %d rows of times and %d of distances", len(sources), len(a.Durations), len(a.Distances))
	}
	n := len(points)
	for i, from := range sources {
		if len(a.Durations[i]) != len(destinations) || len(a.Distances[i]) != len(destinations) {
			return garbage("row %d has %d times and %d distances for %d destinations", i, len(a.Durations[i]), len(a.Distances[i]), len(destinations))
		}
		for j, to := range destinations {
			// null: no road between them.
			durations[from*n+to], distances[from*n+to] = unroutableSeconds, unroutableMetres
			if d := a.Durations[i][j]; d != nil {
				if *d < 0 {
					return garbage("a negative time")
				}
				durations[from*n+to] = *d
			}
			if d := a.Distances[i][j]; d != nil {
				if *d < 0 {
					return garbage("a negative distance")
				}
				distances[from*n+to] = *d
			}
		}
	}
	return nil
}
