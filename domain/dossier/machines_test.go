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
	"courierd/domain/dossier"
)

// A dossier event moves the dossier by Next and, for most events, one of its field tasks
// by NextTask. The two machines are tested alone above; this walk drives them together
// through every reachable combination, via the same decision Apply makes, to find events
// the dossier machine allows but its tasks refuse, and dossiers that can never finish.

type dossierShape struct {
	name  string
	start dossier.State
	kinds []dossier.TaskKind
}

var shapes = []dossierShape{
	{"pickup and return", dossier.StateRequested,
		[]dossier.TaskKind{dossier.TaskPickup, dossier.TaskDropoff, dossier.TaskCollection, dossier.TaskDelivery}},
	{"pickup only", dossier.StateRequested, []dossier.TaskKind{dossier.TaskPickup, dossier.TaskDropoff}},
	{"return only", dossier.StateHandedToAgency, []dossier.TaskKind{dossier.TaskCollection, dossier.TaskDelivery}},
}

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
	fmt.Fprintf(&b, "%s|%d|%s", c.d.State, min(c.d.FailedAttempts, dossier.DefaultClock.MaxAttempts), c.d.Holder.Kind)
	for _, t := range c.tasks {
		fmt.Fprintf(&b, "|%s=%s", t.Kind, t.State)
	}
	return b.String()
}

// live reports whether a task would still be on someone's list.
func live(s dossier.TaskState) bool { return s != dossier.TaskDone && s != dossier.TaskCancelled }

func TestMachinesTogether(t *testing.T) {
	cfg := dossier.DefaultClock
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, dossier.Vietnam)
	courierID := uuid.MustParse("00000000-0000-0000-0000-00000000c0c0")

	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			id := uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
			start := walkConfig{d: dossier.Dossier{ID: id, State: sh.start, Version: 1,
				Pickup: slices.Contains(sh.kinds, dossier.TaskPickup), Return: slices.Contains(sh.kinds, dossier.TaskDelivery)}}
			for _, k := range sh.kinds {
				start.tasks = append(start.tasks, dossier.Task{DossierID: id, Kind: k, State: dossier.TaskOpen, Version: 1})
			}

			configs := map[string]walkConfig{start.key(): start}
			edges := map[string][]string{}
			refused := map[string]string{}
			queue := []string{start.key()}
			for len(queue) > 0 {
				from := configs[queue[0]]
				queue = queue[1:]
				for _, e := range dossier.Events {
					to, err := dossier.Next(from.d.State, e)
					if err != nil {
						continue // the dossier machine's own refusals are tested alone
					}
					tasks := slices.Clone(from.tasks)
					in := dossier.EventInput{Event: e, Version: from.d.Version, CourierID: courierID, Date: now,
						Reason: dossier.FailNotAtHome, Note: "thiếu tờ khai", Recipient: dossier.PartyProxy,
						Proof: dossier.Proof{IdentityMethod: "giấy ủy quyền", RecipientName: "Nguyễn Văn An"},
						Door:  dossier.DoorCheck{AuthorisationSHA256: strings.Repeat("ab", 32)}, Choice: dossier.ChoiceHome}
					change, err := dossier.Decide(cfg, from.d, tasks, in, now, courierID)
					switch {
					case err == nil:
					case domain.ErrorCode(err) == dossier.CodeAttemptsExhausted && e == dossier.EventScheduleRedelivery &&
						from.d.FailedAttempts >= cfg.MaxAttempts:
						continue // the attempts rule, not a machine
					case domain.ErrorCode(err) == dossier.CodeNotInBag && from.d.Holder.Kind != dossier.PartyCourier:
						continue // custody: only what a courier carries can arrive
					default:
						refused[fmt.Sprintf("%s: %s --%s-->", sh.name, from.d.State, e)] = err.Error()
						continue
					}
					// The one rule that overrides Next: the last allowed failure holds the result.
					outOfAttempts := e == dossier.EventDeliveryFail && change.Dossier.FailedAttempts >= cfg.MaxAttempts
					if outOfAttempts && change.Dossier.State != dossier.StateHeldAtPostOffice {
						t.Errorf("failure %d of %d left the dossier %s, not held", change.Dossier.FailedAttempts, cfg.MaxAttempts, change.Dossier.State)
					}
					if change.Dossier.State != to && !outOfAttempts {
						t.Errorf("%s --%s--> %s, but Next says %s", from.d.State, e, change.Dossier.State, to)
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
