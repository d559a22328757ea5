package dossier

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
)

// BatchDecision decides one event on one dossier of a batch, from the dossier and its
// stops as the batch's transaction locked them; it touches no storage.
type BatchDecision func(d Dossier, tasks []Task, in EventInput) (Change, error)

// PrepareBatch reads, before a batch's transaction, what deciding events on the dossiers
// ids needs (their procedures, the agency of those whose result comes back, the
// calendar), and returns the decision for the caller, stamped now: a manifest received
// moves each of its dossiers by the same rules as one event applied alone.
func (s *Service) PrepareBatch(ctx context.Context, ids []uuid.UUID, now time.Time) (BatchDecision, error) {
	current, err := s.store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	l := s.lookups(ctx)
	var agency *catalog.Agency
	for _, id := range ids {
		snapshot, found := current[id]
		if !found {
			return nil, domain.Errorf(domain.CodeNotFound, "no such dossier")
		}
		d := snapshot.Dossier
		if _, err := l.procedure(d.ProcedureID); err != nil {
			return nil, err
		}
		// A batch goes to or from one agency: the first dossier that comes back names it.
		if agency == nil && d.Return {
			if agency, err = l.agency(d.AgencyID); err != nil {
				return nil, err
			}
		}
	}
	cal, err := l.calendar()
	if err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	return func(d Dossier, tasks []Task, in EventInput) (Change, error) {
		return s.decide(p, d, tasks, in, now, reads{cal: cal, proc: l.procedures[d.ProcedureID], agency: agency})
	}, nil
}
