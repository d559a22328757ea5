package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
)

// cursorList is a list route and the SQL that reads its ids in the list's own order.
type cursorList struct {
	path, order string
}

var cursorLists = []cursorList{
	// Nullable date first, ties broken by time then id: the spelled-out keyset condition.
	{"/v1/dossiers", "SELECT id::text FROM dossiers ORDER BY next_deadline NULLS LAST, created_at, id"},
	{"/v1/tasks", "SELECT id::text FROM tasks ORDER BY scheduled_for NULLS LAST, updated_at, id"},
	// One key, descending: the row comparison.
	{"/v1/audit", "SELECT id::text FROM audit_log ORDER BY audit_log.id DESC"},
}

// orderedIDs reads a list's ids in order straight from the database.
func (h *harness) orderedIDs(t *testing.T, query string) []string {
	t.Helper()
	rows, err := h.db.SQL().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// tieKeys squeezes the dossiers' and tasks' order keys onto a few values, NULL among them,
// so that most rows tie on the first keys and only the id tells them apart.
func (h *harness) tieKeys(t *testing.T) {
	t.Helper()
	for _, stmt := range []string{
		`UPDATE dossiers SET next_deadline = (ARRAY[NULL, '2026-12-01', '2026-12-02']::date[])[1 + abs(hashtext(id::text)) % 3],
			created_at = (ARRAY['2026-11-01 08:00+07', '2026-11-01 08:00:00.000001+07']::timestamptz[])[1 + abs(hashtext(id::text || 'c')) % 2]`,
		`UPDATE tasks SET scheduled_for = (ARRAY[NULL, '2026-12-01']::date[])[1 + abs(hashtext(id::text)) % 2],
			updated_at = '2026-11-01 08:00+07'`,
	} {
		if _, err := h.db.SQL().ExecContext(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
}

// pageThrough follows a list's cursors with random limits; between pages, insert may add
// rows, and it is told the last id seen so far. It answers the ids in the order received.
func (h *harness) pageThrough(t *testing.T, rng *rand.Rand, path string, insert func(lastSeen string)) []string {
	t.Helper()
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%s: the cursors do not end", path)
		}
		limit := 1 + rng.IntN(7)
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := h.do(t, http.MethodGet, path+"?"+q.Encode(), "")
		if r.status != http.StatusOK {
			t.Fatalf("%s?%s: %d %s", path, q.Encode(), r.status, r.raw)
		}
		items := r.body["items"].([]any)
		if len(items) > limit {
			t.Fatalf("%s: %d items for limit %d", path, len(items), limit)
		}
		for _, it := range items {
			// Audit entries have numbers for ids, the rest UUIDs.
			switch id := it.(map[string]any)["id"].(type) {
			case float64:
				got = append(got, strconv.FormatFloat(id, 'f', -1, 64))
			default:
				got = append(got, fmt.Sprint(id))
			}
		}
		next, more := r.body["next_cursor"].(string)
		if !more {
			return got
		}
		if len(items) != limit {
			t.Fatalf("%s: a short page (%d of %d) offers a next cursor", path, len(items), limit)
		}
		cursor = next
		if insert != nil {
			insert(got[len(got)-1])
		}
	}
}

// TestCursorPagesCoverTheList pages through lists with ties in their order keys: the pages
// put together are the whole list in order, each row once.
func TestCursorPagesCoverTheList(t *testing.T) {
	h := newHarness(t, nil)
	h.playDemo(t, 40)
	h.tieKeys(t)
	h.token(t, "admin") // logging in is audited: before the audit log is read
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 23))
		for _, l := range cursorLists {
			want := h.orderedIDs(t, l.order)
			if len(want) < 20 {
				t.Fatalf("%s: only %d rows to page through", l.path, len(want))
			}
			if got := h.pageThrough(t, rng, l.path, nil); !slices.Equal(got, want) {
				t.Fatalf("seed %d, %s: pages give\n%v\nwant\n%v", seed, l.path, got, want)
			}
		}
	}
}

// TestCursorPagesUnderInserts opens dossiers between pages: none already seen comes back,
// none of the list as it was is lost, and those sorting after the page read appear.
func TestCursorPagesUnderInserts(t *testing.T) {
	h := newHarness(t, nil)
	h.playDemo(t, 30)
	h.tieKeys(t)
	order := cursorLists[0].order
	before := h.orderedIDs(t, order)
	rng := rand.New(rand.NewPCG(5, 23))
	seenWhenAdded := map[string]string{} // new dossier → last id read when it was opened
	got := h.pageThrough(t, rng, "/v1/dossiers", func(lastSeen string) {
		for range rng.IntN(3) {
			id := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
			seenWhenAdded[id] = lastSeen
		}
	})
	if len(seenWhenAdded) == 0 {
		t.Fatal("no dossier was opened while paging")
	}
	after := h.orderedIDs(t, order)
	at := map[string]int{}
	for i, id := range after {
		at[id] = i
	}
	for i := 1; i < len(got); i++ {
		if at[got[i-1]] >= at[got[i]] {
			t.Fatalf("%s came after %s: out of order or repeated", got[i], got[i-1])
		}
	}
	received := map[string]bool{}
	for _, id := range got {
		received[id] = true
	}
	for _, id := range before {
		if !received[id] {
			t.Fatalf("dossier %s, there all along, was skipped", id)
		}
	}
	appeared := 0
	for id, last := range seenWhenAdded {
		if later := at[id] > at[last]; later != received[id] {
			t.Fatalf("dossier %s opened after %s: sorts after it %v, received %v", id, last, later, received[id])
		}
		if received[id] {
			appeared++
		}
	}
	t.Logf("%d dossiers opened while paging, %d of them after the cursor and received", len(seenWhenAdded), appeared)
}

// TestCursorRefused answers a coded 422 to cursors that are not this list's and to a
// cursor with an offset.
func TestCursorRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.playDemo(t, 5)
	auditCursor := h.do(t, http.MethodGet, "/v1/audit?limit=1", "").body["next_cursor"].(string)
	dossierCursor := h.do(t, http.MethodGet, "/v1/dossiers?limit=1", "").body["next_cursor"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(dossierCursor)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	forged := func(body string) string { return enc(append([]byte{raw[0]}, body...)) }
	for name, cursor := range map[string]string{
		"not base64":          "!!!",
		"padded base64":       dossierCursor + "==",
		"empty body":          enc(raw[:1]),
		"unknown version":     enc(append([]byte{raw[0] + 1}, raw[1:]...)),
		"not JSON":            forged("{"),
		"another list's":      auditCursor,
		"too few keys":        forged(`{"l":"dossier","k":["2026-12-01T00:00:00Z"]}`),
		"not a time":          forged(`{"l":"dossier","k":["2026-12-01T00:00:00Z","soon","` + "00000000-0000-0000-0000-000000000000" + `"]}`),
		"not an id":           forged(`{"l":"dossier","k":[null,"2026-12-01T00:00:00Z","7"]}`),
		"NULL where none can": forged(`{"l":"dossier","k":[null,null,"00000000-0000-0000-0000-000000000000"]}`),
		"truncated":           dossierCursor[:len(dossierCursor)/2],
	} {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodGet, "/v1/dossiers?cursor="+url.QueryEscape(cursor), ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "cursor")
		})
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/dossiers?offset=1&cursor="+dossierCursor, ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "offset")
}

// TestAccountPagesByCursor: the accounts list pages by cursor like every list; over
// generated accounts, pages of random sizes give every account once, in username order.
func TestAccountPagesByCursor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	agency := h.agency("Sở Tư pháp").ID.String()
	rng := rand.New(rand.NewPCG(7, 23))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for i := range 40 {
		name := []byte{letters[rng.IntN(26)], letters[rng.IntN(26)], letters[rng.IntN(26)]}
		h.mustCreate(t, "/v1/accounts", fmt.Sprintf(`{"username":"nv.%s%02d","password":"long enough secret","role":"clerk","agency_id":%q}`, name, i, agency), "id")
	}
	want := h.orderedIDs(t, "SELECT id::text FROM accounts ORDER BY username")
	if len(want) < 40 {
		t.Fatalf("only %d accounts to page through", len(want))
	}
	for seed := range uint64(3) {
		got := h.pageThrough(t, rand.New(rand.NewPCG(seed, 23)), "/v1/accounts", nil)
		seen := map[string]int{}
		for _, id := range got {
			seen[id]++
		}
		if !slices.Equal(got, want) || len(seen) != len(want) {
			t.Fatalf("seed %d: pages give %d accounts (%d distinct), want all %d in order", seed, len(got), len(seen), len(want))
		}
	}
	t.Logf("%d accounts, each seen once per walk", len(want))
}
