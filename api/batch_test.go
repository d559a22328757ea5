package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// portalItem is h.dossierBody relayed for a portal under its reference ref.
func portalItem(body, ref string) string {
	return strings.Replace(body, "{", fmt.Sprintf(`{"channel":"portal","portal_ref":%q,`, ref), 1)
}

func batchOf(items ...string) string { return `{"dossiers":[` + strings.Join(items, ",") + `]}` }

// dossierCount is how many dossiers the database holds.
func (h *harness) dossierCount(t testing.TB) int {
	t.Helper()
	var n int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM dossiers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// batchResults checks a batch's answer is 200 with one result per item, in order, and
// counts that add up, and returns the results.
func batchResults(t *testing.T, r reply, items int) []map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("batch: %d %.500s", r.status, r.raw)
	}
	raw := r.body["results"].([]any)
	if len(raw) != items {
		t.Fatalf("%d results for %d items", len(raw), items)
	}
	out := make([]map[string]any, len(raw))
	counts := map[string]float64{}
	for i, v := range raw {
		out[i] = v.(map[string]any)
		if out[i]["index"] != float64(i) {
			t.Fatalf("result %d names index %v", i, out[i]["index"])
		}
		counts[out[i]["status"].(string)]++
	}
	for _, s := range []string{"created", "refused", "known"} {
		if r.body[s] != counts[s] {
			t.Fatalf("answer counts %v %s, results hold %v", r.body[s], s, counts[s])
		}
	}
	return out
}

func fieldsOf(result map[string]any) []string {
	var fields []string
	errs, _ := result["errors"].([]any)
	for _, e := range errs {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	slices.Sort(fields)
	return fields
}

func TestDossierBatchMixed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	admin := h.as("admin")
	first := batchResults(t, admin.do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(portalItem(h.dossierBody(nil), "HCM-2026-0001"))), 1)
	knownID := first[0]["id"].(string)
	before := h.dossierCount(t)

	items := []string{
		h.dossierBody(nil),
		h.dossierBody(func(f map[string]string) { f["phone"], f["cid"] = "12345", "07419000123X" }),
		h.dossierBody(func(f map[string]string) { f["procedure"] = "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11" }),
		portalItem(h.dossierBody(nil), "HCM-2026-0002"),
		portalItem(h.dossierBody(nil), "HCM-2026-0002"),
		portalItem(h.dossierBody(nil), "HCM-2026-0001"),
		h.dossierBody(func(f map[string]string) { f["procedure"] = "not-a-uuid" }),
		strings.Replace(h.dossierBody(nil), "{", `{"channel":"portal",`, 1),
	}
	want := []struct {
		status, code string
		fields       []string
	}{
		{"created", "", nil},
		{"refused", "VALIDATION_FAILED", []string{"applicant.citizen_id", "applicant.phone"}},
		{"refused", "VALIDATION_FAILED", []string{"procedure_id"}},
		{"created", "", nil},
		{"refused", "DUPLICATE_IN_BATCH", []string{"portal_ref"}},
		{"known", "", nil},
		{"refused", "VALIDATION_FAILED", []string{"procedure_id"}},
		{"refused", "VALIDATION_FAILED", []string{"portal_ref"}},
	}
	results := batchResults(t, admin.do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(items...)), len(items))
	var created []string
	for i, w := range want {
		got := results[i]
		code, _ := got["code"].(string)
		if got["status"] != w.status || code != w.code || !slices.Equal(fieldsOf(got), w.fields) {
			t.Errorf("item %d: %v, want %s %s %v", i, got, w.status, w.code, w.fields)
		}
		id, _ := got["id"].(string)
		receipt, _ := got["receipt_code"].(string)
		switch w.status {
		case "created":
			created = append(created, id)
			if d := admin.do(t, http.MethodGet, "/v1/dossiers/"+id, ""); d.status != http.StatusOK || d.body["receipt_code"] != receipt {
				t.Errorf("item %d: created %s with receipt %s, read back %d %.200s", i, id, receipt, d.status, d.raw)
			}
		case "known":
			if id != knownID || receipt != "" {
				t.Errorf("item %d: known as %s (receipt %q), want the first batch's %s", i, id, receipt, knownID)
			}
		default:
			if id != "" {
				t.Errorf("item %d refused yet names dossier %s", i, id)
			}
		}
	}
	if n := h.dossierCount(t); n != before+len(created) {
		t.Fatalf("the database holds %d dossiers more, the batch created %d", n-before, len(created))
	}
	var channel string
	if err := h.db.SQL().QueryRow(`SELECT channel FROM dossiers WHERE portal_ref = $1`, "HCM-2026-0002").Scan(&channel); err != nil || channel != "portal" {
		t.Fatalf("a dossier with a portal reference is the portal's: %q %v", channel, err)
	}

	// The portal sends the same batch again after a lost answer: its references are known.
	again := batchResults(t, admin.do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(items[3:6]...)), 3)
	if again[0]["status"] != "known" || again[0]["id"] != created[1] || again[1]["code"] != "DUPLICATE_IN_BATCH" || again[2]["id"] != knownID {
		t.Fatalf("a repeated batch: %v", again)
	}
	if n := h.dossierCount(t); n != before+len(created) {
		t.Fatalf("a repeated batch created %d dossiers", n-before-len(created))
	}
}

// TestDossierBatchBadItemsAnywhere puts generated bad items at random positions among
// good ones: every good one is created, every bad one refused, nothing else written.
func TestDossierBatchBadItemsAnywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bad := []func(map[string]string){
		func(f map[string]string) { f["procedure"] = "0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11" },
		func(f map[string]string) { f["agency"] = "a-name-not-an-id" },
		func(f map[string]string) { f["phone"] = "12345" },
		func(f map[string]string) { f["cid"] = "099190001234" },
		func(f map[string]string) { f["lat"], f["lon"] = "48.85", "2.35" },
		func(f map[string]string) { f["unit"] = "99999" },
		func(f map[string]string) { f["pickup"], f["return"] = "false", "false" },
		func(f map[string]string) { f["agency"] = h.agency("Bảo hiểm xã hội").ID.String() },
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 23))
	for round := range 4 {
		before := h.dossierCount(t)
		n := 10 + rng.IntN(30)
		items, good := make([]string, n), make([]bool, n)
		for i := range items {
			ref := fmt.Sprintf("R%d-%d-%d", seed, round, i)
			if good[i] = rng.IntN(3) > 0; good[i] {
				items[i] = portalItem(h.dossierBody(nil), ref)
			} else {
				items[i] = portalItem(h.dossierBody(bad[rng.IntN(len(bad))]), ref)
			}
		}
		results := batchResults(t, h.do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(items...)), n)
		goods := 0
		for i, r := range results {
			if want := map[bool]string{true: "created", false: "refused"}[good[i]]; r["status"] != want {
				t.Fatalf("seed %d round %d item %d: %v, want %s", seed, round, i, r, want)
			}
			if good[i] {
				goods++
			} else if r["code"] != "VALIDATION_FAILED" || len(fieldsOf(r)) == 0 {
				t.Fatalf("seed %d round %d item %d: refused without its fields: %v", seed, round, i, r)
			}
		}
		var stored int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM dossiers WHERE portal_ref LIKE $1`, fmt.Sprintf("R%d-%d-%%", seed, round)).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != goods || h.dossierCount(t) != before+goods {
			t.Fatalf("seed %d round %d: %d good items, %d stored, %d dossiers more", seed, round, goods, stored, h.dossierCount(t)-before)
		}
	}
}

func TestDossierBatchRefusedWhole(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	over := make([]string, 1001)
	for i := range over {
		over[i] = portalItem(h.dossierBody(nil), fmt.Sprintf("OVER-%d", i))
	}
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty", `{"dossiers":[]}`, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
		{"no list", `{}`, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
		{"over the limit", batchOf(over...), http.StatusRequestEntityTooLarge, "BATCH_TOO_LARGE"},
		{"an unknown field", `{"dossiers":[],"more":1}`, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
	}
	before := h.dossierCount(t)
	for _, tc := range cases {
		r := h.do(t, http.MethodPost, "/v1/dossiers/batch", tc.body)
		if r.status != tc.status || r.body["code"] != tc.code {
			t.Errorf("%s: %d %.300s, want %d %s", tc.name, r.status, r.raw, tc.status, tc.code)
		}
	}
	if n := h.dossierCount(t); n != before {
		t.Fatalf("refused batches created %d dossiers", n-before)
	}
}

func TestDossierBatchRoles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := batchOf(h.dossierBody(nil), h.dossierBody(func(f map[string]string) { f["agency"] = h.agency("Sở Xây dựng").ID.String() }))
	before := h.dossierCount(t)
	if r := h.as("courier01").do(t, http.MethodPost, "/v1/dossiers/batch", body); r.status != http.StatusForbidden || r.body["code"] != "FORBIDDEN" {
		t.Fatalf("a courier sends a batch: %d %.300s", r.status, r.raw)
	}
	if h.dossierCount(t) != before {
		t.Fatal("a courier's batch created dossiers")
	}
	// A clerk opens dossiers for their own agency only, in a batch as one by one.
	results := batchResults(t, h.as("clerk").do(t, http.MethodPost, "/v1/dossiers/batch", body), 2)
	if results[0]["status"] != "created" || results[1]["status"] != "refused" || !slices.Equal(fieldsOf(results[1]), []string{"agency_id"}) {
		t.Fatalf("a clerk's batch: %v", results)
	}
	if h.dossierCount(t) != before+1 {
		t.Fatal("the clerk's batch must create exactly its own agency's dossier")
	}
}

// TestDossierBatchConcurrentRepeats sends the same portal batch from several clients at
// once, as a portal retrying over a slow link would: each reference is opened once, every
// answer names that one dossier, and the database holds one per reference.
func TestDossierBatchConcurrentRepeats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const refs, senders = 20, 4
	items := make([]string, refs)
	for i := range items {
		items[i] = portalItem(h.dossierBody(nil), fmt.Sprintf("RACE-%d", i))
	}
	body := batchOf(items...)
	h.token(t, "admin")
	answers := make([]reply, senders)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[s] = h.do(t, http.MethodPost, "/v1/dossiers/batch", body)
		}()
	}
	wg.Wait()
	ids, created := map[int]string{}, 0
	for _, a := range answers {
		for i, r := range batchResults(t, a, refs) {
			if r["status"] == "created" {
				created++
			} else if r["status"] != "known" {
				t.Fatalf("item %d: %v", i, r)
			}
			if ids[i] == "" {
				ids[i] = r["id"].(string)
			} else if ids[i] != r["id"] {
				t.Fatalf("item %d answered as %s and %s", i, ids[i], r["id"])
			}
		}
	}
	var stored int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM dossiers WHERE portal_ref LIKE 'RACE-%'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if created != refs || stored != refs {
		t.Fatalf("%d references: %d answered created, %d stored", refs, created, stored)
	}
}

// TestDossierBatchForeignReference: a clerk sending a reference another agency's dossier
// holds is refused, without learning that dossier's id.
func TestDossierBatchForeignReference(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	other := h.dossierBody(func(f map[string]string) {
		f["procedure"], f["agency"] = h.procedure(marriage).ID.String(), h.agency("Ủy ban nhân dân phường Phú Hòa").ID.String()
		f["return"] = "false"
	})
	if r := batchResults(t, h.do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(portalItem(other, "FOREIGN-1"))), 1); r[0]["status"] != "created" {
		t.Fatalf("admin's batch: %v", r)
	}
	r := batchResults(t, h.as("clerk").do(t, http.MethodPost, "/v1/dossiers/batch", batchOf(portalItem(h.dossierBody(nil), "FOREIGN-1"))), 1)
	if r[0]["status"] != "refused" || r[0]["code"] != "CONFLICT" || r[0]["id"] != nil || !slices.Equal(fieldsOf(r[0]), []string{"portal_ref"}) {
		t.Fatalf("a clerk sends another agency's reference: %v", r[0])
	}
}
