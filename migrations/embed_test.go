package migrations

import (
	"strings"
	"testing"
)

// TestLast: the cut the linker may set is read as a version, and anything else is refused
// with a message naming it.
func TestLast(t *testing.T) {
	defer func(was string) { lastVersion = was }(lastVersion)
	for _, c := range []struct {
		set  string
		want int64
		err  bool
	}{{"", 0, false}, {"22", 22, false}, {"00022", 22, false}, {"0", 0, true}, {"-3", 0, true}, {"22a", 0, true}, {" 22", 0, true}} {
		lastVersion = c.set
		got, err := Last()
		if got != c.want || (err != nil) != c.err || err != nil && !strings.Contains(err.Error(), `"`+c.set+`"`) {
			t.Errorf("lastVersion %q: %d, %v", c.set, got, err)
		}
	}
}
