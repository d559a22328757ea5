package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"courierd/storage"
	"courierd/storage/dbtest"
)

// gathered is every sample of reg as name{label="value",…} → value, labels sorted.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// The metrics count what river_job holds: each queue's waiting jobs by state, its
// oldest available job's wait, and each kind's failing and discarded jobs.
func TestQueueMetrics(t *testing.T) {
	db, _ := dbtest.New(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := New(db, time.Second, Workers{Notices: 1, Webhooks: 1, Timers: 1, Retention: 1, Plans: 1, Default: 1}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewMetrics(db, log))

	empty := gathered(t, reg)
	if len(empty) != len(queues)*(len(depthStates)+1)+len(kinds)*2 {
		t.Fatalf("an empty table gives %d series: %v", len(empty), empty)
	}
	for series, v := range empty {
		if v != 0 {
			t.Fatalf("%s = %v on an empty table", series, v)
		}
	}

	notice := func() river.InsertManyParams {
		return river.InsertManyParams{Args: storage.NotifyArgs{DossierID: uuid.New()}}
	}
	delivery := func() river.InsertManyParams {
		return river.InsertManyParams{Args: storage.DeliveryArgs{DeliveryID: uuid.New()}}
	}
	jobs := []river.InsertManyParams{notice(), notice(), notice(), notice(), delivery(), delivery(), delivery(),
		{Args: storage.HoldExpiryArgs{DossierID: uuid.New()}, InsertOpts: &river.InsertOpts{ScheduledAt: time.Now().Add(7 * 24 * time.Hour)}},
		{Args: storage.HoldExpiryArgs{DossierID: uuid.New()}, InsertOpts: &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}},
	}
	inserted, err := c.river.InsertMany(ctx, jobs)
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) int64 { return inserted[i].Job.ID }
	for _, stmt := range []struct {
		sql string
		ids []int64
	}{
		// The first notice has waited an hour; the second runs; two deliveries failed,
		// one for good; the second hold expiry fell due a minute ago.
		{`UPDATE river_job SET scheduled_at = now() - interval '1 hour' WHERE id = $1`, []int64{id(0)}},
		{`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`, []int64{id(1)}},
		{`UPDATE river_job SET state = 'retryable', attempt = 1, scheduled_at = now() + interval '1 minute' WHERE id = $1`, []int64{id(4)}},
		{`UPDATE river_job SET state = 'discarded', attempt = 25, finalized_at = now() WHERE id = $1`, []int64{id(5)}},
		{`UPDATE river_job SET scheduled_at = now() - interval '1 minute' WHERE id = $1`, []int64{id(8)}},
	} {
		for _, id := range stmt.ids {
			if _, err := db.SQL().ExecContext(ctx, stmt.sql, id); err != nil {
				t.Fatal(err)
			}
		}
	}

	got := gathered(t, reg)
	for series, want := range map[string]float64{
		`courierd_job_queue_depth{queue="notices",state="available"}`:             3,
		`courierd_job_queue_depth{queue="notices",state="running"}`:               1,
		`courierd_job_queue_depth{queue="webhooks",state="available"}`:            1,
		`courierd_job_queue_depth{queue="webhooks",state="retryable"}`:            1,
		`courierd_job_queue_depth{queue="timers",state="scheduled_due"}`:          1,
		`courierd_job_queue_depth{queue="timers",state="available"}`:              0,
		`courierd_job_queue_depth{queue="default",state="available"}`:             0,
		`courierd_jobs_failed{kind="webhook_delivery",state="retryable"}`:         1,
		`courierd_jobs_failed{kind="webhook_delivery",state="discarded"}`:         1,
		`courierd_jobs_failed{kind="dossier_notify_applicant",state="discarded"}`: 0,
		`courierd_job_queue_oldest_available_seconds{queue="timers"}`:             0,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
	// The notice inserted an hour back has waited an hour and the few seconds of this test.
	if age := got[`courierd_job_queue_oldest_available_seconds{queue="notices"}`]; age < 3600 || age > 2*3600 {
		t.Errorf("the oldest notice waited %v s, want an hour", age)
	}
	if age := got[`courierd_job_queue_oldest_available_seconds{queue="webhooks"}`]; age <= 0 || age >= 3600 {
		t.Errorf("the oldest available delivery waited %v s, want a moment", age)
	}
}
