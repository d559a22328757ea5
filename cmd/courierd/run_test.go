package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/domain/demo"
	"courierd/domain/dossier"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// lockedBuffer is a log the server writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// jobCounts is how many River jobs of each kind the database holds, done or not.
func jobCounts(t *testing.T, databaseURL string) map[string]int {
	t.Helper()
	db, err := storage.Open(context.Background(), databaseURL, storage.PoolConfig{MaxOpenConns: 1}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().Query(`SELECT kind, count(*) FROM river_job GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			t.Fatal(err)
		}
		counts[kind] = n
	}
	return counts
}

// TestRunBannerLast walks what make run does (migrate up, seed --brief, serve --banner):
// each step's last line says what it did; the seeded history leaves no notice nor webhook
// to send, only its timers; the server's banner, with the addresses and the generated
// password, comes after every line of its start; and events played after the seeding
// are told as usual, their notices logged after the banner.
func TestRunBannerLast(t *testing.T) {
	const citizens, dossiers = 50, 40
	env := map[string]string{"DATABASE_URL": dbtest.NewEmpty(t), "PORT": freePort(t), "HOST": "127.0.0.1", "SHUTDOWN_TIMEOUT": "5s",
		"AUTH_KEY_DIR": t.TempDir(), "DATA_KEY_DIR": t.TempDir(), "BLOB_DIR": t.TempDir(), "OTP_SENDER": "log"}
	if out, err := runCmd(t, env, "keygen", env["AUTH_KEY_DIR"], "k1"); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	lastLine := func(out string) string {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		return lines[len(lines)-1]
	}
	out, err := runCmd(t, env, "migrate", "up")
	if err != nil || !regexp.MustCompile(`^migrated 0 → \d+$`).MatchString(lastLine(out)) {
		t.Fatalf("migrate up's last line: %v %q", err, lastLine(out))
	}
	if out, err := runCmd(t, env, "migrate", "up"); err != nil || !strings.HasPrefix(out, "schema already current (version ") {
		t.Fatalf("migrate up again: %v %q", err, out)
	}

	var seedOut bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--brief", "--citizens", "50", "--dossiers", "40"}, envOf(env), &seedOut, io.Discard); err != nil {
		t.Fatalf("seed --brief: %v %s", err, seedOut.String())
	}
	summary := lastLine(seedOut.String())
	if !regexp.MustCompile(`^seeded the demo \(40 dossiers, \d+ events, \d+ accounts, 50 citizens\)$`).MatchString(summary) {
		t.Fatalf("seed --brief's last line: %q", summary)
	}
	note := strings.TrimSuffix(strings.TrimRight(seedOut.String(), "\n"), summary)
	_, after, found := strings.Cut(note, "share the password ")
	password, _, _ := strings.Cut(after, "\n")
	if !found || len(password) < 20 {
		t.Fatalf("seed --brief's note holds no generated password: %q", note)
	}
	if out, err := runCmd(t, env, "seed", "--brief"); err != nil || !strings.Contains(out, "password was shown when they were seeded") ||
		lastLine(out) != "found the demo already seeded" || strings.Contains(out, password) {
		t.Fatalf("seed --brief on a seeded database: %v %q", err, out)
	}

	// The history is the past: nobody is told of it, but its holds still end.
	seeded := jobCounts(t, env["DATABASE_URL"])
	if seeded[string(dossier.JobNotifyApplicant)] != 0 || seeded[string(dossier.JobWebhook)] != 0 {
		t.Fatalf("the seeded history left notices or webhooks to send: %v", seeded)
	}
	t.Logf("jobs after seeding %d dossiers: %v", dossiers, seeded)

	notePath := filepath.Join(t.TempDir(), "note")
	if err := os.WriteFile(notePath, []byte(note), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--banner", notePath}, envOf(env), io.Discard, &logs) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://127.0.0.1:" + env["PORT"]
	waitFor(t, base+"/readyz")
	const bannerHead = "courierd is listening on 127.0.0.1:" // the banner's first line
	waitUntil(t, "the banner", func() bool { return strings.Contains(logs.String(), "(Ctrl-C stops it)") })

	// The same plans again, played as anyone would: each is told, its notices sent (the
	// log's), after the banner.
	cfg, err := app.Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	ds := demo.Build(2018, citizens)
	clock := demo.NewClock(ds)
	core, err := app.OpenCore(context.Background(), cfg, app.Deps{DossierClock: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	played, err := demo.Play(auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin, Source: "test"}), core.Dossiers,
		clock, demo.DossierPlans(ds, 2018, dossiers))
	if err := errors.Join(err, core.Close(context.Background())); err != nil {
		t.Fatal(err)
	}
	now := jobCounts(t, env["DATABASE_URL"])
	notices := now[string(dossier.JobNotifyApplicant)]
	if notices == 0 || now[string(dossier.JobWebhook)] != played ||
		now[string(dossier.JobHoldExpiry)] != 2*seeded[string(dossier.JobHoldExpiry)] {
		t.Fatalf("%d events played after seeding must be told: jobs %v (after seeding %v)", played, now, seeded)
	}
	t.Logf("%d events played after seeding: jobs %v", played, now)
	waitUntil(t, "the new events' notices", func() bool { return strings.Count(logs.String(), `"notice to applicant"`) == notices })

	lines := strings.Split(strings.TrimRight(logs.String(), "\n"), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, bannerHead) })
	if start < 0 {
		t.Fatalf("no banner in the log:\n%s", logs.String())
	}
	// The banner is for a person: its lines are not the log's JSON.
	end := start + slices.IndexFunc(append(lines[start:], "{"), func(l string) bool { return strings.HasPrefix(l, "{") })
	before, banner, rest := strings.Join(lines[:start], "\n"), strings.Join(lines[start:end], "\n"), lines[end:]
	if !strings.Contains(before, `"msg":"serving"`) || strings.Contains(before, "notice to applicant") {
		t.Fatalf("before the banner, the start's log and no notice:\n%s", before)
	}
	if strings.Contains(before+strings.Join(rest, "\n"), password) {
		t.Fatal("the password went into the log")
	}
	for _, want := range []string{base + "/console", base + "/tra-cuu", base + "/openapi.json", base + "/readyz", "share the password " + password} {
		if !strings.Contains(banner, want) {
			t.Fatalf("the banner lacks %q:\n%s", want, banner)
		}
	}
	// After the banner, only what happens: requests and the new events' notices.
	for _, line := range rest {
		var entry struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil || (entry.Msg != "notice to applicant" && entry.Msg != "request") {
			t.Fatalf("after the banner, a line of the start: %q", line)
		}
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not come", what)
}
