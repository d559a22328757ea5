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
	"courierd/domain/input"
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
	Seq    int64
	ID     uuid.UUID
	Type   string
	TaskID uuid.UUID
	// TaskVersion is the stop's version in the device's copy when it recorded this: kept
	// for the record, since assignment is judged when the mutation is applied.
	TaskVersion int
	OccurredAt  time.Time
	Point       *orb.Point
	AccuracyM   float64
	Payload     json.RawMessage
	// Hash fingerprints the mutation as sent, to tell a retry from a reused id.
	Hash string
	// Invalid, when set, is why the mutation as sent cannot be read (its fields at fault):
	// it is answered rejected, as itself, and the device's queue moves past it.
	Invalid *domain.Error
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
	// Fields are the mutation's fields at fault, for a rejection of what was sent.
	Fields []domain.FieldError
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
	Fields []domain.FieldError
	// Forgotten: applied so long ago that its outcome was pruned; only that it was applied
	// is known.
	Forgotten bool
}

// Updater changes a dossier inside the push's transaction.
type Updater interface {
	Update(ctx context.Context, id uuid.UUID, decide dossier.Decision) (dossier.Dossier, error)
	// Task reads a stop and holds it against reassignment until the push commits.
	Task(ctx context.Context, id uuid.UUID) (dossier.Task, error)
}

// PushStore runs a push in one transaction under a per-device lock.
type PushStore interface {
	// Push locks the device's row (creating it), reads its last sequence number and the
	// stored outcomes of seqs, and calls apply with an Updater bound to the transaction;
	// apply's outcomes are stored, quarantined where asked, and last_seq advanced, all
	// committed together. apply's error rolls everything back.
	// taken holds the ids of ids some stored mutation already has.
	Push(ctx context.Context, device, courier uuid.UUID, seqs []int64, ids []uuid.UUID,
		apply func(lastSeq int64, stored map[int64]Stored, taken map[uuid.UUID]bool, u Updater) ([]Applied, error)) (int64, error)
}

// Applied is one new mutation's outcome for the store to keep. An applied mutation's
// report is kept whole with its dossier, and money taken goes to the cash ledger.
type Applied struct {
	Mutation   Mutation
	Outcome    Outcome
	Quarantine bool      // a rejected fact from the field: kept for a dispatcher
	DossierID  uuid.UUID // set when applied
	Cash       *Cash     // set when applied and money was taken
}

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
	// Everything a decision reads outside the dossier row is read before the transaction,
	// the batch's stops in one read.
	ids := make([]uuid.UUID, len(batch))
	for i, m := range batch {
		ids[i] = m.TaskID
	}
	tasks, err := ps.dossiers.TasksByID(ctx, ids)
	if err != nil {
		return Result{}, err
	}
	prepared := map[int64]preparedMutation{}
	for _, m := range batch {
		prepared[m.Seq] = ps.prepare(ctx, p, m, tasks)
	}
	var result Result
	mutationIDs := make([]uuid.UUID, len(batch))
	for i, m := range batch {
		mutationIDs[i] = m.ID
	}
	last, err := ps.store.Push(ctx, p.DeviceID, p.CourierID, seqs, mutationIDs, func(lastSeq int64, stored map[int64]Stored, taken map[uuid.UUID]bool, u Updater) ([]Applied, error) {
		if batch[0].Seq > lastSeq+1 {
			e := domain.Errorf(CodeSequenceGap, "the server has applied up to %d; send from %d", lastSeq, lastSeq+1)
			e.Fields = []domain.FieldError{{Field: "expected_seq", Reason: fmt.Sprint(lastSeq + 1)}}
			return nil, e
		}
		var applied []Applied
		for _, m := range batch {
			if m.Seq <= lastSeq {
				s, ok := stored[m.Seq]
				if s.Forgotten {
					result.Results = append(result.Results, Outcome{Seq: m.Seq, ID: m.ID, Status: "duplicate",
						Detail: "applied long ago; its first answer is no longer kept"})
					continue
				}
				// The fingerprint covers the id: a mutation kept under a stand-in id is this one.
				if !ok || s.Hash != m.Hash {
					return nil, domain.Errorf(CodeMutationIDReused, "sequence number %d was used for another mutation", m.Seq)
				}
				result.Results = append(result.Results, Outcome{Seq: s.Seq, ID: m.ID, Status: "duplicate", Code: s.Code, Detail: s.Detail, Fields: s.Fields})
				continue
			}
			pm := prepared[m.Seq]
			kept := m
			if taken[m.ID] {
				// Another mutation has this id (a buggy app's): refused alone, and kept under an
				// id of its own, so that the device's queue moves past it.
				pm.reject = domain.Errorf(CodeMutationIDReused, "id %s is another mutation's; record this one again with an id of its own", m.ID)
				kept.ID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("sync:%s:%d", p.DeviceID, m.Seq)))
			}
			taken[m.ID] = true
			out, err := ps.apply(ctx, p, m, pm, u)
			if err != nil {
				return nil, err
			}
			out.Quarantined = out.Status == "rejected" && (mutationTypes[m.Type].fact || out.Code == CodeUnknownMutationType)
			result.Results = append(result.Results, out)
			// What was refused for its text is kept as a record all the same, made storable.
			kept.Type, kept.Payload = input.Clean(m.Type), input.Storable(keptPayload(m.Type, m.Payload))
			a := Applied{Mutation: kept, Outcome: out, Quarantine: out.Quarantined}
			if out.Status == "applied" {
				a.DossierID, a.Cash = pm.dossierID, pm.reading.cash
			}
			applied = append(applied, a)
		}
		return applied, nil
	})
	if err != nil {
		return Result{}, err
	}
	result.LastSeq = last
	return result, nil
}

// preparedMutation is a mutation made ready outside the transaction: its type, dossier,
// reading and decision, or why it cannot apply.
type preparedMutation struct {
	kind      mutationType
	dossierID uuid.UUID
	reading   reading
	decide    dossier.Decision // for readings that are dossier events
	reject    *domain.Error
}

func rejection(err error) *domain.Error {
	if e, ok := domain.AsError(err); ok {
		return e
	}
	return nil
}

func (ps *Pusher) prepare(ctx context.Context, p auth.Principal, m Mutation, tasks map[uuid.UUID]dossier.Task) preparedMutation {
	if m.Invalid != nil {
		return preparedMutation{kind: mutationTypes[m.Type], reject: m.Invalid}
	}
	kind, known := mutationTypes[m.Type]
	if !known {
		return preparedMutation{reject: domain.Errorf(CodeUnknownMutationType, "%q is not a mutation type this server knows; it is kept for a dispatcher", m.Type)}
	}
	pm := preparedMutation{kind: kind}
	task, found := tasks[m.TaskID]
	if !found {
		pm.reject = domain.Errorf(domain.CodeNotFound, "no such task")
		return pm
	}
	var err error
	if pm.reading, err = kind.read(m, task.Kind); err != nil {
		pm.reject = rejection(err)
		return pm
	}
	if pm.reject = kind.rule.check(task, p); pm.reject != nil {
		return pm
	}
	pm.dossierID = task.DossierID
	if pm.reading.event != nil {
		if pm.decide, err = ps.dossiers.Prepare(ctx, task.DossierID, *pm.reading.event); err != nil {
			pm.reject = rejection(err)
		}
	}
	return pm
}

// check applies the decided rules: the server owns assignment, checked at apply time; a
// cancellation wins; the first terminal report wins. What a courier carries is the
// dossier's custody's to say, not the stop's.
func (r stopRule) check(t dossier.Task, p auth.Principal) *domain.Error {
	if r == carried {
		return nil
	}
	switch {
	case t.State == dossier.TaskCancelled:
		return domain.Errorf(CodeTaskCancelled, "this stop was cancelled")
	case t.CourierID != p.CourierID:
		return domain.Errorf(CodeTaskReassigned, "this stop was given to another courier")
	case r == openStop && t.State == dossier.TaskDone:
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
		var err error
		if pm.decide != nil {
			_, err = u.Update(ctx, pm.dossierID, func(d dossier.Dossier, tasks []dossier.Task) (dossier.Change, error) {
				// Assignment again, now under the dossier's lock: it may have changed since.
				i := slices.IndexFunc(tasks, func(t dossier.Task) bool { return t.ID == m.TaskID })
				if i < 0 {
					return dossier.Change{}, domain.Errorf(domain.CodeNotFound, "no such stop")
				}
				if e := pm.kind.rule.check(tasks[i], p); e != nil {
					return dossier.Change{}, e
				}
				return pm.decide(d, tasks)
			})
		} else {
			// No dossier event: only the stop's assignment, held until the push commits.
			var t dossier.Task
			if t, err = u.Task(ctx, m.TaskID); err == nil {
				if e := pm.kind.rule.check(t, p); e != nil {
					err = e
				}
			}
		}
		reject = rejection(err)
		if err != nil && (reject == nil || reject.Code == domain.CodeUnavailable) {
			return out, err
		}
	}
	if reject != nil {
		out.Status, out.Code, out.Detail, out.Fields = "rejected", reject.Code, detailOf(reject), asPayloadFields(reject.Fields)
	}
	return out, nil
}

// detailOf is a refusal's message with the fields at fault: a mutation's outcome has no
// other place to name them.
func detailOf(e *domain.Error) string {
	d := e.Message
	for _, f := range e.Fields {
		d += "; " + f.Field + ": " + f.Reason
	}
	return d
}
