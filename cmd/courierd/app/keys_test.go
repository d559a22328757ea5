package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A key's age comes from the date its name begins with, else from its file's time, else
// (no file: a throwaway key) from the process's start.
func TestKeyAge(t *testing.T) {
	dir := t.TempDir()
	longAgo := time.Now().Add(-400 * 24 * time.Hour)
	for _, name := range []string{"k1.pem", "primary.key", "2025-13-01.key"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("key"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, longAgo, longAgo); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "2026-01-15.pem"), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, born := range map[string]time.Time{
		filepath.Join(dir, "2026-01-15.pem"):        time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
		filepath.Join(dir, "2024-06-30-second.pem"): time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		filepath.Join(dir, "k1.pem"):                longAgo,
		filepath.Join(dir, "primary.key"):           longAgo,
		filepath.Join(dir, "2025-13-01.key"):        longAgo,
		filepath.Join(dir, "ephemeral-1a2b.pem"):    time.Now(),
		"":                                          time.Now(),
	} {
		before := time.Since(born).Seconds()
		reg := prometheus.NewRegistry()
		reg.MustRegister(keyAge("age", "help", path))
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := families[0].GetMetric()[0].GetGauge().GetValue()
		// Read between before and now, with a second's slack for file times.
		if got < before-1 || got > time.Since(born).Seconds()+1 {
			t.Errorf("%s: age %v s, want %v s", path, got, before)
		}
	}
}
