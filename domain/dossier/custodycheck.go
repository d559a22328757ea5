package dossier

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
)

// CustodyCheck is one run of the scheduled check of custody chains (CheckChains).
type CustodyCheck struct {
	At      time.Time
	Checked int
	Broken  int
	// BrokenIDs names the first brokenIDsKept broken dossiers: enough to start looking.
	BrokenIDs []uuid.UUID
}

// checkSlices: besides the ledgers that grew since the last run, each run checks one slice
// of all the others, so that every chain is checked at least once in checkSlices days.
const checkSlices = 30

const brokenIDsKept = 100

// checkOverlap widens "since the last run" for a daily run that starts late.
const checkOverlap = time.Hour

// CheckChains verifies the custody chain of every dossier whose ledger grew in the last
// day, and of one slice of the rest, and records what it found. A broken chain means the
// record was changed outside courierd's rules: deploy/alerts.yaml raises it at once.
func (s *Service) CheckChains(ctx context.Context) (CustodyCheck, error) {
	ctx = auth.WithPrincipal(ctx, auth.System)
	now := s.now().UTC()
	slice := int(now.Unix()/int64(24*time.Hour/time.Second)) % checkSlices
	ids, err := s.store.ChainsToCheck(ctx, now.Add(-24*time.Hour-checkOverlap), slice, checkSlices)
	if err != nil {
		return CustodyCheck{}, err
	}
	check := CustodyCheck{At: now}
	for _, id := range ids {
		v, err := s.Verify(ctx, id)
		if err != nil {
			return CustodyCheck{}, err
		}
		check.Checked++
		if !v.Intact {
			check.Broken++
			if len(check.BrokenIDs) < brokenIDsKept {
				check.BrokenIDs = append(check.BrokenIDs, id)
			}
		}
	}
	return check, s.store.RecordCustodyCheck(ctx, check)
}
