package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver of the pools opened here

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"courierd/domain/audit"
)

// PoolConfig sizes the connection pools and says how they reach PostgreSQL.
type PoolConfig struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	// DirectURL reaches PostgreSQL itself, for what needs a session of its own: LISTEN,
	// the migrations' session lock, the national seed's temporary tables. Empty: the URL
	// Open is given.
	DirectURL string
	// Pooled: the URL Open is given leads through a pooler in transaction mode
	// (PgBouncer), which hands each transaction to whichever server connection is free
	// (see pooledURL).
	Pooled bool
}

// DB is the one handle to PostgreSQL that the rest of the process shares.
type DB struct {
	url, directURL string
	gorm           *gorm.DB
	sql            *sql.DB
	// counters writes what may be lost in a crash without harm (attempt counters), on
	// connections of its own, in statements whose commit does not wait for the
	// write-ahead log to reach the disk (see AuthStore.Attempt): a public lookup counted
	// on the main pool waited for a flush each time, and under a fleet's writes that
	// flush took up to seconds.
	counters *sql.DB
	// direct holds sessions on directURL: the shared pool when that is the same URL.
	direct *sql.DB
	now    func() time.Time
}

// countersConns bounds the connections of the counters' pool: each write is a fraction
// of a millisecond. directConns bounds the direct ones: a migration run or a seed holds
// one, a readiness check another.
const countersConns, directConns = 4, 2

// Open connects to url and checks the server answers. now is the clock every repository
// stamps rows with.
func Open(ctx context.Context, url string, pool PoolConfig, now func() time.Time) (*DB, error) {
	ownDirect := pool.DirectURL != "" && pool.DirectURL != url
	directURL := cmp.Or(pool.DirectURL, url)
	if pool.Pooled {
		var err error
		if url, err = pooledURL(url); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
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
	db := &DB{url: url, directURL: directURL, gorm: g, sql: sqlDB, direct: sqlDB, now: now}
	db.counters, err = openPool(url, countersConns, countersConns, pool.ConnMaxLifetime)
	if err == nil && ownDirect {
		db.direct, err = openPool(directURL, directConns, 1, pool.ConnMaxLifetime)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openPool opens a pool of at most conns connections to url, idle of them kept.
func openPool(url string, conns, idle int, lifetime time.Duration) (*sql.DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(idle)
	pool.SetConnMaxLifetime(lifetime)
	return pool, nil
}

// OpenSidePool opens a pool of its own of at most conns connections to the same
// database, for work that must not queue behind the shared pool (River's fetching and
// leader election). The caller closes it.
func (db *DB) OpenSidePool(conns int) (*sql.DB, error) {
	return openPool(db.url, conns, conns, 0)
}

// pooledURL is conn with its statements run as a pooler in transaction mode allows.
// pgx prepares each statement by name on its connection and then only binds it
// (default_query_exec_mode=cache_statement), but behind the pooler the next
// transaction may run on a server connection that never saw it (PgBouncer 1.18, as
// Debian bookworm ships it, does not carry prepared statements across). cache_describe
// parses every statement again, unnamed, in the same round trip as its execution, and
// keeps only its description (parameter and column types) on this side; the cost is
// PostgreSQL parsing and planning each statement anew, and one more round trip the first
// time a connection meets a statement. A URL that names another mode that prepares
// nothing by name (exec, simple_protocol) keeps it.
func pooledURL(conn string) (string, error) {
	config, err := pgx.ParseConfig(conn)
	if err != nil {
		return "", err
	}
	switch config.DefaultQueryExecMode {
	case pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		return conn, nil
	}
	return withParam(conn, "default_query_exec_mode", "cache_describe"), nil
}

// withParam sets a parameter of the connection string, in either form PostgreSQL's
// clients accept (a URL, or keyword=value pairs, where the last of a name counts).
func withParam(conn, name, value string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(name, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return conn + " " + name + "=" + value
}

// Ping checks the database answers within ctx, directly too when that is another URL.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return translate(err, "database")
	}
	if db.direct != db.sql {
		if err := db.direct.PingContext(ctx); err != nil {
			return fmt.Errorf("the direct connection (DATABASE_DIRECT_URL: LISTEN, migrations) fails: %w", translate(err, "database"))
		}
	}
	return nil
}

// SQL exposes the shared pool, for pool statistics.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close releases every connection.
func (db *DB) Close() error {
	errs := []error{db.sql.Close()}
	for _, pool := range []*sql.DB{db.counters, db.direct} {
		if pool != nil && pool != db.sql {
			errs = append(errs, pool.Close())
		}
	}
	return errors.Join(errs...)
}

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
