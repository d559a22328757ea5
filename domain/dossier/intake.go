package dossier

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"courierd/domain"
	"courierd/domain/auth"
)

// Codes of bulk intake.
const (
	// CodeBatchTooLarge: a batch of more than MaxIntake dossiers; none is opened.
	CodeBatchTooLarge domain.Code = "BATCH_TOO_LARGE"
	// CodeDuplicateInBatch: an item repeats the portal reference of an earlier item of
	// the same batch; only the first one counts.
	CodeDuplicateInBatch domain.Code = "DUPLICATE_IN_BATCH"
)

const (
	// MaxIntake is the most dossiers one batch may carry: a portal's backlog in a few
	// calls, and an answer of a few hundred kilobytes.
	MaxIntake = 1000
	// intakeWorkers bounds the dossiers opened at once: each holds a pooled connection
	// for its transaction, and the other requests need theirs.
	intakeWorkers = 4
)

// IntakeStatus is what became of one item of a batch.
type IntakeStatus string

const (
	IntakeCreated IntakeStatus = "created"
	IntakeRefused IntakeStatus = "refused"
	// IntakeKnown: a portal dossier with this reference exists already; nothing opened.
	IntakeKnown IntakeStatus = "known"
)

// IntakeItem is one dossier of a batch, or, when the edge could not read it (an
// identifier that is no UUID), its refusal.
type IntakeItem struct {
	NewDossier
	Unreadable error
}

// IntakeResult is one item's outcome: the dossier opened or already known, or the coded
// error that refused it.
type IntakeResult struct {
	Status  IntakeStatus
	Dossier Dossier
	Err     *domain.Error
}

// CreateBatch opens each dossier of items on its own, as Create does, each in its own
// transaction: a refused item never sinks the others. An item with a portal reference is
// a portal dossier, and the reference makes it idempotent (IntakeKnown when it exists).
// The results are in the items' order. An error that is not a refusal (the database
// gone) ends the batch: the items opened until then stay, and a portal's retry finds
// them known.
func (s *Service) CreateBatch(ctx context.Context, items []IntakeItem) ([]IntakeResult, error) {
	switch {
	case len(items) == 0:
		return nil, domain.Invalid("dossiers", "is required: 1 to 1000 dossiers")
	case len(items) > MaxIntake:
		return nil, domain.Errorf(CodeBatchTooLarge, "a batch carries at most %d dossiers, this one %d", MaxIntake, len(items))
	}
	results := make([]IntakeResult, len(items))
	first := map[string]int{}
	for i, n := range items {
		if e, coded := domain.AsError(n.Unreadable); coded {
			results[i] = refused(e)
		}
		if n.PortalRef == "" {
			continue
		}
		if j, seen := first[n.PortalRef]; seen {
			results[i] = refused(&domain.Error{Code: CodeDuplicateInBatch, Message: fmt.Sprintf("item %d carries the same portal reference", j),
				Fields: []domain.FieldError{{Field: "portal_ref", Reason: "repeats an earlier item of this batch"}}})
			continue
		}
		first[n.PortalRef] = i
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(intakeWorkers)
	for i, n := range items {
		if results[i].Status != "" {
			continue
		}
		g.Go(func() error {
			d, created, err := s.createOnce(gctx, n.NewDossier)
			// The database away is no fault of the item's: it ends the batch.
			if e, coded := domain.AsError(err); coded && e.Code != domain.CodeInternal && e.Code != domain.CodeUnavailable {
				results[i] = refused(e)
				return nil
			}
			if err != nil {
				return err
			}
			results[i] = IntakeResult{Status: IntakeKnown, Dossier: d}
			if created {
				results[i].Status = IntakeCreated
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}

func refused(e *domain.Error) IntakeResult { return IntakeResult{Status: IntakeRefused, Err: e} }

// createOnce opens n, unless it carries a portal reference that a portal dossier already
// has: then it answers that dossier and false.
func (s *Service) createOnce(ctx context.Context, n NewDossier) (Dossier, bool, error) {
	if n.PortalRef == "" {
		if n.Channel == ChannelPortal {
			return Dossier{}, false, domain.Invalid("portal_ref", "is required: the portal's own reference of the dossier")
		}
		d, err := s.Create(ctx, n)
		return d, err == nil, err
	}
	n.Channel = ChannelPortal
	existing := func() (Dossier, bool, error) {
		list, err := s.store.List(ctx, Filter{PortalRef: n.PortalRef}, domain.Page{Limit: 1})
		if err != nil || len(list.Items) == 0 {
			return Dossier{}, false, err
		}
		// A clerk relaying references must not learn the ids of other agencies' dossiers.
		if !visible(auth.PrincipalFrom(ctx), list.Items[0], nil) {
			return Dossier{}, false, &domain.Error{Code: domain.CodeConflict, Message: "the portal reference is taken",
				Fields: []domain.FieldError{{Field: "portal_ref", Reason: "is a dossier's you may not see"}}}
		}
		return list.Items[0], true, nil
	}
	if d, found, err := existing(); found || err != nil {
		return d, false, err
	}
	d, err := s.Create(ctx, n)
	if e, ok := domain.AsError(err); ok && e.Code == domain.CodeConflict && len(e.Fields) == 1 && e.Fields[0].Field == "portal_ref" {
		// The same reference arrived twice at once: the other request opened it.
		d, _, err := existing()
		return d, false, err
	}
	return d, err == nil, err
}
