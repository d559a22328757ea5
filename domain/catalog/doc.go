// Package catalog holds the reference data every other area stands on: administrative
// units, agencies, post offices, procedures, the working-day calendar and couriers. Each
// kind is a value type that validates itself; Registry applies the rules before anything
// reaches a Store, the port that storage implements.
//
// Imports allowed: the standard library, courierd/domain, uuid and orb. No storage, api,
// gorm, fiber or net/http.
package catalog
