package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"courierd/domain/dossier"
)

// DossierJobs is the dossier service's background work.
type DossierJobs interface {
	ExpireHold(ctx context.Context, id uuid.UUID, key string) error
	NotifyApplicant(ctx context.Context, id uuid.UUID, n dossier.Notice, key string) error
}

// WebhookJobs is the webhook service's background work.
type WebhookJobs interface {
	Fanout(ctx context.Context, id uuid.UUID, o dossier.Occurrence) error
	Deliver(ctx context.Context, delivery uuid.UUID) error
}

// JobHandlers is what the workers call: the domain services that do the work.
type JobHandlers struct {
	Dossiers DossierJobs
	Webhooks WebhookJobs
}

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	handlers JobHandlers
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	a := job.Args
	return w.handlers.Webhooks.Fanout(ctx, a.DossierID, dossier.Occurrence{Event: a.Event, From: a.From, To: a.To, Version: a.Version, At: a.At})
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	handlers JobHandlers
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	return w.handlers.Webhooks.Deliver(ctx, job.Args.DeliveryID)
}

type holdExpiryWorker struct {
	river.WorkerDefaults[HoldExpiryArgs]
	handlers JobHandlers
}

func (w *holdExpiryWorker) Work(ctx context.Context, job *river.Job[HoldExpiryArgs]) error {
	return w.handlers.Dossiers.ExpireHold(ctx, job.Args.DossierID, fmt.Sprint(job.ID))
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	handlers JobHandlers
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	// The job's id names this notice over its retries, and only them (a later trip's
	// notice of the same kind is another job).
	return w.handlers.Dossiers.NotifyApplicant(ctx, job.Args.DossierID, job.Args.Notice, fmt.Sprint(job.ID))
}

// Retention says how long what devices send is kept.
type Retention struct {
	// Tracks: GPS breadcrumbs, dropped by whole days.
	Tracks time.Duration
	// Sync: the change feed and the outcomes of applied mutations (see PruneSync).
	Sync time.Duration
	// Proofs: photos and signatures, counted from their dossiers' closing (see
	// DeleteOldProofs), deleted from ProofFiles; zero or no files: kept.
	Proofs     time.Duration
	ProofFiles BlobDeleter
}

// RetentionArgs is the daily job that forgets what is older than the retention.
type RetentionArgs struct{}

func (RetentionArgs) Kind() string { return "retention" }

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	db   *DB
	keep Retention
	log  *slog.Logger
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	now := time.Now().UTC()
	dropped, err := DropTrackDaysBefore(ctx, w.db, now.Add(-w.keep.Tracks))
	if err != nil {
		return err
	}
	changes, mutations, err := PruneSync(ctx, w.db, now.Add(-w.keep.Sync))
	if err != nil {
		return err
	}
	proofs := 0
	if w.keep.ProofFiles != nil && w.keep.Proofs > 0 {
		proofs, err = DeleteOldProofs(ctx, w.db, w.keep.ProofFiles, now.Add(-w.keep.Proofs), int(w.keep.Proofs/(24*time.Hour)))
	}
	if dropped+int(changes)+int(mutations)+proofs > 0 {
		w.log.Info("old field data forgotten", "breadcrumb_days", dropped, "feed_changes", changes, "mutation_outcomes", mutations, "proof_files", proofs)
	}
	return err
}

// Workers runs the background jobs. Any number of courierd processes may run them: River
// hands each job to one worker, retries failures with backoff, and keeps a job until it
// succeeds or runs out of attempts.
type Workers struct {
	client *river.Client[*sql.Tx]
	pool   *sql.DB
}

// workerConns: River's own fetching, completing and leader election get their own few
// connections. On the shared pool a fleet's pushes starved them: the producer timed out
// reading its settings. The jobs' work itself goes through the services, on the shared pool.
const workerConns = 4

// StartWorkers starts working jobs until Stop. poll is how often the queue is checked.
// What is older than keep is forgotten once a day, and at start.
func StartWorkers(ctx context.Context, db *DB, handlers JobHandlers, poll time.Duration, keep Retention, log *slog.Logger) (*Workers, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &holdExpiryWorker{handlers: handlers})
	river.AddWorker(workers, &notifyWorker{handlers: handlers})
	river.AddWorker(workers, &webhookWorker{handlers: handlers})
	river.AddWorker(workers, &deliveryWorker{handlers: handlers})
	river.AddWorker(workers, &retentionWorker{db: db, keep: keep, log: log})
	pool, err := sql.Open("pgx", db.url)
	if err != nil {
		return nil, fmt.Errorf("job workers: %w", err)
	}
	pool.SetMaxOpenConns(workerConns)
	pool.SetMaxIdleConns(workerConns)
	client, err := river.NewClient(riverdatabasesql.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
		Workers:           workers,
		FetchPollInterval: poll,
		Logger:            log,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})},
	})
	if err == nil {
		err = client.Start(ctx)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("job workers: %w", err), pool.Close())
	}
	return &Workers{client: client, pool: pool}, nil
}

// Stop lets running jobs finish, within ctx, and closes the workers' connections.
func (w *Workers) Stop(ctx context.Context) error {
	return errors.Join(w.client.Stop(ctx), w.pool.Close())
}
