package main

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"courierd/cmd/devicesim/sim"
)

// TestTwoServers: two courierd processes serve one database behind a balancer that sends
// each request to the other one, so every device switches server at every call, mid-sync.
// Nothing acknowledged is lost, the queues drain, and each background job runs once.
func TestTwoServers(t *testing.T) {
	env := seededServerEnv(t, nil)
	seeded := time.Now()
	first := startKillable(t, env)
	second := map[string]string{}
	for k, v := range env {
		second[k] = v
	}
	second["PORT"] = freePort(t)
	other := startKillable(t, second)
	var turn atomic.Uint64
	backends := []*url.URL{mustURL(t, first.base), mustURL(t, other.base)}
	served := [2]atomic.Int64{}
	balancer := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		i := turn.Add(1) % 2
		served[i].Add(1)
		r.SetURL(backends[i])
	}})
	defer balancer.Close()
	ctx := context.Background()
	fleet := setupFleet(t, sim.Config{Base: balancer.URL, Devices: 4, Duration: 6 * time.Second, Seed: 37,
		OfflineShare: 0.2, FailShare: 0.2, LostAnswerShare: 0.1, Batch: 5, NotesPerStop: 2,
		Think: 30 * time.Millisecond, DatabaseURL: env["DATABASE_URL"]})
	report, err := fleet.Work(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("served %d and %d requests: %+v", served[0].Load(), served[1].Load(), report)
	if report.Lost != 0 || report.Unacknowledged != 0 || report.Applied == 0 || report.Errors != 0 {
		t.Fatalf("applied %d, lost %d, unacknowledged %d, errors %d", report.Applied, report.Lost, report.Unacknowledged, report.Errors)
	}
	if served[0].Load() < 100 || served[1].Load() < 100 {
		t.Fatalf("served %d and %d: both servers should have worked", served[0].Load(), served[1].Load())
	}
	checkJobsKept(t, env["DATABASE_URL"], seeded)
	checkJobsRanOnce(t, env["DATABASE_URL"])
	for _, server := range []*killable{first, other} {
		checkLogKeepsNoPersonalData(t, readLog(t, server), env["DATABASE_URL"])
	}
}

// checkJobsRanOnce waits for the queue to empty, then requires every job done at its first
// attempt: with two servers' workers on one queue, none was taken twice.
func checkJobsRanOnce(t *testing.T, databaseURL string) {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var waiting, done, again int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := db.QueryRow(`SELECT count(*) FILTER (WHERE state IN ('available', 'running', 'retryable', 'pending')),
			count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE attempt > 1)
			FROM river_job WHERE kind <> 'retention'`).Scan(&waiting, &done, &again)
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 0 || time.Now().After(deadline) {
			break
		}
	}
	if waiting != 0 || done == 0 || again != 0 {
		t.Fatalf("jobs: %d still waiting, %d completed, %d run more than once", waiting, done, again)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
