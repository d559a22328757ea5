package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"courierd/storage/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// buildImage builds courierd as make image does and assembles its image, written and read
// back as the tarball docker load takes.
func buildImage(t *testing.T) v1.Image {
	t.Helper()
	dir := t.TempDir()
	binary := filepath.Join(dir, "courierd")
	build := exec.Command("go", "build", "-trimpath", "-o", binary, "./cmd/courierd")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	spec := Spec{Binary: binary, ZoneInfo: ZoneInfo, CACerts: CACerts, Version: "test", Source: "https://example.org/courierd",
		Licenses: "NOASSERTION", Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "image.tar")
	if err := WriteTarball(img, file, "courierd:test"); err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatalf("the tarball does not load: %v", err)
	}
	again, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	built := digest(t, img)
	if again := digest(t, again); again != built {
		t.Fatalf("built %s, then %s: the same inputs must give the same image", built, again)
	}
	// A tarball keeps the config and the layers; its manifest is made anew on loading.
	if want, got := contents(t, img), contents(t, loaded); !slices.Equal(want, got) {
		t.Fatalf("the tarball holds %v, want %v", got, want)
	}
	if err := WriteLayout(img, filepath.Join(dir, "oci"), "test"); err != nil {
		t.Fatal(err)
	}
	index, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatalf("the OCI layout does not read: %v", err)
	}
	// Every digest, size and diff ID as a registry or a runtime checks them.
	if err := validate.Index(index); err != nil {
		t.Fatalf("the OCI layout: %v", err)
	}
	if err := validate.Image(loaded); err != nil {
		t.Fatalf("the tarball: %v", err)
	}
	if manifest, err := index.IndexManifest(); err != nil || len(manifest.Manifests) != 1 || manifest.Manifests[0].Digest.String() != built {
		t.Fatalf("the OCI layout holds %+v, %v; want the one image %s", manifest, err, built)
	}
	return loaded
}

// contents are the digests of an image's config and layers.
func contents(t *testing.T, img v1.Image) []string {
	t.Helper()
	config, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{config.String()}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestImage unpacks the image as a container runtime would, checks what an operator
// relies on being inside, and runs its entrypoint as its user: migrate up, then serve until
// /readyz answers 200.
func TestImage(t *testing.T) {
	img := buildImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	if uid, _, _ := strings.Cut(cfg.User, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Fatalf("the image runs as %q: it must not be root", cfg.User)
	}
	if !slices.Equal(cfg.Entrypoint, []string{"/courierd"}) || !slices.Equal(cfg.Cmd, []string{"serve"}) || cfg.WorkingDir != DataDir {
		t.Fatalf("entrypoint %q, cmd %q, working directory %q", cfg.Entrypoint, cfg.Cmd, cfg.WorkingDir)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || cf.OS != "linux" {
		t.Fatalf("exposed ports %v, OS %q", cfg.ExposedPorts, cf.OS)
	}
	for _, label := range []string{"source", "version", "licenses"} {
		if cfg.Labels["org.opencontainers.image."+label] == "" {
			t.Errorf("no org.opencontainers.image.%s label", label)
		}
	}

	root := t.TempDir()
	if err := unpack(img, root); err != nil {
		t.Fatal(err)
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil || !strings.Contains(string(passwd), ":x:65532:65532:") {
		t.Fatalf("/etc/passwd lacks user 65532: %v\n%s", err, passwd)
	}
	zone, err := os.ReadFile(filepath.Join(root, ZoneInfo, "Asia/Ho_Chi_Minh"))
	if err != nil {
		t.Fatalf("no Asia/Ho_Chi_Minh zone: %v", err)
	}
	loc, err := time.LoadLocationFromTZData("Asia/Ho_Chi_Minh", zone)
	if err != nil {
		t.Fatal(err)
	}
	if _, offset := time.Date(2026, 12, 1, 0, 0, 0, 0, loc).Zone(); offset != 7*3600 {
		t.Fatalf("Asia/Ho_Chi_Minh is %ds from UTC, want 7h", offset)
	}
	certs, err := os.ReadFile(filepath.Join(root, CACerts))
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(certs) {
		t.Fatalf("no CA roots at %s: %v", CACerts, err)
	}

	if os.Geteuid() != 0 {
		t.Skip("running the image's entrypoint chroots into the unpacked image as its user, which needs root: run the tests as root")
	}
	for _, dir := range []string{DataDir, DataDir + "/keys", DataDir + "/blobs"} {
		if info, err := os.Stat(filepath.Join(root, dir)); err != nil || info.Sys().(*syscall.Stat_t).Uid != UID {
			t.Fatalf("%s must belong to the image's user: %v", dir, err)
		}
	}
	port := freePort(t)
	env := append(slices.Clone(cfg.Env), "DATABASE_URL="+dbtest.NewEmpty(t), "HOST=127.0.0.1", "PORT="+port, "SHUTDOWN_TIMEOUT=5s")
	var migrateOut bytes.Buffer
	migrate := entrypoint(root, cfg, env, &migrateOut, "migrate", "up")
	if err := migrate.Run(); err != nil || !strings.Contains(migrateOut.String(), "applied") {
		t.Fatalf("migrate up in the image: %v\n%s", err, migrateOut.String())
	}

	var serveOut bytes.Buffer
	serve := entrypoint(root, cfg, env, &serveOut, cfg.Cmd...)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	// A failed check leaves no server behind; after a clean stop this finds none.
	t.Cleanup(func() { _ = serve.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	ready := waitReady(t, "http://127.0.0.1:"+port+"/readyz", exited)
	if !ready {
		t.Fatalf("serve in the image never became ready:\n%s", serveOut.String())
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("serve did not stop cleanly on SIGTERM: %v\n%s", err, serveOut.String())
	}
	if keys, _ := filepath.Glob(filepath.Join(root, DataDir, "keys", "*.key")); len(keys) != 1 {
		t.Fatalf("the data key belongs on the data volume: found %v", keys)
	}
}

// entrypoint is the image's entrypoint with args, run as a runtime would: inside the
// unpacked root, as the image's user, in its working directory, with env only.
func entrypoint(root string, cfg v1.Config, env []string, out io.Writer, args ...string) *exec.Cmd {
	cmd := exec.Command(cfg.Entrypoint[0], append(slices.Clone(cfg.Entrypoint[1:]), args...)...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, cfg.WorkingDir, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: UID, Gid: UID}}
	return cmd
}

// waitReady polls url until it answers 200, or the server exits; the limit only keeps a
// hung server from hanging the test run.
func waitReady(t *testing.T, url string, exited <-chan error) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			t.Logf("serve exited: %v", err)
			return false
		case <-ctx.Done():
			return false
		case <-tick.C:
			resp, err := http.Get(url)
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
	}
}

// unpack writes the image's files into root, with their owners when we may set them.
func unpack(img v1.Image, root string) error {
	// A container's / is searchable by everyone; a test's temporary directory is not.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	flat := mutate.Extract(img)
	defer flat.Close()
	tr := tar.NewReader(flat)
	asRoot := os.Geteuid() == 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr)
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, target)
		default:
			err = fmt.Errorf("unexpected entry %s of type %c", h.Name, h.Typeflag)
		}
		if err == nil && asRoot {
			err = os.Lchown(target, h.Uid, h.Gid)
		}
		if err == nil && h.Typeflag != tar.TypeSymlink {
			// After chown, which clears the set-id bits; the sticky bit is kept as in the image.
			err = os.Chmod(target, h.FileInfo().Mode())
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(path string, body io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// TestBuildRefusesMissingInputs: a build machine without zones or CA roots gets told which
// package to install, not an image that fails at its first TLS call or civil date.
func TestBuildRefusesMissingInputs(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "courierd")
	if err := os.WriteFile(binary, []byte("#!"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "absent")
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Binary: binary, ZoneInfo: missing, CACerts: CACerts}, "tzdata"},
		{Spec{Binary: binary, ZoneInfo: ZoneInfo, CACerts: missing}, "ca-certificates"},
		{Spec{Binary: missing, ZoneInfo: ZoneInfo, CACerts: CACerts}, "absent"},
	} {
		if _, err := Build(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%+v): %v, want an error naming %s", c.spec, err, c.want)
		}
	}
}
