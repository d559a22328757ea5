package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver of the pools opened here

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"courierd/domain/audit"
)

// PoolConfig sizes the connection pool.
type PoolConfig struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// DB is the one handle to PostgreSQL that the rest of the process shares.
type DB struct {
	url  string
	gorm *gorm.DB
	sql  *sql.DB
	// counters writes what may be lost in a crash without harm (attempt counters), on
	// connections that do not wait for the write-ahead log to reach the disk: a public
	// lookup counted on the main pool waited for a flush each time, and under a
	// fleet's writes that flush took up to seconds.
	counters *sql.DB
	now      func() time.Time
}

// countersConns bounds the connections of the counters' pool: each write is a
// fraction of a millisecond.
const countersConns = 4

// Open connects to url and checks the server answers. now is the clock every repository
// stamps rows with.
func Open(ctx context.Context, url string, pool PoolConfig, now func() time.Time) (*DB, error) {
	g, err := gorm.Open(postgres.Open(url), &gorm.Config{
		// Queries are logged by nobody: parameters carry phones and names. Failures
		// surface as errors and are logged once, at the edge, without values.
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// Rows are read by naming their columns, never with *: a statement a connection has
		// prepared keeps working when an expand migration adds a column while this release
		// serves (PostgreSQL refuses a prepared "SELECT *" whose columns changed, once per
		// connection: answers 500 in the middle of an upgrade).
		QueryFields: true,
		NowFunc:     func() time.Time { return now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := withoutTrips(g); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(pool.MaxOpenConns)
	sqlDB.SetMaxIdleConns(pool.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(pool.ConnMaxLifetime)
	counters, err := sql.Open("pgx", withRuntimeParam(url, "synchronous_commit", "off"))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	counters.SetMaxOpenConns(countersConns)
	counters.SetMaxIdleConns(countersConns)
	counters.SetConnMaxLifetime(pool.ConnMaxLifetime)
	db := &DB{url: url, gorm: g, sql: sqlDB, counters: counters, now: now}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenSidePool opens a pool of its own of at most conns connections to the same
// database, for work that must not queue behind the shared pool (River's fetching and
// leader election). The caller closes it.
func (db *DB) OpenSidePool(conns int) (*sql.DB, error) {
	pool, err := sql.Open("pgx", db.url)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	return pool, nil
}

// withRuntimeParam adds a setting every session of the connection string starts with,
// in either form PostgreSQL's clients accept (a URL, or keyword=value pairs).
func withRuntimeParam(conn, name, value string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(name, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return conn + " " + name + "=" + value
}

// Ping checks the database answers within ctx.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return translate(err, "database")
	}
	// The counters' sessions set synchronous_commit at startup, which a pooler in front of
	// PostgreSQL may refuse: better a server that will not start than logins that all fail.
	if err := db.counters.PingContext(ctx); err != nil {
		return fmt.Errorf("the attempt counters' connections (synchronous_commit=off) fail: %w", translate(err, "database"))
	}
	return nil
}

// SQL exposes the pool for pool statistics and the migrations runner.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close releases every connection.
func (db *DB) Close() error { return errors.Join(db.sql.Close(), db.counters.Close()) }

// inTx runs fn in one transaction that commits only if fn returns nil, appending the
// audit entries that record the change in the same transaction.
func (db *DB) inTx(ctx context.Context, fn func(tx *gorm.DB) error, entries ...audit.Entry) error {
	return db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		for _, e := range entries {
			if err := writeAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// stamp is the time to write into a row: UTC, cut to PostgreSQL's microseconds so that
// what a write returns equals what a later read returns.
func (db *DB) stamp() time.Time {
	return db.now().UTC().Truncate(time.Microsecond)
}

// inSQLTx runs fn in one database/sql transaction, for the few writes that bypass gorm to
// pass arrays straight to pgx.
func (db *DB) inSQLTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// CheckIndexKey records the fingerprint of the blind-index key on first use, and refuses
// another one afterwards: indexes made with one key are never found with another.
func CheckIndexKey(ctx context.Context, db *DB, fingerprint string) error {
	var kept string
	err := db.sql.QueryRowContext(ctx, `WITH ins AS (
			INSERT INTO data_index_key (fingerprint, recorded_at) VALUES ($1, now()) ON CONFLICT (only_row) DO NOTHING RETURNING fingerprint)
		SELECT fingerprint FROM ins UNION ALL SELECT fingerprint FROM data_index_key LIMIT 1`, fingerprint).Scan(&kept)
	if err != nil {
		return translate(err, "data index key")
	}
	if kept != fingerprint {
		return errors.New("the blind-index key is not the one the stored phone and ID indexes were made with: " +
			"restore that key's file in DATA_KEY_DIR, or set DATA_INDEX_KEY_ID to its id (by default the oldest key is used)")
	}
	return nil
}
