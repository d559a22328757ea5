package fieldsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// Codes of the push side. Rejections of single mutations travel inside a 200 answer, so
// that a poison item never blocks a device's queue; the rest refuse the whole batch.
const (
	CodeTaskReassigned       domain.Code = "TASK_REASSIGNED"
	CodeTaskCancelled        domain.Code = "TASK_CANCELLED"
	CodeTaskAlreadyCompleted domain.Code = "TASK_ALREADY_COMPLETED"
	CodeUnknownMutationType  domain.Code = "UNKNOWN_MUTATION_TYPE"
	CodeSequenceGap          domain.Code = "SEQUENCE_GAP"
	CodeMutationIDReused     domain.Code = "MUTATION_ID_REUSED"
)

// MaxBatch is the most mutations one push may carry.
const MaxBatch = 500

// Mutation is one thing the device recorded, in the order it recorded them.
type Mutation struct {
	Seq        int64
	ID         uuid.UUID
	Type       string
	TaskID     uuid.UUID
	OccurredAt time.Time
	Point      *orb.Point
	AccuracyM  float64
	Payload    json.RawMessage
	// Hash fingerprints the mutation as sent, to tell a retry from a reused id.
	Hash string
}

// Fingerprint is the hash of a mutation's bytes as the device sent them.
func Fingerprint(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Outcome is what became of one mutation.
type Outcome struct {
	Seq    int64
	ID     uuid.UUID
	Status string // applied, duplicate, rejected
	Code   domain.Code
	Detail string
	// Quarantined: this rejected mutation was kept for a dispatcher (newly, not on replay).
	Quarantined bool
}

// Result answers a push: each mutation's outcome and the last sequence number applied.
type Result struct {
	LastSeq int64
	Results []Outcome
}

// Stored is a mutation already applied, as the store kept it.
type Stored struct {
	Seq    int64
	ID     uuid.UUID
	Hash   string
	Status string
	Code   domain.Code
	Detail string
}

// Updater changes a dossier inside the push's transaction.
type Updater interface {
	Update(ctx context.Context, id uuid.UUID, decide dossier.Decision) (dossier.Dossier, error)
}

// PushStore runs a push in one transaction under a per-device lock.
type PushStore interface {
	// Push locks the device's row (creating it), reads its last sequence number and the
	// stored outcomes of seqs, and calls apply with an Updater bound to the transaction;
	// apply's outcomes are stored, quarantined where asked, and last_seq advanced, all
	// committed together. apply's error rolls everything back.
	Push(ctx context.Context, device, courier uuid.UUID, seqs []int64,
		apply func(lastSeq int64, stored map[int64]Stored, u Updater) ([]Applied, error)) (int64, error)
}

// Applied is one new mutation's outcome for the store to keep.
type Applied struct {
	Mutation   Mutation
	Outcome    Outcome
	Quarantine bool // a rejected fact from the field: kept for a dispatcher
}

// facts are the mutations that record something that physically happened; rejected, they
// go to quarantine instead of being dropped.
var facts = map[string]bool{"task.pickup.v1": true, "task.deliver.v1": true, "task.fail.v1": true}

// mutationTypes are the types this server applies.
var mutationTypes = facts

// Pusher applies devices' batches.
type Pusher struct {
	store    PushStore
	dossiers *dossier.Service
}

func NewPusher(store PushStore, dossiers *dossier.Service) *Pusher {
	return &Pusher{store: store, dossiers: dossiers}
}

// Push applies the calling device's batch: in sequence order, each mutation once (a
// retry of one applied before gets its first answer back, marked duplicate), a gap or a
// reused sequence number refusing the whole batch, everything in one transaction.
func (ps *Pusher) Push(ctx context.Context, batch []Mutation) (Result, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.RoleCourier || p.DeviceID == uuid.Nil {
		return Result{}, domain.Errorf(domain.CodeForbidden, "only a courier's registered device pushes")
	}
	if len(batch) == 0 || len(batch) > MaxBatch {
		return Result{}, domain.Invalid("mutations", fmt.Sprintf("send 1 to %d mutations", MaxBatch))
	}
	seqs := make([]int64, len(batch))
	for i, m := range batch {
		if i > 0 && m.Seq != batch[i-1].Seq+1 {
			return Result{}, domain.Invalid(fmt.Sprintf("mutations[%d].seq", i), "sequence numbers in a batch must follow each other")
		}
		seqs[i] = m.Seq
	}
	// Everything a decision reads outside the dossier row is read before the transaction.
	prepared := map[int64]preparedMutation{}
	for _, m := range batch {
		prepared[m.Seq] = ps.prepare(ctx, p, m)
	}
	var result Result
	last, err := ps.store.Push(ctx, p.DeviceID, p.CourierID, seqs, func(lastSeq int64, stored map[int64]Stored, u Updater) ([]Applied, error) {
		if batch[0].Seq > lastSeq+1 {
			e := domain.Errorf(CodeSequenceGap, "the server has applied up to %d; send from %d", lastSeq, lastSeq+1)
			e.Fields = []domain.FieldError{{Field: "expected_seq", Reason: fmt.Sprint(lastSeq + 1)}}
			return nil, e
		}
		var applied []Applied
		for _, m := range batch {
			if m.Seq <= lastSeq {
				s, ok := stored[m.Seq]
				if !ok || s.ID != m.ID || s.Hash != m.Hash {
					return nil, domain.Errorf(CodeMutationIDReused, "sequence number %d was used for another mutation", m.Seq)
				}
				result.Results = append(result.Results, Outcome{Seq: s.Seq, ID: s.ID, Status: "duplicate", Code: s.Code, Detail: s.Detail})
				continue
			}
			out, err := ps.apply(ctx, p, m, prepared[m.Seq], u)
			if err != nil {
				return nil, err
			}
			out.Quarantined = out.Status == "rejected" && (facts[m.Type] || out.Code == CodeUnknownMutationType)
			result.Results = append(result.Results, out)
			applied = append(applied, Applied{Mutation: m, Outcome: out, Quarantine: out.Quarantined})
		}
		return applied, nil
	})
	if err != nil {
		return Result{}, err
	}
	result.LastSeq = last
	return result, nil
}

// preparedMutation is a mutation made ready outside the transaction: its dossier and
// decision, or why it cannot apply.
type preparedMutation struct {
	dossierID uuid.UUID
	decide    dossier.Decision
	reject    *domain.Error
}

func rejection(err error) *domain.Error {
	if e, ok := domain.AsError(err); ok {
		return e
	}
	return nil
}

func (ps *Pusher) prepare(ctx context.Context, p auth.Principal, m Mutation) preparedMutation {
	if _, known := mutationTypes[m.Type]; !known {
		return preparedMutation{reject: domain.Errorf(CodeUnknownMutationType, "%q is not a mutation type this server knows; it is kept for a dispatcher", m.Type)}
	}
	task, err := ps.dossiers.TaskByID(ctx, m.TaskID)
	if err != nil {
		return preparedMutation{reject: rejection(err)}
	}
	in, err := toEvent(m, task.Kind)
	if err != nil {
		return preparedMutation{reject: rejection(err)}
	}
	if e := assignment(task, p); e != nil {
		return preparedMutation{reject: e}
	}
	decide, err := ps.dossiers.Prepare(ctx, task.DossierID, in)
	if err != nil {
		return preparedMutation{reject: rejection(err)}
	}
	return preparedMutation{dossierID: task.DossierID, decide: decide}
}

// assignment applies the decided rules: the server owns assignment, checked at apply
// time; a cancellation wins; the first terminal report wins.
func assignment(t dossier.Task, p auth.Principal) *domain.Error {
	switch {
	case t.State == dossier.TaskCancelled:
		return domain.Errorf(CodeTaskCancelled, "this stop was cancelled")
	case t.CourierID != p.CourierID:
		return domain.Errorf(CodeTaskReassigned, "this stop was given to another courier")
	case t.State == dossier.TaskDone:
		return domain.Errorf(CodeTaskAlreadyCompleted, "this stop was already completed")
	}
	return nil
}

// apply runs one prepared mutation inside the transaction. Domain refusals become
// rejected outcomes; anything else is returned to roll the batch back.
func (ps *Pusher) apply(ctx context.Context, p auth.Principal, m Mutation, pm preparedMutation, u Updater) (Outcome, error) {
	out := Outcome{Seq: m.Seq, ID: m.ID, Status: "applied"}
	reject := pm.reject
	if reject == nil {
		_, err := u.Update(ctx, pm.dossierID, func(d dossier.Dossier, tasks []dossier.Task) (dossier.Change, error) {
			// Assignment again, now under the dossier's lock: it may have changed since.
			i := slices.IndexFunc(tasks, func(t dossier.Task) bool { return t.ID == m.TaskID })
			if i < 0 {
				return dossier.Change{}, domain.Errorf(domain.CodeNotFound, "no such stop")
			}
			if e := assignment(tasks[i], p); e != nil {
				return dossier.Change{}, e
			}
			return pm.decide(d, tasks)
		})
		reject = rejection(err)
		if err != nil && (reject == nil || reject.Code == domain.CodeUnavailable) {
			return out, err
		}
	}
	if reject != nil {
		out.Status, out.Code, out.Detail = "rejected", reject.Code, reject.Message
	}
	return out, nil
}
