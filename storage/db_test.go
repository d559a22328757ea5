package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"courierd/storage"
	"courierd/storage/dbtest"
)

// TestPooledPreparesNothingByName: behind a pooler in transaction mode, the shared pool and
// River's side pool prepare no statement by name (one prepared on a server connection is
// missing on the next the pooler hands out); without a pooler pgx prepares by name, as it
// always did. A connection string that names a mode preparing nothing by name keeps it;
// one naming pgx's default, in either form, is overridden.
func TestPooledPreparesNothingByName(t *testing.T) {
	t.Parallel()
	_, plain := dbtest.New(t)
	u, err := url.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	keywords := fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=%s sslmode=disable default_query_exec_mode=cache_statement",
		u.Hostname(), u.Port(), u.User.Username(), password, strings.TrimPrefix(u.Path, "/"))
	for _, c := range []struct {
		conn          string
		pooled, named bool
	}{
		{plain, false, true},
		{plain, true, false},
		{plain + "&default_query_exec_mode=exec", true, false},
		{keywords, true, false},
	} {
		db, err := storage.Open(context.Background(), c.conn, storage.PoolConfig{MaxOpenConns: 1, MaxIdleConns: 1, Pooled: c.pooled}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		side, err := db.OpenSidePool(1)
		if err != nil {
			t.Fatal(err)
		}
		for name, pool := range map[string]*sql.DB{"shared": db.SQL(), "side": side} {
			var prepared int
			// Twice, so that a statement cached by name is used from its cache; with an
			// argument, since pgx sends a statement without any by the simple protocol.
			for range 2 {
				if err := pool.QueryRow(`SELECT count(*) FROM pg_prepared_statements WHERE $1::bool`, true).Scan(&prepared); err != nil {
					t.Fatal(err)
				}
			}
			if (prepared > 0) != c.named {
				t.Errorf("pooled %v, %s pool: %d statements prepared by name on its connection, want some: %v",
					c.pooled, name, prepared, c.named)
			}
		}
		side.Close()
		db.Close()
	}
}
