package app

import (
	"bytes"
	"os"
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
	t.Run("the listing names every setting", func(t *testing.T) {
		var out bytes.Buffer
		PrintSettings(&out)
		for _, s := range settings {
			if !strings.Contains(out.String(), s.name+"=") {
				t.Fatalf("the listing lacks %s", s.name)
			}
		}
	})
	t.Run("the configuration page lists every setting", func(t *testing.T) {
		page, err := os.ReadFile("../../../docs/CONFIGURATION.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range settings {
			if !strings.Contains(string(page), "| `"+s.name+"` |") {
				t.Errorf("docs/CONFIGURATION.md's table lacks %s", s.name)
			}
		}
	})
}
