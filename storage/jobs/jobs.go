// Package jobs is courierd's background work on River: the one River client of a process,
// which both inserts jobs (storage.Queue wraps it inside the callers' transactions, the
// outbox) and works them, and the workers that hand each job to the domain service that
// does it, plus the daily retention job. The job arguments that are inserted inside
// transactions stay in storage beside the insert.
package jobs

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
	"github.com/riverqueue/river/rivertype"

	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/storage"
)

// DossierJobs is the dossier service's background work.
type DossierJobs interface {
	ExpireHold(ctx context.Context, id uuid.UUID, key string) error
	NotifyApplicant(ctx context.Context, id uuid.UUID, n dossier.Notice, key string) error
	CheckChains(ctx context.Context) (dossier.CustodyCheck, error)
}

// WebhookJobs is the webhook service's background work.
type WebhookJobs interface {
	Fanout(ctx context.Context, id uuid.UUID, o dossier.Occurrence) error
	Deliver(ctx context.Context, delivery uuid.UUID) error
}

// Handlers is what the workers call: the domain services that do the work.
type Handlers struct {
	Dossiers DossierJobs
	Webhooks WebhookJobs
	Delays   DelayJobs
	Plans    PlanJobs
}

// PlanJobs makes the plans asked for (dispatch.Service.MakePlan).
type PlanJobs interface {
	MakePlan(ctx context.Context, job dispatch.PlanJob) error
}

type planWorker struct {
	river.WorkerDefaults[storage.PlanArgs]
	handlers *Handlers
}

// Timeout: a plan searches for at most PLAN_TIME_LIMIT's bound (a minute), after the
// stops and the travel between them are gathered; River's default minute would cut it.
func (w *planWorker) Timeout(*river.Job[storage.PlanArgs]) time.Duration { return 5 * time.Minute }

func (w *planWorker) Work(ctx context.Context, job *river.Job[storage.PlanArgs]) error {
	return w.handlers.Plans.MakePlan(ctx, job.Args.Job())
}

// DelayJobs checks the day's delay alerts (dispatch.Service.CheckAllDelays).
type DelayJobs interface {
	CheckAllDelays(ctx context.Context) (int, error)
}

type webhookWorker struct {
	river.WorkerDefaults[storage.WebhookArgs]
	handlers *Handlers
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[storage.WebhookArgs]) error {
	a := job.Args
	return w.handlers.Webhooks.Fanout(ctx, a.DossierID, dossier.Occurrence{Event: a.Event, From: a.From, To: a.To, Version: a.Version, At: a.At})
}

type deliveryWorker struct {
	river.WorkerDefaults[storage.DeliveryArgs]
	handlers *Handlers
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[storage.DeliveryArgs]) error {
	return w.handlers.Webhooks.Deliver(ctx, job.Args.DeliveryID)
}

type holdExpiryWorker struct {
	river.WorkerDefaults[storage.HoldExpiryArgs]
	handlers *Handlers
}

func (w *holdExpiryWorker) Work(ctx context.Context, job *river.Job[storage.HoldExpiryArgs]) error {
	return w.handlers.Dossiers.ExpireHold(ctx, job.Args.DossierID, fmt.Sprint(job.ID))
}

type notifyWorker struct {
	river.WorkerDefaults[storage.NotifyArgs]
	handlers *Handlers
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[storage.NotifyArgs]) error {
	// The job's id names this notice over its retries, and only them (a later trip's
	// notice of the same kind is another job).
	return w.handlers.Dossiers.NotifyApplicant(ctx, job.Args.DossierID, job.Args.Notice, fmt.Sprint(job.ID))
}

// Retention says how long what devices send, and what no longer counts, is kept.
type Retention struct {
	// Tracks: GPS breadcrumbs, dropped by whole days.
	Tracks time.Duration
	// Sync: the change feed and the outcomes of applied mutations (see storage.PruneSync).
	Sync time.Duration
	// Proofs: photos and signatures, counted from their dossiers' closing (see
	// storage.DeleteOldProofs), deleted from ProofFiles; zero or no files: kept.
	Proofs     time.Duration
	ProofFiles storage.BlobDeleter
	// Throttles: how long a login or lookup counter can matter (auth.ThrottleHorizon).
	Throttles time.Duration
	// Deliveries: webhook deliveries, counted from their creation; zero: kept.
	Deliveries time.Duration
	// Secrets seals the webhook secrets a previous release wrote in plain text while it ran
	// beside this one during an upgrade; nil: none.
	Secrets SecretSealer
}

// SecretSealer seals webhook subscribers' secrets under the current data key.
type SecretSealer interface {
	SealSecrets(ctx context.Context) (int, error)
}

// spentGrace: what stopped counting (an expired one-time code, refresh token or
// revocation, a counter whose window passed) is kept a day longer, so that a server whose
// clock runs behind still sees it, and so does whoever looks into an incident next morning.
const spentGrace = 24 * time.Hour

// RetentionArgs is the daily job that forgets what is older than the retention.
type RetentionArgs struct{}

func (RetentionArgs) Kind() string { return "retention" }

func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: storage.QueueRetention}
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	db   *storage.DB
	keep *Retention
	log  *slog.Logger
}

// Work forgets each kind of row in turn; one that fails does not keep the others from
// being forgotten, and the job is retried.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	now := time.Now().UTC()
	var counts []any // what was forgotten, as log attributes: counts only, never a row
	var errs []error
	note := func(what string, n int64, err error) {
		if n > 0 {
			counts = append(counts, what, n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("retention of %s: %w", what, err))
		}
	}
	days, err := storage.DropTrackDaysBefore(ctx, w.db, now.Add(-w.keep.Tracks))
	note("breadcrumb_days", int64(days), err)
	changes, mutations, err := storage.PruneSync(ctx, w.db, now.Add(-w.keep.Sync))
	note("feed_changes", changes, err)
	note("mutation_outcomes", mutations, nil)
	if w.keep.ProofFiles != nil && w.keep.Proofs > 0 {
		proofs, err := storage.DeleteOldProofs(ctx, w.db, w.keep.ProofFiles, now.Add(-w.keep.Proofs), int(w.keep.Proofs/(24*time.Hour)))
		note("proof_files", int64(proofs), err)
	}
	spent := now.Add(-spentGrace)
	n, err := storage.PruneThrottles(ctx, w.db, spent.Add(-w.keep.Throttles), spent)
	note("throttle_counters", n, err)
	n, err = storage.PruneChallenges(ctx, w.db, spent)
	note("one_time_codes", n, err)
	n, err = storage.PruneRefreshTokens(ctx, w.db, spent)
	note("refresh_tokens", n, err)
	n, err = storage.PruneRevocations(ctx, w.db, spent)
	note("revocations", n, err)
	if w.keep.Deliveries > 0 {
		n, err = storage.PruneDeliveries(ctx, w.db, now.Add(-w.keep.Deliveries))
		note("webhook_deliveries", n, err)
	}
	// An expired key is already a new request's; its row only waits to be forgotten.
	n, err = storage.PruneIdempotencyKeys(ctx, w.db, now)
	note("idempotency_keys", n, err)
	if w.keep.Secrets != nil {
		sealed, err := w.keep.Secrets.SealSecrets(ctx)
		note("webhook_secrets_sealed", int64(sealed), err)
	}
	if len(counts) > 0 {
		w.log.Info("retention: old and spent records forgotten", counts...)
	}
	return errors.Join(errs...)
}

// CustodyCheckArgs is the daily check of custody chains (dossier.Service.CheckChains).
type CustodyCheckArgs struct{}

func (CustodyCheckArgs) Kind() string { return "custody_check" }

func (CustodyCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: storage.QueueRetention}
}

type custodyCheckWorker struct {
	river.WorkerDefaults[CustodyCheckArgs]
	handlers *Handlers
	log      *slog.Logger
}

// Work checks the chains; a broken one is logged by dossier id (no personal data) for
// whoever answers the alert, and the run is recorded either way.
func (w *custodyCheckWorker) Work(ctx context.Context, _ *river.Job[CustodyCheckArgs]) error {
	check, err := w.handlers.Dossiers.CheckChains(ctx)
	if err != nil {
		return err
	}
	if check.Broken > 0 {
		ids := make([]string, len(check.BrokenIDs))
		for i, id := range check.BrokenIDs {
			ids[i] = id.String()
		}
		w.log.Error("custody check: broken chains found", "checked", check.Checked, "broken", check.Broken, "dossiers", ids)
	}
	return nil
}

// DelayCheckArgs is the job that checks every office's published day for couriers and
// stops running late: time passing alone makes them late, with no fact arriving.
type DelayCheckArgs struct{}

func (DelayCheckArgs) Kind() string { return "delay_check" }

func (DelayCheckArgs) InsertOpts() river.InsertOpts {
	// One at a time across processes: a check still waiting covers the next minute's.
	return river.InsertOpts{Queue: storage.QueueTimers, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateRunning, rivertype.JobStateRetryable}}}
}

type delayCheckWorker struct {
	river.WorkerDefaults[DelayCheckArgs]
	handlers *Handlers
}

func (w *delayCheckWorker) Work(ctx context.Context, _ *river.Job[DelayCheckArgs]) error {
	if w.handlers.Delays == nil {
		return nil
	}
	_, err := w.handlers.Delays.CheckAllDelays(ctx)
	return err
}

// delayCheckEvery is how often the delay check runs: an alert is at most this late for a
// courier who sends nothing.
const delayCheckEvery = time.Minute

// ReportRollupArgs is the job keeping the reports' rollups (storage.RollUp): the days
// settled since its last run and those that recorded something since they were rolled up.
type ReportRollupArgs struct{}

func (ReportRollupArgs) Kind() string { return "report_rollup" }

func (ReportRollupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: storage.QueueRetention}
}

// reportRollupEvery is how often the rollups are kept: a report computes the days not
// rolled up from the record meanwhile, so this bounds its cost, not its freshness. Not at
// start: a process restarted again and again (a crash loop, a rollout) would roll today
// up each time, when it should be serving.
const reportRollupEvery = 5 * time.Minute

type reportRollupWorker struct {
	river.WorkerDefaults[ReportRollupArgs]
	db  *storage.DB
	log *slog.Logger
}

func (w *reportRollupWorker) Work(ctx context.Context, _ *river.Job[ReportRollupArgs]) error {
	run, err := storage.RollUp(ctx, w.db, time.Now())
	if err == nil && run.Days > 0 {
		w.log.Debug("reports rolled up", "days", run.Days, "months", run.Months, "through", run.Through.Format(time.RFC3339))
	}
	return err
}

// daily is a job run once a day, and at every start.
func daily(args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil }, &river.PeriodicJobOpts{RunOnStart: true})
}

// Client is the process's River client: it inserts jobs inside the callers' transactions
// (see Queue) and, once started, works them. Any number of courierd processes may work
// them: River hands each job to one worker, retries failures with backoff, and keeps a
// job until it succeeds or runs out of attempts.
type Client struct {
	river *river.Client[*sql.Tx]
	pool  *sql.DB
	// handlers and keep are given at Start: the services that do the work are built on
	// the queue this client inserts with.
	handlers *Handlers
	keep     *Retention
	started  bool
}

// workerConns: River's own fetching, completing and leader election get their own few
// connections. On the shared pool a fleet's pushes starved them: the producer timed out
// reading its settings. Each queue's producer fetches on its own, hence a few more than
// the queues. The jobs' work itself goes through the services, on the shared pool, and
// inserts go through the callers' transactions.
const workerConns = 8

// Workers are how many jobs of each queue one process works at once (each at least 1).
type Workers struct {
	Notices, Webhooks, Timers, Retention int
	// Plans: plans made at once, each taking a core while it searches.
	Plans int
	// Default serves River's default queue, where the release before the queues were
	// split put every job: those still waiting during an upgrade drain there. Nothing
	// inserts into it any more.
	Default int
}

func (w Workers) queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{
		storage.QueueNotices:   {MaxWorkers: w.Notices},
		storage.QueueWebhooks:  {MaxWorkers: w.Webhooks},
		storage.QueueTimers:    {MaxWorkers: w.Timers},
		storage.QueueRetention: {MaxWorkers: w.Retention},
		storage.QueuePlans:     {MaxWorkers: w.Plans},
		river.QueueDefault:     {MaxWorkers: w.Default},
	}
}

// New makes the client over db. poll is how often the queues are checked once started.
func New(db *storage.DB, poll time.Duration, perQueue Workers, log *slog.Logger) (*Client, error) {
	handlers, keep := &Handlers{}, &Retention{}
	workers := river.NewWorkers()
	river.AddWorker(workers, &holdExpiryWorker{handlers: handlers})
	river.AddWorker(workers, &notifyWorker{handlers: handlers})
	river.AddWorker(workers, &webhookWorker{handlers: handlers})
	river.AddWorker(workers, &deliveryWorker{handlers: handlers})
	river.AddWorker(workers, &retentionWorker{db: db, keep: keep, log: log})
	river.AddWorker(workers, &custodyCheckWorker{handlers: handlers, log: log})
	river.AddWorker(workers, &delayCheckWorker{handlers: handlers})
	river.AddWorker(workers, &reportRollupWorker{db: db, log: log})
	river.AddWorker(workers, &planWorker{handlers: handlers})
	pool, err := db.OpenSidePool(workerConns)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	client, err := river.NewClient(riverdatabasesql.New(pool), &river.Config{
		Queues:            perQueue.queues(),
		Workers:           workers,
		FetchPollInterval: poll,
		// A job whose process died is run again after this: River's hour would hold an
		// office's plan "planning", refusing another, that long. Every job ends within its
		// timeout (a plan's is the longest, 5 minutes).
		RescueStuckJobsAfter: 10 * time.Minute,
		Logger:               slog.New(quieter{log.Handler()}),
		PeriodicJobs: []*river.PeriodicJob{daily(RetentionArgs{}), daily(CustodyCheckArgs{}),
			river.NewPeriodicJob(river.PeriodicInterval(delayCheckEvery), func() (river.JobArgs, *river.InsertOpts) { return DelayCheckArgs{}, nil }, nil),
			river.NewPeriodicJob(river.PeriodicInterval(reportRollupEvery),
				func() (river.JobArgs, *river.InsertOpts) { return ReportRollupArgs{}, nil }, nil)},
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("job queue: %w", err), pool.Close())
	}
	return &Client{river: client, pool: pool, handlers: handlers, keep: keep}, nil
}

// quieter passes River's own news (started, polling, how many jobs a producer ran) at
// debug level: an operator's log at info is courierd's, and make run's banner stays
// its last line at start. River's warnings and errors stay as they are.
type quieter struct{ slog.Handler }

func (q quieter) Enabled(ctx context.Context, level slog.Level) bool {
	return q.Handler.Enabled(ctx, q.level(level))
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = q.level(r.Level)
	return q.Handler.Handle(ctx, r)
}

func (q quieter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quieter{q.Handler.WithAttrs(attrs)}
}

func (q quieter) WithGroup(name string) slog.Handler { return quieter{q.Handler.WithGroup(name)} }

func (quieter) level(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

// Queue is the transactional insert over this client.
func (c *Client) Queue() *storage.Queue { return storage.NewQueue(c.river) }

// Start works jobs with h until Close. What is older than keep is forgotten once a day,
// and at start.
func (c *Client) Start(ctx context.Context, h Handlers, keep Retention) error {
	*c.handlers, *c.keep = h, keep
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("job workers: %w", err)
	}
	c.started = true
	return nil
}

// Close lets running jobs finish, within ctx, and closes the client's connections.
func (c *Client) Close(ctx context.Context) error {
	var err error
	if c.started {
		err = c.river.Stop(ctx)
	}
	return errors.Join(err, c.pool.Close())
}
