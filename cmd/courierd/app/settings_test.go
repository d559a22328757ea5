package app

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestSettings(t *testing.T) {
	t.Run("defaults are valid", func(t *testing.T) {
		c, err := Load(envOf(nil))
		if err != nil || c.Port != 8080 || c.BodyLimit != 1<<20 || c.ShutdownTimeout != 20*time.Second {
			t.Fatalf("defaults: %+v, %v", c, err)
		}
	})
	t.Run("every bad value is reported at once", func(t *testing.T) {
		_, err := Load(envOf(map[string]string{"PORT": "http", "SHUTDOWN_TIMEOUT": "-1s", "LOG_LEVEL": "loud", "BLOB_STORE_URL": "ftp://x/y"}))
		for _, name := range []string{"PORT", "SHUTDOWN_TIMEOUT", "LOG_LEVEL", "BLOB_STORE_URL"} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		}
	})
	t.Run("map tiles", func(t *testing.T) {
		for url, ok := range map[string]bool{
			"https://tiles.example.vn/{z}/{x}/{y}.png": true, "https://{s}.tile.example.org/{z}/{x}/{y}.png": true,
			"http://10.0.0.5:8081/{z}/{x}/{y}.png": true, "https://tiles.example.vn/tile.png": false,
			"javascript:alert(1)//{z}{x}{y}": false, "ftp://tiles.example.vn/{z}/{x}/{y}.png": false, "/tiles/{z}/{x}/{y}.png": false,
		} {
			c, err := Load(envOf(map[string]string{"MAP_TILE_URL": url}))
			if (err == nil) != ok || (ok && c.MapTileURL != url) {
				t.Errorf("MAP_TILE_URL=%s: %v, want accepted %v", url, err, ok)
			}
		}
	})
	t.Run("a pooler needs a direct URL", func(t *testing.T) {
		const pooled, direct = "postgres://courier@pgbouncer:6432/courier", "postgres://courier@db:5432/courier"
		for env, ok := range map[[3]string]bool{
			{"pgbouncer", pooled, direct}: true, {"", pooled, ""}: true, {"", direct, direct}: true,
			{"pgbouncer", pooled, ""}: false, {"pgbouncer", pooled, pooled}: false, {"pgcat", pooled, direct}: false,
		} {
			c, err := Load(envOf(map[string]string{"DATABASE_POOLER": env[0], "DATABASE_URL": env[1], "DATABASE_DIRECT_URL": env[2]}))
			if (err == nil) != ok || (ok && (c.DatabasePooler != env[0] || c.DatabaseDirectURL != env[2])) {
				t.Errorf("DATABASE_POOLER=%q DATABASE_URL=%s DATABASE_DIRECT_URL=%q: %v, want accepted %v", env[0], env[1], env[2], err, ok)
			}
			if err != nil && !strings.Contains(err.Error(), "DATABASE_") {
				t.Errorf("the error names no setting: %v", err)
			}
		}
	})
	t.Run("the listing names every setting", func(t *testing.T) {
		var out bytes.Buffer
		PrintSettings(&out)
		for _, s := range settings {
			if !strings.Contains(out.String(), s.name+"=") {
				t.Fatalf("the listing lacks %s", s.name)
			}
		}
	})
	t.Run("the configuration page lists every setting, and marks the secrets", func(t *testing.T) {
		page, err := os.ReadFile("../../../docs/CONFIGURATION.md")
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]string{}
		for _, line := range strings.Split(string(page), "\n") {
			if name, _, ok := strings.Cut(strings.TrimPrefix(line, "| `"), "` |"); ok && strings.HasPrefix(line, "| `") {
				rows[name] = line
			}
		}
		for _, s := range settings {
			row, listed := rows[s.name]
			if !listed {
				t.Errorf("docs/CONFIGURATION.md's table lacks %s", s.name)
			} else if marked := strings.Contains(row, "| **secret**"); marked != s.secret {
				t.Errorf("docs/CONFIGURATION.md marks %s secret: %v; the code says %v", s.name, marked, s.secret)
			}
		}
	})
}

// TestSecretsFromFiles: every secret setting reads the same from NAME as from the file
// NAME_FILE names (its last newline trimmed); setting both, or naming a file that cannot
// be read, is an error that names the variables and never shows the file's content; a
// setting that is not a secret is not read from a file.
func TestSecretsFromFiles(t *testing.T) {
	// One value every secret takes: 32 characters and more, and an s3:// URL.
	const value = "s3://key:s3cr3t-value@store.example.vn/proofs-bucket"
	dir := t.TempDir()
	file := filepath.Join(dir, "value")
	if err := os.WriteFile(file, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := 0
	for _, s := range settings {
		if !s.secret {
			_, err := Load(envOf(map[string]string{s.name + "_FILE": file}))
			if err == nil || !strings.Contains(err.Error(), s.name+"_FILE") {
				t.Errorf("%s_FILE, for a setting that is not a secret: %v; want an error naming it", s.name, err)
			}
			continue
		}
		secrets++
		fromEnv, err := Load(envOf(map[string]string{s.name: value}))
		if err != nil {
			t.Fatalf("%s=%s: %v", s.name, value, err)
		}
		fromFile, err := Load(envOf(map[string]string{s.name + "_FILE": file}))
		if err != nil || !reflect.DeepEqual(fromFile, fromEnv) || reflect.DeepEqual(fromFile, Defaults()) {
			t.Errorf("%s_FILE read differently from %s, or not at all: %v", s.name, s.name, err)
		}
		for why, env := range map[string]map[string]string{
			"both set":     {s.name: value, s.name + "_FILE": file},
			"no such file": {s.name + "_FILE": filepath.Join(dir, "missing")},
			"not a file":   {s.name + "_FILE": dir},
		} {
			_, err := Load(envOf(env))
			if err == nil || !strings.Contains(err.Error(), s.name+"_FILE") || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%s, %s: %v; want an error naming %s_FILE without the secret", s.name, why, err, s.name)
			}
		}
	}
	if secrets < 8 {
		t.Fatalf("%d settings are secrets; the database URL, the store URL, the tokens, the shared secrets and the seed password are", secrets)
	}
	// A value the setting refuses is named, not shown.
	bad := filepath.Join(dir, "short")
	if err := os.WriteFile(bad, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(envOf(map[string]string{"METRICS_TOKEN_FILE": bad})); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("a short metrics token from a file: %v; want an error without it", err)
	}
}
