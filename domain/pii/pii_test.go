package pii_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"courierd/domain/pii"
)

func keyring(t *testing.T, keys map[string][]byte, current, index string) *pii.Keyring {
	t.Helper()
	k, err := pii.NewKeyring(keys, current, index, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRotation: data sealed under an old key opens once a new key seals; resealed, it opens
// without the old key; the blind index stays what it was, since its key does not rotate.
func TestRotation(t *testing.T) {
	old, next := bytes.Repeat([]byte{1}, pii.KeySize), bytes.Repeat([]byte{2}, pii.KeySize)
	before := keyring(t, map[string][]byte{"2026-01-01": old}, "2026-01-01", "2026-01-01")
	sealed, err := before.Seal("079123456789", "dossier-1")
	if err != nil || !strings.HasPrefix(sealed, "2026-01-01:") || strings.Contains(sealed, "079123456789") {
		t.Fatalf("sealed %q, %v", sealed, err)
	}
	both := keyring(t, map[string][]byte{"2026-01-01": old, "2026-11-24": next}, "2026-11-24", "2026-01-01")
	if plain, err := both.Open(sealed, "dossier-1"); err != nil || plain != "079123456789" {
		t.Fatalf("after adding a key, the old value opens as %q, %v", plain, err)
	}
	if before.Index("079123456789") != both.Index("079123456789") {
		t.Fatal("the blind index changed with the sealing key: every lookup by ID or phone would miss")
	}
	resealed, changed, err := both.Reseal(sealed, "dossier-1")
	if err != nil || !changed || !strings.HasPrefix(resealed, "2026-11-24:") {
		t.Fatalf("resealed %q, %v, %v", resealed, changed, err)
	}
	if again, changed, err := both.Reseal(resealed, "dossier-1"); err != nil || changed || again != resealed {
		t.Fatalf("resealing a current value: %q, %v, %v; want it as it is", again, changed, err)
	}
	after := keyring(t, map[string][]byte{"2026-11-24": next}, "2026-11-24", "2026-11-24")
	if plain, err := after.Open(resealed, "dossier-1"); err != nil || plain != "079123456789" {
		t.Fatalf("without the old key, the resealed value opens as %q, %v", plain, err)
	}
	if _, err := after.Open(sealed, "dossier-1"); err == nil {
		t.Fatal("a value sealed under a removed key opened")
	}
}

// TestSealedValuesAreBound: a sealed value does not open for another record, damaged, or
// under a key id the ring lacks, and cannot be resealed then.
func TestSealedValuesAreBound(t *testing.T) {
	k := keyring(t, map[string][]byte{"k": bytes.Repeat([]byte{3}, pii.KeySize)}, "k", "k")
	sealed, err := k.Seal("079123456789", "dossier-1")
	if err != nil {
		t.Fatal(err)
	}
	id, body, _ := strings.Cut(sealed, ":")
	// One character of the ciphertext changed (to another base64 character).
	swap := map[bool]string{true: "B", false: "A"}[body[10] == 'A']
	damaged := id + ":" + body[:10] + swap + body[11:]
	for name, attempt := range map[string][2]string{
		"another record": {sealed, "dossier-2"},
		"damaged":        {damaged, "dossier-1"},
		"unknown key":    {"other:" + body, "dossier-1"},
		"no key id":      {body, "dossier-1"},
	} {
		if plain, err := k.Open(attempt[0], attempt[1]); err == nil {
			t.Errorf("%s: opened as %q", name, plain)
		}
	}
	if _, _, err := k.Reseal("other:"+body, "dossier-1"); err == nil {
		t.Error("a value under a key the ring lacks was resealed")
	}
	if _, err := pii.NewKeyring(map[string][]byte{"k": make([]byte, 16)}, "k", "k", rand.Reader); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := pii.NewKeyring(map[string][]byte{"k": make([]byte, pii.KeySize)}, "k", "gone", rand.Reader); err == nil {
		t.Error("an index key that is not in the ring was accepted")
	}
}
