package storage

import (
	"context"
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
	// loaded are the tasks of each dossier as the database has them (read by Lock, or as
	// last written): a change's tasks equal to these are not written again.
	loaded map[uuid.UUID][]dossier.Task
	// deferred: the caller goes on after a refused change (a push), so changes are held in
	// memory, each decided on what the ones before left, and written together at Commit;
	// a refused change leaves nothing to undo. held are the dossiers locked so far, as the
	// pending changes leave them.
	deferred bool
	held     map[uuid.UUID]heldDossier
	pending  []dossier.Change
	// locked holds stops read under their dossier's lock outside held: a batch of notes
	// on one stop locks and reads it once.
	locked map[uuid.UUID]dossier.Task
}

// begin starts a transaction whose jobs go through queue. A transaction that changes no
// dossier has no jobs and may have no queue: Commit inserts none without touching it.
func (db *DB) begin(ctx context.Context, queue *Queue) (*Tx, error) {
	g := db.gorm.WithContext(ctx).Begin()
	if g.Error != nil {
		return nil, translate(g.Error, "database")
	}
	return &Tx{ctx: ctx, db: db, tx: g, queue: queue, loaded: map[uuid.UUID][]dossier.Task{}, held: map[uuid.UUID]heldDossier{},
		locked: map[uuid.UUID]dossier.Task{}}, nil
}

// Commit writes the changes held, inserts the jobs collected, then commits.
func (t *Tx) Commit() error {
	if t.done {
		return nil
	}
	t.done = true
	if err := t.writeChanges(t.tx.WithContext(t.ctx), t.pending); err != nil {
		t.tx.Rollback()
		return translate(err, "dossier")
	}
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

// heldDossier is a dossier a deferred transaction locked, as its pending changes leave it.
type heldDossier struct {
	dossier dossier.Dossier
	tasks   []dossier.Task
}

// withTasks is tasks with changed put in place of those of the same id, and the new ones
// after them.
func withTasks(tasks, changed []dossier.Task) []dossier.Task {
	out := slices.Clone(tasks)
	for _, c := range changed {
		if i := slices.IndexFunc(out, func(t dossier.Task) bool { return t.ID == c.ID }); i >= 0 {
			out[i] = c
		} else {
			out = append(out, c)
		}
	}
	return out
}
