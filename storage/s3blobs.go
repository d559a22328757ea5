package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Blobs keeps proof files in an S3-compatible object store (AWS S3, MinIO, Ceph, the
// Viettel and VNPT clouds), one object per SHA-256 under a prefix. A PUT replaces an
// object whole or not at all, so a crash never leaves half a file under a good name, and
// the store checks the body against the Content-MD5 sent with it (every S3-compatible
// store does; newer checksum headers are not universal).
type S3Blobs struct {
	client *minio.Client
	bucket string
	prefix string
}

// S3Keys are the store's access keys when its URL carries none.
type S3Keys struct{ AccessKeyID, SecretAccessKey string }

// NewS3Blobs opens the store a URL names:
//
//	s3://[ACCESS_KEY:SECRET_KEY@]host[:port]/bucket[/prefix][?region=…&tls=false]
//
// Without keys in the URL, keys (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) are used. tls=false
// is for a store on the local network only. The bucket must exist: its name is checked
// once here, so a wrong URL stops the server at start, not at the first upload.
func NewS3Blobs(ctx context.Context, rawURL string, keys S3Keys, transport http.RoundTripper) (*S3Blobs, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, errors.New("blob store URL: want s3://[key:secret@]host[:port]/bucket[/prefix]")
	}
	bucket, prefix, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if bucket == "" {
		return nil, errors.New("blob store URL: name the bucket in the path")
	}
	creds := credentials.NewStaticV4(keys.AccessKeyID, keys.SecretAccessKey, "")
	if u.User != nil {
		secret, _ := u.User.Password()
		creds = credentials.NewStaticV4(u.User.Username(), secret, "")
	}
	q := u.Query()
	client, err := minio.New(u.Host, &minio.Options{Creds: creds, Secure: q.Get("tls") != "false", Region: q.Get("region"),
		BucketLookup: minio.BucketLookupPath, Transport: transport})
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	exists, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", u.Redacted(), err)
	}
	if !exists {
		return nil, fmt.Errorf("blob store %s: no bucket %q", u.Redacted(), bucket)
	}
	return &S3Blobs{client: client, bucket: bucket, prefix: prefix}, nil
}

func (b *S3Blobs) key(sha string) string {
	return path.Join(b.prefix, sha[:2], sha)
}

func (b *S3Blobs) Has(ctx context.Context, sha string) (bool, error) {
	_, err := b.client.StatObject(ctx, b.bucket, b.key(sha), minio.StatObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

func (b *S3Blobs) Delete(ctx context.Context, sha string) error {
	// Removing a missing object succeeds in S3.
	return b.client.RemoveObject(ctx, b.bucket, b.key(sha), minio.RemoveObjectOptions{})
}

func (b *S3Blobs) Put(ctx context.Context, sha string, data []byte) error {
	_, err := b.client.PutObject(ctx, b.bucket, b.key(sha), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true})
	return err
}
