// Package fieldsync is how couriers' handhelds stay in step with the server while working
// offline for days. This part is the pull side: each courier has a change feed, numbered
// in commit order, that a device reads from an opaque cursor, page by page, getting its
// stops as they change and losing those reassigned away or cancelled; a cursor that is
// forged, foreign or too old gets a full snapshot instead (reset), never an error.
//
// The push side (push.go) reads top to bottom: the batch checked, its stops read and its
// mutations prepared outside any transaction, then, in one PushTx begun from the
// PushStore, the device's row locked, the outcomes of replayed seqs and the ids already
// taken read, each new mutation applied (its dossier locked, its assignment judged again,
// its decision applied through the embedded dossier.Writer), the batch recorded, and the
// commit. The transaction is declared here and implemented by storage; the protocol's
// rules are tested against an in-memory one (protocol_test.go).
//
// Imports allowed: the standard library, courierd/domain and its auth and dossier
// packages, uuid.
package fieldsync

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// Store reads the change feed.
type Store interface {
	// Changes reads, in one snapshot, up to limit changes after v, the feed's head, the
	// oldest change still kept (0 when none), and the device's last applied seq.
	Changes(ctx context.Context, courier, device uuid.UUID, after int64, limit int) ([]dossier.FeedChange, int64, int64, int64, error)
	// Snapshot is up to limit of the courier's stops still to do, in id order after the
	// stop after (uuid.Nil: from the first), with the feed's head and the device's last
	// applied seq.
	Snapshot(ctx context.Context, courier, device, after uuid.UUID, limit int) ([]dossier.FieldTask, int64, int64, error)
}

// Pull is one page of a device's pull.
type Pull struct {
	Cursor  string
	HasMore bool
	// Reset means: drop every stop you hold and keep exactly those in Changes, and those
	// of the pages that follow while HasMore (a snapshot comes in pages too).
	Reset   bool
	Changes []dossier.FeedChange
	// LastSeq is the last of the device's mutations applied, from the same snapshot: the
	// pulled state includes the effects of every mutation up to it and none after.
	LastSeq int64
	// MissingProofs are proof files the courier's handovers name that never arrived.
	MissingProofs []string
}

// Page sizes: a default that keeps answers small on slow links, and a ceiling.
const (
	DefaultPullLimit = 200
	MaxPullLimit     = 1000
)

// ProofSource lists the proof files a courier's handovers refer to, newest first.
type ProofSource interface {
	ProofHashes(ctx context.Context, actor uuid.UUID, limit int) ([]string, error)
}

// Service answers pulls.
type Service struct {
	store  Store
	sign   func(string) string // a keyed hash: cursors carry it so that none can be forged
	proofs ProofSource
	blobs  BlobStore
}

func NewService(store Store, sign func(string) string, proofs ProofSource, blobs BlobStore) *Service {
	return &Service{store: store, sign: sign, proofs: proofs, blobs: blobs}
}

// recentProofs bounds how far back a pull looks for proofs the server still lacks.
const recentProofs = 500

// missingProofs are the proof files the courier's recorded handovers name that the
// server has not received: "proof pending", for the device to upload again.
func (s *Service) missingProofs(ctx context.Context, account uuid.UUID) ([]string, error) {
	hashes, err := s.proofs.ProofHashes(ctx, account, recentProofs)
	if err != nil {
		return nil, err
	}
	missing := []string{}
	for _, h := range hashes {
		has, err := s.blobs.Has(ctx, h)
		if err != nil {
			return nil, err
		}
		if !has {
			missing = append(missing, h)
		}
	}
	return missing, nil
}

// position is where a device stands in its courier's feed: after change v, or, while a
// snapshot taken at head v comes in pages, after the stop snapshotAfter.
type position struct {
	v             int64
	snapshotAfter uuid.UUID
}

// cursor is "<v>.<mac>", or "<v>~<stop>.<mac>" within a snapshot, the mac binding it to
// the courier.
func (s *Service) cursor(courier uuid.UUID, at position) string {
	text := strconv.FormatInt(at.v, 10)
	if at.snapshotAfter != uuid.Nil {
		text += "~" + at.snapshotAfter.String()
	}
	return text + "." + s.mac(courier, text)
}

func (s *Service) mac(courier uuid.UUID, text string) string {
	return s.sign(fmt.Sprintf("feed:%s:%s", courier, text))[:22]
}

// position reads a cursor; ok is false for anything forged, foreign or malformed.
func (s *Service) position(courier uuid.UUID, cursor string) (position, bool) {
	text, mac, found := strings.Cut(cursor, ".")
	number, stop, snapshotting := strings.Cut(text, "~")
	v, err := strconv.ParseInt(number, 10, 64)
	at := position{v: v}
	if snapshotting {
		at.snapshotAfter, err = uuid.Parse(stop)
	}
	if !found || err != nil || v < 0 || (snapshotting && at.snapshotAfter == uuid.Nil) {
		return position{}, false
	}
	return at, subtle.ConstantTimeCompare([]byte(mac), []byte(s.mac(courier, text))) == 1
}

// Pull answers the calling courier's device: the changes after cursor ("" for the first
// pull), at most limit of them, and the proofs still owed.
func (s *Service) Pull(ctx context.Context, cursor string, limit int, appVersion string) (Pull, error) {
	page, err := s.pull(ctx, cursor, limit)
	if err != nil {
		return Pull{}, err
	}
	page.Changes = slices.DeleteFunc(page.Changes, func(c dossier.FeedChange) bool {
		return c.Task != nil && auth.OlderThan(appVersion, kindSince[c.Task.Kind])
	})
	page.MissingProofs, err = s.missingProofs(ctx, auth.PrincipalFrom(ctx).AccountID)
	return page, err
}

// kindSince is the app version that first knows each newer kind of stop: an older app is
// not sent such stops (it could not show them), while the cursor still moves past them.
var kindSince = map[dossier.TaskKind]string{dossier.TaskCollection: "1.1.0"}

func (s *Service) pull(ctx context.Context, cursor string, limit int) (Pull, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.RoleCourier || p.CourierID == uuid.Nil {
		return Pull{}, domain.Errorf(domain.CodeForbidden, "only a courier's device pulls a change feed")
	}
	if limit == 0 {
		limit = DefaultPullLimit
	}
	if limit < 1 || limit > MaxPullLimit {
		return Pull{}, domain.Invalid("limit", fmt.Sprintf("must be between 1 and %d", MaxPullLimit))
	}
	at, ok := s.position(p.CourierID, cursor)
	if cursor != "" && ok && at.snapshotAfter != uuid.Nil {
		return s.reset(ctx, p.CourierID, p.DeviceID, at, limit)
	}
	if after := at.v; cursor != "" && ok {
		changes, head, oldest, lastSeq, err := s.store.Changes(ctx, p.CourierID, p.DeviceID, after, limit+1)
		if err != nil {
			return Pull{}, err
		}
		// A cursor past the head, or from before what is kept, cannot be served from the
		// feed: the device gets a snapshot instead.
		if after == head || (oldest != 0 && oldest-1 <= after && after < head) {
			page := Pull{HasMore: len(changes) > limit, LastSeq: lastSeq}
			if page.HasMore {
				changes = changes[:limit]
			}
			page.Changes = changes
			last := after
			if len(changes) > 0 {
				last = changes[len(changes)-1].V
			}
			page.Cursor = s.cursor(p.CourierID, position{v: last})
			return page, nil
		}
	}
	return s.reset(ctx, p.CourierID, p.DeviceID, position{}, limit)
}

// reset serves a snapshot, limit stops a page: the first page (from at, the zero
// position) says Reset and fixes the feed's head the snapshot answers for; the next pages
// go on after the last stop sent; the last page's cursor follows the feed from that head,
// so that whatever changed meanwhile comes after (an upsert twice, or the removal of a
// stop the device holds or never got: both harmless).
func (s *Service) reset(ctx context.Context, courier, device uuid.UUID, at position, limit int) (Pull, error) {
	tasks, head, lastSeq, err := s.store.Snapshot(ctx, courier, device, at.snapshotAfter, limit+1)
	if err != nil {
		return Pull{}, err
	}
	if at.snapshotAfter != uuid.Nil {
		head = at.v
	}
	page := Pull{Reset: at.snapshotAfter == uuid.Nil, HasMore: len(tasks) > limit, LastSeq: lastSeq}
	if page.HasMore {
		tasks = tasks[:limit]
	}
	next := position{v: head}
	if page.HasMore {
		next.snapshotAfter = tasks[len(tasks)-1].TaskID
	}
	page.Cursor = s.cursor(courier, next)
	page.Changes = make([]dossier.FeedChange, len(tasks))
	for i := range tasks {
		page.Changes[i] = dossier.FeedChange{V: head, Op: "upsert", TaskID: tasks[i].TaskID, Task: &tasks[i]}
	}
	return page, nil
}
