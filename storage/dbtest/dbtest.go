// Package dbtest gives tests real PostgreSQL databases: one migrated template per test
// package, cloned into a fresh database for every test that asks, all dropped afterwards,
// so packages and tests run in parallel without seeing each other's rows.
//
// The server is the one TEST_DATABASE_URL names (a role that may create databases),
// else postgres@127.0.0.1:5432; `make test` provisions one and sets the variable.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the admin connection

	"courierd/storage"
)

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	admin    *sql.DB
	adminURL *url.URL
	template string
	// PostgreSQL refuses to clone a template while another clone of it is starting.
	cloneMu sync.Mutex
)

// Main wraps m.Run for a TestMain: it makes and migrates the package's template
// database, runs the tests, drops every database it made, and returns the exit code.
func Main(m *testing.M) int {
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	code := m.Run()
	if err := exec("DROP DATABASE IF EXISTS " + template + " WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
	}
	admin.Close()
	return code
}

func setUp() error {
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = defaultAdminURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	adminURL = u
	if admin, err = sql.Open("pgx", raw); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("no PostgreSQL at TEST_DATABASE_URL (run the tests with `make test`, which provisions one): %w", err)
	}
	template = uniqueName("tmpl")
	if err := exec("CREATE DATABASE " + template); err != nil {
		return err
	}
	db, err := storage.Open(ctx, urlFor(template), storage.PoolConfig{MaxOpenConns: 2}, time.Now)
	if err != nil {
		return err
	}
	defer db.Close()
	migrator, err := storage.NewMigrator(db)
	if err != nil {
		return err
	}
	return migrator.Up(ctx, io.Discard)
}

// New returns a fresh, migrated database for t, closed and dropped when t ends.
func New(t testing.TB) (*storage.DB, string) {
	t.Helper()
	name := clone(t, template)
	u := urlFor(name)
	db, err := storage.Open(context.Background(), u, storage.PoolConfig{MaxOpenConns: 8, MaxIdleConns: 2}, time.Now)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

// NewEmpty returns the URL of a fresh database with no schema, dropped when t ends: for
// tests of the migrations themselves.
func NewEmpty(t testing.TB) string {
	t.Helper()
	return urlFor(clone(t, "template0"))
}

func clone(t testing.TB, from string) string {
	name := uniqueName("t")
	cloneMu.Lock()
	err := exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, from))
	cloneMu.Unlock()
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return name
}

func exec(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

func urlFor(database string) string {
	u := *adminURL
	u.Path = "/" + database
	return u.String()
}

// uniqueName is a database name no other package or run will pick.
func uniqueName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("courierd_%s_%d_%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))
}
