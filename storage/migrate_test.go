package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/storage"
	"courierd/storage/dbtest"
)

func migratorFor(t *testing.T, url string) (*storage.DB, *storage.Migrator) {
	t.Helper()
	db, err := storage.Open(context.Background(), url, storage.PoolConfig{MaxOpenConns: 2}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := storage.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, m
}

// TestConcurrentMigrateUp: several `migrate up` at once on a fresh database, each from its
// own pool as from its own host, all succeed; every migration is applied exactly once.
func TestConcurrentMigrateUp(t *testing.T) {
	const runners = 4
	url := dbtest.NewEmpty(t)
	ctx := context.Background()
	outs := make([]bytes.Buffer, runners)
	errs := make([]error, runners)
	migrators := make([]*storage.Migrator, runners)
	for i := range migrators {
		_, migrators[i] = migratorFor(t, url)
	}
	var wg sync.WaitGroup
	for i, m := range migrators {
		wg.Go(func() { errs[i] = m.Up(ctx, &outs[i]) })
	}
	wg.Wait()
	applied := 0
	for i := range runners {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v\n%s", i, errs[i], outs[i].String())
		}
		applied += strings.Count(outs[i].String(), "applied ")
	}
	db, m := migratorFor(t, url)
	c, err := m.Compatibility(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows, versions int
	if err := db.SQL().QueryRow(`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	var known int
	if err := m.Status(ctx, &countingWriter{lines: &known}); err != nil {
		t.Fatal(err)
	}
	if c.Schema != c.Knows || rows != versions || versions != known || applied != known {
		t.Fatalf("schema %d of %d; %d version rows for %d versions; %d migrations known; %d applied in all by %d runners",
			c.Schema, c.Knows, rows, versions, known, applied, runners)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// countingWriter counts the lines written to it.
type countingWriter struct{ lines *int }

func (w *countingWriter) Write(p []byte) (int, error) {
	*w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

// TestMigrateRefusesNewerSchema: against a schema a newer release migrated, up and down
// refuse, naming both versions, and change nothing.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	db, url := dbtest.New(t)
	_, m := migratorFor(t, url)
	ctx := context.Background()
	_, knows, err := m.SchemaVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newer := knows + 1
	// What a newer release's `migrate up` leaves: one more version recorded, one more table.
	if _, err := db.SQL().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`CREATE TABLE from_a_newer_release (id int)`); err != nil {
		t.Fatal(err)
	}
	before := schemaState(t, db)
	for command, migrate := range map[string]func(context.Context, *bytes.Buffer) error{
		"migrate up":   func(ctx context.Context, out *bytes.Buffer) error { return m.Up(ctx, out) },
		"migrate down": func(ctx context.Context, out *bytes.Buffer) error { return m.Down(ctx, out) },
	} {
		var out bytes.Buffer
		err := migrate(ctx, &out)
		want := fmt.Sprintf("%s refused, nothing changed: the database schema is at version %d, newer than this courierd knows (%d)", command, newer, knows)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s on a newer schema: %v (%s); want %q", command, err, out.String(), want)
		}
		if after := schemaState(t, db); after != before {
			t.Fatalf("%s changed the schema:\nbefore %s\nafter  %s", command, before, after)
		}
	}
}

// schemaState sums up the schema: its tables and every version recorded.
func schemaState(t *testing.T, db *storage.DB) string {
	t.Helper()
	var versions string
	if err := db.SQL().QueryRow(`SELECT string_agg(version_id::text || ':' || is_applied::text, ',' ORDER BY id) FROM goose_db_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	return strings.Join(tableNames(t, db), ",") + " | " + versions
}

// TestCompatibilityCheck: over every schema around what the binary needs and every floor
// around what it knows, the binary may run exactly when the schema is not behind it and
// the floor is not above it; each refusal says what to do.
func TestCompatibilityCheck(t *testing.T) {
	const knows = 30
	for schema := int64(knows - 3); schema <= knows+3; schema++ {
		for floor := int64(0); floor <= knows+2; floor++ {
			c := storage.Compatibility{Schema: schema, Needs: knows, Knows: knows, Floor: floor}
			err := c.Check()
			switch {
			case schema < knows:
				if err == nil || !strings.Contains(err.Error(), "run `courierd migrate up`") {
					t.Fatalf("%+v: %v, want behind", c, err)
				}
			case floor > knows:
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("know version %d or newer", floor)) || !strings.Contains(err.Error(), "deploy the newer release") {
					t.Fatalf("%+v: %v, want left behind", c, err)
				}
			case err != nil:
				t.Fatalf("%+v: %v, want compatible", c, err)
			}
		}
	}
}

// TestCompatibilityFromDatabase: what the database records reaches the check: a schema
// ahead is served, a raised floor refuses, a schema behind refuses, and a schema older
// than the floor's table has no floor.
func TestCompatibilityFromDatabase(t *testing.T) {
	db, url := dbtest.New(t)
	_, m := migratorFor(t, url)
	ctx := context.Background()
	c, err := m.Compatibility(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Schema != c.Knows || c.Needs != c.Knows || c.Floor != 22 {
		t.Fatalf("freshly migrated: %+v, want schema at what it knows and the floor 00023 sets (22)", c)
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.SQL().Exec(query, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, c.Knows+1)
	if err := m.CheckCompatible(ctx); err != nil {
		t.Fatalf("a schema one expand migration ahead: %v", err)
	}
	exec(`UPDATE schema_compatibility SET oldest_binary_schema = $1`, c.Knows+1)
	if err := m.CheckCompatible(ctx); err == nil || !strings.Contains(err.Error(), "deploy the newer release") {
		t.Fatalf("a floor above this binary: %v", err)
	}
	exec(`UPDATE schema_compatibility SET oldest_binary_schema = $1`, c.Knows)
	if err := m.CheckCompatible(ctx); err != nil {
		t.Fatalf("a floor at this binary: %v", err)
	}
	exec(`DELETE FROM goose_db_version WHERE version_id = $1`, c.Knows+1)
	exec(`DROP TABLE schema_compatibility`)
	exec(`DELETE FROM goose_db_version WHERE version_id = $1`, c.Knows)
	behind, err := m.Compatibility(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if behind.Floor != 0 || behind.Check() == nil || !strings.Contains(behind.Check().Error(), "courierd migrate up") {
		t.Fatalf("a schema behind, without the floor's table: %+v %v", behind, behind.Check())
	}
}
