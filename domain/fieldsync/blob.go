package fieldsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"courierd/domain"
)

// Codes of proof uploads.
const (
	CodeHashMismatch    domain.Code = "HASH_MISMATCH"
	CodeUnsupportedKind domain.Code = "UNSUPPORTED_BLOB_TYPE"
)

// BlobStore keeps proof files (signatures, photos) by their SHA-256.
type BlobStore interface {
	Has(ctx context.Context, sha string) (bool, error)
	// Put stores data under sha; storing the same bytes again is harmless.
	Put(ctx context.Context, sha string, data []byte) error
}

// Blobs accepts proof uploads.
type Blobs struct {
	store BlobStore
	max   int
}

func NewBlobs(store BlobStore, maxBytes int) *Blobs { return &Blobs{store: store, max: maxBytes} }

// Has reports whether the server already holds sha.
func (b *Blobs) Has(ctx context.Context, sha string) (bool, error) {
	if !sha256Hex.MatchString(sha) {
		return false, domain.Errorf(domain.CodeNotFound, "no such blob")
	}
	return b.store.Has(ctx, sha)
}

// Put stores a proof file after checking that its bytes hash to sha and that they are,
// by their content and not by what the client claims, a PNG, JPEG or WebP image or an
// SVG drawing. It reports whether the blob is new.
func (b *Blobs) Put(ctx context.Context, sha string, data []byte) (bool, error) {
	if !sha256Hex.MatchString(sha) {
		return false, domain.Invalid("sha256", "must be a lowercase hex SHA-256")
	}
	if len(data) == 0 {
		return false, domain.Invalid("body", "is empty: a proof file is a photo or a signature")
	}
	if len(data) > b.max {
		return false, domain.Errorf(domain.CodeBodyTooLarge, "a proof file is 1 byte to %d bytes", b.max)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != sha {
		return false, domain.Errorf(CodeHashMismatch, "the bytes do not hash to %s; the upload was damaged, send it again", sha)
	}
	if kind := Sniff(data); kind == "" {
		return false, domain.Errorf(CodeUnsupportedKind, "a proof must be a PNG, JPEG or WebP photo or an SVG signature")
	}
	had, err := b.store.Has(ctx, sha)
	if err != nil || had {
		return false, err
	}
	if err := b.store.Put(ctx, sha, data); err != nil {
		return false, fmt.Errorf("store blob: %w", err)
	}
	return true, nil
}

// Sniff names the kind of a proof file from its first bytes, or "" when it is not one we
// accept. File signatures, not extensions or declared types, decide.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")):
		return "image/webp"
	}
	head := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), " \t\r\n")
	if bytes.HasPrefix(head, []byte("<svg")) || (bytes.HasPrefix(head, []byte("<?xml")) && bytes.Contains(head[:min(len(head), 512)], []byte("<svg"))) {
		return "image/svg+xml"
	}
	return ""
}
