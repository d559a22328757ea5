package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestBatchedPushAgreesWithOneByOne: a push holds its dossier changes in memory and writes
// them together at commit, each decided on what the ones before it left. Generated
// sequences of facts, notes and refusals over a few stops are pushed twice, on twin
// dossiers: as one batch from one device, and one mutation per push from another. Every
// outcome, and everything the record holds of each dossier afterwards, must be the same.
func TestBatchedPushAgreesWithOneByOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	kinds := []struct{ typ, payload string }{
		{"task.pickup.v1", pickupPayload},
		{"task.fail.v1", `{"reason":"not_at_home"}`},
		{"task.start.v1", `{}`},
		{"task.note.v1", `{"text":"đã gọi"}`},
		{"task.collect_fee.v1", `{"amount_vnd":20000,"method":"cash","receipt_number":"BL-1"}`},
		{"task.deliver.v1", `{"recipient":"applicant"}`}, // refused: a pickup is no delivery
		{"task.note.v1", `{"text":""}`},                  // refused for its text
		{"task.pickup.v1", `{"fee_collected_vnd":-1}`},   // refused for its text, quarantined
	}
	for round := range 4 {
		seed := uint64(round + 1)
		rng := rand.New(rand.NewPCG(seed, 7))
		courier := fmt.Sprintf("courier0%d", 1+round%4)
		stops := 1 + rng.IntN(4)
		batched, single := make([]string, stops), make([]string, stops)
		for i := range stops {
			batched[i], single[i] = h.assigned(t, courier), h.assigned(t, courier)
		}
		taskOf := func(ids []string) []string {
			tasks := make([]string, len(ids))
			for i, id := range ids {
				tasks[i] = pickupTask(h, t, id)
			}
			return tasks
		}
		batchedTasks, singleTasks := taskOf(batched), taskOf(single)
		var batch, each []string
		for seq := 1; seq <= 6+rng.IntN(20); seq++ {
			k, stop := kinds[rng.IntN(len(kinds))], rng.IntN(stops)
			batch = append(batch, mutation(seq, uuid.NewString(), k.typ, batchedTasks[stop], k.payload))
			each = append(each, mutation(seq, uuid.NewString(), k.typ, singleTasks[stop], k.payload))
		}
		whole := h.push(t, courier+"@batched", batch...)
		if whole.status != http.StatusOK {
			t.Fatalf("seed %d: the batch: %d %s", seed, whole.status, whole.raw)
		}
		var oneByOne []string
		for _, m := range each {
			r := h.push(t, courier+"@single", m)
			if r.status != http.StatusOK {
				t.Fatalf("seed %d: one mutation: %d %s", seed, r.status, r.raw)
			}
			oneByOne = append(oneByOne, statuses(r))
		}
		if got, want := statuses(whole), strings.Join(oneByOne, " "); got != want {
			t.Fatalf("seed %d: outcomes of the batch\n%s\none by one\n%s", seed, got, want)
		}
		for i := range stops {
			if got, want := recordOf(t, h, batched[i]), recordOf(t, h, single[i]); got != want {
				t.Fatalf("seed %d, stop %d: the record after the batch\n%s\none by one\n%s", seed, i, got, want)
			}
		}
	}
}

// recordOf is what the record holds of a dossier, without ids and times: its row, its
// stops, its history, ledger, reports, cash, flags, audit and the couriers' feed lines.
func recordOf(t *testing.T, h *harness, dossier string) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT concat_ws(' ', state, version, holder_kind, failed_attempts, custody_count, next_deadline) FROM dossiers WHERE id = $1`,
		`SELECT concat_ws(' ', kind, state, version, attempts, failure_reason, courier_id IS NULL) FROM tasks WHERE dossier_id = $1 ORDER BY kind`,
		`SELECT concat_ws(' ', event, from_state, to_state, actor_role) FROM dossier_events WHERE dossier_id = $1 ORDER BY id`,
		`SELECT concat_ws(' ', seq, event, from_kind, to_kind, signature_sha256, lat IS NULL) FROM custody_entries WHERE dossier_id = $1 ORDER BY seq`,
		`SELECT concat_ws(' ', type, seq, payload) FROM field_reports WHERE dossier_id = $1 ORDER BY seq`,
		`SELECT concat_ws(' ', amount_vnd, method, receipt_number) FROM cash_collections WHERE dossier_id = $1 ORDER BY collected_at, amount_vnd`,
		`SELECT concat_ws(' ', event, kind) FROM field_flags WHERE dossier_id = $1 ORDER BY id`,
		`SELECT concat_ws(' ', action, actor_role, detail) FROM audit_log WHERE resource_id = $1::text ORDER BY id`,
		`SELECT concat_ws(' ', c.op, c.reason, c.data->>'state', c.data->>'dossier_state', c.data->>'version')
			FROM courier_changes c JOIN tasks t ON t.id = c.entity_id WHERE t.dossier_id = $1 ORDER BY c.v`,
	} {
		rows, err := h.db.SQL().Query(q, dossier)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out = append(out, strings.Join(lines, "\n  "))
	}
	return strings.Join(slices.Clip(out), "\n")
}
