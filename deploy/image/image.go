// Package image assembles courierd's OCI image from a static binary with
// go-containerregistry, so that an image is built without a Docker daemon: an empty base,
// the binary, the build machine's time-zone data and CA roots, and a non-root user. The
// Dockerfile builds the same image with Docker; deploy's tests hold the two to the same
// user, entrypoint and environment.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image promises, and the Dockerfile too.
const (
	UID = 65532
	// User is the image's user as the config names it: numeric, so that a platform can
	// check it is not root without reading /etc/passwd.
	User       = "65532:65532"
	Binary     = "/courierd"
	DataDir    = "/data"
	Port       = "8080/tcp"
	ZoneInfo   = "/usr/share/zoneinfo"
	CACerts    = "/etc/ssl/certs/ca-certificates.crt"
	userName   = "courierd"
	passwdFile = "root:x:0:0:root:/root:/sbin/nologin\n" + userName + ":x:65532:65532:courierd:" + DataDir + ":/sbin/nologin\n"
	groupFile  = "root:x:0:\n" + userName + ":x:65532:\n"
)

// Entrypoint and Cmd: `docker run IMAGE` serves; `docker run IMAGE migrate up` migrates.
var (
	Entrypoint = []string{Binary}
	Cmd        = []string{"serve"}
	// Env are the defaults that differ from courierd's own: keys and proofs on the data
	// volume rather than beside a working copy.
	Env = []string{
		"HOST=0.0.0.0",
		"DATA_KEY_DIR=" + DataDir + "/keys",
		"BLOB_DIR=" + DataDir + "/blobs",
	}
)

// Spec is what goes into one build.
type Spec struct {
	Binary   string    // the static courierd binary on the build machine
	ZoneInfo string    // the build machine's zoneinfo tree (usually ZoneInfo)
	CACerts  string    // the build machine's CA bundle (usually CACerts)
	Version  string    // org.opencontainers.image.version
	Source   string    // org.opencontainers.image.source
	Licenses string    // org.opencontainers.image.licenses, an SPDX expression
	Created  time.Time // the image's and every file's time: the same inputs give the same digest
	Arch     string    // GOARCH the binary was built for; empty: this machine's
}

// Build assembles the image: one layer of system files (users, zones, CA roots, the data
// directories), one of the binary, so that a new release pulls only the binary's layer.
func Build(s Spec) (v1.Image, error) {
	system, err := systemLayer(s)
	if err != nil {
		return nil, err
	}
	binary, err := binaryLayer(s)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: s.Created.UTC()}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: system, History: v1.History{Created: created, CreatedBy: "mkimage: users, time zones, CA roots, " + DataDir}},
		mutate.Addendum{Layer: binary, History: v1.History{Created: created, CreatedBy: "mkimage: " + Binary}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS = "linux"
	cf.Architecture = s.Arch
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	cf.Config = v1.Config{
		User:         User,
		Entrypoint:   Entrypoint,
		Cmd:          Cmd,
		WorkingDir:   DataDir,
		Env:          Env,
		ExposedPorts: map[string]struct{}{Port: {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		// SIGTERM is what serve drains on (SHUTDOWN_TIMEOUT).
		StopSignal: "SIGTERM",
		Labels:     map[string]string{},
	}
	for key, value := range map[string]string{"title": "courierd", "source": s.Source, "version": s.Version,
		"licenses": s.Licenses, "created": created.Format(time.RFC3339)} {
		if value != "" {
			cf.Config.Labels["org.opencontainers.image."+key] = value
		}
	}
	return mutate.ConfigFile(img, cf)
}

// layerWriter writes one layer's tar, every entry at the build's time.
type layerWriter struct {
	buf     bytes.Buffer
	tw      *tar.Writer
	created time.Time
}

func newLayer(created time.Time) *layerWriter {
	l := &layerWriter{created: created}
	l.tw = tar.NewWriter(&l.buf)
	return l
}

func (l *layerWriter) dir(name string, mode int64, uid int) error {
	return l.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: l.created})
}

func (l *layerWriter) file(name string, mode int64, body []byte) error {
	if err := l.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: l.created}); err != nil {
		return err
	}
	_, err := l.tw.Write(body)
	return err
}

func (l *layerWriter) layer() (v1.Layer, error) {
	if err := l.tw.Close(); err != nil {
		return nil, err
	}
	raw := l.buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer))
}

func systemLayer(s Spec) (v1.Layer, error) {
	l := newLayer(s.Created)
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "usr", "usr/share"} {
		if err := l.dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	// /tmp for libraries that want one, even under a read-only root (a platform mounts one).
	if err := l.dir("tmp", 0o1777, 0); err != nil {
		return nil, err
	}
	// The data volume and its keys belong to the user: a platform's volume mounted there
	// starts as these directories.
	for _, d := range []struct {
		name string
		mode int64
	}{{DataDir, 0o750}, {DataDir + "/keys", 0o700}, {DataDir + "/blobs", 0o750}} {
		if err := l.dir(d.name[1:], d.mode, UID); err != nil {
			return nil, err
		}
	}
	if err := l.file("etc/passwd", 0o644, []byte(passwdFile)); err != nil {
		return nil, err
	}
	if err := l.file("etc/group", 0o644, []byte(groupFile)); err != nil {
		return nil, err
	}
	certs, err := os.ReadFile(s.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA roots: %w (Debian and Ubuntu: apt-get install ca-certificates)", err)
	}
	if err := l.file(CACerts[1:], 0o644, certs); err != nil {
		return nil, err
	}
	if err := copyTree(l, s.ZoneInfo, ZoneInfo[1:]); err != nil {
		return nil, fmt.Errorf("time zones: %w (Debian and Ubuntu: apt-get install tzdata)", err)
	}
	return l.layer()
}

// copyTree copies a directory tree's directories, files and symbolic links (zoneinfo's
// aliases are links) under dest.
func copyTree(l *layerWriter, src, dest string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dest, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return l.dir(name, 0o755, 0)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return l.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: l.created})
		case d.Type().IsRegular():
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return l.file(name, 0o644, body)
		}
		return fmt.Errorf("%s is neither a file, a directory nor a link", p)
	})
}

func binaryLayer(s Spec) (v1.Layer, error) {
	body, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, err
	}
	l := newLayer(s.Created)
	// Owned by root and not writable by the user it runs as.
	if err := l.file(Binary[1:], 0o755, body); err != nil {
		return nil, err
	}
	return l.layer()
}

// WriteTarball saves img as a tarball that `docker load` and `podman load` read, tagged
// ref (e.g. courierd:v1.4.0).
func WriteTarball(img v1.Image, file, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	return tarball.WriteToFile(file, tag, img)
}

// WriteLayout saves img as an OCI image layout directory, replacing what is there, for
// tools that copy to a registry (skopeo copy oci:DIR:REF docker://…, crane, regctl).
func WriteLayout(img v1.Image, dir, ref string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
}

// Sizes are what a registry stores and a pull moves (compressed layers and the config),
// and what the unpacked files take.
func Sizes(img v1.Image) (compressed, unpacked int64, err error) {
	layers, err := img.Layers()
	if err != nil {
		return 0, 0, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return 0, 0, err
	}
	compressed = int64(len(cfg))
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return 0, 0, err
		}
		compressed += n
		r, err := l.Uncompressed()
		if err != nil {
			return 0, 0, err
		}
		n, err = io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return 0, 0, err
		}
		unpacked += n
	}
	return compressed, unpacked, nil
}
