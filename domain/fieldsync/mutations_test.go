package fieldsync_test

import (
	"regexp"
	"slices"
	"strconv"
	"testing"

	"courierd/domain/fieldsync"
)

// TestCompletingAndFeeCarryingTypes: the lists storage binds in its SQL are the registry
// rows' flags, and the v1 rows say what the ledger has always counted: a pickup, a
// delivery or a collection at the agency finishes its stop; a pickup is where a fee paid
// in cash to the courier falls due.
func TestCompletingAndFeeCarryingTypes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, rows []string
		want      []string
	}{
		{"completing", fieldsync.CompletingTypes(), fieldsync.Flagged("completes"), []string{"task.collect_result.v1", "task.deliver.v1", "task.pickup.v1"}},
		{"fee-carrying", fieldsync.FeeCarryingTypes(), fieldsync.Flagged("carriesFee"), []string{"task.pickup.v1"}},
	} {
		if !slices.Equal(c.got, c.rows) {
			t.Errorf("%s types %v; the registry rows flag %v", c.name, c.got, c.rows)
		}
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s types %v; want %v", c.name, c.got, c.want)
		}
	}
}

// TestNextVersionIsCounted registers, for every type, its next version with the same
// row: each must count for completion and cash exactly as the version it follows, with
// nothing to change in storage.
func TestNextVersionIsCounted(t *testing.T) {
	version := regexp.MustCompile(`\.v([0-9]+)$`)
	for _, typ := range fieldsync.MutationTypes() {
		m := version.FindStringSubmatch(typ)
		if m == nil {
			t.Fatalf("%s has no version", typ)
		}
		n, _ := strconv.Atoi(m[1])
		next := version.ReplaceAllString(typ, ".v"+strconv.Itoa(n+1))
		t.Run(next, func(t *testing.T) {
			fieldsync.RegisterLike(t, next, typ)
			for _, list := range []func() []string{fieldsync.CompletingTypes, fieldsync.FeeCarryingTypes} {
				if slices.Contains(list(), next) != slices.Contains(list(), typ) {
					t.Errorf("%s counts differently from %s in %v", next, typ, list())
				}
			}
		})
	}
}
