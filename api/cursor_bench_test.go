package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkDeepPage reads a page of 100 from the far end of a 200,000-entry audit log, by
// offset and by cursor: an offset page costs the rows skipped, a cursor page what the first
// page costs.
func BenchmarkDeepPage(b *testing.B) {
	h := newHarness(b, nil)
	if _, err := h.db.SQL().ExecContext(context.Background(), `INSERT INTO audit_log (at, actor_role, source, action, resource_kind, resource_id)
		SELECT now(), 'admin', 'bench', 'bench.entry', 'bench', g::text FROM generate_series(1, 200000) g`); err != nil {
		b.Fatal(err)
	}
	const depth = 199_000
	page := h.do(b, http.MethodGet, fmt.Sprintf("/v1/audit?limit=1&offset=%d", depth-1), "")
	cursor := page.body["next_cursor"].(string)
	for _, c := range []struct{ name, path string }{
		{"first", "/v1/audit?limit=100"},
		{"offset", fmt.Sprintf("/v1/audit?limit=100&offset=%d", depth)},
		{"cursor", "/v1/audit?limit=100&cursor=" + cursor},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				if r := h.do(b, http.MethodGet, c.path, ""); r.status != http.StatusOK || len(r.body["items"].([]any)) != 100 {
					b.Fatalf("%s: %d %s", c.path, r.status, r.raw)
				}
			}
		})
	}
}
