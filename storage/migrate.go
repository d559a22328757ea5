package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"

	"courierd/migrations"
)

// Migrator applies the embedded migrations and says whether this binary may run on the
// database's schema.
type Migrator struct {
	provider *goose.Provider
	db       *sql.DB
}

// migrationLockWait bounds how long `migrate up` waits for another run's lock; the wait
// is probed each second, so a queued run starts soon after the first ends.
const migrationLockWait = 10 * 60

// NewMigrator prepares the embedded migrations for db, run on its direct connections.
// It never closes db.
func NewMigrator(db *DB) (*Migrator, error) {
	// Two `migrate up` at once (two hosts, a rollout's jobs) take turns on a PostgreSQL
	// advisory lock: the second finds the work done. The lock is the session's, which is
	// why the migrations run on a direct connection: behind a pooler in transaction mode
	// it would stay with whichever server connection took it, and its unlock go to
	// another.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, migrationLockWait))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	options := []goose.ProviderOption{goose.WithGoMigrations(riverMigration()), goose.WithSessionLocker(locker)}
	last, err := migrations.Last()
	if err != nil {
		return nil, err
	}
	if last > 0 {
		later, err := versionsAfter(last)
		if err != nil {
			return nil, err
		}
		options = append(options, goose.WithExcludeVersions(later))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.direct, migrations.FS, options...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p, db: db.direct}, nil
}

// versionsAfter lists the embedded migrations' versions above last.
func versionsAfter(last int64) ([]int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	var later []int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return nil, err
		}
		if v > last {
			later = append(later, v)
		}
	}
	return later, nil
}

// Up applies every pending migration, each in its own transaction.
func (m *Migrator) Up(ctx context.Context, out io.Writer) error {
	if err := m.refuseNewer(ctx, "migrate up"); err != nil {
		return err
	}
	from, _, err := m.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	results, err := m.provider.Up(ctx)
	for _, r := range results {
		fmt.Fprintf(out, "applied %s (%s)\n", migrationName(r.Source), r.Duration.Round(1e6))
	}
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	// The last line says it all (make run shows it as its step).
	if len(results) == 0 {
		fmt.Fprintf(out, "schema already current (version %d)\n", from)
	} else {
		fmt.Fprintf(out, "migrated %d → %d\n", from, results[len(results)-1].Source.Version)
	}
	return nil
}

// refuseNewer stops a migration run against a schema this binary does not know: its
// migrations would be out of order, and rolling back would undo what it cannot redo.
func (m *Migrator) refuseNewer(ctx context.Context, command string) error {
	current, knows, err := m.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	if current > knows {
		return fmt.Errorf("%s refused, nothing changed: the database schema is at version %d, newer than this courierd knows (%d); "+
			"run migrations with the release that brought version %d", command, current, knows, current)
	}
	return nil
}

// Down rolls back the latest applied migration.
func (m *Migrator) Down(ctx context.Context, out io.Writer) error {
	if err := m.refuseNewer(ctx, "migrate down"); err != nil {
		return err
	}
	r, err := m.provider.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		fmt.Fprintln(out, "nothing to roll back")
		return nil
	}
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	fmt.Fprintf(out, "rolled back %s (%s)\n", migrationName(r.Source), r.Duration.Round(1e6))
	return nil
}

// Status lists every migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context, out io.Writer) error {
	list, err := m.provider.Status(ctx)
	if err != nil {
		return fmt.Errorf("migrate status: %w", err)
	}
	for _, s := range list {
		when := "pending"
		if s.State == goose.StateApplied {
			when = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(out, "%-40s %s\n", migrationName(s.Source), when)
	}
	return nil
}

// SchemaVersions reports the database's schema version and the newest this binary knows.
func (m *Migrator) SchemaVersions(ctx context.Context) (current, latest int64, err error) {
	current, latest, err = m.provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, translate(err, "schema version")
	}
	return current, latest, nil
}

// Compatibility is what this binary and the database's schema say about each other.
type Compatibility struct {
	// Schema is the database's schema version.
	Schema int64
	// Needs is the oldest schema this binary runs on: its newest migration, since the code
	// of a release may use everything its migrations add.
	Needs int64
	// Knows is the newest migration this binary carries.
	Knows int64
	// Floor is the oldest binary, by the newest migration it knows, that the schema still
	// serves (schema_compatibility); 0 on a schema older than that table.
	Floor int64
}

// Check fails, saying what to do, when this binary may not run on the schema: the schema
// is behind what it needs, or a contract migration left it behind. A schema ahead of it
// within its floor is fine: that is an upgrade under way.
func (c Compatibility) Check() error {
	switch {
	case c.Schema < c.Needs:
		return fmt.Errorf("database schema is at version %d but this courierd needs %d: run `courierd migrate up` with this release", c.Schema, c.Needs)
	case c.Floor > c.Knows:
		return fmt.Errorf("database schema is at version %d and serves only courierd releases that know version %d or newer "+
			"(a contract migration removed what older ones use); this courierd knows %d: deploy the newer release", c.Schema, c.Floor, c.Knows)
	}
	return nil
}

// Compatibility reads the database's schema version and floor beside this binary's range.
func (m *Migrator) Compatibility(ctx context.Context) (Compatibility, error) {
	current, knows, err := m.SchemaVersions(ctx)
	if err != nil {
		return Compatibility{}, err
	}
	c := Compatibility{Schema: current, Needs: knows, Knows: knows}
	// The table comes with migration 23: an older schema has no floor.
	var recorded bool
	if err := m.db.QueryRowContext(ctx, `SELECT to_regclass('schema_compatibility') IS NOT NULL`).Scan(&recorded); err != nil {
		return Compatibility{}, translate(err, "schema floor")
	}
	if recorded {
		if err := m.db.QueryRowContext(ctx, `SELECT coalesce(max(oldest_binary_schema), 0) FROM schema_compatibility`).Scan(&c.Floor); err != nil {
			return Compatibility{}, translate(err, "schema floor")
		}
	}
	return c, nil
}

// CheckCompatible fails with a message saying what to do when this binary may not run on
// the database's schema (see Compatibility.Check).
func (m *Migrator) CheckCompatible(ctx context.Context) error {
	c, err := m.Compatibility(ctx)
	if err != nil {
		return err
	}
	return c.Check()
}

// migrationName is a migration's file, or for the Go one what it does.
func migrationName(s *goose.Source) string {
	if s.Path != "" {
		return s.Path
	}
	return fmt.Sprintf("%05d (River job-queue schema, version %d)", s.Version, riverSchemaVersion)
}

// tripsMigration added the plans' trips and the tasks' trip and reload (00037), and
// tripsColumns are its columns, by table.
const tripsMigration = 37

var tripsColumns = map[string][]string{"tasks": {"route_trip", "reload_arrival", "reload_departure"},
	"dispatch_plans": {"max_trips", "reload_s"}, "dispatch_routes": {"reloads"}}

// cutBeforeTrips says whether this binary is cut before tripsMigration (the upgrade test's
// previous release, built from this code): on its schema those columns do not exist.
func cutBeforeTrips() bool {
	last, err := migrations.Last()
	return err == nil && last > 0 && last < tripsMigration
}

// cutColumns are the columns of table this binary's schema lacks.
func cutColumns(table string) []string {
	if cutBeforeTrips() {
		return tripsColumns[table]
	}
	return nil
}

// withoutTrips makes a binary cut before tripsMigration leave its columns out of every
// read and write gorm builds (columnsOf does the same for the statements written out).
func withoutTrips(db *gorm.DB) error {
	if !cutBeforeTrips() {
		return nil
	}
	omit := func(tx *gorm.DB) {
		if tx.Statement.Schema != nil {
			tx.Statement.Omits = append(tx.Statement.Omits, cutColumns(tx.Statement.Schema.Table)...)
		}
	}
	return errors.Join(db.Callback().Query().Before("gorm:query").Register("courierd:without_trips", omit),
		db.Callback().Create().Before("gorm:create").Register("courierd:without_trips", omit),
		db.Callback().Update().Before("gorm:update").Register("courierd:without_trips", omit))
}
