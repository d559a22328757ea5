package main

import (
	"database/sql"
	"strings"
	"testing"

	"courierd/storage/dbtest"
)

// TestDataKeyRotation: an operator adds a data key, which seals from then on, and reseals
// what the old one sealed, and the webhook secret the previous release kept in plain text;
// a second reseal finds nothing left, and every sealed value in the database names the new
// key. (That the values open, and that lookups by the blind
// index still match, is domain/pii's TestRotation.)
func TestDataKeyRotation(t *testing.T) {
	env := map[string]string{"DATABASE_URL": dbtest.NewEmpty(t), "AUTH_KEY_DIR": t.TempDir(), "DATA_KEY_DIR": t.TempDir(), "SEED_PASSWORD": simPassword}
	for _, args := range [][]string{{"migrate", "up"}, {"seed", "--dossiers", "12"}} {
		if out, err := runCmd(t, env, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	if _, err := runCmd(t, env, "datakey", "../escape"); err == nil {
		t.Fatal("a key id with a slash was accepted")
	}
	if out, err := runCmd(t, env, "datakey", "2999-01-01"); err != nil || !strings.Contains(out, "2999-01-01.key") {
		t.Fatalf("datakey: %v %s", err, out)
	}
	db, err := sql.Open("pgx", env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dossiers int
	if err := db.QueryRow(`SELECT count(*) FROM dossiers`).Scan(&dossiers); err != nil || dossiers == 0 {
		t.Fatalf("%d dossiers, %v", dossiers, err)
	}
	if _, err := db.Exec(`INSERT INTO webhook_subscribers (id, name, url, secret, created_at)
		VALUES (gen_random_uuid(), 'Cổng cũ', 'https://portal.example.vn/hook', 'a secret the previous release kept in plain', now())`); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, env, "reseal"); err != nil || !strings.Contains(out, "resealed 1 webhook secrets") || strings.Contains(out, "resealed 0 ") {
		t.Fatalf("reseal: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "reseal"); err != nil || !strings.Contains(out, "resealed 0 dossiers") || !strings.Contains(out, "resealed 0 webhook secrets") {
		t.Fatalf("a second reseal: %v %s; want nothing left", err, out)
	}
	// Indexes were made with the oldest key: a server told to use another refuses.
	mismatched := map[string]string{"DATA_INDEX_KEY_ID": "2999-01-01"}
	for k, v := range env {
		if _, set := mismatched[k]; !set {
			mismatched[k] = v
		}
	}
	if out, err := runCmd(t, mismatched, "reseal"); err == nil || !strings.Contains(err.Error(), "DATA_INDEX_KEY_ID") {
		t.Fatalf("another blind-index key was accepted: %v %s", err, out)
	}
	var stale int
	if err := db.QueryRow(`SELECT count(*) FROM dossiers WHERE citizen_id_sealed NOT LIKE '2999-01-01:%'
		OR (handover_sealed <> '' AND handover_sealed NOT LIKE '2999-01-01:%')`).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d of %d dossiers still sealed under the old key (%v)", stale, dossiers, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM webhook_subscribers WHERE secret IS NOT NULL OR secret_sealed NOT LIKE '2999-01-01:%'`).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d webhook secrets in plain text or under the old key (%v)", stale, err)
	}
}
