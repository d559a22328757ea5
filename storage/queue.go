package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"courierd/domain/dossier"
)

// riverSchemaVersion pins River's own schema, so that upgrading the library never changes
// the database behind goose's back.
const riverSchemaVersion = 8

// riverMigration is goose version 4: River's tables, created by River's migrator (its
// schema is River's to define; this only decides when it is applied).
func riverMigration() *goose.Migration {
	migrate := func(direction rivermigrate.Direction, target int) func(ctx context.Context, db *sql.DB) error {
		return func(ctx context.Context, db *sql.DB) error {
			m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
			if err != nil {
				return err
			}
			_, err = m.Migrate(ctx, direction, &rivermigrate.MigrateOpts{TargetVersion: target})
			return err
		}
	}
	return goose.NewGoMigration(4,
		&goose.GoFunc{RunDB: migrate(rivermigrate.DirectionUp, riverSchemaVersion)},
		&goose.GoFunc{RunDB: migrate(rivermigrate.DirectionDown, -1)})
}

// The River queues, one per kind of work, each with its own workers (storage/jobs), so
// that one kind backing up (a slow portal's webhook retries) never delays another (an
// applicant's notice, a hold's end).
const (
	QueueNotices   = "notices"
	QueueWebhooks  = "webhooks"
	QueueTimers    = "timers"
	QueueRetention = "retention"
)

// HoldExpiryArgs is the River job that ends a hold.
type HoldExpiryArgs struct {
	DossierID uuid.UUID `json:"dossier_id"`
}

func (HoldExpiryArgs) Kind() string { return string(dossier.JobHoldExpiry) }

func (HoldExpiryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueTimers} }

// NotifyArgs is the River job that tells an applicant something.
type NotifyArgs struct {
	DossierID uuid.UUID      `json:"dossier_id"`
	Notice    dossier.Notice `json:"notice"`
}

func (NotifyArgs) Kind() string { return string(dossier.JobNotifyApplicant) }

func (NotifyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueNotices} }

// WebhookArgs is the River job that turns a dossier's event into deliveries.
type WebhookArgs struct {
	DossierID uuid.UUID     `json:"dossier_id"`
	Event     dossier.Event `json:"event"`
	From      dossier.State `json:"from"`
	To        dossier.State `json:"to"`
	Version   int           `json:"version"`
	At        time.Time     `json:"at"`
}

func (WebhookArgs) Kind() string { return string(dossier.JobWebhook) }

// InsertOpts: the fanout only writes rows, but the deliveries it writes wait in the
// webhooks queue anyway, so it waits there too rather than take another kind's workers.
func (WebhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueWebhooks} }

// DeliveryArgs is the River job that sends one delivery to one subscriber.
type DeliveryArgs struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
}

func (DeliveryArgs) Kind() string { return "webhook_delivery" }

func (DeliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueWebhooks} }

// Queue inserts River jobs inside the caller's transaction (the outbox).
type Queue struct {
	client *river.Client[*sql.Tx]
	// past: the changes are history being recorded (the demo's seeded past), whose
	// notices and webhooks are left out (see Past).
	past bool
}

// NewQueue inserts with the process's River client (storage/jobs makes it, once).
func NewQueue(client *river.Client[*sql.Tx]) *Queue {
	return &Queue{client: client}
}

// Past is a queue for changes that record what happened before (the demo seed plays its
// dossiers' history): their timers are scheduled as any, but nobody is told of them, no
// notice to the applicant and no webhook to subscribers. Those were never sent when the
// events happened; sending them now, all at once, would tell of the past as news.
func (q *Queue) Past() *Queue {
	return &Queue{client: q.client, past: true}
}

// tells is whether a job tells someone outside of an event: left out of the past's queue.
func tells(k dossier.JobKind) bool {
	return k == dossier.JobNotifyApplicant || k == dossier.JobWebhook
}

// waiting are the states in which a job counts as not yet done: an identical job (same
// kind, dossier and notice) is not added while one waits, and is added again once it ran.
var waiting = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// insert adds jobs to the transaction tx, each at most once while an identical one waits.
func (q *Queue) insert(ctx context.Context, tx *gorm.DB, jobs []dossier.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("jobs must be enqueued inside a transaction")
	}
	params := make([]river.InsertManyParams, 0, len(jobs))
	// A push's jobs go in together, and one statement cannot both insert and then find
	// the same unique job: the first of identical ones stands, as it would one by one.
	seen := make(map[river.JobArgs]bool, len(jobs))
	for _, j := range jobs {
		if q.past && tells(j.Kind) {
			continue
		}
		opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waiting}}
		if !j.RunAt.IsZero() {
			opts.ScheduledAt = j.RunAt
		}
		var args river.JobArgs = NotifyArgs{DossierID: j.DossierID, Notice: j.Notice}
		switch j.Kind {
		case dossier.JobHoldExpiry:
			args = HoldExpiryArgs{DossierID: j.DossierID}
		case dossier.JobWebhook:
			o := j.Occurrence
			args = WebhookArgs{DossierID: j.DossierID, Event: o.Event, From: o.From, To: o.To, Version: o.Version, At: o.At}
		}
		if !seen[args] {
			seen[args] = true
			params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
		}
	}
	if len(params) == 0 {
		return nil
	}
	_, err := q.client.InsertManyTx(ctx, sqlTx, params)
	return err
}

// insertArgs adds jobs given as River arguments to tx, each at most once while an
// identical one waits.
func (q *Queue) insertArgs(ctx context.Context, tx *sql.Tx, args []river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waiting}}}
	}
	_, err := q.client.InsertManyTx(ctx, tx, params)
	return err
}
