package migrations

import (
	"io/fs"
	"regexp"
	"strconv"
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

// firstCompatible is the first migration written under expand/contract: those before it
// came while every release demanded its exact schema.
const firstCompatible = 23

// narrowing finds, in a migration's up step, what an older release running beside it could
// trip on: something it uses dropped, renamed, retyped or made required.
var narrowing = regexp.MustCompile(`(?is)\bdrop\s+(table|column|view|materialized\s+view|function|type|constraint|schema)\b` +
	`|\brename\b|\bset\s+not\s+null\b|\balter\s+column\s+\w+\s+(set\s+data\s+)?type\b` +
	`|\badd\s+column\s+(if\s+not\s+exists\s+)?\w+\s+[^,;]*\bnot\s+null\b`)

// addsRequiredWithDefault is an added NOT NULL column that older releases need not write.
var addsRequiredWithDefault = regexp.MustCompile(`(?is)\badd\s+column\s+(if\s+not\s+exists\s+)?\w+\s+[^,;]*\bdefault\b`)

var raisesFloor = regexp.MustCompile(`(?is)\bupdate\s+schema_compatibility\s+set\s+oldest_binary_schema\b`)

// judge says what is wrong with a migration that calls itself expand or contract.
func judge(kind, up string) string {
	var statements []string
	for _, s := range strings.Split(up, ";") {
		if !addsRequiredWithDefault.MatchString(s) {
			statements = append(statements, s)
		}
	}
	narrows := narrowing.MatchString(strings.Join(statements, ";"))
	switch {
	case kind == "Expand" && narrows:
		return "an expand migration narrows what older releases use: make it a contract migration, in a later release"
	case kind == "Expand" && raisesFloor.MatchString(up):
		return "an expand migration raises the floor"
	case kind == "Contract" && !raisesFloor.MatchString(up):
		return "a contract migration must raise the floor (UPDATE schema_compatibility SET oldest_binary_schema = …)"
	}
	return ""
}

// upStep is a migration's up step without its comments.
func upStep(sql string) string {
	_, up, _ := strings.Cut(sql, "-- +goose Up")
	up, _, _ = strings.Cut(up, "-- +goose Down")
	var code []string
	for _, line := range strings.Split(up, "\n") {
		line, _, _ = strings.Cut(line, "--")
		code = append(code, line)
	}
	return strings.Join(code, "\n")
}

// TestMigrationsSayExpandOrContract: every migration since expand/contract began says on
// its first line which it is, and its up step is what it says (docs/OPERATIONS.md,
// "Upgrading without an outage").
func TestMigrationsSayExpandOrContract(t *testing.T) {
	files, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range files {
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil || version < firstCompatible {
			continue
		}
		seen++
		raw, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		kind, _, _ := strings.Cut(strings.TrimPrefix(string(raw), "-- "), ".")
		if kind != "Expand" && kind != "Contract" {
			t.Errorf("%s: its first line must begin with \"-- Expand.\" or \"-- Contract.\"", name)
			continue
		}
		if fault := judge(kind, upStep(string(raw))); fault != "" {
			t.Errorf("%s: %s", name, fault)
		}
	}
	if seen == 0 {
		t.Fatal("no migration since expand/contract began was checked")
	}
}

// TestJudge holds the judge to generated up steps: each narrowing statement, in its
// spellings, makes an expand migration wrong; widening ones leave it right.
func TestJudge(t *testing.T) {
	narrow := []string{
		"DROP TABLE %s", "DROP TABLE IF EXISTS %s", "ALTER TABLE %s DROP COLUMN note", "ALTER TABLE %s DROP COLUMN IF EXISTS note",
		"ALTER TABLE %s RENAME COLUMN note TO remark", "ALTER TABLE %s RENAME TO %s_old", "ALTER TABLE %s ALTER COLUMN note SET NOT NULL",
		"ALTER TABLE %s ALTER COLUMN note TYPE varchar(10)", "ALTER TABLE %s ALTER COLUMN note SET DATA TYPE int",
		"ALTER TABLE %s ADD COLUMN note text NOT NULL", "ALTER TABLE %s DROP CONSTRAINT %s_pkey", "DROP VIEW %s_v",
	}
	widen := []string{
		"CREATE TABLE %s (id uuid PRIMARY KEY)", "ALTER TABLE %s ADD COLUMN note text", "ALTER TABLE %s ADD COLUMN IF NOT EXISTS note text",
		"ALTER TABLE %s ADD COLUMN n int NOT NULL DEFAULT 0", "CREATE INDEX CONCURRENTLY IF NOT EXISTS %s_idx ON %s (id)",
		"ALTER TABLE %s ALTER COLUMN note DROP NOT NULL", "DROP INDEX CONCURRENTLY IF EXISTS %s_idx",
	}
	floor := "UPDATE schema_compatibility SET oldest_binary_schema = 30"
	for _, table := range []string{"dossiers", "webhook_subscribers", "Tasks"} {
		for _, casing := range []func(string) string{strings.ToUpper, strings.ToLower} {
			for _, s := range narrow {
				stmt := casing(strings.ReplaceAll(s, "%s", table))
				if judge("Expand", "\n"+stmt+";\n") == "" {
					t.Errorf("an expand migration may not: %s", stmt)
				}
				if fault := judge("Contract", stmt+";\n"+floor+";"); fault != "" {
					t.Errorf("a contract migration may %s: %s", stmt, fault)
				}
			}
			for _, s := range widen {
				stmt := casing(strings.ReplaceAll(s, "%s", table))
				if fault := judge("Expand", stmt+";"); fault != "" {
					t.Errorf("an expand migration may %s: %s", stmt, fault)
				}
			}
		}
	}
	if judge("Contract", "ALTER TABLE dossiers DROP COLUMN note;") == "" {
		t.Error("a contract migration that leaves the floor must be refused")
	}
	if judge("Expand", "CREATE TABLE t (id int);\n"+floor+";") == "" {
		t.Error("an expand migration that raises the floor must be refused")
	}
}
