package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// drillCannotRun is the drill's exit status when PostgreSQL's server binaries or pgBackRest
// are missing here (the automake convention for a skipped test).
const drillCannotRun = 77

// TestBackupDrill runs scripts/backup-drill.sh: a base backup under handhelds' writes, a
// restore point at T, more writes, a restore to T into a new directory. The script checks
// and says it passed; the test reads its figures again: every table restored holds exactly
// what was acknowledged at T, while writes did go on after T.
func TestBackupDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("the backup drill takes about a minute")
	}
	cmd := exec.CommandContext(t.Context(), "../../scripts/backup-drill.sh")
	// The drill stops its clusters and removes its directory when told to stop; a kill
	// would leave them behind.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == drillCannotRun {
		t.Skip(strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		t.Fatalf("the drill failed: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Log(out)

	rows := regexp.MustCompile(`(?m)^drill: (\w+): acknowledged at T (\d+), restored (\d+), at the end (\d+)$`).FindAllStringSubmatch(out, -1)
	var tables []string
	writtenAfterT := 0
	for _, row := range rows {
		atT, restored, atEnd := atoi(t, row[2]), atoi(t, row[3]), atoi(t, row[4])
		if restored != atT || atEnd < atT {
			t.Errorf("%s: acknowledged at T %d, restored %d, at the end %d", row[1], atT, restored, atEnd)
		}
		tables = append(tables, row[1])
		writtenAfterT += atEnd - atT
	}
	if want := []string{"dossiers", "dossier_events", "custody_entries", "sync_mutations"}; !slices.Equal(tables, want) {
		t.Errorf("tables compared: %v, want %v", tables, want)
	}
	if writtenAfterT == 0 {
		t.Error("nothing was written after T: the restore's stop at T is not shown")
	}
	for _, want := range []string{"refusing to restore into", "custody chains verify: ", "proof files: all ", "recovery point: T exactly", "recovery time: ", "drill: PASSED"} {
		if !strings.Contains(out, want) {
			t.Errorf("the drill's report lacks %q", want)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRestoreRefusesNonEmptyDataDir: scripts/pitr-restore.sh refuses, before pgBackRest
// runs, every data directory that holds anything (whatever the entry's name or kind) and a
// path that is not a directory; it leaves them as they were. A missing or empty directory
// is restored into, with the target asked for.
func TestRestoreRefusesNonEmptyDataDir(t *testing.T) {
	// The restore runs pgBackRest as the cluster's owner (postgres, when the test runs as
	// root): the stand-in must be theirs to reach, which a t.TempDir is not.
	dir, err := os.MkdirTemp("", "courierd-restore-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "pgbackrest")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"pgbackrest called: $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "pgbackrest.conf")
	if err := os.WriteFile(config, []byte("[global]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	restore := func(data string, target ...string) (string, error) {
		args := append([]string{"--config", config, "--stanza", "courierd", "--data", data}, target...)
		cmd := exec.Command("../../scripts/pitr-restore.sh", args...)
		cmd.Env = append(os.Environ(), "PGBACKREST="+fake)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	kinds := map[string]func(path string) error{
		"file":      func(p string) error { return os.WriteFile(p, []byte("x"), 0o600) },
		"empty dir": func(p string) error { return os.Mkdir(p, 0o700) },
		"symlink":   func(p string) error { return os.Symlink("/nonexistent", p) },
	}
	names := []string{"PG_VERSION", "postmaster.pid", ".hidden", "-rf", "a name with spaces", "lost+found"}
	for kind, create := range kinds {
		for _, name := range names {
			data := filepath.Join(t.TempDir(), "pgdata")
			if err := os.Mkdir(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := create(filepath.Join(data, name)); err != nil {
				t.Fatal(err)
			}
			out, err := restore(data, "--name", "before-the-mistake")
			if err == nil || !strings.Contains(out, "refusing to restore into "+data+": it is not empty") || strings.Contains(out, "pgbackrest called") {
				t.Errorf("a data directory holding a %s named %q: %v\n%s", kind, name, err, out)
			}
			if entries, _ := os.ReadDir(data); len(entries) != 1 || entries[0].Name() != name {
				t.Errorf("a refused restore changed the directory holding %q: %v", name, entries)
			}
		}
	}

	notDir := filepath.Join(t.TempDir(), "pgdata")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := restore(notDir, "--latest"); err == nil || !strings.Contains(out, "it exists and is not a directory") || strings.Contains(out, "pgbackrest called") {
		t.Errorf("a data path that is a file: %v\n%s", err, out)
	}
	for _, target := range [][]string{nil, {"--name"}, {"--name", "p", "--latest"}} {
		if out, err := restore(filepath.Join(t.TempDir(), "pgdata"), target...); err == nil || strings.Contains(out, "pgbackrest called") {
			t.Errorf("target %q was accepted: %s", target, out)
		}
	}

	// Where there is nothing to lose, pgBackRest is called to restore there.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, data := range []string{empty, missing} {
		out, err := restore(data, "--time", "2026-12-06 05:03:09+00")
		want := "pgbackrest called: --config=" + config + " --stanza=courierd --pg1-path=" + data +
			" --type=time --target=2026-12-06 05:03:09+00 --target-action=promote restore"
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("restore into %s: %v\n%s\nwant %s", data, err, out, want)
		}
		if info, err := os.Stat(data); err != nil || info.Mode().Perm() != 0o700 || !info.IsDir() {
			t.Errorf("%s after the restore: %v, %v (want a directory only its owner reaches)", data, info, err)
		}
	}
}
