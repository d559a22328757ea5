package payment

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// RemittanceLine is what was received for one of the agency's dossiers in the period.
type RemittanceLine struct {
	DossierID  uuid.UUID
	Receipt    string
	FeeVND     int64 // the agency's fee
	PostageVND int64 // the post's charge
	// SurchargeVND is the post's charge for collecting the fee on the agency's behalf.
	SurchargeVND int64
	ReceivedVND  int64 // cash taken by couriers and transfers reported by the bank
	AgencyVND    int64 // the agency's share of it: the fee first, then postage
}

// Remittance is what the post owes an agency for fees it collected on the agency's behalf.
type Remittance struct {
	AgencyID    uuid.UUID
	From, To    time.Time
	Lines       []RemittanceLine
	ReceivedVND int64
	AgencyVND   int64
}

// Remittance is the agency's report for [from, to): admins, and the agency's own clerks.
func (s *Service) Remittance(ctx context.Context, agency uuid.UUID, from, to time.Time) (Remittance, error) {
	p := auth.PrincipalFrom(ctx)
	if !p.Is(auth.RoleAdmin) && !(p.Is(auth.RoleClerk) && p.AgencyID == agency) {
		if p.Is(auth.RoleClerk) {
			return Remittance{}, domain.Errorf(domain.CodeNotFound, "no such agency")
		}
		return Remittance{}, domain.Errorf(domain.CodeForbidden, "only the agency's clerks and admins read its remittance")
	}
	if !from.Before(to) || to.Sub(from) > 93*24*time.Hour {
		return Remittance{}, domain.Invalid("to", "must be after from, at most 93 days later")
	}
	lines, err := s.store.Received(ctx, agency, from, to)
	if err != nil {
		return Remittance{}, err
	}
	r := Remittance{AgencyID: agency, From: from, To: to, Lines: lines}
	for i := range r.Lines {
		l := &r.Lines[i]
		l.AgencyVND = min(l.ReceivedVND, l.FeeVND)
		r.ReceivedVND += l.ReceivedVND
		r.AgencyVND += l.AgencyVND
	}
	return r, nil
}
