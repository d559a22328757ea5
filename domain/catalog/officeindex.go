package catalog

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"courierd/domain"
)

// officeIndexTTL bounds how long an index of service areas built here is used: a post
// office created or edited through this process drops it at once; another process's edit
// (a second server on the same database) is seen within this time.
const officeIndexTTL = time.Minute

// officeIndexRefresh is the age from which a lookup has the index built again in the
// background, answering from the old one meanwhile: reading 13,000 areas from the database
// takes most of a second, which a lookup waits for only when the index was dropped or no
// lookup came for this long.
const officeIndexRefresh = officeIndexTTL / 2

// OfficeServing finds the post office whose service area holds pt (its edges included).
// Where areas overlap, the first office in the catalog's order (by code) serves, as a scan
// of the list would find it; ok is false when no area holds pt.
func (c *Catalog) OfficeServing(ctx context.Context, pt orb.Point) (office PostOffice, ok bool, err error) {
	ix, err := c.officeIndex(ctx)
	if err != nil {
		return PostOffice{}, false, err
	}
	office, ok = ix.serving(pt)
	return office, ok, nil
}

// officeIndex is an index younger than officeIndexTTL, built now if there is none.
func (c *Catalog) officeIndex(ctx context.Context) (*officeIndex, error) {
	ix, generation, age := c.offices.get()
	if ix != nil && age < officeIndexTTL {
		if age >= officeIndexRefresh && c.offices.building.TryLock() {
			go func() {
				defer c.offices.building.Unlock()
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), officeIndexRefresh)
				defer cancel()
				// On failure the old index serves on, and once expired a lookup builds it
				// in its own time, and sees the error.
				_, _ = c.buildOfficeIndex(ctx, generation)
			}()
		}
		return ix, nil
	}
	// One build at a time: lookups meanwhile wait for it rather than read the catalog too.
	c.offices.building.Lock()
	defer c.offices.building.Unlock()
	if ix, generation, age = c.offices.get(); ix != nil && age < officeIndexTTL {
		return ix, nil
	}
	return c.buildOfficeIndex(ctx, generation)
}

// buildOfficeIndex reads the whole catalog into a new index, kept unless a write came
// after generation. The caller holds c.offices.building.
func (c *Catalog) buildOfficeIndex(ctx context.Context, generation uint64) (*officeIndex, error) {
	read := time.Now()
	var offices []PostOffice
	for page := (domain.Page{Limit: domain.MaxPageLimit}); ; {
		list, err := c.PostOffices.List(ctx, PostOfficeFilter{}, page)
		if err != nil {
			return nil, err
		}
		offices = append(offices, list.Items...)
		if list.NextCursor == "" {
			break
		}
		page.Cursor = list.NextCursor
	}
	ix := newOfficeIndex(offices)
	c.offices.put(ix, generation, read)
	return ix, nil
}

// officeCache keeps the index of service areas. Finding an address's office used to list
// and decode the whole catalog, 13,000 areas at national size, on every dossier.
type officeCache struct {
	building sync.Mutex // held while the index is built

	mu         sync.Mutex
	generation uint64 // bumped by every write, so that an index read before it is not kept
	index      *officeIndex
	read       time.Time
}

// get is the index (nil when dropped), the generation it belongs to, and its age.
func (c *officeCache) get() (*officeIndex, uint64, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.index, c.generation, time.Since(c.read)
}

func (c *officeCache) put(ix *officeIndex, generation uint64, read time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation == c.generation {
		c.index, c.read = ix, read
	}
}

func (c *officeCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	c.index = nil
}

// dropping is a store that calls drop (a cache's) after every write, failed or not (a
// failure may still have committed), so that what is cached from it is read again.
type dropping[T, F any] struct {
	Store[T, F]
	drop func()
}

func (s dropping[T, F]) Create(ctx context.Context, record T) (T, error) {
	defer s.drop()
	return s.Store.Create(ctx, record)
}

func (s dropping[T, F]) Update(ctx context.Context, record T, expectedVersion int) (T, error) {
	defer s.drop()
	return s.Store.Update(ctx, record, expectedVersion)
}

// officeIndex answers which office serves a point: an R-tree of the bounds of every polygon
// of every service area gives the few candidates, the exact test decides among them.
type officeIndex struct {
	offices []PostOffice // in the catalog's order, which settles overlaps
	parts   []areaPart   // the tree's items
	tree    boundTree
}

// areaPart is one polygon of an office's service area.
type areaPart struct {
	office  int // in offices
	polygon orb.Polygon
}

func newOfficeIndex(offices []PostOffice) *officeIndex {
	ix := &officeIndex{offices: offices}
	var bounds []orb.Bound
	for i, o := range offices {
		for _, poly := range o.ServiceArea {
			if len(poly) == 0 {
				continue // holds nothing (CheckArea refuses it)
			}
			ix.parts = append(ix.parts, areaPart{office: i, polygon: poly})
			// The outer ring's bound, as planar.RingContains computes it before anything
			// else: a point outside it is outside the polygon, edges and all.
			bounds = append(bounds, poly[0].Bound())
		}
	}
	ix.tree = packBounds(bounds)
	return ix
}

// serving is the first office, in the catalog's order, whose area holds pt: the same
// answer as planar.MultiPolygonContains over the list, office after office.
func (ix *officeIndex) serving(pt orb.Point) (PostOffice, bool) {
	best := len(ix.offices)
	ix.tree.search(pt, func(item int) {
		p := ix.parts[item]
		if p.office < best && planar.PolygonContains(p.polygon, pt) {
			best = p.office
		}
	})
	if best == len(ix.offices) {
		return PostOffice{}, false
	}
	return ix.offices[best], true
}

// treeFanout is how many children a node of boundTree has at most.
const treeFanout = 16

// boundTree is an R-tree packed once from all its bounds (sort-tile-recursive): the index
// is rebuilt whole, never edited, so it needs no insertion or node splitting.
type boundTree struct {
	// levels[0] holds one node per item; each next level groups treeFanout nodes of the
	// one below; the last level is the root's children.
	levels [][]treeNode
}

type treeNode struct {
	bound orb.Bound
	// first and end delimit the children in the level below; at level 0, first is the item.
	first, end int
}

func packBounds(bounds []orb.Bound) boundTree {
	level := make([]treeNode, len(bounds))
	for i, b := range bounds {
		level[i] = treeNode{bound: b, first: i, end: i + 1}
	}
	var t boundTree
	for {
		t.levels = append(t.levels, level)
		if len(level) <= treeFanout {
			return t
		}
		level = parents(level)
	}
}

// parents orders nodes in tiles, sort-tile-recursive: vertical slabs by x, each slab by y,
// so that each run of treeFanout nodes lies close together; it returns one parent per run.
func parents(nodes []treeNode) []treeNode {
	runs := (len(nodes) + treeFanout - 1) / treeFanout
	slabs := int(math.Ceil(math.Sqrt(float64(runs))))
	perSlab := treeFanout * ((runs + slabs - 1) / slabs)
	sortByCentre(nodes, 0)
	for lo := 0; lo < len(nodes); lo += perSlab {
		sortByCentre(nodes[lo:min(lo+perSlab, len(nodes))], 1)
	}
	out := make([]treeNode, 0, runs)
	for lo := 0; lo < len(nodes); lo += treeFanout {
		hi := min(lo+treeFanout, len(nodes))
		b := nodes[lo].bound
		for _, n := range nodes[lo+1 : hi] {
			b = b.Union(n.bound)
		}
		out = append(out, treeNode{bound: b, first: lo, end: hi})
	}
	return out
}

func sortByCentre(nodes []treeNode, axis int) {
	slices.SortFunc(nodes, func(a, b treeNode) int {
		return cmp.Compare(a.bound.Center()[axis], b.bound.Center()[axis])
	})
}

// search calls visit with every item whose bound holds pt.
func (t *boundTree) search(pt orb.Point, visit func(item int)) {
	top := len(t.levels) - 1
	t.descend(top, t.levels[top], pt, visit)
}

func (t *boundTree) descend(level int, nodes []treeNode, pt orb.Point, visit func(item int)) {
	for _, n := range nodes {
		switch {
		case !n.bound.Contains(pt):
		case level == 0:
			visit(n.first)
		default:
			t.descend(level-1, t.levels[level-1][n.first:n.end], pt, visit)
		}
	}
}
