package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"courierd/storage/dbtest"
)

func TestMain(m *testing.M) {
	if code, child := runAsChild(); child {
		os.Exit(code)
	}
	os.Exit(dbtest.Main(m))
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, envOf(env), &out, &errOut)
	return out.String() + errOut.String(), err
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// TestCommands: the config command prints every setting (what it prints is app's
// TestSettings), and an unknown command fails.
func TestCommands(t *testing.T) {
	out, err := runCmd(t, nil, "config")
	if err != nil || !strings.Contains(out, "DATABASE_URL=") || !strings.Contains(out, "SEED_PASSWORD=") {
		t.Fatalf("config: %v\n%s", err, out)
	}
	if _, err := runCmd(t, nil, "launch"); err == nil {
		t.Fatal("an unknown command must fail")
	}
	defer func(was string) { version = was }(version)
	version = "v1.2.3-4-gabcdef0"
	if out, err := runCmd(t, nil, "version"); err != nil || out != "courierd v1.2.3-4-gabcdef0\n" {
		t.Fatalf("version prints the version the build was given: %v %q", err, out)
	}
}

// TestLifecycle walks an operator's day: serve refuses an unmigrated database, migrate,
// seed (twice, then with --reset), serve, answer, stop on a signal.
func TestLifecycle(t *testing.T) {
	const scraper = "the lifecycle test's metrics scraper token"
	env := map[string]string{"DATABASE_URL": dbtest.NewEmpty(t), "PORT": freePort(t), "HOST": "127.0.0.1", "SHUTDOWN_TIMEOUT": "5s",
		"AUTH_KEY_DIR": t.TempDir(), "DATA_KEY_DIR": t.TempDir(), "METRICS_TOKEN": scraper}
	if out, err := runCmd(t, env, "keygen", env["AUTH_KEY_DIR"], "k1"); err != nil || !strings.Contains(out, "k1.pem") {
		t.Fatalf("keygen: %v %s", err, out)
	}

	if out, err := runCmd(t, env, "serve"); err == nil || !strings.Contains(err.Error(), "courierd migrate up") {
		t.Fatalf("serve on an empty database: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "healthcheck"); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("healthcheck with no server: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "seed"); err == nil || !strings.Contains(err.Error(), "courierd migrate up") {
		t.Fatalf("seed on an empty database: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "migrate", "up"); err != nil || !strings.Contains(out, "applied") {
		t.Fatalf("migrate up: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "migrate", "status"); err != nil || strings.Contains(out, "pending") {
		t.Fatalf("migrate status after up: %v %s", err, out)
	}
	// A proof store that cannot be used stops the server at start, and says why without
	// showing the secret.
	s3 := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer s3.Close()
	withS3 := map[string]string{"BLOB_STORE_URL": "s3://key:s3cr3t@" + strings.TrimPrefix(s3.URL, "http://") + "/proofs?tls=false"}
	for k, v := range env {
		withS3[k] = v
	}
	if out, err := runCmd(t, withS3, "serve"); err == nil || !strings.Contains(err.Error(), `no bucket "proofs"`) || strings.Contains(err.Error()+out, "s3cr3t") {
		t.Fatalf("serve with a missing bucket: %v %s", err, out)
	}
	withPassword := map[string]string{"SEED_PASSWORD": "short"}
	for k, v := range env {
		withPassword[k] = v
	}
	if _, err := runCmd(t, withPassword, "seed"); err == nil || !strings.Contains(err.Error(), "SEED_PASSWORD") {
		t.Fatalf("a too short SEED_PASSWORD must be refused: %v", err)
	}
	withPassword["SEED_PASSWORD"] = "a-long-enough-password"
	// Every courier's last forty minutes: ten points each of the demo's twelve couriers.
	if out, err := runCmd(t, withPassword, "seed", "--dossiers", "40"); err != nil || !strings.Contains(out, "opened 40 demo dossiers") ||
		!strings.Contains(out, "stored 120 GPS points") || strings.Contains(out, "share the password") {
		t.Fatalf("seed: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "seed"); err != nil || !strings.Contains(out, "nothing seeded") {
		t.Fatalf("second seed must leave the data alone: %v %s", err, out)
	}
	out, err := runCmd(t, env, "seed", "--reset", "--citizens", "50", "--dossiers", "30")
	if err != nil || !strings.Contains(out, "50 citizens") {
		t.Fatalf("seed --reset: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "verify-custody"); err != nil || !strings.Contains(out, "checked 30 dossiers") || !strings.Contains(out, ": 0 broken") {
		t.Fatalf("verify-custody: %v %s", err, out)
	}
	// Without SEED_PASSWORD the demo accounts get a generated password, printed once.
	_, after, found := strings.Cut(out, "share the password ")
	password, _, _ := strings.Cut(after, "\n")
	if !found || len(password) < 20 {
		t.Fatalf("seed did not print a generated password: %s", out)
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), &bytes.Buffer{}, &logs) }()
	base := "http://127.0.0.1:" + env["PORT"]
	waitFor(t, base+"/healthz")
	if out, err := runCmd(t, env, "healthcheck"); err != nil || out != "ready\n" {
		t.Fatalf("healthcheck with the server up: %v %s", err, out)
	}

	login, err := http.Post(base+"/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"dispatcher","password":%q}`, password)))
	if err != nil {
		t.Fatal(err)
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(login.Body).Decode(&tokens)
	login.Body.Close()
	if login.StatusCode != http.StatusOK || tokens.AccessToken == "" {
		t.Fatalf("dispatcher login with the printed password: %d", login.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/procedures?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Total int }
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || list.Total < 30 {
		t.Fatalf("seeded procedures: %d, total %d", resp.StatusCode, list.Total)
	}
	// Without OTP_SENDER, citizen login is off rather than leaking codes to a log.
	if r, err := http.Post(base+"/v1/citizen/otp", "application/json", strings.NewReader(`{"receipt_code":"x","phone":"0912345678"}`)); err != nil ||
		r.StatusCode != http.StatusNotFound {
		t.Fatalf("citizen login without a sender: %v %v", r, err)
	}
	if r, err := http.Get(base + "/readyz"); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after migrate: %v %v", r, err)
	}

	if anonymous, err := http.Get(base + "/metrics"); err != nil || anonymous.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %v %v", anonymous, err)
	}
	scrape, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	scrape.Header.Set("Authorization", "Bearer "+scraper)
	metrics, err := http.DefaultClient.Do(scrape)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	for _, series := range []string{`go_sql_open_connections{db_name="courier"}`, `courierd_http_requests_total{method="GET",route="/v1/procedures",status="200"} 1`, "process_resident_memory_bytes"} {
		if !strings.Contains(string(text), series) {
			t.Fatalf("/metrics lacks %s:\n%s", series, text)
		}
	}

	stop() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s")
	}

	if out, err := runCmd(t, env, "migrate", "down"); err != nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("migrate down: %v %s", err, out)
	}
	if _, err := runCmd(t, env, "serve"); err == nil || !strings.Contains(err.Error(), "courierd migrate up") {
		t.Fatalf("serve after a down step: %v", err)
	}
}

func waitFor(t *testing.T, url string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer", url)
}
