package dossier_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// A dossier event moves the dossier by Next and, for most events, one of its field tasks
// by NextTask. The two machines are tested alone above; this walk drives them together
// through every reachable combination, via the same decision Apply makes, to find events
// the dossier machine allows but its tasks refuse, and dossiers that can never finish.

type dossierShape struct {
	name   string
	start  dossier.State
	holder dossier.PartyKind // who has it when it is born
	kinds  []dossier.TaskKind
}

var shapes = []dossierShape{
	{"pickup and return", dossier.StateRequested, dossier.PartyApplicant,
		[]dossier.TaskKind{dossier.TaskPickup, dossier.TaskDropoff, dossier.TaskCollection, dossier.TaskDelivery}},
	{"pickup only", dossier.StateRequested, dossier.PartyApplicant, []dossier.TaskKind{dossier.TaskPickup, dossier.TaskDropoff}},
	{"return only", dossier.StateHandedToAgency, dossier.PartyAgency, []dossier.TaskKind{dossier.TaskCollection, dossier.TaskDelivery}},
	{"lodged at the counter", dossier.StateAtPostOffice, dossier.PartyPostOffice,
		[]dossier.TaskKind{dossier.TaskDropoff, dossier.TaskCollection, dossier.TaskDelivery}},
}

// walkers are everyone who reports events, each acting for the walk's post office, agency
// and courier: the walk tries every event as each of them.
var walkers = []auth.Principal{
	{Role: auth.RoleAdmin, AccountID: uuid.MustParse("00000000-0000-0000-0000-0000000000a1")},
	{Role: auth.RoleDispatcher, AccountID: uuid.MustParse("00000000-0000-0000-0000-0000000000a2"), PostOfficeIDs: []uuid.UUID{walkOffice}},
	{Role: auth.RoleClerk, AccountID: uuid.MustParse("00000000-0000-0000-0000-0000000000a3"), AgencyID: walkAgency},
	{Role: auth.RoleCourier, AccountID: uuid.MustParse("00000000-0000-0000-0000-0000000000a4"), CourierID: walkCourier},
	{Role: auth.RoleSystem, AccountID: uuid.MustParse("00000000-0000-0000-0000-0000000000a5")},
	{Role: auth.RoleCitizen, AccountID: uuid.MustParse("00000000-0000-0000-0000-0000000000a6")},
}

var (
	walkOffice  = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	walkAgency  = uuid.MustParse("00000000-0000-0000-0000-0000000000b2")
	walkCourier = uuid.MustParse("00000000-0000-0000-0000-00000000c0c0")
)

// expectedRefusals are events Next allows that the walk finds refused by design: a
// dossier without return by post has no collection stop, so its result is fetched at the
// agency (collect_at_agency) and never collected by the post.
var expectedRefusals = map[string]bool{
	"pickup only: result_ready --collect_result-->":           true,
	"pickup only: rejected_incomplete --collect_result-->":    true,
	"pickup only: handed_to_agency --assign_collection-->":    true,
	"pickup only: in_processing --assign_collection-->":       true,
	"pickup only: result_ready --assign_collection-->":        true,
	"pickup only: rejected_incomplete --assign_collection-->": true,
}

type walkConfig struct {
	d     dossier.Dossier
	tasks []dossier.Task
}

func (c walkConfig) key() string {
	var b strings.Builder
	// Attempts beyond the limit change no rule, so they do not make a new configuration;
	// without the cap, hold and redelivery would loop for ever.
	fmt.Fprintf(&b, "%s|%d|%s|%s", c.d.State, min(c.d.FailedAttempts, dossier.DefaultClock.MaxAttempts), c.d.Holder.Kind, c.d.DeliveryChoice)
	for _, t := range c.tasks {
		fmt.Fprintf(&b, "|%s=%s", t.Kind, t.State)
	}
	return b.String()
}

// live reports whether a task would still be on someone's list.
func live(s dossier.TaskState) bool { return s != dossier.TaskDone && s != dossier.TaskCancelled }

func TestMachinesTogether(t *testing.T) {
	cfg := dossier.DefaultClock
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, domain.Vietnam)

	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			id := uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
			start := walkConfig{d: dossier.Dossier{ID: id, State: sh.start, Version: 1, PostOfficeID: walkOffice, AgencyID: walkAgency,
				Pickup: slices.Contains(sh.kinds, dossier.TaskPickup), Return: slices.Contains(sh.kinds, dossier.TaskDelivery)}}
			start.d.Holder = map[dossier.PartyKind]dossier.Party{dossier.PartyApplicant: {Kind: dossier.PartyApplicant, ID: id},
				dossier.PartyAgency: {Kind: dossier.PartyAgency, ID: walkAgency}, dossier.PartyPostOffice: {Kind: dossier.PartyPostOffice, ID: walkOffice}}[sh.holder]
			for _, k := range sh.kinds {
				start.tasks = append(start.tasks, dossier.Task{DossierID: id, Kind: k, State: dossier.TaskOpen, Version: 1})
			}

			configs := map[string]walkConfig{start.key(): start}
			edges := map[string][]string{}
			refused := map[string]string{}
			entries := 0
			queue := []string{start.key()}
			for len(queue) > 0 {
				from := configs[queue[0]]
				queue = queue[1:]
				for _, e := range dossier.Events {
					to, err := dossier.Next(from.d.State, e)
					if err != nil {
						continue // the dossier machine's own refusals are tested alone
					}
					for _, p := range walkers {
						tasks := slices.Clone(from.tasks)
						in := dossier.EventInput{Event: e, Version: from.d.Version, CourierID: walkCourier, Date: now,
							Reason: dossier.FailNotAtHome, Note: "thiếu tờ khai", Recipient: dossier.PartyProxy,
							Proof: dossier.Proof{IdentityMethod: "giấy ủy quyền", RecipientName: "Nguyễn Văn An"},
							Door:  dossier.DoorCheck{AuthorisationSHA256: strings.Repeat("ab", 32)}, Choice: dossier.ChoiceHome}
						change, err := dossier.Decide(p, cfg, from.d, tasks, in, now)
						switch {
						case err == nil:
						case p.Role != auth.RoleAdmin:
							continue // who may report what is checked before deciding; here only custody matters
						case domain.ErrorCode(err) == dossier.CodeAttemptsExhausted && e == dossier.EventScheduleRedelivery &&
							from.d.FailedAttempts >= cfg.MaxAttempts:
							continue // the attempts rule, not a machine
						case oneOfCodes(err, dossier.CodeNotInBag, dossier.CodeNotHeld) && !slices.Contains(dossier.CustodyRules[e].From, from.d.Holder.Kind):
							continue // custody: only who holds the item can hand it over
						default:
							refused[fmt.Sprintf("%s: %s --%s-->", sh.name, from.d.State, e)] = err.Error()
							continue
						}
						entries += len(change.Custody)
						checkCustody(t, p, from.d, e, change)
						// The one rule that overrides Next: the last allowed failure holds the result.
						outOfAttempts := e == dossier.EventDeliveryFail && change.Dossier.FailedAttempts >= cfg.MaxAttempts
						if outOfAttempts && change.Dossier.State != dossier.StateHeldAtPostOffice {
							t.Errorf("failure %d of %d left the dossier %s, not held", change.Dossier.FailedAttempts, cfg.MaxAttempts, change.Dossier.State)
						}
						heldOnArrival := change.Dossier.State == dossier.StateHeldAtPostOffice && change.Dossier.DeliveryChoice == dossier.ChoicePostOffice
						if change.Dossier.State != to && !outOfAttempts && !heldOnArrival {
							t.Errorf("%s --%s--> %s, but Next says %s", from.d.State, e, change.Dossier.State, to)
						}
						// A task may be new (a result the applicant now wants brought home), as
						// the store would add it.
						for _, ct := range change.Tasks {
							if !slices.ContainsFunc(tasks, func(t dossier.Task) bool { return t.Kind == ct.Kind }) {
								tasks = append(tasks, ct)
							}
						}
						next := walkConfig{d: change.Dossier, tasks: tasks}
						if next.d.State.Final() {
							for _, task := range next.tasks {
								if live(task.State) {
									t.Errorf("%s --%s--> %s leaves the %s task %s: it would stay on a list forever",
										from.key(), e, to, task.Kind, task.State)
								}
							}
						}
						k := next.key()
						edges[from.key()] = append(edges[from.key()], k)
						if _, seen := configs[k]; !seen {
							configs[k] = next
							queue = append(queue, k)
						}
					}
				}
			}
			if entries == 0 {
				t.Error("the walk wrote no custody entry: it proves nothing of them")
			}
			t.Logf("%d configurations, %d custody entries held against the table", len(configs), entries)
			if sh.name == "pickup and return" {
				// The full shape must visit every state, or the walk proves little.
				reached := map[dossier.State]bool{}
				for _, c := range configs {
					reached[c.d.State] = true
				}
				for _, s := range dossier.States {
					if !reached[s] {
						t.Errorf("the walk never reached %s", s)
					}
				}
			}

			t.Run("every allowed event is taken", func(t *testing.T) {
				for _, k := range slices.Sorted(maps.Keys(refused)) {
					if expectedRefusals[k] {
						continue
					}
					t.Errorf("%s is allowed by Next but refused: %s", k, refused[k])
				}
			})

			t.Run("every dossier can finish", func(t *testing.T) {
				// A configuration finishes when some path of accepted events reaches a final
				// state: fixpoint over the recorded edges.
				finishes := map[string]bool{}
				for k, c := range configs {
					finishes[k] = c.d.State.Final()
				}
				for changed := true; changed; {
					changed = false
					for k, out := range edges {
						if !finishes[k] && slices.ContainsFunc(out, func(o string) bool { return finishes[o] }) {
							finishes[k], changed = true, true
						}
					}
				}
				trapped := map[string]bool{}
				for k, c := range configs {
					if !finishes[k] {
						trapped[fmt.Sprintf("%s: %s", sh.name, c.d.State)] = true
					}
				}
				for _, k := range slices.Sorted(maps.Keys(trapped)) {
					t.Errorf("a dossier (%s) can never reach delivered, returned_to_agency or cancelled", k)
				}
			})
		})
	}
}

func oneOfCodes(err error, codes ...domain.Code) bool {
	return slices.Contains(codes, domain.ErrorCode(err))
}

// checkCustody holds one decided event against the custody table: entries are written
// only for events the table lists (or a handover a door fact implies), by a role it lists,
// from the real holder, to the party it names, chained to the ledger; every other event
// leaves the holder as it was.
func checkCustody(t *testing.T, p auth.Principal, before dossier.Dossier, e dossier.Event, change dossier.Change) {
	t.Helper()
	after := change.Dossier
	if len(change.Custody) == 0 {
		if after.Holder != before.Holder || after.CustodyCount != before.CustodyCount {
			t.Errorf("%s as %s moved the %s from %s to %s without a custody entry", e, p.Role, before.State, before.Holder, after.Holder)
		}
		return
	}
	holder, head := before.Holder, before.CustodyHead
	for i, entry := range change.Custody {
		rule, listed := dossier.CustodyRules[entry.Event]
		to := rule.To
		if rule.CourierKeeps && p.Role == auth.RoleCourier {
			to = dossier.PartyCourier
		}
		switch {
		case !listed:
			t.Errorf("%s as %s wrote a custody entry for %s, which hands nothing over", e, p.Role, entry.Event)
		case entry.Event != e && (i != 0 || dossier.ImpliedHandovers[e] != entry.Event):
			t.Errorf("%s wrote an entry for %s, which it neither is nor implies", e, entry.Event)
		case !slices.Contains(rule.By, p.Role):
			t.Errorf("%s as %s wrote a custody entry: only %v record it", e, p.Role, rule.By)
		case entry.From != holder:
			t.Errorf("%s: the entry says %s gave it, but %s held it", e, entry.From, holder)
		case !slices.Contains(rule.From, entry.From.Kind):
			t.Errorf("%s: the entry's giver %s is none of %v", e, entry.From, rule.From)
		case entry.To.Kind != to:
			t.Errorf("%s as %s: the entry hands to %s; the table says %s", e, p.Role, entry.To, to)
		case entry.ActorID != p.AccountID:
			t.Errorf("%s: the entry names actor %s, not %s", e, entry.ActorID, p.AccountID)
		case entry.Seq != before.CustodyCount+i+1 || entry.PrevHash != head || entry.Hash != entry.ComputeHash():
			t.Errorf("%s: the entry is not chained to the ledger (seq %d after %d)", e, entry.Seq, before.CustodyCount)
		case p.Role == auth.RoleCourier && entry.From.Kind == dossier.PartyCourier && entry.From.ID != p.CourierID:
			t.Errorf("%s: a courier handed over what another courier carries", e)
		}
		holder, head = entry.To, entry.Hash
	}
	if after.Holder != holder || after.CustodyHead != head {
		t.Errorf("%s: the dossier's holder %s is not where its ledger ends, %s", e, after.Holder, holder)
	}
}
