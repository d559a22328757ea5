package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pressly/goose/v3"

	"courierd/migrations"
)

// Migrator applies the embedded migrations.
type Migrator struct {
	provider *goose.Provider
}

// NewMigrator prepares the embedded migrations for db. It never closes db.
func NewMigrator(db *DB) (*Migrator, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db.sql, migrations.FS, goose.WithGoMigrations(riverMigration()))
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p}, nil
}

// Up applies every pending migration, each in its own transaction.
func (m *Migrator) Up(ctx context.Context, out io.Writer) error {
	results, err := m.provider.Up(ctx)
	for _, r := range results {
		fmt.Fprintf(out, "applied %s (%s)\n", migrationName(r.Source), r.Duration.Round(1e6))
	}
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	if len(results) == 0 {
		fmt.Fprintln(out, "schema already current")
	}
	return nil
}

// Down rolls back the latest applied migration.
func (m *Migrator) Down(ctx context.Context, out io.Writer) error {
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

// CheckCurrent fails with a message saying what to run when the schema is behind (or
// ahead of) this binary.
func (m *Migrator) CheckCurrent(ctx context.Context) error {
	current, latest, err := m.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < latest:
		return fmt.Errorf("database schema is at version %d but this courierd needs %d: run `courierd migrate up`", current, latest)
	case current > latest:
		return fmt.Errorf("database schema is at version %d, newer than this courierd knows (%d): deploy the newer binary", current, latest)
	}
	return nil
}

// migrationName is a migration's file, or for the Go one what it does.
func migrationName(s *goose.Source) string {
	if s.Path != "" {
		return s.Path
	}
	return fmt.Sprintf("%05d (River job-queue schema, version %d)", s.Version, riverSchemaVersion)
}
