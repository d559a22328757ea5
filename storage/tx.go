package storage

import (
	"context"
	"reflect"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"courierd/domain/dossier"
)

// Tx is the one transaction type behind every transaction interface the domain declares
// (dossier.Tx, fieldsync.PushTx, dispatch.PlanTx, counter.Tx, auth.SessionTx,
// auth.ChallengeTx, payment.RecordTx): each area's methods live beside its store
// (dossier.go, push.go, dispatch.go, manifest.go, auth.go, payment.go), and a store's Begin
// returns a *Tx as the interface its area asks for. The jobs of the changes applied are
// collected and inserted (River's transactional outbox) just before the commit.
type Tx struct {
	// ctx is Begin's: Commit inserts the jobs with it.
	ctx   context.Context
	db    *DB
	tx    *gorm.DB
	queue *Queue
	done  bool
	jobs  []dossier.Job
	// loaded are the tasks Lock read, by dossier: Apply writes only those a change touched.
	loaded map[uuid.UUID][]dossier.Task
	// savepoint: the caller goes on after a refused change (a push), so each Apply is taken
	// behind a savepoint that a refusal rolls back to.
	savepoint bool
	// locked holds the stops a push read under their dossier's lock: a batch of notes on one
	// stop locks and reads it once. Any dossier change empties it.
	locked map[uuid.UUID]dossier.Task
}

// begin starts a transaction whose jobs go through queue. A transaction that changes no
// dossier has no jobs and may have no queue: Commit inserts none without touching it.
func (db *DB) begin(ctx context.Context, queue *Queue) (*Tx, error) {
	g := db.gorm.WithContext(ctx).Begin()
	if g.Error != nil {
		return nil, translate(g.Error, "database")
	}
	return &Tx{ctx: ctx, db: db, tx: g, queue: queue, loaded: map[uuid.UUID][]dossier.Task{}, locked: map[uuid.UUID]dossier.Task{}}, nil
}

// Commit inserts the jobs collected, then commits.
func (t *Tx) Commit() error {
	if t.done {
		return nil
	}
	t.done = true
	if err := t.queue.insert(t.ctx, t.tx, t.jobs); err != nil {
		t.tx.Rollback()
		return translate(err, "job")
	}
	return translate(t.tx.Commit().Error, "database")
}

// Rollback ends the transaction unless Commit ended it.
func (t *Tx) Rollback() {
	if !t.done {
		t.done = true
		t.tx.Rollback()
	}
}

// written is the tasks of change to write: those not as Lock read them.
func (t *Tx) written(c dossier.Change) []dossier.Task {
	before := t.loaded[c.Dossier.ID]
	return slices.DeleteFunc(slices.Clone(c.Tasks), func(task dossier.Task) bool {
		return slices.ContainsFunc(before, func(b dossier.Task) bool { return reflect.DeepEqual(b, task) })
	})
}
