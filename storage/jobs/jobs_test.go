package jobs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"courierd/domain/dossier"
	"courierd/storage"
	"courierd/storage/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// stuckWebhooks is a portal that never answers: every delivery and fanout holds its
// worker until released.
type stuckWebhooks struct {
	started chan uuid.UUID
	release chan struct{}
}

func (w *stuckWebhooks) Fanout(ctx context.Context, id uuid.UUID, _ dossier.Occurrence) error {
	return w.hold(ctx, id)
}

func (w *stuckWebhooks) Deliver(ctx context.Context, id uuid.UUID) error { return w.hold(ctx, id) }

func (w *stuckWebhooks) hold(ctx context.Context, id uuid.UUID) error {
	w.started <- id
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type quickDossiers struct{}

func (quickDossiers) ExpireHold(context.Context, uuid.UUID, string) error { return nil }

func (quickDossiers) NotifyApplicant(context.Context, uuid.UUID, dossier.Notice, string) error {
	return nil
}

func (quickDossiers) CheckChains(context.Context) (dossier.CustodyCheck, error) {
	return dossier.CustodyCheck{}, nil
}

// A portal that hangs holds every webhook worker, and still an applicant's notice, a
// hold's expiry and a notice the previous release left in the default queue are done.
func TestStuckWebhooksDelayNoOtherJob(t *testing.T) {
	db, _ := dbtest.New(t)
	ctx := context.Background()
	const webhookWorkers = 2
	c, err := New(db, 100*time.Millisecond, Workers{Notices: 1, Webhooks: webhookWorkers, Timers: 1, Retention: 1, Plans: 1, Default: 1},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	webhooks := &stuckWebhooks{started: make(chan uuid.UUID, 16), release: make(chan struct{})}
	t.Cleanup(func() {
		close(webhooks.release)
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	backlog := []river.InsertManyParams{{Args: storage.WebhookArgs{DossierID: uuid.New(), Event: "hold"}}}
	for range 3 * webhookWorkers {
		backlog = append(backlog, river.InsertManyParams{Args: storage.DeliveryArgs{DeliveryID: uuid.New()}})
	}
	if _, err := c.river.InsertMany(ctx, backlog); err != nil {
		t.Fatal(err)
	}
	completed, cancel := c.river.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	if err := c.Start(ctx, Handlers{Dossiers: quickDossiers{}, Webhooks: webhooks}, Retention{}); err != nil {
		t.Fatal(err)
	}
	for range webhookWorkers {
		<-webhooks.started
	}

	notice := storage.NotifyArgs{DossierID: uuid.New(), Notice: dossier.Notice("result_ready")}
	fromOldRelease := storage.NotifyArgs{DossierID: uuid.New(), Notice: dossier.Notice("result_ready")}
	if _, err := c.river.InsertMany(ctx, []river.InsertManyParams{
		{Args: notice},
		{Args: storage.HoldExpiryArgs{DossierID: uuid.New()}},
		{Args: fromOldRelease, InsertOpts: &river.InsertOpts{Queue: river.QueueDefault}},
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{string(dossier.JobNotifyApplicant): 2, string(dossier.JobHoldExpiry): 1}
	for len(want) > 0 {
		select {
		case e := <-completed:
			if e.Job.Queue == storage.QueueWebhooks {
				t.Fatalf("a webhook job completed while the portal hangs: %s", e.Job.Kind)
			}
			if n, ok := want[e.Job.Kind]; ok && n == 1 {
				delete(want, e.Job.Kind)
			} else if ok {
				want[e.Job.Kind] = n - 1
			}
		case <-time.After(time.Minute):
			t.Fatalf("still not done behind the stuck webhooks: %v", want)
		}
	}

	// All along, exactly the webhook workers were held, and the rest of the backlog waits.
	if n := len(webhooks.started); n != 0 {
		t.Fatalf("%d more webhook jobs started than there are webhook workers", n)
	}
	states := map[string]int{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT state, count(*) FROM river_job WHERE queue = $1 GROUP BY state`, storage.QueueWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			t.Fatal(err)
		}
		states[state] = n
	}
	if states["running"] != webhookWorkers || states["available"] != len(backlog)-webhookWorkers {
		t.Fatalf("webhook queue: %v, want %d running and %d available", states, webhookWorkers, len(backlog)-webhookWorkers)
	}
}

// Each kind of job is inserted into its own queue by its arguments alone, as the
// callers' transactional inserts do (they give no queue).
func TestEachKindHasItsQueue(t *testing.T) {
	db, _ := dbtest.New(t)
	ctx := context.Background()
	c, err := New(db, time.Second, Workers{Notices: 1, Webhooks: 1, Timers: 1, Retention: 1, Plans: 1, Default: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	want := map[river.JobArgs]string{
		storage.NotifyArgs{DossierID: uuid.New()}:     storage.QueueNotices,
		storage.HoldExpiryArgs{DossierID: uuid.New()}: storage.QueueTimers,
		storage.WebhookArgs{DossierID: uuid.New()}:    storage.QueueWebhooks,
		storage.DeliveryArgs{DeliveryID: uuid.New()}:  storage.QueueWebhooks,
		RetentionArgs{}:                      storage.QueueRetention,
		storage.PlanArgs{PlanID: uuid.New()}: storage.QueuePlans,
	}
	for args, queue := range want {
		res, err := c.river.Insert(ctx, args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Job.Queue != queue {
			t.Errorf("%s went to queue %q, want %q", args.Kind(), res.Job.Queue, queue)
		}
	}
}
