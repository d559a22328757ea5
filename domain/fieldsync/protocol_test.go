package fieldsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
)

// The push protocol against an in-memory transaction: no HTTP, no PostgreSQL. Each case
// is a device whose earlier pushes left a last sequence number, kept and pruned outcomes,
// and a batch drawn at random (replays with the same or another fingerprint, gaps, new
// mutations of known and unknown types on stops that are the courier's, another's,
// cancelled, completed or unknown, reassigned between the read before the transaction
// and the dossier's lock, ids reused within and across batches, decisions refused and
// dossiers whose write fails); a model says what must become of each mutation, and what
// the store must hold after.

// memState is what the store keeps.
type memState struct {
	lastSeq, prunedThrough int64
	outcomes               map[int64]fieldsync.Stored // kept outcomes
	ids                    map[uuid.UUID]bool         // ids of kept mutations
	tasks                  map[uuid.UUID]dossier.Task // the stops as they are now
	recorded               []fieldsync.Applied
}

func (s memState) clone() memState {
	s.outcomes, s.ids, s.tasks = maps.Clone(s.outcomes), maps.Clone(s.ids), maps.Clone(s.tasks)
	s.recorded = slices.Clone(s.recorded)
	return s
}

// memStore begins transactions that work on a copy of its state, kept only on commit.
type memStore struct {
	state  memState
	broken map[uuid.UUID]bool // dossiers whose write fails (a lost connection: no refusal)
	begun  int
}

func (s *memStore) Begin(context.Context) (fieldsync.PushTx, error) {
	s.begun++
	return &memTx{store: s, state: s.state.clone()}, nil
}

type memTx struct {
	store *memStore
	state memState
	done  bool
}

func (tx *memTx) Lock(_ context.Context, id uuid.UUID) (dossier.Dossier, []dossier.Task, error) {
	var tasks []dossier.Task
	for _, t := range tx.state.tasks {
		if t.DossierID == id {
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		return dossier.Dossier{}, nil, domain.Errorf(domain.CodeNotFound, "no such dossier")
	}
	return dossier.Dossier{ID: id}, tasks, nil
}

func (tx *memTx) Apply(_ context.Context, c dossier.Change) (dossier.Dossier, error) {
	if tx.store.broken[c.Dossier.ID] {
		return dossier.Dossier{}, errors.New("connection lost")
	}
	for _, t := range c.Tasks {
		tx.state.tasks[t.ID] = t
	}
	return c.Dossier, nil
}

// LockDossiers has nothing to do: Lock reads from the transaction's copy.
func (tx *memTx) LockDossiers(context.Context, []uuid.UUID) error { return nil }

func (tx *memTx) LockDevice(context.Context, uuid.UUID, uuid.UUID) (int64, int64, error) {
	return tx.state.lastSeq, tx.state.prunedThrough, nil
}

func (tx *memTx) Outcomes(_ context.Context, _ uuid.UUID, seqs []int64) (map[int64]fieldsync.Stored, error) {
	out := map[int64]fieldsync.Stored{}
	for _, seq := range seqs {
		if s, ok := tx.state.outcomes[seq]; ok {
			out[seq] = s
		}
	}
	return out, nil
}

func (tx *memTx) Taken(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	for _, id := range ids {
		if tx.state.ids[id] {
			out[id] = true
		}
	}
	return out, nil
}

func (tx *memTx) Task(_ context.Context, id uuid.UUID) (dossier.Task, error) {
	t, ok := tx.state.tasks[id]
	if !ok {
		return dossier.Task{}, domain.Errorf(domain.CodeNotFound, "no such task")
	}
	return t, nil
}

func (tx *memTx) Record(_ context.Context, _, _ uuid.UUID, batch []fieldsync.Applied, lastSeq int64) error {
	for _, a := range batch {
		m, o := a.Mutation, a.Outcome
		tx.state.outcomes[m.Seq] = fieldsync.Stored{Seq: m.Seq, ID: m.ID, Hash: m.Hash, Status: o.Status, Code: o.Code, Detail: o.Detail, Fields: o.Fields}
		tx.state.ids[m.ID] = true
	}
	tx.state.recorded = append(tx.state.recorded, batch...)
	tx.state.lastSeq = lastSeq
	return nil
}

func (tx *memTx) Commit() error {
	if !tx.done {
		tx.done = true
		tx.store.state = tx.state
	}
	return nil
}

func (tx *memTx) Rollback() { tx.done = true }

// memDossiers answers the reads before the transaction from the stops as they were then,
// and decides "set out" on a dossier's only stop (a refused decision for those in refuse).
type memDossiers struct {
	before map[uuid.UUID]dossier.Task
	refuse map[uuid.UUID]bool
}

func (d memDossiers) TasksByID(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]dossier.Task, error) {
	out := map[uuid.UUID]dossier.Task{}
	for _, id := range ids {
		if t, ok := d.before[id]; ok {
			out[id] = t
		}
	}
	return out, nil
}

func (d memDossiers) PrepareMany(_ context.Context, events []dossier.Preparing) ([]dossier.Decision, []error, error) {
	decisions := make([]dossier.Decision, len(events))
	for i, e := range events {
		if e.In.Event != dossier.EventSetOut {
			return nil, nil, fmt.Errorf("unexpected event %s", e.In.Event)
		}
		id := e.DossierID
		decisions[i] = func(dd dossier.Dossier, tasks []dossier.Task) (dossier.Change, error) {
			if d.refuse[id] {
				return dossier.Change{}, domain.Errorf(dossier.CodeInvalidTransition, "not now")
			}
			tasks[0].State = dossier.TaskInProgress
			return dossier.Change{Dossier: dd, Tasks: tasks}, nil
		}
	}
	return decisions, make([]error, len(events)), nil
}

// The mutation types the cases use: a dossier event, a record only, a fact with money,
// and a type this server does not know.
var protocolTypes = []struct {
	typ     string
	payload string
	fact    bool
	open    bool // only an unfinished stop
}{
	{"task.start.v1", `{}`, false, true},
	{"task.note.v1", `{"text":"gate locked"}`, false, false},
	{"task.collect_fee.v1", `{"amount_vnd":1000,"method":"cash","receipt_number":"R1"}`, true, false},
	{"task.unknown.v9", `{}`, false, false},
}

// stopCase is one of the stops a case's mutations name, as read before the transaction
// and as found under the dossier's lock.
type stopCase struct {
	id             uuid.UUID
	before, locked *dossier.Task // nil: unknown
}

func drawTask(t *rapid.T, label string, id, dossierID, me, other uuid.UUID) dossier.Task {
	courier := rapid.SampledFrom([]uuid.UUID{me, me, other}).Draw(t, label+" courier")
	state := rapid.SampledFrom([]dossier.TaskState{dossier.TaskAssigned, dossier.TaskAssigned, dossier.TaskDone, dossier.TaskCancelled}).Draw(t, label+" state")
	return dossier.Task{ID: id, DossierID: dossierID, Kind: dossier.TaskPickup, State: state, CourierID: courier}
}

// judged is the model's rule for a stop: the code of its refusal, or "".
func judged(t dossier.Task, me uuid.UUID, open bool) domain.Code {
	switch {
	case t.State == dossier.TaskCancelled:
		return fieldsync.CodeTaskCancelled
	case t.CourierID != me:
		return fieldsync.CodeTaskReassigned
	case open && t.State == dossier.TaskDone:
		return fieldsync.CodeTaskAlreadyCompleted
	}
	return ""
}

func TestPushProtocol(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		me, other, device := uuid.New(), uuid.New(), uuid.New()
		ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleCourier, CourierID: me, DeviceID: device})

		// The device's history.
		last := rapid.Int64Range(0, 6).Draw(t, "last seq")
		pruned := rapid.Int64Range(0, last).Draw(t, "pruned through")
		state := memState{lastSeq: last, prunedThrough: pruned, outcomes: map[int64]fieldsync.Stored{}, ids: map[uuid.UUID]bool{},
			tasks: map[uuid.UUID]dossier.Task{}}
		var keptIDs []uuid.UUID
		for seq := pruned + 1; seq <= last; seq++ {
			s := fieldsync.Stored{Seq: seq, ID: uuid.New(), Hash: fmt.Sprint("h", seq), Status: "rejected", Code: fieldsync.CodeTaskCancelled, Detail: "earlier"}
			state.outcomes[seq], state.ids[s.ID] = s, true
			keptIDs = append(keptIDs, s.ID)
		}

		// The stops, one per dossier.
		dossiers := memDossiers{before: map[uuid.UUID]dossier.Task{}, refuse: map[uuid.UUID]bool{}}
		store := &memStore{broken: map[uuid.UUID]bool{}}
		stops := make([]stopCase, rapid.IntRange(1, 4).Draw(t, "stops"))
		for i := range stops {
			id, dossierID := uuid.New(), uuid.New()
			stops[i].id = id
			if rapid.IntRange(0, 5).Draw(t, fmt.Sprint("stop ", i, " unknown")) == 0 {
				continue
			}
			before := drawTask(t, fmt.Sprint("stop ", i, " before"), id, dossierID, me, other)
			locked := before
			if rapid.Bool().Draw(t, fmt.Sprint("stop ", i, " changed meanwhile")) {
				locked = drawTask(t, fmt.Sprint("stop ", i, " locked"), id, dossierID, me, other)
			}
			stops[i].before, stops[i].locked = &before, &locked
			dossiers.before[id], state.tasks[id] = before, locked
			dossiers.refuse[dossierID] = rapid.IntRange(0, 4).Draw(t, fmt.Sprint("stop ", i, " refused")) == 0
			store.broken[dossierID] = rapid.IntRange(0, 9).Draw(t, fmt.Sprint("stop ", i, " broken")) == 0
		}
		store.state = state
		pusher := fieldsync.NewPusher(store, dossiers)

		// The batch, and what the model says of it.
		first := rapid.Int64Range(1, last+2).Draw(t, "first seq")
		n := rapid.IntRange(1, 6).Draw(t, "batch size")
		batch := make([]fieldsync.Mutation, n)
		want := make([]fieldsync.Outcome, n)
		wantKept := map[int64]uuid.UUID{} // new mutations: the id each is kept under
		var wantErr domain.Code
		broken := false
		taken := maps.Clone(state.ids)
		now := maps.Clone(state.tasks)
		wantLast := last
		for i := range batch {
			seq := first + int64(i)
			m := fieldsync.Mutation{Seq: seq, ID: uuid.New(), Hash: fmt.Sprint("n", seq, "-", i)}
			if seq <= last {
				// A replay: the same mutation, or another sent under a used seq.
				same := rapid.Bool().Draw(t, fmt.Sprint("replay ", seq, " same"))
				if s, kept := state.outcomes[seq]; kept && same {
					m.ID, m.Hash = s.ID, s.Hash
				}
				batch[i] = m
				switch s, kept := state.outcomes[seq]; {
				case !kept: // pruned: only that it was applied is known
					want[i] = fieldsync.Outcome{Seq: seq, ID: m.ID, Status: "duplicate", Detail: "applied long ago; its first answer is no longer kept"}
				case same:
					want[i] = fieldsync.Outcome{Seq: seq, ID: m.ID, Status: "duplicate", Code: s.Code, Detail: s.Detail}
				default:
					if wantErr == "" {
						wantErr = fieldsync.CodeMutationIDReused
					}
				}
				continue
			}
			kind := protocolTypes[rapid.IntRange(0, len(protocolTypes)-1).Draw(t, fmt.Sprint("type ", seq))]
			stop := stops[rapid.IntRange(0, len(stops)-1).Draw(t, fmt.Sprint("stop of ", seq))]
			m.Type, m.TaskID, m.Payload = kind.typ, stop.id, json.RawMessage(kind.payload)
			switch reuse := rapid.IntRange(0, 5).Draw(t, fmt.Sprint("id of ", seq)); {
			case reuse == 0 && len(keptIDs) > 0: // another batch's
				m.ID = rapid.SampledFrom(keptIDs).Draw(t, fmt.Sprint("kept id for ", seq))
			case reuse == 1 && i > 0: // this batch's
				m.ID = batch[rapid.IntRange(0, i-1).Draw(t, fmt.Sprint("batch id for ", seq))].ID
			}
			batch[i] = m
			wantKept[seq] = m.ID

			var code domain.Code
			switch {
			case taken[m.ID]:
				code = fieldsync.CodeMutationIDReused
				wantKept[seq] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("sync:%s:%d", device, seq)))
			case kind.typ == "task.unknown.v9":
				code = fieldsync.CodeUnknownMutationType
			case stop.before == nil:
				code = domain.CodeNotFound
			default:
				if code = judged(*stop.before, me, kind.open); code == "" {
					code = judged(now[stop.id], me, kind.open) // again under the lock
				}
				if code == "" && kind.typ == "task.start.v1" {
					switch {
					case dossiers.refuse[stop.before.DossierID]:
						code = dossier.CodeInvalidTransition
					case store.broken[stop.before.DossierID]:
						broken = true
					default:
						task := now[stop.id]
						task.State = dossier.TaskInProgress
						now[stop.id] = task
					}
				}
			}
			taken[m.ID] = true
			want[i] = fieldsync.Outcome{Seq: seq, ID: m.ID, Status: "applied", Code: code,
				Quarantined: code != "" && (kind.fact || code == fieldsync.CodeUnknownMutationType)}
			if code != "" {
				want[i].Status = "rejected"
			}
			wantLast = seq
		}
		if first > last+1 {
			wantErr = fieldsync.CodeSequenceGap
		}

		before := store.state.clone()
		got, err := pusher.Push(ctx, batch)
		if store.begun != 1 {
			t.Fatalf("%d transactions begun, want 1", store.begun)
		}
		if wantErr != "" || broken {
			switch {
			case wantErr != "" && domain.ErrorCode(err) != wantErr:
				t.Fatalf("push answered %v, want %s", err, wantErr)
			case wantErr == "" && (err == nil || isDomainError(err)):
				t.Fatalf("push answered %v, want the write's own error", err)
			case wantErr == fieldsync.CodeSequenceGap:
				if e, _ := domain.AsError(err); len(e.Fields) != 1 || e.Fields[0].Reason != fmt.Sprint(last+1) {
					t.Fatalf("a gap names %v, want expected_seq %d", e.Fields, last+1)
				}
			}
			if !reflect.DeepEqual(store.state, before) {
				t.Fatalf("a refused batch left something behind")
			}
			return
		}
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if got.LastSeq != wantLast || store.state.lastSeq != wantLast {
			t.Fatalf("last seq answered %d, kept %d, want %d", got.LastSeq, store.state.lastSeq, wantLast)
		}
		if len(got.Results) != n {
			t.Fatalf("%d outcomes for %d mutations", len(got.Results), n)
		}
		for i, o := range got.Results {
			w := want[i]
			if o.Seq != w.Seq || o.ID != w.ID || o.Status != w.Status || o.Code != w.Code || o.Quarantined != w.Quarantined ||
				(w.Detail != "" && o.Detail != w.Detail) {
				t.Fatalf("mutation %d (%s on %v): got %+v, want %+v", batch[i].Seq, batch[i].Type, batch[i].TaskID, o, w)
			}
		}
		// What is kept: each new mutation once, under its own id, with its outcome; the
		// applied ones with their dossier, money with the fee.
		recorded := store.state.recorded[len(before.recorded):]
		if len(recorded) != len(wantKept) {
			t.Fatalf("%d mutations kept, want %d", len(recorded), len(wantKept))
		}
		for _, a := range recorded {
			w := want[a.Mutation.Seq-first]
			if a.Mutation.ID != wantKept[a.Mutation.Seq] || a.Outcome.Status != w.Status || a.Quarantine != w.Quarantined {
				t.Fatalf("kept %+v as %s (quarantine %v), want id %s, %s (quarantine %v)", a.Mutation, a.Outcome.Status, a.Quarantine,
					wantKept[a.Mutation.Seq], w.Status, w.Quarantined)
			}
			applied := w.Status == "applied"
			if (a.DossierID != uuid.Nil) != applied || (a.Cash != nil) != (applied && a.Mutation.Type == "task.collect_fee.v1") {
				t.Fatalf("kept %s (%s) with dossier %s and cash %v", a.Mutation.Type, w.Status, a.DossierID, a.Cash)
			}
			if applied && a.DossierID != dossiers.before[a.Mutation.TaskID].DossierID {
				t.Fatalf("kept %s with dossier %s, want the stop's", a.Mutation.Type, a.DossierID)
			}
		}
		if !reflect.DeepEqual(store.state.tasks, now) {
			t.Fatalf("stops after the push: %v, want %v", store.state.tasks, now)
		}
	})
}

func isDomainError(err error) bool {
	_, ok := domain.AsError(err)
	return ok
}
