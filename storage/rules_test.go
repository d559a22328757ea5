package storage_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"courierd/domain/dossier"
	"courierd/storage/dbtest"
)

// TestNoMutationTypeInStorage: which mutation types complete a stop or carry a fee is the
// registry's to say (domain/fieldsync); a type name written here would be missed by the
// next version of that type.
func TestNoMutationTypeInStorage(t *testing.T) {
	typeName := regexp.MustCompile(`task\.[a-z_]+\.v[0-9]+`)
	sourceLines(t, func(at, line string) {
		if m := typeName.FindString(line); m != "" {
			t.Errorf("%s names the mutation type %s", at, m)
		}
	})
}

// TestRowsReadByName: no statement reads a table's rows with * (gorm names the columns,
// QueryFields in Open). A statement a connection has prepared with * fails once the table
// gains a column, as it does when the next release's expand migration runs beside this one.
func TestRowsReadByName(t *testing.T) {
	star := regexp.MustCompile(`(?i)\b(select|returning)\s+(\w+\.)?\*`)
	sourceLines(t, func(at, line string) {
		code, _, _ := strings.Cut(line, "//")
		if m := star.FindStringIndex(code); m != nil && !strings.HasPrefix(strings.TrimSpace(code[m[1]:]), "FROM unnest(") {
			t.Errorf("%s reads rows with *: name the columns", at)
		}
	})
}

// sourceLines calls see with each line of storage's Go code outside tests, and where it is.
func sourceLines(t *testing.T, see func(at, line string)) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			see(fmt.Sprintf("%s:%d", path, i+1), line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSlotIndexMatchesLiveStates: a slot's use is counted over dossier.LiveTaskStates,
// bound as parameters; the partial index that serves the count must list the same states,
// or the planner no longer proves it applies.
func TestSlotIndexMatchesLiveStates(t *testing.T) {
	db, _ := dbtest.New(t)
	var predicate string
	if err := db.SQL().QueryRow(`SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'tasks_slot_use_idx'::regclass`).Scan(&predicate); err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile(`'([a-z_]+)'::text`).FindAllStringSubmatch(predicate, -1)
	var got []string
	for _, m := range listed {
		got = append(got, m[1])
	}
	var want []string
	for _, s := range dossier.LiveTaskStates {
		want = append(want, string(s))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("tasks_slot_use_idx lists %v (%s); dossier.LiveTaskStates are %v", got, predicate, want)
	}
}
