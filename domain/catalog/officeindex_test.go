package catalog

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
)

// memOffices keeps post offices in memory and lists them by code, as storage does.
type memOffices struct {
	mu      sync.Mutex
	offices []PostOffice
	lists   int           // List calls so far
	latency time.Duration // of List, after its read: a database's, while writes commit
}

func (m *memOffices) List(_ context.Context, _ PostOfficeFilter, page domain.Page) (domain.List[PostOffice], error) {
	m.mu.Lock()
	m.lists++
	all := byCode(m.offices)
	m.mu.Unlock()
	time.Sleep(m.latency)
	from, found := slices.BinarySearchFunc(all, page.Cursor, func(o PostOffice, code string) int { return strings.Compare(o.Code, code) })
	if found {
		from++
	}
	to := min(from+page.Limit, len(all))
	list := domain.List[PostOffice]{Items: all[from:to], Total: len(all)}
	if to < len(all) {
		list.NextCursor = all[to-1].Code
	}
	return list, nil
}

func (m *memOffices) Get(_ context.Context, key string) (PostOffice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.offices {
		if o.ID.String() == key {
			return o, nil
		}
	}
	return PostOffice{}, domain.Errorf(domain.CodeNotFound, "no such post office")
}

func (m *memOffices) Create(_ context.Context, o PostOffice) (PostOffice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o.Version = 1
	m.offices = append(m.offices, o)
	return o, nil
}

func (m *memOffices) Update(_ context.Context, o PostOffice, _ int) (PostOffice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.offices {
		if m.offices[i].ID == o.ID {
			o.Version = m.offices[i].Version + 1
			m.offices[i] = o
			return o, nil
		}
	}
	return PostOffice{}, domain.Errorf(domain.CodeNotFound, "no such post office")
}

// communes answers that every code names a commune, for the post offices' unit check.
type communes struct{ AdminUnitStore }

func (communes) Get(_ context.Context, code string) (AdminUnit, error) {
	return AdminUnit{Code: code, Level: LevelCommune}, nil
}

func catalogOf(offices []PostOffice) (*Catalog, *memOffices) {
	store := &memOffices{offices: offices}
	return New(Stores{AdminUnits: communes{}, PostOffices: store}, uuid.New), store
}

func byCode(offices []PostOffice) []PostOffice {
	return slices.SortedFunc(slices.Values(offices), func(a, b PostOffice) int { return strings.Compare(a.Code, b.Code) })
}

// scanServing is the answer before the index: the first office of the list that serves pt.
func scanServing(list []PostOffice, pt orb.Point) (PostOffice, bool) {
	for _, o := range list {
		if o.Serves(pt) {
			return o, true
		}
	}
	return PostOffice{}, false
}

// lattice draws coordinates in a box of 0.25° on a grid of 1/256°, exact in binary, so
// that drawn rings share edges and vertices and drawn points fall on them exactly.
type lattice struct{ r *rand.Rand }

func (l lattice) coord(base float64) float64 { return base + float64(l.r.IntN(65))/256 }
func (l lattice) point() orb.Point           { return orb.Point{l.coord(106), l.coord(10)} }

func (l lattice) rect() orb.Ring {
	a, b := l.point(), l.point()
	return orb.Ring{{a[0], a[1]}, {b[0], a[1]}, {b[0], b[1]}, {a[0], b[1]}, {a[0], a[1]}}
}

// star is a ring around a lattice point, its vertices snapped to the lattice.
func (l lattice) star() orb.Ring {
	c, n, radius := l.point(), 3+l.r.IntN(10), float64(1+l.r.IntN(16))/256
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		a, d := 2*math.Pi*float64(i)/float64(n), radius*(0.4+0.6*l.r.Float64())
		ring = append(ring, orb.Point{c[0] + math.Round(d*math.Cos(a)*256)/256, c[1] + math.Round(d*math.Sin(a)*256)/256})
	}
	return append(ring, ring[0])
}

// wild is any closed ring of lattice points, crossing itself or not.
func (l lattice) wild() orb.Ring {
	ring := orb.Ring{}
	for range 3 + l.r.IntN(6) {
		ring = append(ring, l.point())
	}
	return append(ring, ring[0])
}

func (l lattice) ring() orb.Ring {
	switch l.r.IntN(5) {
	case 0, 1:
		return l.rect()
	case 2, 3:
		return l.star()
	default:
		return l.wild()
	}
}

// area is one to three polygons, some with holes (which may stray out of their polygon).
func (l lattice) area() orb.MultiPolygon {
	var area orb.MultiPolygon
	for range 1 + l.r.IntN(3) {
		poly := orb.Polygon{l.ring()}
		for range l.r.IntN(3) {
			if l.r.IntN(2) == 0 {
				poly = append(poly, l.ring())
			}
		}
		area = append(area, poly)
	}
	return area
}

// probes are points to look up: on the lattice (often on edges and vertices), anywhere in
// the box, vertices and edge midpoints of the areas, and far outside everything.
func (l lattice) probes(offices []PostOffice, n int) []orb.Point {
	pts := []orb.Point{{0, 0}, {105.9, 10.1}, {106.3, 10.3}, {106, 10}}
	for len(pts) < n {
		switch l.r.IntN(4) {
		case 0:
			pts = append(pts, l.point())
		case 1:
			pts = append(pts, orb.Point{105.99 + 0.27*l.r.Float64(), 9.99 + 0.27*l.r.Float64()})
		default:
			if len(offices) == 0 {
				continue
			}
			o := offices[l.r.IntN(len(offices))]
			poly := o.ServiceArea[l.r.IntN(len(o.ServiceArea))]
			ring := poly[l.r.IntN(len(poly))]
			i := l.r.IntN(len(ring) - 1)
			if l.r.IntN(2) == 0 {
				pts = append(pts, ring[i])
			} else {
				pts = append(pts, orb.Point{(ring[i][0] + ring[i+1][0]) / 2, (ring[i][1] + ring[i+1][1]) / 2})
			}
		}
	}
	return pts
}

// offices draws n offices with distinct codes in no particular order; some share another's
// area exactly, so that only the order tells which serves.
func (l lattice) offices(n int) []PostOffice {
	taken := map[int]bool{}
	offices := make([]PostOffice, n)
	for i := range offices {
		code := 100000 + l.r.IntN(900000)
		for taken[code] {
			code = 100000 + l.r.IntN(900000)
		}
		taken[code] = true
		offices[i] = PostOffice{ID: uuid.New(), Code: fmt.Sprint(code), ServiceArea: l.area()}
		if i > 0 && l.r.IntN(8) == 0 {
			offices[i].ServiceArea = offices[l.r.IntN(i)].ServiceArea
		}
	}
	return offices
}

// TestOfficeServingAgreesWithScan: over drawn catalogs (overlapping, touching, holed,
// self-crossing areas; one larger than a page of the list), the index answers every drawn
// point as the scan of the list does.
func TestOfficeServingAgreesWithScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for seed := range uint64(300) {
		l := lattice{rand.New(rand.NewPCG(seed, 0x0ff1ce))}
		n := l.r.IntN(40)
		if seed == 0 {
			n = 2*domain.MaxPageLimit + 200
		}
		offices := l.offices(n)
		cat, _ := catalogOf(slices.Clone(offices))
		list := byCode(offices)
		for _, pt := range l.probes(offices, 300) {
			want, wantOK := scanServing(list, pt)
			got, ok, err := cat.OfficeServing(ctx, pt)
			if err != nil {
				t.Fatal(err)
			}
			if ok != wantOK || got.ID != want.ID {
				t.Fatalf("seed %d, %d offices, point %v: the index says %q (%t), the scan %q (%t)", seed, n, pt, got.Code, ok, want.Code, wantOK)
			}
		}
	}
}

// validOffice is an office the catalog accepts, serving a square of half-side h around c.
func validOffice(code string, c orb.Point, h float64) PostOffice {
	return PostOffice{Code: code, Name: "Bưu cục " + code, Kind: PostOfficeFull, AdminUnitCode: "25747", Address: "1 Đại lộ Bình Dương",
		Location: c, ServiceArea: squareArea(c, h)}
}

func squareArea(c orb.Point, h float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{c[0] - h, c[1] - h}, {c[0] + h, c[1] - h}, {c[0] + h, c[1] + h}, {c[0] - h, c[1] + h}, {c[0] - h, c[1] - h}}}}
}

// TestOfficeServingFresh: an office created or edited through the catalog serves from the
// next lookup; the index is otherwise built once and kept, so that an edit behind the
// catalog's back (another server's) shows when the index expires.
func TestOfficeServingFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cat, store := catalogOf(nil)
	here, there := orb.Point{106.67, 10.98}, orb.Point{106.80, 10.90}
	serving := func(pt orb.Point) string {
		t.Helper()
		o, ok, err := cat.OfficeServing(ctx, pt)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "none"
		}
		return o.Code
	}
	if got := serving(here); got != "none" {
		t.Fatalf("an empty catalog serves with %s", got)
	}
	office, err := cat.PostOffices.Create(ctx, validOffice("820200", here, 0.02))
	if err != nil {
		t.Fatal(err)
	}
	if got := serving(here); got != "820200" {
		t.Fatalf("a created office does not serve at once: %s", got)
	}
	if _, err := cat.PostOffices.Create(ctx, validOffice("820100", here, 0.01)); err != nil {
		t.Fatal(err)
	}
	if got := serving(here); got != "820100" {
		t.Fatalf("a created office first by code does not take over the overlap at once: %s", got)
	}
	lists := store.lists
	if got := serving(here); got != "820100" || store.lists != lists {
		t.Fatalf("a second lookup gave %s after %d more lists: the index should be kept", got, store.lists-lists)
	}

	office.ServiceArea = squareArea(there, 0.02)
	if _, err := cat.PostOffices.Update(ctx, office.ID.String(), office, 0); err != nil {
		t.Fatal(err)
	}
	if got := serving(there); got != "820200" {
		t.Fatalf("an office whose area was edited does not serve there at once: %s", got)
	}

	// Another server's edits: unseen until the index is built again, in the background
	// from half its life on, by the lookup itself once it has expired.
	age := func(d time.Duration) {
		cat.offices.mu.Lock()
		defer cat.offices.mu.Unlock()
		cat.offices.read = time.Now().Add(-d)
	}
	office.ServiceArea = squareArea(here, 0.02)
	if office, err = store.Update(ctx, office, 0); err != nil {
		t.Fatal(err)
	}
	if got := serving(there); got != "820200" {
		t.Fatalf("the index was built again before it aged: %s", got)
	}
	age(officeIndexRefresh)
	if got := serving(there); got != "820200" {
		t.Fatalf("a lookup waited for the index to be built again: %s", got)
	}
	cat.offices.building.Lock() // held by the rebuild in the background until it is done
	_, _, rebuilt := cat.offices.get()
	cat.offices.building.Unlock()
	if got := serving(there); got != "none" || rebuilt >= officeIndexRefresh {
		t.Fatalf("the index built in the background is not used: %s", got)
	}
	office.ServiceArea = squareArea(there, 0.02)
	if _, err := store.Update(ctx, office, 0); err != nil {
		t.Fatal(err)
	}
	age(officeIndexTTL)
	if got := serving(there); got != "820200" {
		t.Fatalf("an expired index still answers: %s", got)
	}
}

// TestOfficeServingFreshUnderLoad: with creations and lookups racing, and the index being
// rebuilt meanwhile from reads that began before a creation, a creator's next lookup still
// finds the office it created.
func TestOfficeServingFreshUnderLoad(t *testing.T) {
	t.Parallel()
	cat, store := catalogOf(nil)
	store.latency = time.Millisecond
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				at := orb.Point{106 + float64(w)/10 + float64(i)/1000, 10.5}
				created, err := cat.PostOffices.Create(ctx, validOffice(fmt.Sprint(820000+100*w+i), at, 0.0004))
				if err != nil {
					t.Error(err)
					return
				}
				if got, ok, err := cat.OfficeServing(ctx, at); err != nil || !ok || got.ID != created.ID {
					t.Errorf("office %s: the next lookup found %q (%t, %v)", created.Code, got.Code, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkOfficeServing looks addresses up among 13,000 service points over Vietnam's
// extent, as many as the country has, dense in the cities; it reports the lookup, the
// index's build, and the scan it replaced (in memory alone, without reading the catalog).
func BenchmarkOfficeServing(b *testing.B) {
	r := rand.New(rand.NewPCG(13000, 1))
	offices := nationalOffices(r, 13000)
	addresses := make([]orb.Point, 4096)
	for i := range addresses {
		addresses[i] = nationalPlace(r, 0.7)
	}
	ctx := context.Background()
	cat, _ := catalogOf(offices)

	const builds = 10
	start := time.Now()
	for range builds {
		newOfficeIndex(offices)
	}
	build := time.Since(start) / builds

	start = time.Now()
	const scans = 200
	for _, pt := range addresses[:scans] {
		scanServing(offices, pt)
	}
	scan := time.Since(start) / scans

	served := 0
	for _, pt := range addresses {
		if _, ok, _ := cat.OfficeServing(ctx, pt); ok {
			served++
		}
	}
	i := 0
	for b.Loop() {
		if _, _, err := cat.OfficeServing(ctx, addresses[i%len(addresses)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/lookup")
	b.ReportMetric(float64(build.Microseconds())/1000, "build-ms")
	b.ReportMetric(float64(scan.Microseconds()), "scan-µs/lookup")
	b.ReportMetric(100*float64(served)/float64(len(addresses)), "%served")
}

// Vietnam's large cities, with their shares of the urban offices and addresses.
var benchCities = []struct {
	at     orb.Point
	weight int
}{
	{orb.Point{106.70, 10.78}, 10}, // Thành phố Hồ Chí Minh
	{orb.Point{105.85, 21.03}, 8},  // Hà Nội
	{orb.Point{108.21, 16.05}, 3},  // Đà Nẵng
	{orb.Point{106.68, 20.86}, 3},  // Hải Phòng
	{orb.Point{105.77, 10.03}, 2},  // Cần Thơ
	{orb.Point{106.65, 10.98}, 2},  // Thủ Dầu Một
	{orb.Point{106.82, 10.95}, 2},  // Biên Hòa
	{orb.Point{107.59, 16.46}, 1},  // Huế
	{orb.Point{109.19, 12.24}, 1},  // Nha Trang
	{orb.Point{105.68, 18.67}, 1},  // Vinh
	{orb.Point{108.04, 12.67}, 1},  // Buôn Ma Thuột
	{orb.Point{109.22, 13.78}, 1},  // Quy Nhơn
	{orb.Point{105.84, 21.59}, 1},  // Thái Nguyên
	{orb.Point{106.17, 20.42}, 1},  // Nam Định
}

// benchSpine runs down the country, north to south; the countryside lies in a band around it.
var benchSpine = []orb.Point{{103.2, 22.6}, {105.8, 21.0}, {105.7, 18.7}, {107.6, 16.5}, {108.2, 16.0},
	{109.2, 13.8}, {109.2, 12.2}, {108.0, 11.3}, {106.7, 10.8}, {105.1, 9.2}}

// nationalPlace draws a place in a city with probability urban, else in the countryside.
func nationalPlace(r *rand.Rand, urban float64) orb.Point {
	if r.Float64() < urban {
		total := 0
		for _, c := range benchCities {
			total += c.weight
		}
		pick := r.IntN(total)
		for _, c := range benchCities {
			if pick -= c.weight; pick < 0 {
				return orb.Point{c.at[0] + 0.06*r.NormFloat64(), c.at[1] + 0.06*r.NormFloat64()}
			}
		}
	}
	i := r.IntN(len(benchSpine) - 1)
	a, b, t := benchSpine[i], benchSpine[i+1], r.Float64()
	band := 0.5
	if a[1] > 20 {
		band = 1.2 // the north is wide, the centre narrow
	}
	return orb.Point{
		min(max(a[0]+t*(b[0]-a[0])+band*(2*r.Float64()-1), 102.1), 109.5),
		min(max(a[1]+t*(b[1]-a[1])+band*(2*r.Float64()-1), 8.5), 23.4),
	}
}

// nationalOffices draws n offices: two in five in the cities with areas one to three km
// across, the others in the countryside, three to ten km across; areas are irregular
// polygons of 16 to 48 vertices, one in ten has a second part (an island, an exclave),
// one in twenty a hole.
func nationalOffices(r *rand.Rand, n int) []PostOffice {
	const km = 1 / 111.0
	offices := make([]PostOffice, n)
	for i := range offices {
		urban, radius := 0.0, (1.5+3.5*r.Float64())*km
		if r.Float64() < 0.4 {
			urban, radius = 1, (0.5+r.Float64())*km
		}
		c := nationalPlace(r, urban)
		poly := orb.Polygon{blob(r, c, radius)}
		if r.IntN(20) == 0 {
			poly = append(poly, blob(r, c, radius/4))
		}
		area := orb.MultiPolygon{poly}
		if r.IntN(10) == 0 {
			far := orb.Point{c[0] + (2+6*r.Float64())*km, c[1] + (2+6*r.Float64())*km}
			area = append(area, orb.Polygon{blob(r, far, radius/2)})
		}
		offices[i] = PostOffice{ID: uuid.New(), Code: fmt.Sprintf("%06d", 100000+i), Location: c, ServiceArea: area}
	}
	return offices
}

// blob is an irregular ring around c of about radius.
func blob(r *rand.Rand, c orb.Point, radius float64) orb.Ring {
	n := 16 + r.IntN(33)
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		a, d := 2*math.Pi*float64(i)/float64(n), radius*(0.75+0.25*r.Float64())
		ring = append(ring, orb.Point{c[0] + d*math.Cos(a), c[1] + d*math.Sin(a)})
	}
	return append(ring, ring[0])
}
