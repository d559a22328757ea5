// Package migrations holds the schema as goose SQL migrations, embedded in the binary so
// that `courierd migrate` needs no files beside it. The schema lives here and only here;
// nothing calls gorm's AutoMigrate.
//
// Imports allowed: the standard library only.
package migrations

import (
	"embed"
	"fmt"
	"strconv"
)

// FS holds every migration, named NNNNN_what.sql and applied in that order.
//
//go:embed *.sql
var FS embed.FS

// lastVersion, when the linker sets it (-ldflags "-X courierd/migrations.lastVersion=22"),
// cuts the set after that version: the upgrade test builds the previous release that way.
// A real build leaves it empty and carries every migration.
var lastVersion string

// Last is the version the set is cut after; 0 when the binary carries every migration.
func Last() (int64, error) {
	if lastVersion == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(lastVersion, 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("this courierd was built with migrations.lastVersion=%q, which is not a migration version", lastVersion)
	}
	return v, nil
}
