package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/uuid"
)

// FileBlobs keeps proof files on the local file system, one file per SHA-256 under a
// two-level fan-out (ab/cd/abcd…), written to a temporary file, synced and renamed into
// place, so that a crash never leaves half a file under a good name.
type FileBlobs struct{ dir string }

func NewFileBlobs(dir string) (*FileBlobs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &FileBlobs{dir: dir}, nil
}

func (b *FileBlobs) path(sha string) string {
	return filepath.Join(b.dir, sha[:2], sha[2:4], sha)
}

func (b *FileBlobs) Has(_ context.Context, sha string) (bool, error) {
	_, err := os.Stat(b.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (b *FileBlobs) Put(_ context.Context, sha string, data []byte) error {
	final := b.path(sha)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(final), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

func (b *FileBlobs) Delete(_ context.Context, sha string) error {
	if err := os.Remove(b.path(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ProofHashes lists the signature and photo hashes of the handovers actor recorded, but
// those deleted after their dossiers closed.
func (s *DossierStore) ProofHashes(ctx context.Context, actor uuid.UUID, limit int) ([]string, error) {
	var hashes []string
	err := s.db.gorm.WithContext(ctx).Raw(`SELECT h FROM (
		SELECT signature_sha256 AS h, server_time FROM custody_entries WHERE actor_id = ? AND signature_sha256 <> ''
		UNION ALL
		SELECT photo_sha256, server_time FROM custody_entries WHERE actor_id = ? AND photo_sha256 <> '') p
		WHERE NOT EXISTS (SELECT 1 FROM proof_deletions x WHERE x.sha256 = p.h)
		GROUP BY h ORDER BY max(server_time) DESC LIMIT ?`, actor, actor, limit).Scan(&hashes).Error
	return hashes, translate(err, "custody entry")
}
