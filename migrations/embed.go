// Package migrations holds the schema as goose SQL migrations, embedded in the binary so
// that `courierd migrate` needs no files beside it. The schema lives here and only here;
// nothing calls gorm's AutoMigrate.
//
// Imports allowed: the standard library only.
package migrations

import "embed"

// FS holds every migration, named NNNNN_what.sql and applied in that order.
//
//go:embed *.sql
var FS embed.FS
