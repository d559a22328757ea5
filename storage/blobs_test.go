package storage_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"courierd/domain/fieldsync"
	"courierd/storage"
)

var (
	proof    = []byte("\x89PNG\r\n\x1a\n chữ ký người nhận")
	proofMD5 = md5.Sum(proof)
)

// checkBlobStore is what every proof store must do: say it lacks a file, keep it, say it
// has it, and take the same bytes again without harm.
func checkBlobStore(t *testing.T, store fieldsync.BlobStore) {
	t.Helper()
	ctx := context.Background()
	data := proof
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if has, err := store.Has(ctx, sha); err != nil || has {
		t.Fatalf("before the upload: has %v, %v", has, err)
	}
	for i := 0; i < 2; i++ {
		if err := store.Put(ctx, sha, data); err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
	}
	if has, err := store.Has(ctx, sha); err != nil || !has {
		t.Fatalf("after the upload: has %v, %v", has, err)
	}
}

func TestFileBlobs(t *testing.T) {
	store, err := storage.NewFileBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checkBlobStore(t, store)
}

// fakeS3 is an in-memory S3 server that records the requests it is sent.
type fakeS3 struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
}

func newFakeS3(t *testing.T, buckets ...string) *fakeS3 {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	fake := &fakeS3{}
	s3 := gofakes3.New(backend).Server()
	fake.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fake.mu.Lock()
		fake.requests = append(fake.requests, r.Clone(context.Background()))
		fake.mu.Unlock()
		s3.ServeHTTP(w, r)
	}))
	t.Cleanup(fake.Close)
	return fake
}

func (f *fakeS3) url(creds, path string) string {
	return "s3://" + creds + strings.TrimPrefix(f.Server.URL, "http://") + path + "?tls=false&region=ap-southeast-1"
}

// TestS3Blobs: the S3-compatible store keeps proofs under bucket/prefix/ab/<sha>, signs
// every request with the configured keys, sends each body's MD5 for the store to check,
// and refuses at start a URL it cannot use.
func TestS3Blobs(t *testing.T) {
	fake := newFakeS3(t, "proofs")
	ctx := context.Background()
	store, err := storage.NewS3Blobs(ctx, fake.url("AKIDTEST:s3cr3t@", "/proofs/courierd"), storage.S3Keys{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkBlobStore(t, store)

	fake.mu.Lock()
	requests := fake.requests
	fake.mu.Unlock()
	var puts int
	for _, r := range requests {
		if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
			t.Errorf("%s %s is not signed with the configured key: %q", r.Method, r.URL.Path, auth)
		}
		if r.Method != http.MethodPut {
			continue
		}
		puts++
		sha := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if want := "/proofs/courierd/" + sha[:2] + "/" + sha; r.URL.Path != want {
			t.Errorf("object at %s, want %s", r.URL.Path, want)
		}
		if got := r.Header.Get("Content-Md5"); got != base64.StdEncoding.EncodeToString(proofMD5[:]) {
			t.Errorf("the upload's Content-MD5 %q is not the file's, so the store cannot check the body", got)
		}
	}
	if puts != 2 {
		t.Errorf("%d uploads reached the store, want 2", puts)
	}

	for name, raw := range map[string]string{
		"no bucket":      fake.url("", "/"),
		"unknown bucket": fake.url("", "/photos"),
		"other scheme":   strings.Replace(fake.url("", "/proofs"), "s3://", "gs://", 1),
	} {
		if _, err := storage.NewS3Blobs(ctx, raw, storage.S3Keys{}, nil); err == nil {
			t.Errorf("%s: %s was accepted", name, raw)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
}
