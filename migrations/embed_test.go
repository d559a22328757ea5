package migrations

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"slices"
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

var (
	// What locks a table against writes: a foreign key to it, a trigger on it, altering it.
	locks        = regexp.MustCompile(`(?i)\breferences\s+(\w+)|\bcreate\s+(?:or\s+replace\s+)?trigger\s+\w+[^;]*?\bon\s+(\w+)|\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(\w+)`)
	createsTable = regexp.MustCompile(`(?i)\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?(\w+)`)
)

// lockedTogether lists the groups of tables, not created by the migration itself, whose
// locks one unit of its up step takes together: a foreign key locks the table it references
// against writes, as do a trigger on a table and altering it, so a unit holding two such
// tables' locks can deadlock with an older release's transaction writing both in the other
// order. A unit is the whole up step in a
// transaction, one statement without.
func lockedTogether(up string, inTransaction bool) []string {
	created := map[string]bool{}
	for _, m := range createsTable.FindAllStringSubmatch(up, -1) {
		created[strings.ToLower(m[1])] = true
	}
	units := strings.Split(up, ";")
	if inTransaction {
		units = []string{up}
	}
	var groups []string
	for _, unit := range units {
		var live []string
		for _, m := range locks.FindAllStringSubmatch(unit, -1) {
			if table := strings.ToLower(m[1] + m[2] + m[3]); !created[table] && !slices.Contains(live, table) {
				live = append(live, table)
			}
		}
		if len(live) > 1 {
			slices.Sort(live)
			groups = append(groups, strings.Join(live, "+"))
		}
	}
	return groups
}

// firstLockChecked is the first migration written under the one-live-lock rule. Those
// before it are applied wherever courierd runs; one of them breaks it (00030 keys a new
// column of webhook_subscribers to partner_clients in one statement: tables written only by
// admins' rare acts).
const firstLockChecked = 31

// TestMigrationsLockOneLiveTableAtATime: since expand/contract began, a migration runs
// beside a live release (TestUpgradeWithoutOutage), so it takes the locks of the tables
// that release writes one statement at a time (docs/OPERATIONS.md).
func TestMigrationsLockOneLiveTableAtATime(t *testing.T) {
	files, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0]); err != nil || version < firstLockChecked {
			continue
		}
		raw, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		inTransaction := !strings.Contains(string(raw), "-- +goose NO TRANSACTION")
		if groups := lockedTogether(upStep(string(raw)), inTransaction); len(groups) > 0 {
			t.Errorf("%s locks live tables together (%s): add each foreign key in a statement of its own, outside a transaction", name, strings.Join(groups, ", "))
		}
	}
}

// TestLockedTogether holds the check to generated up steps: keys to two live tables,
// triggers on them or changes to them are caught in one transaction and in one statement, never when they are apart or when a
// table is the migration's own.
func TestLockedTogether(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 24))
	live := []string{"dossiers", "Couriers", "post_offices", "accounts", "payments"}
	lockings := []string{"ALTER TABLE mine ADD CONSTRAINT f%d FOREIGN KEY (x) REFERENCES %s (id)",
		"CREATE OR REPLACE TRIGGER t%d AFTER INSERT ON %s REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mark()",
		"create trigger t%d before update on %s for each row execute function mark()", "ALTER TABLE %[2]s ADD COLUMN IF NOT EXISTS c%[1]d text"}
	for range 500 {
		n := 1 + rng.IntN(4)
		var statements []string
		tables := map[string]bool{}
		for i := range n {
			table := live[rng.IntN(len(live))]
			tables[strings.ToLower(table)] = true
			statements = append(statements, fmt.Sprintf(lockings[rng.IntN(len(lockings))], i, table))
		}
		own := fmt.Sprintf("CREATE TABLE IF NOT EXISTS mine (id uuid PRIMARY KEY, up uuid REFERENCES mine (id), o uuid REFERENCES %s (id))", live[0])
		up := own + ";\n" + strings.Join(statements, ";\n") + ";"
		tables[strings.ToLower(live[0])] = true
		if got := lockedTogether(up, false); len(got) != 0 {
			t.Fatalf("one key per statement was caught: %v\n%s", got, up)
		}
		if got := lockedTogether(up, true); (len(tables) > 1) != (len(got) == 1) {
			t.Fatalf("%d live tables in one transaction: %v\n%s", len(tables), got, up)
		}
		together := "CREATE TABLE other (a uuid REFERENCES dossiers (id), b uuid REFERENCES " + live[1+rng.IntN(len(live)-1)] + " (id))"
		if got := lockedTogether(together, false); len(got) != 1 {
			t.Fatalf("two live tables in one statement went unseen: %s", together)
		}
	}
}
