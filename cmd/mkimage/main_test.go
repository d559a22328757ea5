package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestRun: the command writes both outputs, tagged with the version, and refuses a bad
// time. What is inside the image is deploy/image's test.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	binary := filepath.Join(dir, "courierd")
	if err := os.WriteFile(binary, []byte("not a real binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	tarFile, layoutDir := filepath.Join(dir, "image.tar"), filepath.Join(dir, "oci")
	args := []string{"-binary", binary, "-tar", tarFile, "-layout", layoutDir, "-version", "v1.2.3"}
	if err := run(append(args, "-created", "yesterday")); err == nil || !strings.Contains(err.Error(), "Unix seconds") {
		t.Fatalf("a bad -created: %v", err)
	}
	if err := run(append(args, "-created", "1796530938")); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(tarFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" || cf.Created.Unix() != 1796530938 {
		t.Fatalf("the tarball's config: %+v, %v", cf, err)
	}
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(tarFile) })
	if err != nil || len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != "courierd:v1.2.3" {
		t.Fatalf("docker load would tag it %+v, %v", manifest, err)
	}
	index, err := layout.ImageIndexFromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := index.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1.2.3" {
		t.Fatalf("the OCI layout: %+v, %v", im, err)
	}
}
