package app

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"courierd/domain/pii"
)

// loadDataKeys reads DATA_KEY_DIR's <id>.key files into a keyring, and names the key
// that seals. With none there it creates one, since refusing to start would stop the
// service while a throwaway key would make sealed ID numbers unreadable after a restart;
// and it says so.
func loadDataKeys(cfg Settings, log *slog.Logger) (*pii.Keyring, string, error) {
	paths, err := filepath.Glob(filepath.Join(cfg.DataKeyDir, "*.key"))
	if err != nil {
		return nil, "", err
	}
	if len(paths) == 0 {
		path, err := WriteDataKey(cfg.DataKeyDir, time.Now().UTC().Format("2006-01-02"))
		if err != nil {
			return nil, "", fmt.Errorf("no data key in %s and none could be created: %w", cfg.DataKeyDir, err)
		}
		log.Warn("created a data key for sealing citizen ID numbers; back it up: without it those numbers are lost", "path", path)
		paths = []string{path}
	}
	sort.Strings(paths)
	keys := map[string][]byte{}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, "", err
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			return nil, "", fmt.Errorf("%s: not base64", path)
		}
		keys[strings.TrimSuffix(filepath.Base(path), ".key")] = key
	}
	idOf := func(path string) string { return strings.TrimSuffix(filepath.Base(path), ".key") }
	// Keys are named by date: the newest seals, the oldest keys the blind index, unless
	// configured otherwise.
	current := cmp.Or(cfg.DataKeyID, idOf(paths[len(paths)-1]))
	ring, err := pii.NewKeyring(keys, current, cmp.Or(cfg.DataIndexKeyID, idOf(paths[0])), rand.Reader)
	return ring, current, err
}

func WriteDataKey(dir, id string) (string, error) {
	key, err := pii.NewKey()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, id+".key")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	return path, err
}

// keyAge is a gauge of how old the key file at path is, for rotation alerts: from the
// date its name begins with (keygen and datakey name keys by the day they made them),
// else from the file's modification time; a key with no file (a throwaway signing key)
// is as old as the process.
func keyAge(name, help, path string) prometheus.GaugeFunc {
	born, file := time.Now(), filepath.Base(path)
	if date, err := time.Parse(time.DateOnly, file[:min(len(file), len(time.DateOnly))]); err == nil {
		born = date
	} else if info, err := os.Stat(path); err == nil {
		born = info.ModTime()
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return time.Since(born).Seconds() })
}
