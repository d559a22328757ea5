package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/storage"
)

// TestOldProofsAreDeleted: the signature of a dossier closed longer ago than the
// retention is deleted, with an audit entry, and is not asked of the device again; the
// custody chain still verifies; a signature of a dossier still open, or closed lately,
// stays. A second pass deletes nothing.
func TestOldProofsAreDeleted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	signed := func(id string, seq int, signature []byte) string {
		t.Helper()
		hash := sha(signature)
		if r := h.blob(t, http.MethodPut, hash, signature); r.status >= 300 {
			t.Fatalf("upload: %d %s", r.status, r.raw)
		}
		payload := `{"signature_sha256":"` + hash + `","fee_collected_vnd":115000}`
		if r := h.push(t, "courier01", mutation(seq, uuid.NewString(), "task.pickup.v1", pickupTask(h, t, id), payload)); statuses(r) != "applied" {
			t.Fatalf("pickup: %s", r.raw)
		}
		return hash
	}
	oldClosed, lateClosed, open := h.assigned(t, "courier01"), h.assigned(t, "courier01"), h.assigned(t, "courier01")
	oldHash := signed(oldClosed, 1, append(slices.Clone(png1x1), 1))
	lateHash := signed(lateClosed, 2, append(slices.Clone(png1x1), 2))
	openHash := signed(open, 3, append(slices.Clone(png1x1), 3))
	// Closed a year and a half ago, and last week (the dossiers' later life is not the point).
	for id, age := range map[string]time.Duration{oldClosed: 540 * 24 * time.Hour, lateClosed: 7 * 24 * time.Hour} {
		if _, err := h.db.SQL().Exec(`UPDATE dossiers SET state = 'delivered', updated_at = $2 WHERE id = $1`, id, time.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := storage.NewFileBlobs(h.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deleted, err := storage.DeleteOldProofs(ctx, h.db, files, time.Now().Add(-365*24*time.Hour), 365)
	if err != nil || deleted != 1 {
		t.Fatalf("deleted %d, %v; want the one closed 540 days ago", deleted, err)
	}
	for hash, kept := range map[string]bool{oldHash: false, lateHash: true, openHash: true} {
		has, err := files.Has(ctx, hash)
		if err != nil || has != kept {
			t.Errorf("%s…: kept %v (%v), want %v", hash[:8], has, err, kept)
		}
	}
	var audited int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'proof.deleted' AND resource_id = $1 AND detail->>'sha256' = $2`,
		oldClosed, oldHash).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("audit entries for the deletion: %d, %v", audited, err)
	}
	if v := h.do(t, http.MethodGet, "/v1/dossiers/"+oldClosed+"/custody/verify", ""); v.body["intact"] != true {
		t.Fatalf("the custody chain after its proof went: %s", v.raw)
	}
	pulled := h.pull(t, "courier01", &device{}, 100)
	for _, missing := range pulled.body["missing_attachments"].([]any) {
		if missing == oldHash {
			t.Fatal("the device is asked for a proof deleted on purpose")
		}
	}
	if again, err := storage.DeleteOldProofs(ctx, h.db, files, time.Now().Add(-365*24*time.Hour), 365); err != nil || again != 0 {
		t.Fatalf("a second pass deleted %d, %v", again, err)
	}
}
