package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// looksLikeTime is a string an answer means as an instant: a date with a time of day.
var looksLikeTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}`)

// walkStrings calls see with every string in a decoded JSON value and where it is.
func walkStrings(at string, v any, see func(at, s string)) {
	switch v := v.(type) {
	case string:
		see(at, v)
	case map[string]any:
		for k, x := range v {
			walkStrings(at+"."+k, x, see)
		}
	case []any:
		for _, x := range v {
			walkStrings(at+"[]", x, see)
		}
	}
}

// TestAnswersGiveInstantsInRFC3339UTC walks answers that carry many instants: each is
// RFC 3339 with its offset, and the offset is UTC (Z), as docs/API.md promises.
func TestAnswersGiveInstantsInRFC3339UTC(t *testing.T) {
	h := newHarness(t, nil)
	h.playDemo(t, 8)
	list := h.do(t, http.MethodGet, "/v1/dossiers?limit=8", "")
	id := list.body["items"].([]any)[0].(map[string]any)["id"].(string)
	seen := 0
	for _, path := range []string{"/v1/dossiers?limit=8", "/v1/dossiers/" + id, "/v1/tasks", "/v1/audit?limit=100", "/v1/manifests", "/v1/dossiers/" + id + "/flags", "/v1/couriers"} {
		r := h.do(t, http.MethodGet, path, "")
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
		walkStrings(path, r.body, func(at, s string) {
			if !looksLikeTime.MatchString(s) {
				return
			}
			seen++
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
				t.Errorf("%s = %q: not an RFC 3339 instant in UTC", at, s)
			}
		})
	}
	if seen < 50 {
		t.Fatalf("only %d instants seen: the walk misses the answers", seen)
	}
	t.Logf("%d instants checked", seen)
}
