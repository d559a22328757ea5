// Package storage is courierd's PostgreSQL adapter: the connection pool (gorm over pgx),
// the goose migrations runner, the repositories that implement domain's ports, the
// transactional insert of River jobs (Queue: jobs commit with the rows that caused them),
// the translation of PostgreSQL errors into domain codes, the proof-file stores and the
// demo-data writer.
//
// Beside it, not in it: storage/jobs is the process's River client and the workers that
// run the jobs; storage/outbound and its subpackages are the outbound adapters (HTTP
// clients, webhook posting, SMS and Zalo messaging, the OSRM routing engine);
// storage/dbtest makes test databases.
//
// gorm row structs never leave this package; named converters turn them into domain
// values and back. Imports allowed: courierd/domain and its subpackages,
// courierd/migrations, gorm, pgx, goose. Never api or fiber.
package storage
