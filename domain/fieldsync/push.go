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

// PushTx is the transaction a push runs in: the dossier changes its mutations decide
// (dossier.Writer) and what the batch leaves commit together, or nothing does.
type PushTx interface {
	dossier.Writer
	// LockDevice locks the device's row until the transaction ends, creating it for
	// courier (one push at a time per device), and reads the last sequence number applied
	// and the last one whose outcome was pruned.
	LockDevice(ctx context.Context, device, courier uuid.UUID) (lastSeq, prunedThrough int64, err error)
	// Outcomes reads the kept outcomes of the device's seqs; those not kept are left out.
	Outcomes(ctx context.Context, device uuid.UUID, seqs []int64) (map[int64]Stored, error)
	// Taken are those of ids that some kept mutation already has.
	Taken(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error)
	// LockDossiers locks the dossiers of ids, in id order, for the changes to come.
	LockDossiers(ctx context.Context, ids []uuid.UUID) error
	// Task locks a stop's dossier, as every dossier change does first (so that locks are
	// always taken in the same order), and reads the stop: it is held against
	// reassignment until the push commits.
	Task(ctx context.Context, id uuid.UUID) (dossier.Task, error)
	// Record keeps the batch's new mutations: every outcome, the quarantined ones (and
	// tells dispatchers' screens at commit), the applied ones' reports and the money
	// taken; and moves the device's last sequence number to lastSeq.
	Record(ctx context.Context, device, courier uuid.UUID, batch []Applied, lastSeq int64) error
	// Commit inserts the jobs of the dossier changes applied, then commits.
	Commit() error
	// Rollback ends the transaction unless Commit did.
	Rollback()
}

// PushStore begins pushes' transactions.
type PushStore interface {
	Begin(ctx context.Context) (PushTx, error)
}

// Dossiers is what a push asks of the dossier area before its transaction
// (*dossier.Service).
type Dossiers interface {
	// TasksByID finds stops whoever asks; unknown ids are left out.
	TasksByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]dossier.Task, error)
	// PrepareMany checks events for the caller and returns each one's decision or refusal.
	PrepareMany(ctx context.Context, events []dossier.Preparing) ([]dossier.Decision, []error, error)
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
	dossiers Dossiers
}

func NewPusher(store PushStore, dossiers Dossiers) *Pusher {
	return &Pusher{store: store, dossiers: dossiers}
}

// Push applies the calling device's batch: in sequence order, each mutation once (a
// retry of one applied before gets its first answer back, marked duplicate), a gap or a
// reused sequence number refusing the whole batch, everything in one transaction.
//
// What commits together: under the device's lock, every dossier change the batch's
// mutations decide, each new mutation's outcome, the quarantine of refused facts, the
// reports and cash of applied ones, the jobs of the dossier changes, and the device's
// last sequence number. An error that is not a refusal rolls all of it back.
func (ps *Pusher) Push(ctx context.Context, batch []Mutation) (Result, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.RoleCourier || p.DeviceID == uuid.Nil {
		return Result{}, domain.Errorf(domain.CodeForbidden, "only a courier's registered device pushes")
	}
	if len(batch) == 0 || len(batch) > MaxBatch {
		return Result{}, domain.Invalid("mutations", fmt.Sprintf("send 1 to %d mutations", MaxBatch))
	}
	for i, m := range batch {
		if i > 0 && m.Seq != batch[i-1].Seq+1 {
			return Result{}, domain.Invalid(fmt.Sprintf("mutations[%d].seq", i), "sequence numbers in a batch must follow each other")
		}
	}
	// Everything a decision reads outside the dossier row is read before the transaction
	// (one that waits on the pool while holding row locks can starve it).
	prepared, err := ps.prepareBatch(ctx, p, batch)
	if err != nil {
		return Result{}, err
	}

	tx, err := ps.store.Begin(ctx)
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback()
	lastSeq, prunedThrough, err := tx.LockDevice(ctx, p.DeviceID, p.CourierID)
	if err != nil {
		return Result{}, err
	}
	if batch[0].Seq > lastSeq+1 {
		e := domain.Errorf(CodeSequenceGap, "the server has applied up to %d; send from %d", lastSeq, lastSeq+1)
		e.Fields = []domain.FieldError{{Field: "expected_seq", Reason: fmt.Sprint(lastSeq + 1)}}
		return Result{}, e
	}
	stored, err := storedOf(ctx, tx, p.DeviceID, batch, lastSeq, prunedThrough)
	if err != nil {
		return Result{}, err
	}
	// The batch's ids some mutation already has (this batch's own retries included: they
	// are told apart by seq).
	ids := make([]uuid.UUID, len(batch))
	for i, m := range batch {
		ids[i] = m.ID
	}
	taken, err := tx.Taken(ctx, ids)
	if err != nil {
		return Result{}, err
	}
	// The dossiers the new mutations change, locked at once in one order.
	var changing []uuid.UUID
	for _, m := range batch {
		if pm := prepared[m.Seq]; m.Seq > lastSeq && pm.reject == nil && pm.dossierID != uuid.Nil {
			changing = append(changing, pm.dossierID)
		}
	}
	if err := tx.LockDossiers(ctx, changing); err != nil {
		return Result{}, err
	}

	result := Result{LastSeq: lastSeq}
	var applied []Applied
	for _, m := range batch {
		if m.Seq <= lastSeq {
			out, err := replay(m, stored)
			if err != nil {
				return Result{}, err
			}
			result.Results = append(result.Results, out)
			continue
		}
		a, err := ps.apply(ctx, tx, p, m, prepared[m.Seq], taken)
		if err != nil {
			return Result{}, err
		}
		result.Results = append(result.Results, a.Outcome)
		applied = append(applied, a)
		result.LastSeq = m.Seq
	}
	if err := tx.Record(ctx, p.DeviceID, p.CourierID, applied, result.LastSeq); err != nil {
		return Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return Result{}, err
	}
	return result, nil
}

// storedOf is what became of the batch's seqs already applied: their kept outcomes, or
// that they were forgotten. Outcomes are written in the transaction that moves last_seq
// past them, so a batch wholly above it, the usual case, has none to read.
func storedOf(ctx context.Context, tx PushTx, device uuid.UUID, batch []Mutation, lastSeq, prunedThrough int64) (map[int64]Stored, error) {
	var seqs []int64
	for _, m := range batch {
		if m.Seq <= lastSeq {
			seqs = append(seqs, m.Seq)
		}
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	stored, err := tx.Outcomes(ctx, device, seqs)
	if err != nil {
		return nil, err
	}
	for _, seq := range seqs {
		if _, kept := stored[seq]; !kept && seq <= prunedThrough {
			stored[seq] = Stored{Seq: seq, Forgotten: true}
		}
	}
	return stored, nil
}

// replay answers a mutation applied before with its first answer, or refuses the batch
// when its sequence number was used for another mutation.
func replay(m Mutation, stored map[int64]Stored) (Outcome, error) {
	s, ok := stored[m.Seq]
	if s.Forgotten {
		return Outcome{Seq: m.Seq, ID: m.ID, Status: "duplicate", Detail: "applied long ago; its first answer is no longer kept"}, nil
	}
	// The fingerprint covers the id: a mutation kept under a stand-in id is this one.
	if !ok || s.Hash != m.Hash {
		return Outcome{}, domain.Errorf(CodeMutationIDReused, "sequence number %d was used for another mutation", m.Seq)
	}
	return Outcome{Seq: s.Seq, ID: m.ID, Status: "duplicate", Code: s.Code, Detail: s.Detail, Fields: s.Fields}, nil
}

// prepareBatch reads the batch's stops in one read, their dossiers in another, and
// prepares each mutation.
func (ps *Pusher) prepareBatch(ctx context.Context, p auth.Principal, batch []Mutation) (map[int64]preparedMutation, error) {
	ids := make([]uuid.UUID, len(batch))
	for i, m := range batch {
		ids[i] = m.TaskID
	}
	tasks, err := ps.dossiers.TasksByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	prepared := make(map[int64]preparedMutation, len(batch))
	var events []dossier.Preparing
	var eventSeqs []int64
	for _, m := range batch {
		pm := prepare(p, m, tasks)
		if pm.reject == nil && pm.reading.event != nil {
			events, eventSeqs = append(events, dossier.Preparing{DossierID: pm.dossierID, In: *pm.reading.event}), append(eventSeqs, m.Seq)
		}
		prepared[m.Seq] = pm
	}
	decisions, refusals, err := ps.dossiers.PrepareMany(ctx, events)
	if err != nil {
		return nil, err
	}
	for i, seq := range eventSeqs {
		pm := prepared[seq]
		pm.decide, pm.reject = decisions[i], rejection(refusals[i])
		prepared[seq] = pm
	}
	return prepared, nil
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

// prepare reads a mutation and judges it on its stop; the dossier event it reports, if
// any, is prepared with the batch's others.
func prepare(p auth.Principal, m Mutation, tasks map[uuid.UUID]dossier.Task) preparedMutation {
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

// apply runs one new mutation inside the transaction. Domain refusals become rejected
// outcomes; anything else is returned to roll the batch back.
func (ps *Pusher) apply(ctx context.Context, tx PushTx, p auth.Principal, m Mutation, pm preparedMutation, taken map[uuid.UUID]bool) (Applied, error) {
	kept := m
	if taken[m.ID] {
		// Another mutation has this id (a buggy app's): refused alone, and kept under an id
		// of its own, so that the device's queue moves past it.
		pm.reject = domain.Errorf(CodeMutationIDReused, "id %s is another mutation's; record this one again with an id of its own", m.ID)
		kept.ID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("sync:%s:%d", p.DeviceID, m.Seq)))
	}
	taken[m.ID] = true
	out := Outcome{Seq: m.Seq, ID: m.ID, Status: "applied"}
	reject := pm.reject
	if reject == nil {
		err := change(ctx, tx, p, m, pm)
		reject = rejection(err)
		if err != nil && (reject == nil || reject.Code == domain.CodeUnavailable) {
			return Applied{}, err
		}
	}
	if reject != nil {
		out.Status, out.Code, out.Detail, out.Fields = "rejected", reject.Code, detailOf(reject), asPayloadFields(reject.Fields)
	}
	out.Quarantined = out.Status == "rejected" && (mutationTypes[m.Type].fact || out.Code == CodeUnknownMutationType)
	// What was refused for its text is kept as a record all the same, made storable.
	kept.Type, kept.Payload = input.Clean(m.Type), input.Storable(keptPayload(m.Type, m.Payload))
	a := Applied{Mutation: kept, Outcome: out, Quarantine: out.Quarantined}
	if out.Status == "applied" {
		a.DossierID, a.Cash = pm.dossierID, pm.reading.cash
	}
	return a, nil
}

// change makes a prepared mutation's change under its dossier's lock: its assignment is
// judged again there, since it may have changed since it was prepared.
func change(ctx context.Context, tx PushTx, p auth.Principal, m Mutation, pm preparedMutation) error {
	if pm.decide == nil {
		// No dossier event: only the stop's assignment, held until the push commits.
		t, err := tx.Task(ctx, m.TaskID)
		if err != nil {
			return err
		}
		if e := pm.kind.rule.check(t, p); e != nil {
			return e
		}
		return nil
	}
	d, tasks, err := tx.Lock(ctx, pm.dossierID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(tasks, func(t dossier.Task) bool { return t.ID == m.TaskID })
	if i < 0 {
		return domain.Errorf(domain.CodeNotFound, "no such stop")
	}
	if e := pm.kind.rule.check(tasks[i], p); e != nil {
		return e
	}
	c, err := pm.decide(d, tasks)
	if err != nil {
		return err
	}
	_, err = tx.Apply(ctx, c)
	return err
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
