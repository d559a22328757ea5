// Package storage is courierd's PostgreSQL adapter: the connection pool (gorm over pgx),
// the goose migrations runner, the repositories that implement domain's ports, the
// translation of PostgreSQL errors into domain codes, and the demo-data writer.
//
// gorm row structs never leave this package; named converters turn them into domain
// values and back. Imports allowed: courierd/domain and its subpackages,
// courierd/migrations, gorm, pgx, goose. Never api or fiber.
package storage
